select
    film_id,
    category_id,
    cast(last_update as timestamp) as last_update
from {{ ref('film_category') }}
