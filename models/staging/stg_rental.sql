select
    rental_id,
    cast(rental_date as timestamp) as rental_date,
    inventory_id,
    customer_id,
    -- Empty in the seed (NULL here) while the film is still out.
    cast(return_date as timestamp) as return_date,
    staff_id,
    cast(last_update as timestamp) as last_update
from {{ ref('rental') }}
