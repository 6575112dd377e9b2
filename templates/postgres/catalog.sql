-- The catalog of every relation in the project's schemas: one row per column.
-- reltuples is the planner's estimate (-1 when never analyzed); the size
-- includes indexes and TOAST.
select
    namespace.nspname as table_schema,
    class.relname as table_name,
    class.relkind as relation_kind,
    pg_get_userbyid(class.relowner) as table_owner,
    obj_description(class.oid, 'pg_class') as table_comment,
    case when class.relkind in ('r', 'm', 'p') then class.reltuples::bigint end as row_count,
    case when class.relkind in ('r', 'm', 'p') then pg_total_relation_size(class.oid) end as total_bytes,
    attribute.attname as column_name,
    format_type(attribute.atttypid, attribute.atttypmod) as column_type,
    attribute.attnum as column_index,
    col_description(class.oid, attribute.attnum) as column_comment
from pg_catalog.pg_class as class
inner join pg_catalog.pg_namespace as namespace on namespace.oid = class.relnamespace
inner join pg_catalog.pg_attribute as attribute
    on attribute.attrelid = class.oid and attribute.attnum > 0 and not attribute.attisdropped
where class.relkind in ('r', 'v', 'm', 'p', 'f')
    and namespace.nspname in ({% for schema in schemas %}{{ schema|literal }}{{ ", " if not loop.last else "" }}{% endfor %})
order by namespace.nspname, class.relname, attribute.attnum
