select
    actor_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    cast(last_update as timestamp) as last_update
from {{ ref('actor') }}
