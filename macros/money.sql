{#- Money columns are numeric(10,2) everywhere, on every adapter. -#}
{% macro to_money(column) -%}
    cast({{ column }} as numeric(10,2))
{%- endmacro %}

{#- For sources that store amounts in cents. -#}
{% macro cents_to_dollars(column) -%}
    cast({{ column }} / 100.0 as numeric(10,2))
{%- endmacro %}
