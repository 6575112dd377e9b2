select
    payment_id,
    customer_id,
    staff_id,
    rental_id,
    {{ to_money('amount') }} as amount,
    cast(payment_date as timestamp) as payment_date
from {{ ref('payment') }}
