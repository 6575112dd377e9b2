{#- A temporary table takes no schema: it lives in the session's pg_temp. -#}
create temporary table {{ relation.identifier|quote }}
on commit drop
as (
{{ sql }}
)
