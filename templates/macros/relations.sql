{#- dbt's relation helpers of the context, on the adapter's `get_relation`:
    none while parsing, the warehouse's answer at run time. -#}

{% macro load_relation(relation) -%}
  {{ return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{% macro load_cached_relation(relation) -%}
  {{ return(load_relation(relation)) }}
{%- endmacro %}
