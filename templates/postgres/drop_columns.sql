alter table {{ relation|relation }}
{% for column in columns %}
    drop column {{ column|quote }}{% if not loop.last %},{% endif %}

{% endfor %}
