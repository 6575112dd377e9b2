{#-
    The fee for the days a rental was kept too long, as money. Dispatched, so
    that a project (or an adapter) can replace how it is computed: the root
    project's `dispatch:` config searches `dvdrental` before this package.
-#}
{% macro late_fee(days_late, fee_per_day) -%}
    {{ return(adapter.dispatch('late_fee', 'dvdrental_utils')(days_late, fee_per_day)) }}
{%- endmacro %}

{% macro default__late_fee(days_late, fee_per_day) -%}
    cast({{ days_late }} * {{ fee_per_day }} as numeric(10,2))
{%- endmacro %}
