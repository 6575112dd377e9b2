with staff as (
    select * from {{ ref('stg_staff') }}
),

stores as (
    select * from {{ ref('stg_store') }}
)

select
    staff.staff_id,
    staff.first_name,
    staff.last_name,
    staff.full_name,
    staff.email,
    staff.username,
    staff.is_active,
    staff.store_id,
    stores.manager_staff_id = staff.staff_id as is_store_manager
from staff
inner join stores on staff.store_id = stores.store_id
