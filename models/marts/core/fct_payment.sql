{{
    config(
        materialized='incremental',
        unique_key='payment_id'
    )
}}

-- Grain: one row per payment. Incremental: later runs only pick up payments
-- newer than the newest one already in the table.

with payments as (
    select * from {{ ref('stg_payment') }}
    {% if is_incremental() %}
    where payment_date > (select max(payment_date) from {{ this }})
    {% endif %}
),

staff as (
    select staff_id, store_id
    from {{ ref('stg_staff') }}
)

select
    payments.payment_id,
    payments.rental_id,
    payments.customer_id,
    payments.staff_id,
    staff.store_id,
    payments.payment_date,
    cast(payments.payment_date as date) as payment_date_day,
    payments.amount
from payments
inner join staff on payments.staff_id = staff.staff_id
