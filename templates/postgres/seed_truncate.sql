truncate table {{ relation|relation }}
