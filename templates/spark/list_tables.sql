show tables in {{ schema|quote }}
