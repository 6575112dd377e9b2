select
    -- The source key is (actor_id, film_id); one column makes it testable with `unique`.
    cast(actor_id as {{ dbt.type_string() }}) || '-' || cast(film_id as {{ dbt.type_string() }}) as film_actor_id,
    actor_id,
    film_id,
    cast(last_update as timestamp) as last_update
from {{ ref('film_actor') }}
