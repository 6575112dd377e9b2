//! Materializations: how a compiled model becomes a view, a table, an
//! incremental table or a materialized view, and how a seed's CSV becomes a
//! table, with the same observable effect as dbt-postgres.
//!
//! Written once against [`Adapter`] and [`Connection`]; every statement comes
//! from the adapter's templates (see [`super::template_names`]), so a new
//! dialect brings templates, not a new copy of this logic. Rendering the
//! model's Jinja and deciding what to build are not this module's business.
//!
//! Every change a reader could see happens inside one transaction, so a
//! concurrent reader sees the old relation or the new one, never a gap. A
//! transaction that loses a deadlock or a serialization conflict runs again
//! from the start after a short pause.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::BoxStream;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    template_names, trim_statement, Adapter, AdapterError, AdapterResponse, ColumnInfo, Connection, MicrobatchMethod,
    Relation, RelationKind,
};

/// SQLSTATE of `create or replace view` when the columns changed in a way
/// only a drop allows (`cannot drop columns from view`).
const SQLSTATE_INVALID_TABLE_DEFINITION: &str = "42P16";

/// How many times a transaction runs again after a deadlock.
const MAX_RETRIES: u32 = 4;

pub(crate) const TEMPORARY_SUFFIX: &str = "__dvt_tmp";
const BACKUP_SUFFIX: &str = "__dvt_backup";

/// Marks the comment of a materialized view that holds its SQL's hash.
const FINGERPRINT_PREFIX: &str = "dvt:sql_sha256=";

/// Runs the block inside a transaction, and runs it again from the start
/// after a deadlock or a serialization failure. Rolls back on any error.
macro_rules! in_transaction {
    ($connection:ident, $body:block) => {
        in_transaction!($connection, retry_if: true, $body)
    };
    ($connection:ident, retry_if: $may_retry:expr, $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            let result: Result<_, AdapterError> = async {
                $connection.begin().await?;
                let value = $body;
                $connection.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Ok(value) => break Ok(value),
                Err(error) => {
                    $crate::adapter::materialize::rollback_quietly($connection).await;
                    match $crate::adapter::materialize::retry_delay(&error, attempt) {
                        Some(delay) if $may_retry => {
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                        }
                        _ => break Err(error),
                    }
                }
            }
        }
    }};
}
pub(crate) use in_transaction;

/// How a model is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Materialization {
    View,
    Table,
    Incremental,
    MaterializedView,
}

impl Materialization {
    /// Parses the `materialized` config value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "view" => Some(Self::View),
            "table" => Some(Self::Table),
            "incremental" => Some(Self::Incremental),
            "materialized_view" => Some(Self::MaterializedView),
            _ => None,
        }
    }
}

/// What an incremental model does when its columns no longer match the
/// table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSchemaChange {
    /// Load the columns both have; new columns are left out.
    #[default]
    Ignore,
    /// Stop with an error listing the differences.
    Fail,
    /// Add new columns to the table; removed ones stay and get nulls.
    AppendNewColumns,
    /// Add new columns, drop removed ones and change changed types.
    SyncAllColumns,
}

impl OnSchemaChange {
    /// Parses the `on_schema_change` config value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ignore" => Some(Self::Ignore),
            "fail" => Some(Self::Fail),
            "append_new_columns" => Some(Self::AppendNewColumns),
            "sync_all_columns" => Some(Self::SyncAllColumns),
            _ => None,
        }
    }
}

/// Everything needed to build one model.
#[derive(Debug, Clone)]
pub struct ModelBuild<'a> {
    pub relation: Relation,
    pub materialization: Materialization,
    /// The compiled `select`.
    pub sql: &'a str,
    /// `append`, `merge` or `delete+insert`. Unset means `delete+insert`
    /// when there is a unique key and `append` otherwise, as in dbt-postgres.
    pub incremental_strategy: Option<String>,
    pub unique_key: Vec<String>,
    /// The table's partition columns, on warehouses that partition by
    /// column (Spark's `partitioned by`); ignored elsewhere.
    pub partition_by: Vec<String>,
    pub on_schema_change: OnSchemaChange,
    pub full_refresh: bool,
    /// Rendered SQL run first, on the same connection and transaction.
    pub pre_hooks: Vec<String>,
    /// Rendered SQL run last, on the same connection and transaction.
    pub post_hooks: Vec<String>,
    /// Privilege (`select`) to the roles granted it.
    pub grants: BTreeMap<String, Vec<String>>,
    /// Renders each hook just before it runs, as dbt does, so that its Jinja
    /// sees the warehouse as it is then; `None` when the hooks are SQL already.
    pub render_hooks: Option<Arc<dyn HookRenderer>>,
    /// The model's enforced contract: its columns are checked before the
    /// build, and a table is created with its types and constraints.
    pub contract: Option<crate::contract::Contract>,
    /// For one batch of a microbatch model: its event-time column and
    /// window, whose rows the batch's replace.
    pub batch: Option<BatchWindow>,
}

