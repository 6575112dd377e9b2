{#-
    The day of the week of a date, 0 = Sunday ... 6 = Saturday, as PostgreSQL's
    and DuckDB's `extract(dow ...)` count; dispatched, since Spark counts
    1 = Sunday ... 7 = Saturday.
-#}
{% macro day_of_week(date) -%}
    {{ return(adapter.dispatch('day_of_week', 'dvdrental')(date)) }}
{%- endmacro %}

{% macro default__day_of_week(date) -%}
    cast(extract(dow from {{ date }}) as integer)
{%- endmacro %}

{% macro spark__day_of_week(date) -%}
    (cast(extract(dow from {{ date }}) as integer) - 1)
{%- endmacro %}
