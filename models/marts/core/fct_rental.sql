-- Grain: one row per rental.

with rentals as (
    select * from {{ ref('stg_rental') }}
),

inventory as (
    select inventory_id, film_id, store_id
    from {{ ref('stg_inventory') }}
),

durations as (
    select * from {{ ref('int_rental_durations') }}
),

measured as (
    select
        rentals.rental_id,
        rentals.customer_id,
        rentals.staff_id,
        inventory.store_id,
        inventory.film_id,
        rentals.inventory_id,
        rentals.rental_date,
        rentals.return_date,
        cast(rentals.rental_date as date) as rental_date_day,
        durations.allowed_days,
        durations.rental_days,
        case
            when durations.rental_days > durations.allowed_days
                then durations.rental_days - durations.allowed_days
            else 0
        end as days_late
    from rentals
    inner join inventory on rentals.inventory_id = inventory.inventory_id
    inner join durations on rentals.rental_id = durations.rental_id
)

select
    rental_id,
    customer_id,
    staff_id,
    store_id,
    film_id,
    inventory_id,
    rental_date,
    return_date,
    rental_date_day,
    return_date is not null as is_returned,
    allowed_days,
    rental_days,
    days_late,
    days_late > 0 as is_late,
    {{ dvdrental_utils.late_fee('days_late', var('late_fee_per_day')) }} as late_fee
from measured