/// The window of one microbatch in its model's table.
#[derive(Debug, Clone)]
pub struct BatchWindow {
    pub event_time: String,
    pub batch: crate::microbatch::Batch,
}

/// Turns a hook's Jinja into SQL at the moment it runs.
pub trait HookRenderer: Send + Sync + std::fmt::Debug {
    fn render(&self, hook: &str) -> Result<String, AdapterError>;
}

impl<'a> ModelBuild<'a> {
    /// A build with no hooks, grants or incremental settings.
    pub fn new(relation: Relation, materialization: Materialization, sql: &'a str) -> Self {
        Self {
            relation,
            materialization,
            sql,
            incremental_strategy: None,
            unique_key: Vec::new(),
            partition_by: Vec::new(),
            on_schema_change: OnSchemaChange::Ignore,
            full_refresh: false,
            pre_hooks: Vec::new(),
            post_hooks: Vec::new(),
            grants: BTreeMap::new(),
            render_hooks: None,
            contract: None,
            batch: None,
        }
    }
}

/// A column of a seed's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedColumn {
    pub name: String,
    /// The SQL type, for example `integer` or `text`.
    pub data_type: String,
}

/// Everything needed to load one seed, apart from its data.
#[derive(Debug, Clone)]
pub struct SeedBuild {
    pub relation: Relation,
    /// The columns in the order of the CSV header.
    pub columns: Vec<SeedColumn>,
    pub full_refresh: bool,
    pub pre_hooks: Vec<String>,
    pub post_hooks: Vec<String>,
    pub grants: BTreeMap<String, Vec<String>>,
    /// As [`ModelBuild::render_hooks`].
    pub render_hooks: Option<Arc<dyn HookRenderer>>,
}

/// Builds one model and reports what its main statement did.
pub async fn materialize(adapter: &dyn Adapter, build: &ModelBuild<'_>) -> Result<AdapterResponse, AdapterError> {
    let mut pooled = adapter.connection().await?;
    materialize_on(adapter, &mut *pooled, build).await
}

/// Builds one model on a connection the caller holds, such as the one the
/// model's Jinja ran its queries on.
pub async fn materialize_on(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
) -> Result<AdapterResponse, AdapterError> {
    let sql = trim_statement(build.sql);
    connection.create_schema_if_missing(&build.relation.schema).await?;
    match build.materialization {
        Materialization::View => build_view(adapter, connection, build, sql).await,
        Materialization::Table => build_table(adapter, connection, build, sql).await,
        Materialization::Incremental => build_incremental(adapter, connection, build, sql).await,
        Materialization::MaterializedView if !adapter.supports_materialized_views() => Err(AdapterError::Unsupported {
            what: "materialized: materialized_view",
            adapter: adapter.kind(),
            hint: "use `materialized: table`, which dvt swaps in atomically",
        }),
        Materialization::MaterializedView => build_materialized_view(adapter, connection, build, sql).await,
    }
}

/// Loads a seed from CSV text that starts with its header row.
///
/// When the table exists with the same column names and types, it is
/// emptied and refilled, so views on it survive; otherwise, or on a full
/// refresh, it is dropped and created. Either way in one transaction: if the copy fails,
/// the old table and its rows are untouched.
pub async fn load_seed(
    adapter: &dyn Adapter,
    seed: &SeedBuild,
    chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
) -> Result<AdapterResponse, AdapterError> {
    let mut pooled = adapter.connection().await?;
    load_seed_on(adapter, &mut *pooled, seed, chunks).await
}

/// Loads a seed on a connection the caller holds.
pub async fn load_seed_on(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    seed: &SeedBuild,
    chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
) -> Result<AdapterResponse, AdapterError> {
    connection.create_schema_if_missing(&seed.relation.schema).await?;
    let mut chunks = Some(chunks);
    // The data can be streamed only once, so only a failure before the copy
    // began may run again.
    let rows = in_transaction!(connection, retry_if: chunks.is_some(), {
        seed_body(adapter, connection, seed, &mut chunks).await?
    })?;
    Ok(AdapterResponse::with_rows("INSERT", rows))
}

/// Runs a data test and returns how many failing rows it found.
pub async fn count_failures(adapter: &dyn Adapter, sql: &str) -> Result<u64, AdapterError> {
    count_failures_with(adapter, sql, DEFAULT_FAIL_CALC).await
}

/// dbt's `fail_calc` when a test sets none.
const DEFAULT_FAIL_CALC: &str = "count(*)";

