-- The rows of an export: the relation, each partition key as text (a date
-- cut to its granularity, in the adapter's export_partition_value.sql), only
-- the rows past the last export's watermark (and not past this one's),
-- sorted so that each partition comes in one run.
select
    dvt_export.*
{% for key in partitions %}
    , {% include "export_partition_value.sql" %} as {{ key.alias|quote }}
{% endfor %}
from {{ relation|relation }} as dvt_export
{% if watermark %}
where {% if watermark.after is not none %}{{ watermark.column|quote }} > {{ watermark.after|literal }} and {% endif %}{{ watermark.column|quote }} <= {{ watermark.through|literal }}
{% endif %}
{% if partitions %}
order by {% for key in partitions %}{{ key.alias|quote }}{{ ", " if not loop.last else "" }}{% endfor %}
{% endif %}
