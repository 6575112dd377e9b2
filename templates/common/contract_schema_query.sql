-- One null of each type the contract declares, so the warehouse spells the
-- types as it spells the query's (dbt's get_empty_schema_sql).
select
{% for column in columns %}
    cast(null as {{ column.data_type }}) as {{ column.name }}{% if not loop.last %},{% endif %}

{% endfor %}
