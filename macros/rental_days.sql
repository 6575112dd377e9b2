{#-
    Whole calendar days between two timestamps, through dbt's cross-database
    `datediff`, which dvt dispatches to each adapter's own SQL.
-#}
{% macro rental_days(start_column, end_column) -%}
    {{ dbt.datediff(start_column, end_column, 'day') }}
{%- endmacro %}
