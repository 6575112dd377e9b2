{#- A snapshot's first run: every row of its query becomes the current
    version, dated by `updated_at`. `dbt_valid_to` takes the type of
    `updated_at` through the nullif, as in dbt. -#}
select *,
    {{ scd_id }} as {{ columns.dbt_scd_id }},
    {{ updated_at }} as {{ columns.dbt_updated_at }},
    {{ updated_at }} as {{ columns.dbt_valid_from }},
    coalesce(nullif({{ updated_at }}, {{ updated_at }}), {{ valid_to_current or "null" }}) as {{ columns.dbt_valid_to }}
{% if new_record %}
    , 'False' as {{ columns.dbt_is_deleted }}
{% endif %}
from (
{{ sql }}
) as dvt_snapshot_query
