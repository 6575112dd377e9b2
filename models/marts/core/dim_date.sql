-- One row per calendar day on which something was rented, returned or paid.
-- Built from the data rather than generate_series, which DuckDB spells differently.

with days as (
    select cast(rental_date as date) as date_day from {{ ref('stg_rental') }}
    union
    select cast(return_date as date) from {{ ref('stg_rental') }} where return_date is not null
    union
    select cast(payment_date as date) from {{ ref('stg_payment') }}
)

select
    date_day,
    cast(extract(year from date_day) as integer) as year_number,
    cast(extract(quarter from date_day) as integer) as quarter_number,
    cast(extract(month from date_day) as integer) as month_number,
    cast(extract(day from date_day) as integer) as day_of_month,
    -- 0 = Sunday ... 6 = Saturday on every adapter (macros/day_of_week.sql).
    {{ day_of_week('date_day') }} as day_of_week,
    {{ day_of_week('date_day') }} in (0, 6) as is_weekend,
    cast(date_trunc('month', cast(date_day as timestamp)) as date) as month_start_date
from days
