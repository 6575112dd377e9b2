{#- A relation in the `temp` catalog (the scratch table dvt compares a seed's
    types with) must be created as temporary. -#}
create {{ "temporary " if relation.schema == "temp" else "" }}table {{ relation|relation }} (
{% for column in columns %}
    {{ column.name|quote }} {{ column.data_type }}{% if not loop.last %},{% endif %}

{% endfor %}
)
