drop {{ kind }} if exists {{ relation|relation }} cascade
