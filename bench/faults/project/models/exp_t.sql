{{ config(materialized='table') }}
select g as id, (g * {{ var('version') }}) % 997 as val, g % 8 as part
from generate_series(1, 200000 + {{ var('version') }}) as g
