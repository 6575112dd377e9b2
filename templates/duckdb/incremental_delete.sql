delete from {{ target|relation }}
where ({{ unique_key|map("quote")|join(", ") }}) in (
    select ({{ unique_key|map("quote")|join(", ") }})
    from {{ source|relation }}
)
