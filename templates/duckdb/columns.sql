select column_name, data_type from duckdb_columns() where database_name = coalesce(nullif($1, ''), current_database()) and schema_name = $2 and table_name = $3 order by column_index
