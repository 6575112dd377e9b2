//! One snapshot run on the warehouse, with the observable effect of
//! dbt-core 1.10's snapshot materialization on dbt-postgres and dbt-duckdb.
//!
//! Everything happens in one transaction, run again from the start after a
//! deadlock: a reader sees the history before the run or after it, never
//! half of it. The first run creates the table from the query with the meta
//! columns added. A later run builds a temporary staging table of changes
//! (`templates/common/snapshot_staging.sql`), widens the string columns the
//! source lengthened and adds the source's new columns to the table, closes the versions that changed or left the source, and
//! inserts the new versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::config::{CheckColumns, HardDeletes, SnapshotConfig, Strategy};
use crate::adapter::materialize::{
    add_columns, apply_grants, derived_relation, execute, in_transaction, render, run_hooks, HookRenderer,
    TEMPORARY_SUFFIX,
};
use crate::adapter::{
    template_names, trim_statement, Adapter, AdapterError, AdapterResponse, ColumnInfo, Connection, Relation,
    RelationKind,
};

/// Everything needed to run one snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotBuild<'a> {
    pub relation: Relation,
    /// The snapshot's compiled query.
    pub sql: &'a str,
    pub config: &'a SnapshotConfig,
    pub pre_hooks: Vec<String>,
    pub post_hooks: Vec<String>,
    pub grants: BTreeMap<String, Vec<String>>,
    pub render_hooks: Option<Arc<dyn HookRenderer>>,
}

/// The staging table's own columns, which the snapshot table does not get.
fn is_staging_column(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "dbt_change_type"
        || lower == "dbt_unique_key"
        || lower
            .strip_prefix("dbt_unique_key_")
            .is_some_and(|index| !index.is_empty() && index.chars().all(|character| character.is_ascii_digit()))
}

/// A column of a `new_record` tombstone: the deleted version's value when
/// the snapshot table has the column, else the (null) source side's.
#[derive(Debug, Serialize)]
struct DeletionColumn {
    name: String,
    side: &'static str,
}

/// Runs one snapshot on a connection the caller holds.
pub async fn snapshot_on(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &SnapshotBuild<'_>,
) -> Result<AdapterResponse, AdapterError> {
    let sql = trim_statement(build.sql);
    connection.create_schema_if_missing(&build.relation.schema).await?;
    in_transaction!(connection, { snapshot_body(adapter, connection, build, sql).await? })
}

async fn snapshot_body(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &SnapshotBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let relation = &build.relation;
    run_hooks(connection, &build.pre_hooks, build.render_hooks.as_deref()).await?;
    let response = match connection.relation_kind(relation).await? {
        None => create(adapter, connection, build, sql).await?,
        Some(RelationKind::Table) => merge(adapter, connection, build, sql).await?,
        Some(kind) => {
            return Err(AdapterError::SnapshotTarget {
                relation: relation.to_string(),
                problem: format!("it is a {}, not a table", kind.sql_keyword().to_lowercase()),
            })
        }
    };
    apply_grants(adapter, connection, relation, &build.grants).await?;
    run_hooks(connection, &build.post_hooks, build.render_hooks.as_deref()).await?;
    Ok(response)
}

/// The strategy's SQL: what dates a version and what identifies it.
struct Expressions {
    updated_at: String,
    scd_id: String,
    now: String,
}

fn expressions(adapter: &dyn Adapter, config: &SnapshotConfig) -> Result<Expressions, AdapterError> {
    let now = render(adapter, template_names::SNAPSHOT_TIME, minijinja::context! {})?
        .trim()
        .to_string();
    let updated_at = match &config.strategy {
        Strategy::Timestamp { updated_at } => updated_at.clone(),
        Strategy::Check { updated_at, .. } => updated_at.clone().unwrap_or_else(|| now.clone()),
    };
    // dbt's scd_args: the key's parts, then updated_at.
    let mut arguments = config.unique_key.clone();
    arguments.push(updated_at.clone());
    let scd_id = hash(adapter, &arguments)?;
    Ok(Expressions {
        updated_at,
        scd_id,
        now,
    })
}

fn hash(adapter: &dyn Adapter, arguments: &[String]) -> Result<String, AdapterError> {
    Ok(render(
        adapter,
        template_names::SNAPSHOT_HASH,
        minijinja::context! { arguments => arguments },
    )?
    .trim()
    .to_string())
}