/// Runs a data test and returns its `fail_calc`, the aggregate over the
/// failing rows that the thresholds are checked against (`count(*)`, or
/// for example `sum(n_records)`).
pub async fn count_failures_with(adapter: &dyn Adapter, sql: &str, fail_calc: &str) -> Result<u64, AdapterError> {
    let mut connection = adapter.connection().await?;
    count_failures_on(adapter, &mut *connection, sql, fail_calc).await
}

/// [`count_failures_with`] on a connection the caller holds.
pub async fn count_failures_on(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    sql: &str,
    fail_calc: &str,
) -> Result<u64, AdapterError> {
    let fail_calc = match fail_calc.trim() {
        "" => DEFAULT_FAIL_CALC,
        fail_calc => fail_calc,
    };
    let wrapped = render(
        adapter,
        template_names::TEST_COUNT,
        minijinja::context! { sql => trim_statement(sql), fail_calc => fail_calc },
    )?;
    let result = connection.query(&wrapped, None).await?;
    result
        .rows
        .first()
        .and_then(|row| row.first())
        .and_then(|value| value.as_deref())
        .and_then(|value| value.parse().ok())
        .ok_or(AdapterError::MissingTestCount)
}

async fn build_view(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let replaced = in_transaction!(connection, { view_body(adapter, connection, build, sql, false).await? });
    match replaced {
        // Columns were removed or renamed: only a drop (taking dependent
        // views with it, as dbt does) lets the view change.
        Err(error) if error.sqlstate() == Some(SQLSTATE_INVALID_TABLE_DEFINITION) => {
            in_transaction!(connection, { view_body(adapter, connection, build, sql, true).await? })?
        }
        other => other?,
    }
    Ok(AdapterResponse::command("CREATE VIEW"))
}

async fn view_body(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
    recreate: bool,
) -> Result<(), AdapterError> {
    let relation = &build.relation;
    run_hooks(connection, &build.pre_hooks, build.render_hooks.as_deref()).await?;
    if let Some(contract) = &build.contract {
        crate::contract::check::assert_columns(adapter, connection, relation, sql, contract).await?;
    }
    let existing = connection.relation_kind(relation).await?;
    let context = minijinja::context! { relation => relation, sql => sql };
    match existing {
        // `create or replace` keeps the views that select from this one.
        Some(RelationKind::View) if !recreate => {
            execute(adapter, connection, template_names::CREATE_OR_REPLACE_VIEW, context).await?;
        }
        None => {
            execute(adapter, connection, template_names::CREATE_VIEW, context).await?;
        }
        Some(kind) => {
            drop_relation(adapter, connection, relation, kind).await?;
            execute(adapter, connection, template_names::CREATE_VIEW, context).await?;
        }
    }
    apply_grants(adapter, connection, relation, &build.grants).await?;
    run_hooks(connection, &build.post_hooks, build.render_hooks.as_deref()).await
}

async fn build_table(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let created = in_transaction!(connection, { table_body(adapter, connection, build, sql).await? })?;
    // A warehouse that counts no rows (Spark) answers in its own words.
    Ok(match created.rows_affected {
        Some(rows) => AdapterResponse::with_rows("SELECT", rows),
        None => created,
    })
}

/// Builds the table under a temporary name, then swaps it in. Readers
/// block on the renames for a moment and then see the new table whole.
async fn table_body(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let relation = &build.relation;
    let temporary = derived_relation(adapter, relation, TEMPORARY_SUFFIX);
    let backup = derived_relation(adapter, relation, BACKUP_SUFFIX);
    run_hooks(connection, &build.pre_hooks, build.render_hooks.as_deref()).await?;
    // Left behind by a run that was killed, or by a tool before us.
    drop_if_exists(adapter, connection, &temporary).await?;
    drop_if_exists(adapter, connection, &backup).await?;
    let created = match &build.contract {
        None => {
            execute(
                adapter,
                connection,
                template_names::CREATE_TABLE_AS,
                minijinja::context! {
                    relation => &temporary,
                    sql => sql,
                    file_format => adapter.file_format(),
                    partition_by => &build.partition_by,
                },
            )
            .await?
        }
        Some(contract) => {
            crate::contract::check::assert_columns(adapter, connection, relation, sql, contract).await?;
            execute(
                adapter,
                connection,
                template_names::CREATE_TABLE_CONTRACT,
                minijinja::context! {
                    relation => &temporary,
                    sql => sql,
                    columns => &contract.columns,
                    constraints => &contract.constraints,
                },
            )
            .await?
        }
    };
    let existing = connection.relation_kind(relation).await?;
    if let Some(kind) = existing {
        rename(adapter, connection, relation, kind, &backup.identifier).await?;
    }
    rename(
        adapter,
        connection,
        &temporary,
        RelationKind::Table,
        &relation.identifier,
    )
    .await?;
    if let Some(kind) = existing {
        drop_relation(adapter, connection, &backup, kind).await?;
    }
    apply_grants(adapter, connection, relation, &build.grants).await?;
    run_hooks(connection, &build.post_hooks, build.render_hooks.as_deref()).await?;
    Ok(created)
}

