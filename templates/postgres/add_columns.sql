alter table {{ relation|relation }}
{% for column in columns %}
    add column {{ column.name|quote }} {{ column.data_type }}{% if not loop.last %},{% endif %}

{% endfor %}
