select current_database() as database, schemaname as schema, tablename as name, 'table' as type
from pg_catalog.pg_tables
where schemaname = {{ schema|literal }}
union all
select current_database(), schemaname, viewname, 'view'
from pg_catalog.pg_views
where schemaname = {{ schema|literal }}
union all
select current_database(), schemaname, matviewname, 'materialized_view'
from pg_catalog.pg_matviews
where schemaname = {{ schema|literal }}
order by 3