/// The incremental strategies dvt knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncrementalStrategy {
    Append,
    Merge,
    DeleteInsert,
    /// A microbatch's rows in place of its window's (see [`MicrobatchMethod`]).
    ReplaceWindow,
    /// The partitions the new rows fall in replaced by them (Spark's
    /// `insert overwrite`).
    InsertOverwrite,
}

/// The strategies of dbt-postgres, which every adapter builds unless its
/// [`Adapter::check_strategy`] says otherwise.
pub(crate) fn postgres_strategies(strategy: &str) -> Result<(), AdapterError> {
    match strategy {
        "append" | "merge" | "delete+insert" | crate::microbatch::STRATEGY => Ok(()),
        _ => Err(AdapterError::UnsupportedStrategy {
            strategy: strategy.to_string(),
        }),
    }
}

/// dbt-postgres' strategy for an incremental model that names none.
pub(crate) fn postgres_default_strategy(has_unique_key: bool) -> &'static str {
    if has_unique_key {
        "delete+insert"
    } else {
        "append"
    }
}

/// The strategy a model asks for: its `incremental_strategy`, else the
/// adapter's default.
fn strategy_name<'a>(build: &'a ModelBuild<'_>, adapter: &dyn Adapter) -> &'a str {
    build
        .incremental_strategy
        .as_deref()
        .unwrap_or_else(|| adapter.default_incremental_strategy(!build.unique_key.is_empty()))
}

impl IncrementalStrategy {
    fn resolve(strategy: &str, build: &ModelBuild<'_>, microbatch: MicrobatchMethod) -> Result<Self, AdapterError> {
        match strategy {
            "append" => Ok(Self::Append),
            "merge" => Ok(Self::Merge),
            "delete+insert" => Ok(Self::DeleteInsert),
            "insert_overwrite" => Ok(Self::InsertOverwrite),
            crate::microbatch::STRATEGY => match microbatch {
                MicrobatchMethod::MergeOnUniqueKey if build.unique_key.is_empty() => {
                    Err(AdapterError::MicrobatchNeedsUniqueKey)
                }
                MicrobatchMethod::MergeOnUniqueKey => Ok(Self::Merge),
                MicrobatchMethod::ReplaceWindow => Ok(Self::ReplaceWindow),
            },
            other => Err(AdapterError::UnsupportedStrategy {
                strategy: other.to_string(),
            }),
        }
    }
}

async fn build_incremental(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let name = strategy_name(build, adapter);
    adapter.check_strategy(name)?;
    let strategy = IncrementalStrategy::resolve(name, build, adapter.microbatch_method())?;
    let existing = connection.relation_kind(&build.relation).await?;
    if build.full_refresh || existing != Some(RelationKind::Table) {
        return build_table(adapter, connection, build, sql).await;
    }
    in_transaction!(connection, {
        incremental_body(adapter, connection, build, sql, strategy).await?
    })
}

