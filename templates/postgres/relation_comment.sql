select pg_catalog.obj_description(to_regclass($1), 'pg_class')
