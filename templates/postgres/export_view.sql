drop view if exists pg_temp.{{ view|quote }}; create temporary view {{ view|quote }} as {{ sql }}
