{#- Row-level deletes take a format with them (delta, iceberg, hudi); the
    adapter refuses `delete+insert` on the others before this runs. -#}
delete from {{ target|relation }}
where struct({{ unique_key|map("quote")|join(", ") }}) in (
    select struct({{ unique_key|map("quote")|join(", ") }})
    from {{ source|relation }}
)
