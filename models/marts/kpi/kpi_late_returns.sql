-- Late returns per rental month and film category. Open rentals are left out:
-- they are not late yet, or not known to be.

with rentals as (
    select * from {{ ref('fct_rental') }}
    where is_returned
),

films as (
    select film_id, category_name from {{ ref('dim_film') }}
)

select
    cast(date_trunc('month', rentals.rental_date) as date) as rental_month,
    films.category_name,
    count(*) as returned_rentals,
    sum(case when rentals.is_late then 1 else 0 end) as late_rentals,
    cast(round(100.0 * sum(case when rentals.is_late then 1 else 0 end) / count(*), 2) as numeric(7,2)) as late_rate_percent,
    coalesce(max(rentals.days_late), 0) as max_days_late,
    cast(avg(case when rentals.is_late then rentals.days_late end) as numeric(10,2)) as average_days_late,
    sum(rentals.late_fee) as late_fees
from rentals
inner join films on rentals.film_id = films.film_id
group by 1, 2
