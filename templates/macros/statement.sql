{#- Running SQL from Jinja, as dbt's global project does it. While parsing
    (`execute` false) nothing runs and nothing is stored, so `load_result`
    returns none. -#}

{% macro statement(name=None, fetch_result=False, auto_begin=True, language='sql') -%}
  {%- if execute -%}
    {%- set compiled_code = caller() -%}
    {%- if language != 'sql' -%}
      {{ exceptions.raise_compiler_error("statement(): dvt runs only SQL, not language `" ~ language ~ "`") }}
    {%- endif -%}
    {%- set response, table = adapter.execute(compiled_code, auto_begin=auto_begin, fetch=fetch_result) -%}
    {%- if name is not none -%}
      {{ store_result(name, response=response, agate_table=table) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{% macro noop_statement(name=None, message=None, code=None, rows_affected=None, res=None) -%}
  {%- set sql = caller() -%}
  {%- if name is not none -%}
    {{ store_raw_result(name, message=message, code=code, rows_affected=rows_affected, agate_table=res) }}
  {%- endif -%}
{%- endmacro %}

{% macro run_query(sql) -%}
  {%- call statement("run_query_statement", fetch_result=true, auto_begin=false) -%}
    {{ sql }}
  {%- endcall -%}
  {%- set result = load_result("run_query_statement") -%}
  {{ return(result.table if result else none) }}
{%- endmacro %}

{#- A materialization's hooks: those in the transaction or outside it. A
    hook's SQL is rendered as it runs. -#}
{% macro run_hooks(hooks, inside_transaction=True) -%}
  {%- for hook in hooks -%}
    {%- if hook.transaction == inside_transaction -%}
      {%- set rendered = render(hook.sql) | trim -%}
      {%- if rendered | length > 0 -%}
        {%- call statement(auto_begin=inside_transaction) -%}
          {{ rendered }}
        {%- endcall -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}
