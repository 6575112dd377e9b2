show tables in {{ relation.schema|quote }} like {{ relation.identifier|literal }}
