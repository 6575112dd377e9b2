-- Live KPIs of the streaming path: per store and minute, over the latest hour
-- of events, the rentals opened and returned, the revenue and the active
-- customers. `dvt ingest --follow --refresh "source:events.rental_events+"`
-- rebuilds it as events arrive.
{{ config(materialized='table') }}

with events as (
    select * from {{ ref('silver_rental_events') }}
),

latest as (
    select max(event_time) as until from events
)

select
    {{ dbt.date_trunc('minute', 'events.event_time') }} as minute,
    events.store_id,
    sum(case when events.event_type = 'rental_created' then 1 else 0 end) as rentals_opened,
    sum(case when events.event_type = 'rental_returned' then 1 else 0 end) as rentals_returned,
    coalesce(sum(events.amount), 0) as revenue,
    count(distinct events.customer_id) as active_customers
from events
cross join latest
where events.event_time > {{ dbt.dateadd('hour', -1, 'latest.until') }}
group by 1, 2
