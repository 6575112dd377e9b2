select attname::text, pg_catalog.format_type(atttypid, atttypmod)
from pg_catalog.pg_attribute
where attrelid = to_regclass($1) and attnum > 0 and not attisdropped
order by attnum
