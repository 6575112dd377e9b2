{% for grant in grants %}
grant {{ grant.privilege }} on {{ relation|relation }} to
{%- for grantee in grant.grantees %}
 {% if grantee|lower == "public" %}public{% else %}{{ grantee|quote }}{% endif %}{% if not loop.last %},{% endif %}
{%- endfor %};
{% endfor %}
