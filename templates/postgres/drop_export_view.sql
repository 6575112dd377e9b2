drop view if exists pg_temp.{{ view|quote }}
