{#- Spark has no information schema for its session catalog; the adapter
    answers from `show tables` and `show views` instead (see
    adapter/spark). -#}
show tables in {{ schema|quote }}
