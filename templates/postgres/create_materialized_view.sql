create materialized view {{ relation|relation }} as (
{{ sql }}
)
