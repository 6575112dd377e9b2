{#- DuckDB alters one column per statement. -#}
{% for column in columns %}
alter table {{ relation|relation }} add column {{ column.name|quote }} {{ column.data_type }};
{% endfor %}
