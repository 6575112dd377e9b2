{#- One uploaded batch of a seed (a temporary view of text columns) cast
    into its table's types. -#}
insert into {{ relation|relation }}
select
{% for column in columns %}
    cast({{ column.name|quote }} as {{ column.data_type }}){% if not loop.last %},{% endif %}

{% endfor %}
from {{ view|quote }}
