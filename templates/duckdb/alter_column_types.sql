{#- DuckDB alters one column per statement. -#}
{% for column in columns %}
alter table {{ relation|relation }} alter column {{ column.name|quote }} type {{ column.data_type }} using cast({{ column.name|quote }} as {{ column.data_type }});
{% endfor %}
