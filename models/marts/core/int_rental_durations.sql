{{ config(materialized='ephemeral') }}

-- How long each rental was kept, against how long it was allowed.
-- Ephemeral: inlined as a CTE into fct_rental, never built in the database.

with rentals as (
    select rental_id, rental_date, return_date, inventory_id
    from {{ ref('stg_rental') }}
),

inventory as (
    select inventory_id, film_id
    from {{ ref('stg_inventory') }}
),

films as (
    select film_id, rental_duration_days
    from {{ ref('stg_film') }}
)

select
    rentals.rental_id,
    films.rental_duration_days as allowed_days,
    case
        when rentals.return_date is not null
            then {{ rental_days('rentals.rental_date', 'rentals.return_date') }}
    end as rental_days
from rentals
inner join inventory on rentals.inventory_id = inventory.inventory_id
inner join films on inventory.film_id = films.film_id