async fn create(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &SnapshotBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let config = build.config;
    let expressions = expressions(adapter, config)?;
    let select = render(
        adapter,
        template_names::SNAPSHOT_BUILD,
        minijinja::context! {
            sql => sql,
            scd_id => expressions.scd_id,
            updated_at => expressions.updated_at,
            columns => &config.columns,
            valid_to_current => &config.valid_to_current,
            new_record => config.hard_deletes == HardDeletes::NewRecord,
        },
    )?;
    let created = execute(
        adapter,
        connection,
        template_names::CREATE_TABLE_AS,
        minijinja::context! { relation => &build.relation, sql => select, file_format => adapter.file_format() },
    )
    .await?;
    Ok(AdapterResponse::with_rows("SELECT", created.rows_affected.unwrap_or(0)))
}

/// The column names of the snapshot's query, or of `columns` over it.
async fn query_columns(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    sql: &str,
    columns: &[String],
) -> Result<Vec<String>, AdapterError> {
    let query = render(
        adapter,
        template_names::SNAPSHOT_QUERY_COLUMNS,
        minijinja::context! { sql => sql, columns => columns },
    )?;
    Ok(connection.query(&query, None).await?.columns)
}

/// dbt's `expand_target_column_types` from the staging table to the
/// snapshot: a string column of both whose source is longer becomes
/// `character varying(<the source's size>)`. A string without a size
/// (`text`, DuckDB's `VARCHAR`) counts as 256 characters, as dbt's
/// `Column.string_size` counts it; other types are never changed.
fn widened_columns(existing: &[ColumnInfo], staging: &[ColumnInfo]) -> Vec<ColumnInfo> {
    staging
        .iter()
        .filter_map(|source| {
            let target = existing.iter().find(|column| column.name == source.name)?;
            let (target_size, source_size) = (string_size(&target.data_type)?, string_size(&source.data_type)?);
            (source_size > target_size).then(|| ColumnInfo {
                name: source.name.clone(),
                data_type: format!("character varying({source_size})"),
            })
        })
        .collect()
}

/// The length of a string type as dbt's `Column.string_size` reads it;
/// `None` for a type that is not a string.
fn string_size(data_type: &str) -> Option<usize> {
    let lower = data_type.trim().to_lowercase();
    let (base, size) = match lower.split_once('(') {
        Some((base, rest)) => (base.trim(), rest.trim_end_matches(')').trim().parse::<usize>().ok()),
        None => (lower.as_str(), None),
    };
    if !matches!(base, "text" | "character varying" | "character" | "varchar") {
        return None;
    }
    Some(match (base, size) {
        ("text", _) | (_, None) => 256,
        (_, Some(size)) => size,
    })
}

