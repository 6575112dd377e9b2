{#- Where each customer lives, over time (SCD type 2): a new version
    whenever a customer moves or the address is corrected, and the current
    one closed when the customer is deleted. Run by `dvt snapshot` and
    `dvt build`. -#}
{% snapshot customer_addresses %}
{{ config(
    target_schema='snapshots',
    unique_key='customer_id',
    strategy='check',
    check_cols=['address_id', 'address', 'address2', 'district', 'city_id', 'postal_code', 'phone'],
    hard_deletes='invalidate'
) }}
select
    customer.customer_id,
    customer.address_id,
    address.address,
    address.address2,
    address.district,
    address.city_id,
    address.postal_code,
    address.phone
from {{ ref('stg_customer') }} as customer
join {{ ref('stg_address') }} as address on address.address_id = customer.address_id
{% endsnapshot %}
