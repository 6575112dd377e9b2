insert into {{ target|relation }} ({{ columns|map("quote")|join(", ") }})
select {{ columns|map("quote")|join(", ") }}
from {{ source|relation }}
