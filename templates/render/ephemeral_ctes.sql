{#- A query with the ephemeral models it reads inlined as CTEs: after its own
   leading `with` (`head`), or under a new one. -#}
{% if head is none %}with {% else %}{{ head }}
{% endif %}{% for cte in ctes %}{% if not loop.first %},
{% endif %}__dbt__cte__{{ cte.name }} as (
{{ cte.body }}
){% endfor %}{% if head is none %}
{% else %},
{% endif %}{{ body }}
