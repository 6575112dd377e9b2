with customers as (
    select * from {{ ref('stg_customer') }}
),

addresses as (
    select * from {{ ref('stg_address') }}
),

cities as (
    select * from {{ ref('stg_city') }}
),

countries as (
    select * from {{ ref('stg_country') }}
)

select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    customers.full_name,
    customers.email,
    customers.store_id,
    customers.is_active,
    customers.created_on,
    addresses.address,
    addresses.address2,
    addresses.district,
    addresses.postal_code,
    addresses.phone,
    cities.city_name,
    countries.country_name
from customers
inner join addresses on customers.address_id = addresses.address_id
inner join cities on addresses.city_id = cities.city_id
inner join countries on cities.country_id = countries.country_id
