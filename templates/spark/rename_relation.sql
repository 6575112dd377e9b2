{#- The new name is qualified with the same schema: Spark renames within a
    schema only. -#}
alter {{ kind }} {{ relation|relation }} rename to {{ relation.schema|quote }}.{{ new_identifier|quote }}
