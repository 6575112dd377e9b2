{#-
    The root project's override of `dvdrental_utils.late_fee` on DuckDB, found
    first because `dispatch:` in project.yml searches `dvdrental` before the
    package. It computes the same fee, spelled in DuckDB's `decimal`.
-#}
{% macro duckdb__late_fee(days_late, fee_per_day) -%}
    cast({{ days_late }} * {{ fee_per_day }} as decimal(10,2))
{%- endmacro %}
