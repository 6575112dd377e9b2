{#- An embedded DuckDB file has no roles to grant to: grants are ignored,
    as dbt-duckdb ignores them. -#}
