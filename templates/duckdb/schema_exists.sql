select 1 from duckdb_schemas() where database_name = current_database() and schema_name = $1
