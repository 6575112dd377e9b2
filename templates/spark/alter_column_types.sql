{#- Spark alters one column per statement, and only to a wider type the
    format allows. -#}
{% for column in columns %}
alter table {{ relation|relation }} alter column {{ column.name|quote }} type {{ column.data_type }};
{% endfor %}
