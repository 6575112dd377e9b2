select
    category_id,
    name as category_name,
    cast(last_update as timestamp) as last_update
from {{ ref('category') }}
