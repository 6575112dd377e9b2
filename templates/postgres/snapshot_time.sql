{#- dbt-postgres' snapshot_get_time(): the transaction's start, without its zone. -#}
now()::timestamp without time zone
