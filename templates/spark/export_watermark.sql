-- The highest watermark of a relation, as text: where an incremental export
-- stops, and the next one starts.
select cast(max({{ column|quote }}) as string) from {{ relation|relation }}
