alter {{ kind }} {{ relation|relation }} rename to {{ new_identifier|quote }}
