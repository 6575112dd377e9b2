{#- dbt's `render_limited`: a ref or source under `--empty` (limit 0) reads no rows. -#}
(select * from {{ relation }} {% if limit == 0 %}where false {% endif %}limit {{ limit }}){% if alias %} _dbt_limit_subq_{{ table }}{% endif %}
