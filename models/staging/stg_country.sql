select
    country_id,
    country as country_name,
    cast(last_update as timestamp) as last_update
from {{ ref('country') }}
