select *
from (
{{ sql }}
) as dvt_limit
limit {{ limit }}
