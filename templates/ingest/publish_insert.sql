insert into {{ table|relation }} select * from {{ loading|relation }}
