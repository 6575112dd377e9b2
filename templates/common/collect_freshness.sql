-- The latest load of a source table and the warehouse's clock, for
-- `dvt source freshness`, as dbt's collect_freshness selects them.
select
  max({{ loaded_at_field }}) as max_loaded_at,
  current_timestamp as snapshotted_at
from {{ relation|relation }}
{% if filter %}
where {{ filter }}
{% endif %}
