{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert') }}
select g as id, (g * {{ var('version') }}) % 997 as val
from generate_series(1, 100000 + {{ var('version') }}) as g, pg_sleep(0.3)
