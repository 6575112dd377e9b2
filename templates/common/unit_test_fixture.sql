{#- A unit test's fixture rows as a query, as dbt writes them: every value
    cast to its column's type, a column the row does not give null; no rows
    is the null row under `limit 0`. Context: `columns` (names), `rows` (of
    cells: `value`, `string` (quote it), `type`), `empty` (one cell a column). -#}
{% for row in rows %}
select {% for cell in row %}cast({% if cell.string %}{{ cell.value|literal }}{% else %}{{ cell.value }}{% endif %} as {{ cell.type }}) as {{ columns[loop.index0]|quote }}{% if not loop.last %}, {% endif %}{% endfor %}

{% if not loop.last %}
union all
{% endif %}
{% else %}
select {% for cell in empty %}cast(null as {{ cell.type }}) as {{ columns[loop.index0]|quote }}{% if not loop.last %}, {% endif %}{% endfor %}

limit 0
{% endfor %}
