alter table {{ relation|relation }} add columns (
{% for column in columns %}
    {{ column.name|quote }} {{ column.data_type }}{% if not loop.last %},{% endif %}

{% endfor %}
)
