{#- The model's query with no rows, to learn its columns' types from a table
    created (and rolled back) from it. Context: `sql`. -#}
select * from (
{{ sql }}
) as __dbt_sbq
where false
limit 0
