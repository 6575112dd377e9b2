select database_name as database, schema_name as schema, table_name as name, 'table' as type
from duckdb_tables()
where database_name = current_database() and schema_name = {{ schema|literal }}
union all
select database_name, schema_name, view_name, 'view'
from duckdb_views()
where database_name = current_database() and schema_name = {{ schema|literal }} and not internal
order by 3
