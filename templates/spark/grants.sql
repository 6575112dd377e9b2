{#- Open-source Spark has no grants to give (dbt-spark applies them only on
    Databricks' Unity Catalog): grants are ignored. -#}
