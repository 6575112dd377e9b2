{#-
    Whole calendar days between two timestamps.
    date - date is an integer number of days on both PostgreSQL and DuckDB,
    which avoids age(), date_part('epoch', ...) and datediff().
-#}
{% macro rental_days(start_column, end_column) -%}
    (cast({{ end_column }} as date) - cast({{ start_column }} as date))
{%- endmacro %}
