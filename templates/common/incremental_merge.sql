merge into {{ target|relation }} as dvt_target
using {{ source|relation }} as dvt_source
on (
{% for key in unique_key %}
    {{ "and " if not loop.first else "" }}dvt_target.{{ key|quote }} = dvt_source.{{ key|quote }}
{% else %}
    {#- Without a unique key nothing matches, so every row is inserted. #}
    false
{% endfor %}
)
{% if update_columns and unique_key %}
when matched then update set
{% for column in update_columns %}
    {{ column|quote }} = dvt_source.{{ column|quote }}{% if not loop.last %},{% endif %}

{% endfor %}
{% endif %}
when not matched then insert ({{ columns|map("quote")|join(", ") }})
values ({% for column in columns %}dvt_source.{{ column|quote }}{% if not loop.last %}, {% endif %}{% endfor %})
