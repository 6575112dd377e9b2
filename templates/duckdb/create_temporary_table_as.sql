{#- A temporary table lives in the connection's `temp` catalog until the
    connection closes; DuckDB has no `on commit drop`, so one left by an
    earlier statement on the same connection is replaced. -#}
create or replace temporary table {{ relation.identifier|quote }}
as (
{{ sql }}
)