async fn incremental_body(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
    strategy: IncrementalStrategy,
) -> Result<AdapterResponse, AdapterError> {
    let relation = &build.relation;
    let identifier = derived_relation(adapter, relation, TEMPORARY_SUFFIX).identifier;
    let temporary = Relation::new(adapter.temporary_schema(), identifier);
    run_hooks(connection, &build.pre_hooks, build.render_hooks.as_deref()).await?;
    if let Some(contract) = &build.contract {
        crate::contract::check::assert_columns(adapter, connection, relation, sql, contract).await?;
    }
    execute(
        adapter,
        connection,
        template_names::CREATE_TEMPORARY_TABLE_AS,
        minijinja::context! { relation => &temporary, sql => sql },
    )
    .await?;
    let target_columns = connection.columns(relation).await?;
    let source_columns = connection.columns(&temporary).await?;
    let columns = apply_schema_change(
        adapter,
        connection,
        build,
        &SchemaChanges::between(&target_columns, &source_columns),
        &target_columns,
    )
    .await?;
    let response = match strategy {
        IncrementalStrategy::Append => {
            let inserted = insert_from(adapter, connection, relation, &temporary, &columns).await?;
            AdapterResponse::insert(inserted)
        }
        IncrementalStrategy::Merge => {
            let update_columns: Vec<&String> = columns
                .iter()
                .filter(|column| !build.unique_key.contains(column))
                .collect();
            let merged = execute(
                adapter,
                connection,
                template_names::INCREMENTAL_MERGE,
                minijinja::context! {
                    target => relation,
                    source => &temporary,
                    columns => &columns,
                    unique_key => &build.unique_key,
                    update_columns => update_columns,
                },
            )
            .await?;
            AdapterResponse::with_rows("MERGE", merged.rows_affected.unwrap_or(0))
        }
        IncrementalStrategy::DeleteInsert => {
            if !build.unique_key.is_empty() {
                execute(
                    adapter,
                    connection,
                    template_names::INCREMENTAL_DELETE,
                    minijinja::context! {
                        target => relation,
                        source => &temporary,
                        unique_key => &build.unique_key,
                    },
                )
                .await?;
            }
            let inserted = insert_from(adapter, connection, relation, &temporary, &columns).await?;
            AdapterResponse::insert(inserted)
        }
        IncrementalStrategy::InsertOverwrite => {
            execute(
                adapter,
                connection,
                template_names::INCREMENTAL_INSERT_OVERWRITE,
                minijinja::context! {
                    target => relation,
                    source => &temporary,
                    columns => &columns,
                    partition_by => &build.partition_by,
                },
            )
            .await?;
            AdapterResponse::command("INSERT OVERWRITE")
        }
        IncrementalStrategy::ReplaceWindow => {
            if let Some(window) = &build.batch {
                execute(
                    adapter,
                    connection,
                    template_names::INCREMENTAL_DELETE_WINDOW,
                    minijinja::context! {
                        target => relation,
                        event_time => &window.event_time,
                        start => crate::microbatch::Batch::sql_bound(window.batch.start),
                        end => crate::microbatch::Batch::sql_bound(window.batch.end),
                    },
                )
                .await?;
            }
            let inserted = insert_from(adapter, connection, relation, &temporary, &columns).await?;
            AdapterResponse::insert(inserted)
        }
    };
    apply_grants(adapter, connection, relation, &build.grants).await?;
    run_hooks(connection, &build.post_hooks, build.render_hooks.as_deref()).await?;
    Ok(response)
}

async fn insert_from(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    target: &Relation,
    source: &Relation,
    columns: &[String],
) -> Result<u64, AdapterError> {
    let inserted = execute(
        adapter,
        connection,
        template_names::INCREMENTAL_APPEND,
        minijinja::context! { target => target, source => source, columns => columns },
    )
    .await?;
    Ok(inserted.rows_affected.unwrap_or(0))
}

/// How the columns of a model's new rows differ from its table's.
#[derive(Debug, Default)]
struct SchemaChanges {
    added: Vec<ColumnInfo>,
    removed: Vec<ColumnInfo>,
    /// The new column, whose type differs from the table's.
    changed: Vec<(ColumnInfo, ColumnInfo)>,
}

