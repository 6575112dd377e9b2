{#- Closes the current versions that the staging table updates or deletes. -#}
update {{ target|relation }} as dvt_snapshot_target
set {{ columns.dbt_valid_to }} = dvt_snapshot_changes.{{ columns.dbt_valid_to }}
from {{ source|relation }} as dvt_snapshot_changes
where cast(dvt_snapshot_changes.{{ columns.dbt_scd_id }} as varchar) = cast(dvt_snapshot_target.{{ columns.dbt_scd_id }} as varchar)
  and dvt_snapshot_changes.dbt_change_type in ('update', 'delete')
{%- if valid_to_current %}
  and (dvt_snapshot_target.{{ columns.dbt_valid_to }} = {{ valid_to_current }} or dvt_snapshot_target.{{ columns.dbt_valid_to }} is null)
{%- else %}
  and dvt_snapshot_target.{{ columns.dbt_valid_to }} is null
{%- endif %}
