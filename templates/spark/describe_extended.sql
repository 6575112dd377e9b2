describe table extended {{ relation|relation }}
