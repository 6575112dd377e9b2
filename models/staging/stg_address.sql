select
    address_id,
    address,
    address2,
    district,
    city_id,
    cast(postal_code as {{ dbt.type_string() }}) as postal_code,
    cast(phone as {{ dbt.type_string() }}) as phone,
    cast(last_update as timestamp) as last_update
from {{ ref('address') }}
