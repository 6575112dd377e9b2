{#- Spark drops no dependent objects (there is no `cascade`): a view over a
    dropped table fails when read, until the table is back. -#}
drop {{ kind }} if exists {{ relation|relation }}
