//! The contract check before a build: the names and types of the model's
//! query against those of its YAML `columns:`, both as the warehouse
//! reports them, each read from a temporary table created from an empty
//! query (`templates/common/contract_*.sql`), as dbt's
//! `assert_columns_equivalent` compares them. The temporary tables live in
//! the build's transaction.

use super::Contract;
use crate::adapter::{render_template, template_names, Adapter, AdapterError, Connection, Relation};

/// Fails with dbt's table of mismatches when the query's columns are not
/// the contract's.
pub async fn assert_columns(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    model: &Relation,
    sql: &str,
    contract: &Contract,
) -> Result<(), AdapterError> {
    if contract.columns.is_empty() {
        return Err(AdapterError::Contract {
            message: "This model has an enforced contract, and its 'columns' specification is missing".into(),
        });
    }
    let empty = render_template(
        adapter.templates(),
        template_names::CONTRACT_EMPTY_QUERY,
        minijinja::context! { sql => sql },
    )?;
    let schema = render_template(
        adapter.templates(),
        template_names::CONTRACT_SCHEMA_QUERY,
        minijinja::context! { columns => &contract.columns },
    )?;
    let query_columns = columns_of(adapter, connection, model, "__dvt_contract_sql", &empty).await?;
    let declared_columns = columns_of(adapter, connection, model, "__dvt_contract_yml", &schema).await?;
    match mismatches(&query_columns, &declared_columns) {
        None => Ok(()),
        Some(message) => Err(AdapterError::Contract { message }),
    }
}

/// The columns (name, type as [`Adapter::contract_type`] spells it) of a
/// temporary table created from `sql`.
async fn columns_of(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    model: &Relation,
    suffix: &str,
    sql: &str,
) -> Result<Vec<(String, String)>, AdapterError> {
    let mut identifier = model.identifier.clone();
    let room = adapter.max_identifier_bytes().saturating_sub(suffix.len());
    while identifier.len() > room {
        identifier.pop();
    }
    identifier.push_str(suffix);
    let temporary = Relation::new(adapter.temporary_schema(), identifier);
    let create = render_template(
        adapter.templates(),
        template_names::CREATE_TEMPORARY_TABLE_AS,
        minijinja::context! { relation => &temporary, sql => sql },
    )?;
    connection.execute(&create).await?;
    Ok(connection
        .columns(&temporary)
        .await?
        .into_iter()
        .map(|column| {
            let data_type = adapter.contract_type(&column.data_type);
            (column.name, data_type)
        })
        .collect())
}

/// dbt's contract error for the two column lists, or `None` when they
/// agree: the same number of columns, each of the query's named in the
/// contract with the same type.
pub fn mismatches(query: &[(String, String)], declared: &[(String, String)]) -> Option<String> {
    let agree = query.len() == declared.len()
        && query.iter().all(|(name, data_type)| {
            declared
                .iter()
                .find(|(declared_name, _)| declared_name == name)
                .is_some_and(|(_, declared_type)| declared_type == data_type)
        });
    if agree {
        return None;
    }
    let mut rows: Vec<[String; 4]> = Vec::new();
    for (name, data_type) in query {
        match declared.iter().find(|(declared_name, _)| declared_name == name) {
            Some((_, declared_type)) if declared_type == data_type => {}
            Some((_, declared_type)) => rows.push([
                name.clone(),
                data_type.clone(),
                declared_type.clone(),
                "data type mismatch".into(),
            ]),
            None => rows.push([
                name.clone(),
                data_type.clone(),
                String::new(),
                "missing in contract".into(),
            ]),
        }
    }
    for (name, declared_type) in declared {
        if !query.iter().any(|(query_name, _)| query_name == name) {
            rows.push([
                name.clone(),
                String::new(),
                declared_type.clone(),
                "missing in definition".into(),
            ]);
        }
    }
    rows.sort_by(|left, right| left[0].cmp(&right[0]));
    Some(format!(
        "This model has an enforced contract that failed.\n\
         Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n{}",
        table(&rows)
    ))
}

/// The rows as agate's `print_table` draws them.
fn table(rows: &[[String; 4]]) -> String {
    let header = ["column_name", "definition_type", "contract_type", "mismatch_reason"].map(str::to_owned);
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut text = line(&header);
    text.push_str(&line(&widths.map(|width| "-".repeat(width))));
    for row in rows {
        text.push_str(&line(row));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, data_type)| (name.to_string(), data_type.to_string()))
            .collect()
    }

    /// dbt-core 1.10's message for `select 1 as id, 'a'::text as name, 3 as
    /// extra` against `id bigint, name text, missing_col int` (dbt-duckdb).
    #[test]
    fn the_message_is_dbts_table_of_mismatches() {
        let query = columns(&[("id", "INTEGER"), ("name", "VARCHAR"), ("extra", "INTEGER")]);
        let declared = columns(&[("id", "BIGINT"), ("name", "VARCHAR"), ("missing_col", "INTEGER")]);
        assert_eq!(
            mismatches(&query, &declared).unwrap(),
            "This model has an enforced contract that failed.\n\
             Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n\
             | column_name | definition_type | contract_type | mismatch_reason       |\n\
             | ----------- | --------------- | ------------- | --------------------- |\n\
             | extra       | INTEGER         |               | missing in contract   |\n\
             | id          | INTEGER         | BIGINT        | data type mismatch    |\n\
             | missing_col |                 | INTEGER       | missing in definition |\n"
        );
        assert_eq!(mismatches(&query, &query), None);
    }
}
