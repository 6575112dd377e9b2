alter table {{ relation|relation }}
{% for column in columns %}
    alter column {{ column.name|quote }} type {{ column.data_type }} using {{ column.name|quote }}::{{ column.data_type }}{% if not loop.last %},{% endif %}

{% endfor %}
