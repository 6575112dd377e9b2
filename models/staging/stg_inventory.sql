select
    inventory_id,
    film_id,
    store_id,
    cast(last_update as timestamp) as last_update
from {{ ref('inventory') }}
