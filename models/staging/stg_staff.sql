select
    staff_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    address_id,
    email,
    store_id,
    cast(active as boolean) as is_active,
    username,
    cast(last_update as timestamp) as last_update
from {{ ref('staff') }}
