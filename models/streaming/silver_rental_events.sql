-- Silver: the rental events of the bronze table, typed, each once, with the
-- film they are about. Offsets only grow within a Kafka partition, and
-- `dvt ingest` commits each partition's batches in offset order, so taking
-- what lies past the last offset loaded of each partition picks up every new
-- event exactly once.
{{ config(materialized='incremental') }}

with events as (
    select *
    from {{ source('events', 'rental_events') }} as bronze
    {% if is_incremental() %}
    where bronze."offset" > coalesce((
        select max(loaded.kafka_offset)
        from {{ this }} as loaded
        where loaded.kafka_topic = bronze.topic
          and loaded.kafka_partition = bronze."partition"
    ), -1)
    {% endif %}
)

select
    events.topic as kafka_topic,
    events."partition" as kafka_partition,
    events."offset" as kafka_offset,
    events.event_type,
    events.rental_id,
    events.inventory_id,
    events.film_id,
    film.title as film_title,
    events.customer_id,
    events.staff_id,
    events.store_id,
    cast(events.rental_date as {{ dbt.type_timestamp() }}) as rental_date,
    cast(events.return_date as {{ dbt.type_timestamp() }}) as return_date,
    events.rental_rate,
    events.amount,
    cast(events.event_time as {{ dbt.type_timestamp() }}) as event_time,
    cast(events.ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
from events
left join {{ ref('stg_film') }} as film
    on film.film_id = events.film_id
