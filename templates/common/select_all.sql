select * from {{ relation|relation }}
