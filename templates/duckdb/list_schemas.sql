select schema_name as schema from duckdb_schemas() where database_name = current_database() order by 1
