{#- The CSV that dvt wrote to `path`: a header row, then NULL as an unquoted empty
    field and a quoted empty field as an empty string, as PostgreSQL's COPY
    reads it. -#}
copy {{ relation|relation }} ({{ columns|map("quote")|join(", ") }})
from {{ path|literal }}
(format csv, header true, delimiter ',', quote '"', escape '"', null '', allow_quoted_nulls false, auto_detect false)
