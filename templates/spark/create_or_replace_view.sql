create or replace view {{ relation|relation }} as
{{ sql }}
