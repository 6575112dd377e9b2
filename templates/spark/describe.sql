describe table {{ relation|relation }}