async fn merge(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &SnapshotBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let relation = &build.relation;
    let config = build.config;
    let names = &config.columns;
    let existing = connection.columns(relation).await?;
    let existing_names: Vec<&str> = existing.iter().map(|column| column.name.as_str()).collect();
    // As dbt's assert_valid_snapshot_target_given_strategy.
    let mut required = vec![&names.dbt_scd_id, &names.dbt_valid_from, &names.dbt_valid_to];
    if config.hard_deletes == HardDeletes::NewRecord {
        required.push(&names.dbt_is_deleted);
    }
    let missing: Vec<String> = required
        .into_iter()
        .filter(|name| {
            !existing_names
                .iter()
                .any(|existing| existing.eq_ignore_ascii_case(name))
        })
        .map(|name| format!("`{name}`"))
        .collect();
    if !missing.is_empty() {
        return Err(AdapterError::SnapshotTarget {
            relation: relation.to_string(),
            problem: format!(
                "it is not a snapshot table: it has no {} column{}",
                missing.join(", "),
                if missing.len() == 1 { "" } else { "s" }
            ),
        });
    }
    let expressions = expressions(adapter, config)?;
    let row_changed = match &config.strategy {
        Strategy::Timestamp { updated_at } => {
            format!("(snapshotted_data.{} < source_data.{updated_at})", names.dbt_valid_from)
        }
        Strategy::Check { columns, .. } => {
            let checked = match columns {
                CheckColumns::All => query_columns(adapter, connection, sql, &[]).await?,
                CheckColumns::List(columns) => query_columns(adapter, connection, sql, columns).await?,
            };
            check_changed(&checked, &existing_names)
        }
    };
    let deletion_columns: Vec<DeletionColumn> = if config.hard_deletes == HardDeletes::NewRecord {
        query_columns(adapter, connection, sql, &[])
            .await?
            .into_iter()
            .map(|name| {
                let side = if existing_names.contains(&name.as_str()) {
                    "snapshotted_data"
                } else {
                    "source_data"
                };
                DeletionColumn { name, side }
            })
            .collect()
    } else {
        Vec::new()
    };
    let new_scd_id = hash(adapter, &[names.dbt_scd_id.clone(), expressions.now.clone()])?;
    let staging_sql = render(
        adapter,
        template_names::SNAPSHOT_STAGING,
        minijinja::context! {
            sql => sql,
            target => relation,
            columns => names,
            unique_key => &config.unique_key,
            key_is_list => config.unique_key_is_list,
            updated_at => &expressions.updated_at,
            scd_id => &expressions.scd_id,
            now => &expressions.now,
            new_scd_id => new_scd_id,
            row_changed => row_changed,
            hard_deletes => config.hard_deletes.as_str(),
            valid_to_current => &config.valid_to_current,
            deletion_columns => deletion_columns,
        },
    )?;
    let identifier = derived_relation(adapter, relation, TEMPORARY_SUFFIX).identifier;
    let staging = Relation::new(adapter.temporary_schema(), identifier);
    execute(
        adapter,
        connection,
        template_names::CREATE_TEMPORARY_TABLE_AS,
        minijinja::context! { relation => &staging, sql => staging_sql },
    )
    .await?;
    let staging_columns: Vec<_> = connection
        .columns(&staging)
        .await?
        .into_iter()
        .filter(|column| !is_staging_column(&column.name))
        .collect();
    // Columns whose source type grew longer are widened first, then new
    // columns of the source are added, as dbt's snapshot does.
    for column in widened_columns(&existing, &staging_columns) {
        execute(
            adapter,
            connection,
            template_names::SNAPSHOT_EXPAND_COLUMN,
            minijinja::context! { relation => relation, column => column },
        )
        .await?;
    }
    let added: Vec<_> = staging_columns
        .iter()
        .filter(|column| !existing_names.contains(&column.name.as_str()))
        .cloned()
        .collect();
    add_columns(adapter, connection, relation, &added).await?;
    execute(
        adapter,
        connection,
        template_names::SNAPSHOT_UPDATE,
        minijinja::context! {
            target => relation,
            source => &staging,
            columns => names,
            valid_to_current => &config.valid_to_current,
        },
    )
    .await?;
    let insert_columns: Vec<&str> = staging_columns.iter().map(|column| column.name.as_str()).collect();
    let inserted = execute(
        adapter,
        connection,
        template_names::SNAPSHOT_INSERT,
        minijinja::context! { target => relation, source => &staging, columns => insert_columns },
    )
    .await?;
    Ok(AdapterResponse::insert(inserted.rows_affected.unwrap_or(0)))
}

/// The check strategy's test of a changed row: any checked column differs
/// (nulls counted as values). A checked column the table does not have yet
/// makes every row changed, as in dbt.
fn check_changed(checked: &[String], existing: &[&str]) -> String {
    if checked.iter().any(|column| !existing.contains(&column.as_str())) {
        return "(TRUE)".to_string();
    }
    let tests: Vec<String> = checked
        .iter()
        .map(|column| {
            let column = crate::adapter::quote_identifier(column);
            format!(
                "snapshotted_data.{column} != source_data.{column} or \
                 (((snapshotted_data.{column} is null) and not (source_data.{column} is null)) or \
                 ((not snapshotted_data.{column} is null) and (source_data.{column} is null)))"
            )
        })
        .collect();
    format!("({})", tests.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_columns_are_left_out_of_the_table() {
        assert!(is_staging_column("dbt_change_type"));
        assert!(is_staging_column("DBT_UNIQUE_KEY"));
        assert!(is_staging_column("dbt_unique_key_2"));
        assert!(!is_staging_column("dbt_unique_key_extra"));
        assert!(!is_staging_column("dbt_scd_id"));
    }

    #[test]
    fn a_new_checked_column_changes_every_row() {
        assert_eq!(check_changed(&["a".into(), "b".into()], &["a"]), "(TRUE)");
        assert!(check_changed(&["a".into()], &["a"]).starts_with("(snapshotted_data.\"a\" != source_data.\"a\""));
    }
}
