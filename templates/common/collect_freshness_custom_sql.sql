-- A source's `loaded_at_query` and the warehouse's clock, for
-- `dvt source freshness`, as dbt's collect_freshness_custom_sql selects them.
with source_query as (
  {{ loaded_at_query }}
)
select
  (select * from source_query) as max_loaded_at,
  current_timestamp as snapshotted_at
