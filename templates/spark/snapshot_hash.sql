{#- dbt's snapshot_hash_arguments: each argument as text (null as ''), joined by '|'. -#}
md5({% for argument in arguments %}coalesce(cast({{ argument }} as string), ''){% if not loop.last %} || '|' || {% endif %}{% endfor %})
