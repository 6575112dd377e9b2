{#- Dropping columns takes a format that can (delta with column mapping,
    iceberg); on parquet Spark refuses, and says so. -#}
alter table {{ relation|relation }} drop columns ({{ columns|map("quote")|join(", ") }})
