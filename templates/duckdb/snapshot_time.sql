{#- dbt-duckdb's snapshot_get_time(): the transaction's start as a timestamp. -#}
now()::timestamp
