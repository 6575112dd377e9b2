{#- Spark has no temporary tables: a session's temporary view holds an
    incremental run's new rows, as in dbt-spark. The view is evaluated where
    it is read, once, by the statement that loads the target. -#}
create or replace temporary view {{ relation|relation }} as
{{ sql }}
