comment on {{ kind }} {{ relation|relation }} is {{ comment|literal }}
