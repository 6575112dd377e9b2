-- Every payment must belong to a rental by the same customer that has come
-- back, and must not be taken before the film was returned.
-- Returns the offending payments; no rows means the test passes.

select
    payments.payment_id,
    payments.rental_id,
    payments.customer_id as payment_customer_id,
    rentals.customer_id as rental_customer_id,
    rentals.return_date,
    payments.payment_date
from {{ ref('fct_payment') }} as payments
left join {{ ref('fct_rental') }} as rentals
    on payments.rental_id = rentals.rental_id
where rentals.rental_id is null
    or rentals.customer_id <> payments.customer_id
    or rentals.return_date is null
    or payments.payment_date < rentals.return_date
