{#- DuckDB alters one column per statement. -#}
{% for column in columns %}
alter table {{ relation|relation }} drop column {{ column|quote }};
{% endfor %}
