select
    count(*) as failures,
    count(*) <> 0 as should_warn,
    count(*) <> 0 as should_error
from (
{{ sql }}
) as dvt_internal_test
