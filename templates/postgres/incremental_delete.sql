delete from {{ target|relation }} as dvt_target
using {{ source|relation }} as dvt_source
where
{% for key in unique_key %}
    {{ "and " if not loop.first else "" }}dvt_target.{{ key|quote }} = dvt_source.{{ key|quote }}
{% endfor %}
