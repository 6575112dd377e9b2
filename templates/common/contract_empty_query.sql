-- The model's query with no rows, whose columns a contract is checked
-- against, as dbt's get_empty_subquery_sql writes it.
select * from (
{{ sql }}
) as __dbt_sbq
where false
limit 0
