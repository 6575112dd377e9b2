{#
  DuckDB's half of the compare-and-set of `templates/ingest/store_offsets.sql`
  for the partitions whose offset this consumer read (`expected`): each moves
  only from that value. A row another consumer moved meanwhile is not
  updated, so it is missing from `returning`, and the caller rolls the whole
  batch back. (DuckDB forbids the subquery PostgreSQL's template has in
  `on conflict ... do update ... where`.)
#}
update {{ relation|relation }} as stored
set next_offset = batch.next_offset, updated_at = now()
from (
    values
{% for offset in offsets %}
        ({{ offset.topic|literal }}, {{ offset.partition }}, {{ offset.expected }}::bigint, {{ offset.next_offset }}::bigint){% if not loop.last %},{% endif %}

{% endfor %}
) as batch (topic, partition, expected_offset, next_offset)
where stored.consumer_group = {{ consumer_group|literal }}
  and stored.topic = batch.topic
  and stored.partition = batch.partition
  and stored.next_offset = batch.expected_offset
returning stored.topic, stored.partition
