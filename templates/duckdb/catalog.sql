-- The catalog of every relation in the project's schemas: one row per column.
-- DuckDB keeps an exact row count for tables; it has no owners, and its file
-- does not split sizes by relation.
select
    columns.schema_name as table_schema,
    columns.table_name as table_name,
    case when views.view_name is null then 'r' else 'v' end as relation_kind,
    null as table_owner,
    coalesce(tables.comment, views.comment) as table_comment,
    tables.estimated_size as row_count,
    null as total_bytes,
    columns.column_name as column_name,
    columns.data_type as column_type,
    columns.column_index as column_index,
    columns.comment as column_comment
from duckdb_columns() as columns
left join duckdb_tables() as tables
    on tables.database_name = columns.database_name
    and tables.schema_name = columns.schema_name
    and tables.table_name = columns.table_name
left join duckdb_views() as views
    on views.database_name = columns.database_name
    and views.schema_name = columns.schema_name
    and views.view_name = columns.table_name
where columns.database_name = current_database()
    and columns.schema_name in ({% for schema in schemas %}{{ schema|literal }}{{ ", " if not loop.last else "" }}{% endfor %})
order by columns.schema_name, columns.table_name, columns.column_index
