create view {{ relation|relation }} as (
{{ sql }}
)
