{#- A seed's table, in the target's `file_format`. PostgreSQL's `text`,
    which projects write in `column_types`, is Spark's `string`. The scratch
    relation dvt compares a seed's types with (in the session schema) is a
    temporary view of no rows, so that concurrent runs never share it. -#}
{% macro type(column) %}{{ "string" if column.data_type|lower == "text" else column.data_type }}{% endmacro %}
{% if relation.schema == "__dvt_session" %}
create or replace temporary view {{ relation|relation }} as
select
{% for column in columns %}
    cast(null as {{ type(column) }}) as {{ column.name|quote }}{% if not loop.last %},{% endif %}

{% endfor %}
where false
{% else %}
create table {{ relation|relation }} (
{% for column in columns %}
    {{ column.name|quote }} {{ type(column) }}{% if not loop.last %},{% endif %}

{% endfor %}
)
using {{ file_format }}
{% endif %}
