-- Every Kafka message reaches silver at most once: no (topic, partition,
-- offset) appears twice.
select kafka_topic, kafka_partition, kafka_offset, count(*) as copies
from {{ ref('silver_rental_events') }}
group by kafka_topic, kafka_partition, kafka_offset
having count(*) > 1
