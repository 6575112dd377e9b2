{#- Adds the staging table's new versions. -#}
insert into {{ target|relation }} ({{ columns|map("quote")|join(", ") }})
select {% for column in columns %}dvt_snapshot_changes.{{ column|quote }}{% if not loop.last %}, {% endif %}{% endfor %}
from {{ source|relation }} as dvt_snapshot_changes
where dvt_snapshot_changes.dbt_change_type = 'insert'
