{#- dbt's `render_event_time_filtered`: the rows of a ref or source in a microbatch's window. -#}
(select * from {{ relation }} where {% if start is not none %}{{ field }} >= '{{ start }}'{% if end is not none %} and {% endif %}{% endif %}{% if end is not none %}{{ field }} < '{{ end }}'{% endif %}){% if alias %} _dbt_et_filter_subq_{{ table }}{% endif %}
