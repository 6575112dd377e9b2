{#- Spark's session catalog has no information schema to join: the adapter
    reads the catalog with `show tables`, `show views` and `describe table`
    (`Adapter::catalog` in adapter/spark), and renders nothing here. -#}
