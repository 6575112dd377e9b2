{#
  Compare-and-set: each partition's offset moves only from the value this
  consumer read (`expected`, null when there was no row). A row another
  consumer moved meanwhile is neither inserted nor updated, so it is missing
  from `returning`, and the caller rolls the whole batch back.
#}
with batch (topic, partition, expected_offset, next_offset) as (
    values
{% for offset in offsets %}
        ({{ offset.topic|literal }}, {{ offset.partition }}, {% if offset.expected is none %}null{% else %}{{ offset.expected }}{% endif %}::bigint, {{ offset.next_offset }}::bigint){% if not loop.last %},{% endif %}

{% endfor %}
)
insert into {{ relation|relation }} as stored (consumer_group, topic, partition, next_offset, updated_at)
select {{ consumer_group|literal }}, topic, partition, next_offset, now()
from batch
on conflict (consumer_group, topic, partition) do update
set next_offset = excluded.next_offset, updated_at = excluded.updated_at
where stored.next_offset = (
    select batch.expected_offset
    from batch
    where batch.topic = excluded.topic and batch.partition = excluded.partition
)
returning topic, partition
