select topic, partition, next_offset
from {{ relation|relation }}
where consumer_group = {{ consumer_group|literal }}
  and topic in ({{ topics|map("literal")|join(", ") }})
order by topic, partition
