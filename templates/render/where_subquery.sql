(select * from {{ model }} where {{ filter }}) dbt_subquery
