{#- The columns of a snapshot's query (or of some expressions over it), without reading a row. -#}
select {{ columns|join(", ") if columns else "*" }}
from (
{{ sql }}
) as dvt_snapshot_query
limit 0
