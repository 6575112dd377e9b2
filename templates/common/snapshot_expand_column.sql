{#- A snapshot column widened to the source's longer string type, as dbt's
    default__alter_column_type does it (so the column moves to the end):
    a new column, the values copied, the old one dropped, the new renamed. -#}
alter table {{ relation|relation }} add column {{ (column.name ~ "__dbt_alter")|quote }} {{ column.data_type }};
update {{ relation|relation }} set {{ (column.name ~ "__dbt_alter")|quote }} = {{ column.name|quote }};
alter table {{ relation|relation }} drop column {{ column.name|quote }} cascade;
alter table {{ relation|relation }} rename column {{ (column.name ~ "__dbt_alter")|quote }} to {{ column.name|quote }}
