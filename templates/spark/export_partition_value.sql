{#- A partition key's value as text; context: key (column, granularity). -#}
{% if key.granularity == "year" %}date_format({{ key.column|quote }}, 'yyyy'){% elif key.granularity == "month" %}date_format({{ key.column|quote }}, 'yyyy-MM'){% elif key.granularity == "day" %}date_format({{ key.column|quote }}, 'yyyy-MM-dd'){% else %}cast({{ key.column|quote }} as string){% endif %}
