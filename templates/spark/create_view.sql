{#- Spark's `create view ... as` takes the query unparenthesized, as
    dbt-spark writes it. -#}
create view {{ relation|relation }} as
{{ sql }}
