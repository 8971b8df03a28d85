-- Tables and views of the main schema with their columns (for the SQL console's browser).
with cols as (
    select table_name, column_name, data_type, column_index
    from duckdb_columns()
    where schema_name = 'main' and database_name = current_database()
      and not table_name like '\_%' escape '\'
),
kinds as (
    select table_name, 'table' as kind from duckdb_tables() where schema_name = 'main' and database_name = current_database()
    union all
    select view_name, 'view' from duckdb_views() where schema_name = 'main' and not internal and database_name = current_database()
),
final as (
    select c.table_name, k.kind, c.column_name, c.data_type, c.column_index
    from cols c
    join kinds k using (table_name)
)
select * from final
order by kind, table_name, column_index;
