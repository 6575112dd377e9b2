select
    language_id,
    name as language_name,
    cast(last_update as timestamp) as last_update
from {{ ref('language') }}
