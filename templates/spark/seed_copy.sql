{#- Seeds go up as Arrow batches of a local relation (`copy_in_csv` in
    adapter/spark), not as SQL: see `seed_insert.sql`. -#}
