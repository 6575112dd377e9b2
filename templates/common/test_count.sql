{#- A fail_calc over no rows, such as sum(n_records), is null: no failures. #}
select
    cast(coalesce({{ fail_calc }}, 0) as bigint) as failures
from (
{{ sql }}
) as dvt_internal_test
