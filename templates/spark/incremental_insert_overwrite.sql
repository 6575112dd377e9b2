{#- The partitions the new rows fall in are replaced (the session's
    `partitionOverwriteMode` is `dynamic`); without `partition_by`, the whole
    table. As dbt-spark's insert_overwrite. -#}
insert overwrite table {{ target|relation }}
{% if partition_by %}
partition ({{ partition_by|map("quote")|join(", ") }})
{% endif %}
select {{ columns|map("quote")|join(", ") }}
from {{ source|relation }}
