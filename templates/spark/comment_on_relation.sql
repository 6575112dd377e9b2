{#- `comment on` takes tables only; a view's comment is its `comment`
    property. -#}
{% if kind == "view" %}
alter view {{ relation|relation }} set tblproperties ('comment' = {{ comment|literal }})
{% else %}
comment on table {{ relation|relation }} is {{ comment|literal }}
{% endif %}
