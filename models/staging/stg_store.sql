select
    store_id,
    manager_staff_id,
    address_id,
    cast(last_update as timestamp) as last_update
from {{ ref('store') }}
