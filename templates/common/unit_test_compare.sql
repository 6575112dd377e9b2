{#- A unit test's model query and its expected rows over the expected
    columns, in one result told apart by `actual_or_expected`, as dbt
    compares them. Context: `sql`, `expected_sql` (none when no rows are
    expected), `columns` (names). -#}
-- Build actual result given inputs
with dbt_internal_unit_test_actual as (
  select
    {% for column in columns %}{{ column|quote }}, {% endfor %}'actual' as "actual_or_expected"
  from (
{{ sql }}
  ) _dbt_internal_unit_test_actual
),
-- Build expected result
dbt_internal_unit_test_expected as (
  select
    {% for column in columns %}{{ column|quote }}, {% endfor %}'expected' as "actual_or_expected"
  from (
{% if expected_sql is none %}
    select * from dbt_internal_unit_test_actual
    limit 0
{% else %}
{{ expected_sql }}
{% endif %}
  ) _dbt_internal_unit_test_expected
)
-- Union actual and expected results
select * from dbt_internal_unit_test_actual
union all
select * from dbt_internal_unit_test_expected
