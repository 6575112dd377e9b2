copy {{ relation|relation }} ({{ columns|map("quote")|join(", ") }})
from stdin
with (format csv, header true)
