{#- The helpers of dbt's global project that custom materializations call,
    written for dvt. Each dispatches, so a project's `postgres__name` or
    `default__name` takes its place as in dbt. -#}

{% macro drop_relation_if_exists(relation) -%}
  {%- if relation is not none -%}
    {%- do adapter.drop_relation(relation) -%}
  {%- endif -%}
{%- endmacro %}

{% macro make_temp_relation(base_relation, suffix='__dbt_tmp') -%}
  {{ return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix})) }}
{%- endmacro %}

{% macro make_intermediate_relation(base_relation, suffix='__dbt_tmp') -%}
  {{ return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix})) }}
{%- endmacro %}

{% macro make_backup_relation(base_relation, backup_relation_type, suffix='__dbt_backup') -%}
  {{ return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix}, type=backup_relation_type)) }}
{%- endmacro %}

{% macro get_create_table_as_sql(temporary, relation, sql) -%}
  {{ return(adapter.dispatch('get_create_table_as_sql', 'dbt')(temporary, relation, sql)) }}
{%- endmacro %}

{% macro default__get_create_table_as_sql(temporary, relation, sql) -%}
  {{ return(create_table_as(temporary, relation, sql)) }}
{%- endmacro %}

{% macro create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {{ adapter.dispatch('create_table_as', 'dbt')(temporary, relation, compiled_code) }}
{%- endmacro %}

{% macro default__create_table_as(temporary, relation, sql) -%}
  create {% if temporary %}temporary {% endif %}table {{ relation.include(database=false, schema=not temporary) }} as (
    {{ sql }}
  )
{%- endmacro %}

{% macro get_create_view_as_sql(relation, sql) -%}
  {{ return(adapter.dispatch('get_create_view_as_sql', 'dbt')(relation, sql)) }}
{%- endmacro %}

{% macro default__get_create_view_as_sql(relation, sql) -%}
  {{ return(create_view_as(relation, sql)) }}
{%- endmacro %}

{% macro create_view_as(relation, sql) -%}
  {{ adapter.dispatch('create_view_as', 'dbt')(relation, sql) }}
{%- endmacro %}

{% macro default__create_view_as(relation, sql) -%}
  create view {{ relation.include(database=false) }} as (
    {{ sql }}
  )
{%- endmacro %}

{#- dvt applies grants and docs in its own materializations; in a custom one
    they are left to the project. -#}
{% macro persist_docs(relation, model, for_relation=true, for_columns=true) -%}
{%- endmacro %}

{% macro apply_grants(relation, grant_config, should_revoke=true) -%}
{%- endmacro %}

{% macro should_revoke(existing_relation, full_refresh_mode=true) -%}
  {{ return(existing_relation is not none and not full_refresh_mode) }}
{%- endmacro %}
