select
    customer_id,
    store_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    lower(email) as email,
    address_id,
    cast(activebool as boolean) as is_active,
    cast(active as integer) as active,
    cast(create_date as date) as created_on,
    cast(last_update as timestamp) as last_update
from {{ ref('customer') }}
