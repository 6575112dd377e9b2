{#- A microbatch's window emptied before its rows go in: the table's rows whose event time is in [start, end). The column is written as the config names it, as dbt writes its event-time filters. -#}
delete from {{ target|relation }}
where {{ event_time }} >= {{ start|literal }} and {{ event_time }} < {{ end|literal }}
