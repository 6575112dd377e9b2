{#
  DuckDB's half of the compare-and-set for the partitions that had no stored
  offset when this consumer read them: each is inserted only if it still has
  none. One another consumer stored meanwhile is missing from `returning`,
  and the caller rolls the whole batch back; a concurrent insert of the same
  one fails on the primary key.
#}
insert into {{ relation|relation }} (consumer_group, topic, partition, next_offset, updated_at)
select {{ consumer_group|literal }}, batch.topic, batch.partition, batch.next_offset, now()
from (
    values
{% for offset in offsets %}
        ({{ offset.topic|literal }}, {{ offset.partition }}, {{ offset.next_offset }}::bigint){% if not loop.last %},{% endif %}

{% endfor %}
) as batch (topic, partition, next_offset)
where not exists (
    select 1
    from {{ relation|relation }} as stored
    where stored.consumer_group = {{ consumer_group|literal }}
      and stored.topic = batch.topic
      and stored.partition = batch.partition
)
returning topic, partition
