delete from {{ table|relation }}
