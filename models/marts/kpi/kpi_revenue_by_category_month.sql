-- Revenue and paid rentals per film category per calendar month of payment.

with payments as (
    select * from {{ ref('fct_payment') }}
),

rentals as (
    select rental_id, film_id from {{ ref('fct_rental') }}
),

films as (
    select film_id, category_name from {{ ref('dim_film') }}
)

select
    cast(date_trunc('month', payments.payment_date) as date) as revenue_month,
    films.category_name,
    count(*) as paid_rentals,
    sum(payments.amount) as revenue,
    {{ to_money('avg(payments.amount)') }} as average_payment
from payments
inner join rentals on payments.rental_id = rentals.rental_id
inner join films on rentals.film_id = films.film_id
group by 1, 2