impl SchemaChanges {
    fn between(target: &[ColumnInfo], source: &[ColumnInfo]) -> Self {
        let find = |columns: &[ColumnInfo], name: &str| columns.iter().find(|column| column.name == name).cloned();
        let mut changes = Self::default();
        for column in source {
            match find(target, &column.name) {
                None => changes.added.push(column.clone()),
                Some(old) if old.data_type != column.data_type => {
                    changes.changed.push((old, column.clone()));
                }
                Some(_) => {}
            }
        }
        for column in target {
            if find(source, &column.name).is_none() {
                changes.removed.push(column.clone());
            }
        }
        changes
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Applies `on_schema_change` and returns the columns to load.
async fn apply_schema_change(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    changes: &SchemaChanges,
    target_columns: &[ColumnInfo],
) -> Result<Vec<String>, AdapterError> {
    let relation = &build.relation;
    let is_removed = |name: &str| changes.removed.iter().any(|column| column.name == name);
    let shared: Vec<String> = target_columns
        .iter()
        .filter(|column| !is_removed(&column.name))
        .map(|column| column.name.clone())
        .collect();
    let added: Vec<String> = changes.added.iter().map(|column| column.name.clone()).collect();
    if changes.is_empty() {
        return Ok(shared);
    }
    match build.on_schema_change {
        OnSchemaChange::Ignore => Ok(shared),
        OnSchemaChange::Fail => Err(AdapterError::SchemaChanged {
            relation: relation.to_string(),
            added,
            removed: changes.removed.iter().map(|column| column.name.clone()).collect(),
            changed: changes
                .changed
                .iter()
                .map(|(old, new)| (old.name.clone(), old.data_type.clone(), new.data_type.clone()))
                .collect(),
        }),
        OnSchemaChange::AppendNewColumns => {
            add_columns(adapter, connection, relation, &changes.added).await?;
            Ok(shared.into_iter().chain(added).collect())
        }
        OnSchemaChange::SyncAllColumns => {
            add_columns(adapter, connection, relation, &changes.added).await?;
            if !changes.removed.is_empty() {
                let names: Vec<&str> = changes.removed.iter().map(|column| column.name.as_str()).collect();
                execute(
                    adapter,
                    connection,
                    template_names::DROP_COLUMNS,
                    minijinja::context! { relation => relation, columns => names },
                )
                .await?;
            }
            if !changes.changed.is_empty() {
                let new_types: Vec<&ColumnInfo> = changes.changed.iter().map(|(_, new)| new).collect();
                execute(
                    adapter,
                    connection,
                    template_names::ALTER_COLUMN_TYPES,
                    minijinja::context! { relation => relation, columns => new_types },
                )
                .await?;
            }
            Ok(shared.into_iter().chain(added).collect())
        }
    }
}

pub(crate) async fn add_columns(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    relation: &Relation,
    columns: &[ColumnInfo],
) -> Result<(), AdapterError> {
    if columns.is_empty() {
        return Ok(());
    }
    execute(
        adapter,
        connection,
        template_names::ADD_COLUMNS,
        minijinja::context! { relation => relation, columns => columns },
    )
    .await
    .map(|_| ())
}

async fn build_materialized_view(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
) -> Result<AdapterResponse, AdapterError> {
    let fingerprint = sql_fingerprint(sql);
    in_transaction!(connection, {
        materialized_view_body(adapter, connection, build, sql, &fingerprint).await?
    })
}

async fn materialized_view_body(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    build: &ModelBuild<'_>,
    sql: &str,
    fingerprint: &str,
) -> Result<AdapterResponse, AdapterError> {
    let relation = &build.relation;
    run_hooks(connection, &build.pre_hooks, build.render_hooks.as_deref()).await?;
    let existing = connection.relation_kind(relation).await?;
    let unchanged = existing == Some(RelationKind::MaterializedView)
        && !build.full_refresh
        && connection.relation_comment(relation).await?.as_deref() == Some(fingerprint);
    let response = match existing {
        _ if unchanged => {
            execute(
                adapter,
                connection,
                template_names::REFRESH_MATERIALIZED_VIEW,
                minijinja::context! { relation => relation },
            )
            .await?;
            AdapterResponse::command("REFRESH MATERIALIZED VIEW")
        }
        None => create_materialized_view(adapter, connection, relation, sql, fingerprint).await?,
        Some(kind) => {
            // Changed SQL or a full refresh: build aside, then swap.
            let temporary = derived_relation(adapter, relation, TEMPORARY_SUFFIX);
            let backup = derived_relation(adapter, relation, BACKUP_SUFFIX);
            drop_if_exists(adapter, connection, &temporary).await?;
            drop_if_exists(adapter, connection, &backup).await?;
            let response = create_materialized_view(adapter, connection, &temporary, sql, fingerprint).await?;
            rename(adapter, connection, relation, kind, &backup.identifier).await?;
            rename(
                adapter,
                connection,
                &temporary,
                RelationKind::MaterializedView,
                &relation.identifier,
            )
            .await?;
            drop_relation(adapter, connection, &backup, kind).await?;
            response
        }
    };
    apply_grants(adapter, connection, relation, &build.grants).await?;
    run_hooks(connection, &build.post_hooks, build.render_hooks.as_deref()).await?;
    Ok(response)
}

async fn create_materialized_view(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    relation: &Relation,
    sql: &str,
    fingerprint: &str,
) -> Result<AdapterResponse, AdapterError> {
    let created = execute(
        adapter,
        connection,
        template_names::CREATE_MATERIALIZED_VIEW,
        minijinja::context! { relation => relation, sql => sql },
    )
    .await?;
    execute(
        adapter,
        connection,
        template_names::COMMENT_ON_RELATION,
        minijinja::context! {
            relation => relation,
            kind => RelationKind::MaterializedView.sql_keyword(),
            comment => fingerprint,
        },
    )
    .await?;
    Ok(AdapterResponse::with_rows("SELECT", created.rows_affected.unwrap_or(0)))
}

/// The comment that identifies a materialized view's SQL.
fn sql_fingerprint(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{FINGERPRINT_PREFIX}{hex}")
}

async fn seed_body(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    seed: &SeedBuild,
    chunks: &mut Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
) -> Result<u64, AdapterError> {
    let relation = &seed.relation;
    run_hooks(connection, &seed.pre_hooks, seed.render_hooks.as_deref()).await?;
    let existing = connection.relation_kind(relation).await?;
    let same_columns = existing == Some(RelationKind::Table) && !seed.full_refresh && {
        let columns = connection.columns(relation).await?;
        let same_names = columns
            .iter()
            .map(|column| &column.name)
            .eq(seed.columns.iter().map(|column| &column.name));
        // A column whose type changed (a value that is no longer a number,
        // a new `column_types`) would make the copy fail, so it counts as
        // a change too. The server spells the seed's types in a scratch
        // table, so that `varchar(10)` matches `character varying(10)`.
        same_names && columns == seed_columns_as_created(adapter, connection, seed).await?
    };
    if same_columns {
        // Truncating rather than dropping keeps the views built on the seed.
        execute(
            adapter,
            connection,
            template_names::SEED_TRUNCATE,
            minijinja::context! { relation => relation },
        )
        .await?;
    } else {
        if let Some(kind) = existing {
            drop_relation(adapter, connection, relation, kind).await?;
        }
        execute(
            adapter,
            connection,
            template_names::SEED_CREATE,
            minijinja::context! { relation => relation, columns => &seed.columns, file_format => adapter.file_format() },
        )
        .await?;
    }
    let stream = chunks.take().ok_or_else(|| AdapterError::SeedInput {
        relation: relation.to_string(),
        source: "the seed data was consumed by an earlier attempt".into(),
    })?;
    let column_names: Vec<String> = seed.columns.iter().map(|column| column.name.clone()).collect();
    let rows = connection.copy_in_csv(relation, &column_names, stream).await?;
    apply_grants(adapter, connection, relation, &seed.grants).await?;
    run_hooks(connection, &seed.post_hooks, seed.render_hooks.as_deref()).await?;
    Ok(rows)
}

/// The columns a seed's table would have, as the server reports them.
async fn seed_columns_as_created(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    seed: &SeedBuild,
) -> Result<Vec<ColumnInfo>, AdapterError> {
    let identifier = derived_relation(adapter, &seed.relation, TEMPORARY_SUFFIX).identifier;
    let scratch = Relation::new(adapter.temporary_schema(), identifier);
    drop_if_exists(adapter, connection, &scratch).await?;
    execute(
        adapter,
        connection,
        template_names::SEED_CREATE,
        minijinja::context! { relation => &scratch, columns => &seed.columns, file_format => adapter.file_format() },
    )
    .await?;
    let columns = connection.columns(&scratch).await?;
    drop_relation(adapter, connection, &scratch, RelationKind::Table).await?;
    Ok(columns)
}

pub(crate) async fn run_hooks(
    connection: &mut dyn Connection,
    hooks: &[String],
    renderer: Option<&dyn HookRenderer>,
) -> Result<(), AdapterError> {
    for hook in hooks {
        let sql = match renderer {
            Some(renderer) => renderer.render(hook)?,
            None => hook.clone(),
        };
        if !sql.trim().is_empty() {
            connection.execute(&sql).await?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Grant<'a> {
    privilege: &'a str,
    grantees: &'a [String],
}

pub(crate) async fn apply_grants(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    relation: &Relation,
    grants: &BTreeMap<String, Vec<String>>,
) -> Result<(), AdapterError> {
    let mut rendered = Vec::new();
    for (privilege, grantees) in grants {
        if grantees.is_empty() {
            continue;
        }
        // The privilege goes into the SQL as written, so it must be words.
        let is_words = privilege
            .split(' ')
            .all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic()));
        if !is_words {
            return Err(AdapterError::InvalidPrivilege {
                relation: relation.to_string(),
                privilege: privilege.clone(),
            });
        }
        rendered.push(Grant { privilege, grantees });
    }
    if rendered.is_empty() {
        return Ok(());
    }
    execute(
        adapter,
        connection,
        template_names::GRANTS,
        minijinja::context! { relation => relation, grants => rendered },
    )
    .await
    .map(|_| ())
}

async fn drop_if_exists(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    relation: &Relation,
) -> Result<(), AdapterError> {
    match connection.relation_kind(relation).await? {
        Some(kind) => drop_relation(adapter, connection, relation, kind).await,
        None => Ok(()),
    }
}

async fn drop_relation(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    relation: &Relation,
    kind: RelationKind,
) -> Result<(), AdapterError> {
    execute(
        adapter,
        connection,
        template_names::DROP_RELATION,
        minijinja::context! { relation => relation, kind => kind.sql_keyword() },
    )
    .await
    .map(|_| ())
}

async fn rename(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    relation: &Relation,
    kind: RelationKind,
    new_identifier: &str,
) -> Result<(), AdapterError> {
    execute(
        adapter,
        connection,
        template_names::RENAME_RELATION,
        minijinja::context! {
            relation => relation,
            kind => kind.sql_keyword(),
            new_identifier => new_identifier,
        },
    )
    .await
    .map(|_| ())
}

pub(crate) async fn execute(
    adapter: &dyn Adapter,
    connection: &mut dyn Connection,
    template: &'static str,
    context: minijinja::Value,
) -> Result<AdapterResponse, AdapterError> {
    let sql = render(adapter, template, context)?;
    connection.execute(&sql).await
}

pub(crate) fn render(
    adapter: &dyn Adapter,
    name: &'static str,
    context: minijinja::Value,
) -> Result<String, AdapterError> {
    adapter
        .templates()
        .get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|source| AdapterError::Template { name, source })
}

/// The relation with a suffix on its identifier, the identifier shortened
/// so that the warehouse does not cut off the suffix instead.
pub(crate) fn derived_relation(adapter: &dyn Adapter, relation: &Relation, suffix: &str) -> Relation {
    let limit = adapter.max_identifier_bytes().saturating_sub(suffix.len());
    let mut end = relation.identifier.len().min(limit);
    while !relation.identifier.is_char_boundary(end) {
        end -= 1;
    }
    relation.with_identifier(format!("{}{suffix}", &relation.identifier[..end]))
}

pub(crate) async fn rollback_quietly(connection: &mut dyn Connection) {
    // The original error matters more; a failed rollback leaves the
    // connection marked in-transaction, so it is closed, not reused.
    let _rolled_back = connection.rollback().await;
}

/// How long to wait before running a failed transaction again, if at all.
pub(crate) fn retry_delay(error: &AdapterError, attempt: u32) -> Option<Duration> {
    if !error.is_retryable() || attempt >= MAX_RETRIES {
        return None;
    }
    // Jitter keeps two deadlocked transactions from colliding again.
    let jitter = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos() % 50)
        .unwrap_or(0);
    Some(Duration::from_millis(50 * 2u64.pow(attempt) + u64::from(jitter)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_defaults_follow_dbt_postgres() {
        let relation = Relation::new("s", "t");
        let mut build = ModelBuild::new(relation, Materialization::Incremental, "select 1");
        let replace = MicrobatchMethod::ReplaceWindow;
        let resolve = |strategy: &str, build: &ModelBuild<'_>, microbatch| {
            IncrementalStrategy::resolve(strategy, build, microbatch)
        };
        assert_eq!(
            resolve(postgres_default_strategy(false), &build, replace).ok(),
            Some(IncrementalStrategy::Append)
        );
        assert_eq!(
            resolve(postgres_default_strategy(true), &build, replace).ok(),
            Some(IncrementalStrategy::DeleteInsert)
        );
        assert_eq!(
            resolve("insert_overwrite", &build, replace).ok(),
            Some(IncrementalStrategy::InsertOverwrite)
        );
        // Spark's strategy; PostgreSQL and DuckDB refuse it before building.
        assert!(matches!(
            postgres_strategies("insert_overwrite"),
            Err(AdapterError::UnsupportedStrategy { strategy }) if strategy == "insert_overwrite"
        ));
        assert!(matches!(
            resolve("upsert", &build, replace),
            Err(AdapterError::UnsupportedStrategy { strategy }) if strategy == "upsert"
        ));
        // dbt-postgres merges a batch on its unique key, and needs one.
        build.unique_key = vec!["id".to_string()];
        let merge = MicrobatchMethod::MergeOnUniqueKey;
        assert_eq!(
            resolve("microbatch", &build, merge).ok(),
            Some(IncrementalStrategy::Merge)
        );
        assert_eq!(
            resolve("microbatch", &build, replace).ok(),
            Some(IncrementalStrategy::ReplaceWindow)
        );
        build.unique_key.clear();
        assert!(matches!(
            resolve("microbatch", &build, merge),
            Err(AdapterError::MicrobatchNeedsUniqueKey)
        ));
    }

    #[test]
    fn schema_changes_find_added_removed_and_retyped_columns() {
        let column = |name: &str, data_type: &str| ColumnInfo {
            name: name.to_string(),
            data_type: data_type.to_string(),
        };
        let changes = SchemaChanges::between(
            &[
                column("id", "integer"),
                column("old", "text"),
                column("amount", "integer"),
            ],
            &[
                column("id", "integer"),
                column("amount", "numeric"),
                column("new", "text"),
            ],
        );
        assert_eq!(changes.added, vec![column("new", "text")]);
        assert_eq!(changes.removed, vec![column("old", "text")]);
        assert_eq!(
            changes.changed,
            vec![(column("amount", "integer"), column("amount", "numeric"))]
        );
    }

    #[test]
    fn trim_statement_drops_trailing_semicolons() {
        assert_eq!(trim_statement("select 1;\n  "), "select 1");
    }
}
