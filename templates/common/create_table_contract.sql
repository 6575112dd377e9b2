{#- A table with the contract's column types and constraints, then the
    query's rows, as dbt's create_table_as writes it for an enforced
    contract. -#}
create table {{ relation|relation }} (
{% for column in columns %}
    {{ column.name }} {{ column.data_type }}{% for constraint in column.constraints %} {{ constraint }}{% endfor %}{% if not loop.last or constraints %},{% endif %}

{% endfor %}
{% for constraint in constraints %}
    {{ constraint }}{% if not loop.last %},{% endif %}

{% endfor %}
);
insert into {{ relation|relation }} ({% for column in columns %}{{ column.name }}{% if not loop.last %}, {% endif %}{% endfor %})
select {% for column in columns %}{{ column.name }}{% if not loop.last %}, {% endif %}{% endfor %} from (
{{ sql }}
) as model_subq
