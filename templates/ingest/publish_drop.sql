drop table {{ loading|relation }}
