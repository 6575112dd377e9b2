{#- The changes of a snapshot run, computed as dbt-core 1.10 computes them
    (its snapshot_staging_table): one row per new version to insert
    (`insert`), per current version to close because its row changed
    (`update`) or left the source (`delete`), and with `new_record`, per
    deleted row's tombstone version (an `insert` with `dbt_is_deleted`
    'True'). The branches line up by position for the `union all`.

    A unique key is a list of SQL expressions; with `key_is_list` they are
    carried as dbt_unique_key_1, _2, ..., else as dbt_unique_key. -#}
{%- macro key_fields() -%}
{%- if key_is_list -%}
{%- for key in unique_key %}{{ key }} as dbt_unique_key_{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- else -%}
{{ unique_key[0] }} as dbt_unique_key
{%- endif -%}
{%- endmacro -%}
{%- macro join_on(left, right) -%}
{%- if key_is_list -%}
{%- for key in unique_key %}({{ left }}.dbt_unique_key_{{ loop.index }} = {{ right }}.dbt_unique_key_{{ loop.index }}){% if not loop.last %} and {% endif %}{% endfor -%}
{%- else -%}
{{ left }}.dbt_unique_key = {{ right }}.dbt_unique_key
{%- endif -%}
{%- endmacro -%}
{%- macro key_is_null(side) -%}
{{ side }}.dbt_unique_key{{ "_1" if key_is_list else "" }} is null
{%- endmacro -%}
{%- macro key_is_not_null(side) -%}
{{ side }}.dbt_unique_key{{ "_1" if key_is_list else "" }} is not null
{%- endmacro -%}
{%- macro latest_is_tombstone() -%}
snapshotted_data.{{ columns.dbt_is_deleted }} = 'True'
  and {% if valid_to_current %}snapshotted_data.{{ columns.dbt_valid_to }} = {{ valid_to_current }}{% else %}snapshotted_data.{{ columns.dbt_valid_to }} is null{% endif %}
{%- endmacro -%}
{%- set new_record = hard_deletes == "new_record" -%}
{%- set track_deletes = hard_deletes != "ignore" -%}
{%- set changed -%}
{{ row_changed }}{% if new_record %} or snapshotted_data.{{ columns.dbt_is_deleted }} = 'True'{% endif %}
{%- endset -%}
with snapshot_query as (

{{ sql }}

),

snapshotted_data as (
    select *, {{ key_fields() }}
    from {{ target|relation }}
    where {% if valid_to_current %}(({{ columns.dbt_valid_to }} = {{ valid_to_current }}) or {{ columns.dbt_valid_to }} is null){% else %}{{ columns.dbt_valid_to }} is null{% endif %}
),

insertions_source_data as (
    select *, {{ key_fields() }},
        {{ updated_at }} as {{ columns.dbt_updated_at }},
        {{ updated_at }} as {{ columns.dbt_valid_from }},
        coalesce(nullif({{ updated_at }}, {{ updated_at }}), {{ valid_to_current or "null" }}) as {{ columns.dbt_valid_to }},
        {{ scd_id }} as {{ columns.dbt_scd_id }}
    from snapshot_query
),

updates_source_data as (
    select *, {{ key_fields() }},
        {{ updated_at }} as {{ columns.dbt_updated_at }},
        {{ updated_at }} as {{ columns.dbt_valid_from }},
        {{ updated_at }} as {{ columns.dbt_valid_to }}
    from snapshot_query
),
{%- if track_deletes %}

deletes_source_data as (
    select *, {{ key_fields() }}
    from snapshot_query
),
{%- endif %}

insertions as (
    select 'insert' as dbt_change_type, source_data.*
    {%- if new_record %}, 'False' as {{ columns.dbt_is_deleted }}{% endif %}
    from insertions_source_data as source_data
    left outer join snapshotted_data
        on {{ join_on("snapshotted_data", "source_data") }}
    where {{ key_is_null("snapshotted_data") }}
        or ({{ key_is_not_null("snapshotted_data") }} and ({{ changed }}))
),

updates as (
    select 'update' as dbt_change_type, source_data.*, snapshotted_data.{{ columns.dbt_scd_id }}
    {%- if new_record %}, snapshotted_data.{{ columns.dbt_is_deleted }}{% endif %}
    from updates_source_data as source_data
    join snapshotted_data
        on {{ join_on("snapshotted_data", "source_data") }}
    where ({{ changed }})
)
{%- if track_deletes %},

deletes as (
    select 'delete' as dbt_change_type, source_data.*,
        {{ now }} as {{ columns.dbt_valid_from }},
        {{ now }} as {{ columns.dbt_updated_at }},
        {{ now }} as {{ columns.dbt_valid_to }},
        snapshotted_data.{{ columns.dbt_scd_id }}
    {%- if new_record %}, snapshotted_data.{{ columns.dbt_is_deleted }}{% endif %}
    from snapshotted_data
    left join deletes_source_data as source_data
        on {{ join_on("snapshotted_data", "source_data") }}
    where {{ key_is_null("source_data") }}
    {%- if new_record %}
        and not ({{ latest_is_tombstone() }})
    {%- endif %}
)
{%- endif %}
{%- if new_record %},

deletion_records as (
    select 'insert' as dbt_change_type,
    {%- for column in deletion_columns %}
        {{ column.side }}.{{ column.name|quote }},
    {%- endfor %}
    {%- if key_is_list %}
        {%- for key in unique_key %}
        snapshotted_data.{{ key }} as dbt_unique_key_{{ loop.index }},
        {%- endfor %}
    {%- else %}
        snapshotted_data.dbt_unique_key as dbt_unique_key,
    {%- endif %}
        {{ now }} as {{ columns.dbt_valid_from }},
        {{ now }} as {{ columns.dbt_updated_at }},
        snapshotted_data.{{ columns.dbt_valid_to }} as {{ columns.dbt_valid_to }},
        {{ new_scd_id }} as {{ columns.dbt_scd_id }},
        'True' as {{ columns.dbt_is_deleted }}
    from snapshotted_data
    left join deletes_source_data as source_data
        on {{ join_on("snapshotted_data", "source_data") }}
    where {{ key_is_null("source_data") }}
        and not ({{ latest_is_tombstone() }})
)
{%- endif %}

select * from insertions
union all
select * from updates
{% if track_deletes %}
union all
select * from deletes
{% endif %}
{% if new_record %}
union all
select * from deletion_records
{% endif %}
