create table if not exists {{ relation|relation }} (
{% for column in columns %}
    {{ column.name|quote }} {{ column.data_type }}{% if column.not_null %} not null{% endif %}{% if not loop.last %},{% endif %}

{% endfor %}
)
