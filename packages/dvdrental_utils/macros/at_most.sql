{#- Fails for every row whose column is above `value`. -#}
{% test at_most(model, column_name, value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} > {{ value }}
{% endtest %}
