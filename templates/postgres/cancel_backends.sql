select pg_catalog.pg_cancel_backend(pid) from unnest($1::int4[]) as running(pid)
