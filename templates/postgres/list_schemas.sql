select nspname::text as schema from pg_catalog.pg_namespace order by 1
