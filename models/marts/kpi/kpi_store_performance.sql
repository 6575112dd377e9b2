-- One row per store: rentals, customers, revenue and return behaviour.

with rentals as (
    select
        store_id,
        count(*) as rentals,
        count(distinct customer_id) as customers,
        sum(case when is_returned then 0 else 1 end) as open_rentals,
        sum(case when is_late then 1 else 0 end) as late_rentals,
        sum(case when is_returned then 1 else 0 end) as returned_rentals,
        avg(rental_days) as average_rental_days,
        sum(late_fee) as late_fees
    from {{ ref('fct_rental') }}
    group by store_id
),

payments as (
    select store_id, sum(amount) as revenue
    from {{ ref('fct_payment') }}
    group by store_id
)

select
    stores.store_id,
    stores.manager_name,
    stores.city_name,
    stores.inventory_count,
    rentals.rentals,
    rentals.customers,
    rentals.open_rentals,
    rentals.late_rentals,
    cast(rentals.average_rental_days as numeric(10,2)) as average_rental_days,
    cast(round(100.0 * rentals.late_rentals / nullif(rentals.returned_rentals, 0), 2) as numeric(7,2)) as late_rate_percent,
    rentals.late_fees,
    coalesce(payments.revenue, 0) as revenue,
    {{ to_money('coalesce(payments.revenue, 0) / nullif(rentals.rentals, 0)') }} as revenue_per_rental
from {{ ref('dim_store') }} as stores
left join rentals on stores.store_id = rentals.store_id
left join payments on stores.store_id = payments.store_id
