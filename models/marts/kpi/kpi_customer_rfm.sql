{#-
    Scores run from 1 (worst) to rfm_buckets (best). The var is only printed,
    never computed with in Jinja: dbt-core 1.10 fails a unit test of a model
    that filters or does arithmetic on var() (dbt-core#11204), so the
    segment thresholds are SQL (the `thresholds` CTE).
-#}

-- Recency, frequency and monetary value per customer who has rented at least once.

with thresholds as (
    select
        {{ var('rfm_buckets') }} - 1 as high,
        floor({{ var('rfm_buckets') }} / 2.0) as low
),

rentals as (
    select customer_id, rental_date from {{ ref('fct_rental') }}
),

payments as (
    select customer_id, sum(amount) as monetary
    from {{ ref('fct_payment') }}
    group by customer_id
),

as_of as (
    select cast(max(rental_date) as date) as as_of_date from rentals
),

per_customer as (
    select
        customer_id,
        cast(max(rental_date) as date) as last_rental_on,
        count(*) as frequency
    from rentals
    group by customer_id
),

measured as (
    select
        per_customer.customer_id,
        per_customer.last_rental_on,
        {{ dbt.datediff('per_customer.last_rental_on', 'as_of.as_of_date', 'day') }} as recency_days,
        per_customer.frequency,
        coalesce(payments.monetary, 0) as monetary
    from per_customer
    cross join as_of
    left join payments on per_customer.customer_id = payments.customer_id
),

scored as (
    select
        measured.*,
        -- customer_id breaks ties so every engine hands out the same buckets.
        ntile({{ var('rfm_buckets') }}) over (order by recency_days desc, customer_id) as recency_score,
        ntile({{ var('rfm_buckets') }}) over (order by frequency, customer_id) as frequency_score,
        ntile({{ var('rfm_buckets') }}) over (order by monetary, customer_id) as monetary_score
    from measured
)

select
    customer_id,
    last_rental_on,
    recency_days,
    frequency,
    monetary,
    recency_score,
    frequency_score,
    monetary_score,
    cast(recency_score as {{ dbt.type_string() }}) || cast(frequency_score as {{ dbt.type_string() }}) || cast(monetary_score as {{ dbt.type_string() }}) as rfm_code,
    case
        when recency_score >= thresholds.high and frequency_score >= thresholds.high and monetary_score >= thresholds.high then 'champions'
        when recency_score > thresholds.low and frequency_score >= thresholds.high then 'loyal'
        when recency_score >= thresholds.high and frequency_score <= thresholds.low then 'promising'
        when recency_score <= thresholds.low and frequency_score >= thresholds.high then 'at risk'
        when recency_score <= thresholds.low and frequency_score <= thresholds.low then 'hibernating'
        else 'needs attention'
    end as rfm_segment
from scored
cross join thresholds
