refresh materialized view {{ relation|relation }}
