alter table {{ loading|relation }} rename to {{ table.identifier|quote }}
