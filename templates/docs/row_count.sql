-- The exact row count of a table that the planner has no estimate for yet.
select count(*) from {{ relation }}
