with stores as (
    select * from {{ ref('stg_store') }}
),

staff as (
    select * from {{ ref('stg_staff') }}
),

addresses as (
    select * from {{ ref('stg_address') }}
),

cities as (
    select * from {{ ref('stg_city') }}
),

countries as (
    select * from {{ ref('stg_country') }}
),

inventory_counts as (
    select store_id, count(*) as inventory_count
    from {{ ref('stg_inventory') }}
    group by store_id
)

select
    stores.store_id,
    stores.manager_staff_id,
    managers.full_name as manager_name,
    addresses.address,
    addresses.address2,
    addresses.district,
    addresses.postal_code,
    cities.city_name,
    countries.country_name,
    coalesce(inventory_counts.inventory_count, 0) as inventory_count
from stores
inner join staff as managers on stores.manager_staff_id = managers.staff_id
inner join addresses on stores.address_id = addresses.address_id
inner join cities on addresses.city_id = cities.city_id
inner join countries on cities.country_id = countries.country_id
left join inventory_counts on stores.store_id = inventory_counts.store_id
