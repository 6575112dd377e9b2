create table {{ relation|relation }} as (
{{ sql }}
)
