select
    city_id,
    city as city_name,
    country_id,
    cast(last_update as timestamp) as last_update
from {{ ref('city') }}
