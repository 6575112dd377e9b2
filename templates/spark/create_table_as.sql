{#- A table in the target's `file_format` (parquet unless set), partitioned
    by the model's `partition_by`. -#}
create table {{ relation|relation }}
using {{ file_format|default("parquet") }}
{% if partition_by is defined and partition_by %}
partitioned by ({{ partition_by|map("quote")|join(", ") }})
{% endif %}
as
{{ sql }}
