select relkind::text from pg_catalog.pg_class where oid = to_regclass($1)
