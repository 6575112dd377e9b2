{#- dbt-spark's snapshot_get_time(). -#}
current_timestamp()
