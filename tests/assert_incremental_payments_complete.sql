-- The incremental fct_payment must hold exactly the payments in staging,
-- on the first build and on every later run. Returns one row on a mismatch.

with staged as (
    select count(*) as payments, sum(amount) as amount
    from {{ ref('stg_payment') }}
),

loaded as (
    select count(*) as payments, sum(amount) as amount
    from {{ ref('fct_payment') }}
)

select
    staged.payments as staged_payments,
    loaded.payments as loaded_payments,
    staged.amount as staged_amount,
    loaded.amount as loaded_amount
from staged
cross join loaded
where staged.payments <> loaded.payments
    or staged.amount <> loaded.amount
