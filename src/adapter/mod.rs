//! The warehouse boundary: the [`Adapter`] trait, the types every adapter
//! shares, and the error they report.
//!
//! An adapter owns a connection pool and a set of SQL templates for its
//! dialect. It knows how to run SQL, read the catalog and stream CSV in; it
//! does not know what a model is. The materializations that turn a model
//! into views and tables live in [`materialize`], written once against this
//! trait and driven by each adapter's templates. PostgreSQL specifics stay in
//! [`postgres`] and `templates/postgres/`.
//!
//! Every adapter's template environment must provide the templates named in
//! [`template_names`], with the same context variables, so that
//! [`materialize`] works unchanged on every dialect.

mod arrow_text;
mod connect;
#[cfg(feature = "duckdb")]
pub mod duckdb;
pub mod materialize;
pub mod pg_binary;
pub mod postgres;
pub mod spark;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::Serialize;

pub use connect::connect;
pub use materialize::{
    count_failures, count_failures_with, load_seed, materialize, HookRenderer, Materialization, ModelBuild,
    OnSchemaChange, SeedBuild, SeedColumn,
};
pub use postgres::{PostgresAdapter, PostgresConfig};

/// A driver's error, whichever driver the adapter uses.
pub type DriverError = Box<dyn std::error::Error + Send + Sync>;

/// The names of the templates every adapter provides, with what each renders.
pub mod template_names {
    /// `create schema if not exists`; context: `schema`.
    pub const CREATE_SCHEMA: &str = "create_schema.sql";
    /// `create or replace view`; context: `relation`, `sql`.
    pub const CREATE_OR_REPLACE_VIEW: &str = "create_or_replace_view.sql";
    /// `create view`; context: `relation`, `sql`.
    pub const CREATE_VIEW: &str = "create_view.sql";
    /// `create table as`; context: `relation`, `sql`.
    pub const CREATE_TABLE_AS: &str = "create_table_as.sql";
    /// A session-local table dropped at commit; context: `relation`, `sql`.
    pub const CREATE_TEMPORARY_TABLE_AS: &str = "create_temporary_table_as.sql";
    /// `drop ... if exists ... cascade`; context: `relation`, `kind`.
    pub const DROP_RELATION: &str = "drop_relation.sql";
    /// Rename within a schema; context: `relation`, `kind`, `new_identifier`.
    pub const RENAME_RELATION: &str = "rename_relation.sql";
    /// Incremental `append`; context: `target`, `source`, `columns`.
    pub const INCREMENTAL_APPEND: &str = "incremental_append.sql";
    /// Incremental `merge`; context: `target`, `source`, `columns`,
    /// `unique_key`, `update_columns`.
    pub const INCREMENTAL_MERGE: &str = "incremental_merge.sql";
    /// The delete half of `delete+insert`; context: `target`, `source`,
    /// `unique_key`.
    pub const INCREMENTAL_DELETE: &str = "incremental_delete.sql";
    /// The delete half of a microbatch's window replace; context: `target`,
    /// `event_time`, `start`, `end`.
    pub const INCREMENTAL_DELETE_WINDOW: &str = "incremental_delete_window.sql";
    /// Add columns; context: `relation`, `columns` (name, data_type).
    pub const ADD_COLUMNS: &str = "add_columns.sql";
    /// Drop columns; context: `relation`, `columns` (names).
    pub const DROP_COLUMNS: &str = "drop_columns.sql";
    /// Change column types; context: `relation`, `columns` (name, data_type).
    pub const ALTER_COLUMN_TYPES: &str = "alter_column_types.sql";
    /// `create materialized view`; context: `relation`, `sql`.
    pub const CREATE_MATERIALIZED_VIEW: &str = "create_materialized_view.sql";
    /// `refresh materialized view`; context: `relation`.
    pub const REFRESH_MATERIALIZED_VIEW: &str = "refresh_materialized_view.sql";
    /// `comment on ...`; context: `relation`, `kind`, `comment`.
    pub const COMMENT_ON_RELATION: &str = "comment_on_relation.sql";
    /// One `grant` per privilege; context: `relation`, `grants` (privilege,
    /// grantees).
    pub const GRANTS: &str = "grants.sql";
    /// Counts the rows a data test returns with its `fail_calc` (an
    /// aggregate such as `count(*)`); context: `sql`, `fail_calc`.
    pub const TEST_COUNT: &str = "test_count.sql";
    /// Caps the rows of a query for `dvt show`; context: `sql`, `limit`.
    pub const LIMIT: &str = "limit.sql";
    /// Creates a seed's table; context: `relation`, `columns` (name, data_type).
    pub const SEED_CREATE: &str = "seed_create.sql";
    /// Empties a seed's table; context: `relation`.
    pub const SEED_TRUNCATE: &str = "seed_truncate.sql";
    /// Starts a CSV copy into a table; context: `relation`, `columns`, and
    /// `path`, the file holding the CSV, for adapters that read one.
    pub const SEED_COPY: &str = "seed_copy.sql";
    /// One row per column of every relation in the given schemas, for
    /// `dvt docs generate`; context: `schemas`. Columns, in order:
    /// schema, name, kind (`r` table, `v` view, `m` materialized view),
    /// owner, comment, row count, bytes, column name, column type, column
    /// position, column comment.
    pub const CATALOG: &str = "catalog.sql";
    /// The rows of a lake export; context: `relation`, `partitions`
    /// (column, granularity, alias), `watermark` (column, after, through,
    /// or none).
    pub const EXPORT_QUERY: &str = "export_query.sql";
    /// The highest value of a column, as text; context: `relation`,
    /// `column`.
    pub const EXPORT_WATERMARK: &str = "export_watermark.sql";
    /// A partition key's value as text, included by [`EXPORT_QUERY`];
    /// context: `key` (column, granularity).
    pub const EXPORT_PARTITION_VALUE: &str = "export_partition_value.sql";

    /// Every relation in a schema, for Jinja's
    /// `adapter.list_relations_without_caching`; context: `schema`.
    /// Columns, in order: database, schema, name, type (`table`, `view`,
    /// `materialized_view`).
    pub const LIST_RELATIONS: &str = "list_relations.sql";
    /// Every schema of the database, for Jinja's `adapter.list_schemas`;
    /// context: none. One column: the schema's name.
    pub const LIST_SCHEMAS: &str = "list_schemas.sql";
    /// `drop schema ... cascade`, for Jinja's `adapter.drop_schema`;
    /// context: `schema`.
    pub const DROP_SCHEMA: &str = "drop_schema.sql";
    /// Every row of a relation, for `dvt show` of a seed; context:
    /// `relation`.
    pub const SELECT_ALL: &str = "select_all.sql";
    /// The server's version, one row and one column; no context.
    pub const SERVER_VERSION: &str = "server_version.sql";
    /// A unit test's fixture rows as a query; context: `columns`, `rows`
    /// (cells: `value`, `string`, `type`), `empty`.
    pub const UNIT_TEST_FIXTURE: &str = "unit_test_fixture.sql";
    /// A unit test's actual and expected rows in one result; context:
    /// `sql`, `expected_sql`, `columns`.
    pub const UNIT_TEST_COMPARE: &str = "unit_test_compare.sql";
    /// A query with no rows, to type its columns; context: `sql`.
    pub const UNIT_TEST_COLUMNS: &str = "unit_test_columns.sql";
    /// A snapshot's first run: its query with the meta columns added;
    /// context: `sql`, `scd_id`, `updated_at`, `columns`, `valid_to_current`,
    /// `new_record` (see [`crate::snapshot::materialize`]).
    pub const SNAPSHOT_BUILD: &str = "snapshot_build.sql";
    /// The changes of a later snapshot run, one row per insert, update or
    /// delete (see [`crate::snapshot::materialize`] for the context).
    pub const SNAPSHOT_STAGING: &str = "snapshot_staging.sql";
    /// Closes the versions the staging table updates or deletes; context:
    /// `target`, `source`, `columns`, `valid_to_current`.
    pub const SNAPSHOT_UPDATE: &str = "snapshot_update.sql";
    /// Inserts the staging table's new versions; context: `target`,
    /// `source`, `columns` (names).
    pub const SNAPSHOT_INSERT: &str = "snapshot_insert.sql";
    /// dbt's `snapshot_hash_arguments`: an md5 of the arguments joined by
    /// `|`; context: `arguments` (SQL expressions).
    pub const SNAPSHOT_HASH: &str = "snapshot_hash.sql";
    /// The columns of a query, with no rows; context: `sql`, `columns`
    /// (expressions to select, or empty for every column).
    pub const SNAPSHOT_QUERY_COLUMNS: &str = "snapshot_query_columns.sql";
    /// One snapshot column widened, as dbt's `alter_column_type`; context:
    /// `relation`, `column` (name, data_type).
    pub const SNAPSHOT_EXPAND_COLUMN: &str = "snapshot_expand_column.sql";
    /// dbt's `snapshot_get_time()`: the transaction's time as a timestamp
    /// without time zone; no context.
    pub const SNAPSHOT_TIME: &str = "snapshot_time.sql";
    /// A source's latest load and the current time, for source freshness;
    /// context: `relation`, `loaded_at_field`, `filter`.
    pub const COLLECT_FRESHNESS: &str = "collect_freshness.sql";
    /// The same from a source's `loaded_at_query`; context: `relation`,
    /// `loaded_at_query`.
    pub const COLLECT_FRESHNESS_CUSTOM_SQL: &str = "collect_freshness_custom_sql.sql";
    /// Incremental `insert_overwrite`: the partitions (or, unpartitioned,
    /// the whole table) the new rows fall in replaced by them; context:
    /// `target`, `source`, `columns`, `partition_by`. Only adapters whose
    /// [`Adapter::check_strategy`](super::Adapter::check_strategy) accepts
    /// the strategy provide it, so it is not in [`ALL`].
    pub const INCREMENTAL_INSERT_OVERWRITE: &str = "incremental_insert_overwrite.sql";
    /// A model's query with no rows, for its contract; context: `sql`.
    pub const CONTRACT_EMPTY_QUERY: &str = "contract_empty_query.sql";
    /// A null of each declared type, for a contract; context: `columns`
    /// (name, data_type).
    pub const CONTRACT_SCHEMA_QUERY: &str = "contract_schema_query.sql";
    /// A table with a contract's types and constraints, filled from the
    /// query; context: `relation`, `columns` (name, data_type,
    /// constraints), `constraints`, `sql`.
    pub const CREATE_TABLE_CONTRACT: &str = "create_table_contract.sql";

    /// Every name above, for checking that an adapter provides them all.
    pub const ALL: &[&str] = &[
        CREATE_SCHEMA,
        CREATE_OR_REPLACE_VIEW,
        CREATE_VIEW,
        CREATE_TABLE_AS,
        CREATE_TEMPORARY_TABLE_AS,
        DROP_RELATION,
        RENAME_RELATION,
        INCREMENTAL_APPEND,
        INCREMENTAL_MERGE,
        INCREMENTAL_DELETE,
        INCREMENTAL_DELETE_WINDOW,
        ADD_COLUMNS,
        DROP_COLUMNS,
        ALTER_COLUMN_TYPES,
        CREATE_MATERIALIZED_VIEW,
        REFRESH_MATERIALIZED_VIEW,
        COMMENT_ON_RELATION,
        GRANTS,
        TEST_COUNT,
        LIMIT,
        SEED_CREATE,
        SEED_TRUNCATE,
        SEED_COPY,
        CATALOG,
        EXPORT_QUERY,
        EXPORT_WATERMARK,
        EXPORT_PARTITION_VALUE,
        LIST_RELATIONS,
        LIST_SCHEMAS,
        DROP_SCHEMA,
        SELECT_ALL,
        SERVER_VERSION,
        UNIT_TEST_FIXTURE,
        UNIT_TEST_COMPARE,
        UNIT_TEST_COLUMNS,
        SNAPSHOT_BUILD,
        SNAPSHOT_STAGING,
        SNAPSHOT_UPDATE,
        SNAPSHOT_INSERT,
        SNAPSHOT_HASH,
        SNAPSHOT_QUERY_COLUMNS,
        SNAPSHOT_EXPAND_COLUMN,
        SNAPSHOT_TIME,
        COLLECT_FRESHNESS,
        COLLECT_FRESHNESS_CUSTOM_SQL,
        CONTRACT_EMPTY_QUERY,
        CONTRACT_SCHEMA_QUERY,
        CREATE_TABLE_CONTRACT,
    ];
}

/// `(name, source)` pairs for template files in `templates/<dir>/`.
macro_rules! template_files {
    ($dir:literal; $($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $dir, "/", $file)))),*]
    };
}

/// An adapter module's SQL: `TEMPLATE_SOURCES`, its own templates in
/// `templates/<dir>/` (the statements where dialects differ; every other name
/// in [`template_names::ALL`] comes from [`COMMON_TEMPLATES`]), `templates()`,
/// the environment parsed once, and `render()`.
macro_rules! adapter_templates {
    ($dir:literal) => {
        const TEMPLATE_SOURCES: &[(&str, &str)] = $crate::adapter::template_files!($dir;
            "create_temporary_table_as.sql", "incremental_delete.sql", "add_columns.sql", "drop_columns.sql",
            "alter_column_types.sql", "create_materialized_view.sql", "refresh_materialized_view.sql", "grants.sql",
            "seed_create.sql", "seed_copy.sql", "catalog.sql", "export_partition_value.sql", "server_version.sql",
            "list_relations.sql", "list_schemas.sql", "snapshot_time.sql");

        /// This adapter's templates, parsed once.
        pub fn templates() -> &'static minijinja::Environment<'static> {
            static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
            TEMPLATES.get_or_init(|| $crate::adapter::template_environment(TEMPLATE_SOURCES))
        }

        fn render(name: &'static str, context: minijinja::Value) -> Result<String, $crate::adapter::AdapterError> {
            $crate::adapter::render_template(templates(), name, context)
        }
    };
}
pub(crate) use {adapter_templates, template_files};

/// The statements PostgreSQL and DuckDB spell alike (`templates/common/`).
pub(crate) const COMMON_TEMPLATES: &[(&str, &str)] = template_files!("common";
    "create_schema.sql", "create_or_replace_view.sql", "create_view.sql", "create_table_as.sql", "drop_relation.sql",
    "rename_relation.sql", "incremental_append.sql", "incremental_merge.sql", "comment_on_relation.sql",
    "test_count.sql", "limit.sql", "seed_truncate.sql", "export_query.sql", "export_watermark.sql", "select_all.sql",
    "drop_schema.sql", "unit_test_fixture.sql", "unit_test_compare.sql", "unit_test_columns.sql",
    "snapshot_build.sql", "snapshot_staging.sql", "snapshot_update.sql", "snapshot_insert.sql", "snapshot_expand_column.sql",
    "snapshot_hash.sql", "snapshot_query_columns.sql", "collect_freshness.sql", "collect_freshness_custom_sql.sql",
    "contract_empty_query.sql", "contract_schema_query.sql", "create_table_contract.sql",
    "incremental_delete_window.sql");

/// The template environment of one adapter: its own sources, then the
/// common ones, plus the filters every template may use: `quote` (an
/// identifier), `relation` (a relation value as `"schema"."identifier"`)
/// and `literal` (a string literal).
pub(crate) fn template_environment(
    sources: &'static [(&'static str, &'static str)],
) -> minijinja::Environment<'static> {
    let mut environment = minijinja::Environment::new();
    environment.set_trim_blocks(true);
    environment.set_lstrip_blocks(true);
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.add_filter("quote", |identifier: String| quote_identifier(&identifier));
    environment.add_filter("relation", relation_filter);
    environment.add_filter("literal", |text: String| format!("'{}'", text.replace('\'', "''")));
    // Parsed on first use, so a mistake in a template surfaces as an error
    // naming it rather than a panic here.
    environment.set_loader(move |name| Ok(template_source(sources, name).map(str::to_string)));
    environment
}

/// An adapter's template by name: its own, or else the common one.
pub(crate) fn template_source(sources: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
    sources
        .iter()
        .chain(COMMON_TEMPLATES)
        .find(|(known, _)| *known == name)
        .map(|(_, source)| *source)
}

/// Checks that an adapter has every template in [`template_names::ALL`],
/// and that each parses; for each adapter's unit tests.
#[cfg(test)]
pub(crate) fn check_templates(sources: &[(&str, &'static str)]) {
    for name in template_names::ALL {
        let source = template_source(sources, name).unwrap_or_else(|| panic!("no template `{name}`"));
        let mut environment = minijinja::Environment::new();
        environment
            .add_template(name, source)
            .unwrap_or_else(|error| panic!("template `{name}`: {error}"));
    }
}

/// Renders a relation value as `"schema"."identifier"`.
fn relation_filter(relation: minijinja::Value) -> Result<String, minijinja::Error> {
    let part = |name: &str| -> Result<String, minijinja::Error> {
        let value = relation.get_attr(name)?;
        value.as_str().map(str::to_string).ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("a relation needs a string `{name}`"),
            )
        })
    };
    Ok(format!(
        "{}.{}",
        quote_identifier(&part("schema")?),
        quote_identifier(&part("identifier")?)
    ))
}

/// Renders one of an adapter's templates.
pub(crate) fn render_template(
    templates: &minijinja::Environment<'static>,
    name: &'static str,
    context: minijinja::Value,
) -> Result<String, AdapterError> {
    templates
        .get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|source| AdapterError::Template { name, source })
}

/// A table, view or materialized view in the warehouse.
///
/// [`Display`](fmt::Display) renders the quoted `"schema"."identifier"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Relation {
    /// The database, when it was configured; PostgreSQL cannot query across
    /// databases, so rendered SQL leaves it out.
    pub database: Option<String>,
    pub schema: String,
    pub identifier: String,
}

impl Relation {
    pub fn new(schema: impl Into<String>, identifier: impl Into<String>) -> Self {
        Self {
            database: None,
            schema: schema.into(),
            identifier: identifier.into(),
        }
    }

    /// The same relation under another identifier in the same schema.
    pub fn with_identifier(&self, identifier: impl Into<String>) -> Self {
        Self {
            database: self.database.clone(),
            schema: self.schema.clone(),
            identifier: identifier.into(),
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}.{}",
            quote_identifier(&self.schema),
            quote_identifier(&self.identifier)
        )
    }
}

/// Quotes an identifier the SQL-standard way: wrapped in `"`, with every
/// embedded `"` doubled.
pub fn quote_identifier(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The statement without trailing whitespace and semicolons, ready to nest
/// inside another.
pub(crate) fn trim_statement(sql: &str) -> &str {
    sql.trim_end().trim_end_matches(';').trim_end()
}

/// The first word of the SQL, upper-cased, skipping comments: the command
/// PostgreSQL would name in its completion tag.
pub(crate) fn leading_keyword(sql: &str) -> String {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail).trim_start();
        } else {
            break;
        }
    }
    rest.split(|character: char| !character.is_alphanumeric() && character != '_')
        .next()
        .unwrap_or_default()
        .to_uppercase()
}

/// The statements running right now, each with what cancelling it takes
/// (a backend pid, an interrupt handle), so that [`Adapter::cancel_running`]
/// can reach them all.
pub(crate) struct RunningStatements<T> {
    next_token: AtomicU64,
    entries: Mutex<BTreeMap<u64, T>>,
}

impl<T> Default for RunningStatements<T> {
    fn default() -> Self {
        Self {
            next_token: AtomicU64::new(0),
            entries: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<T: Clone> RunningStatements<T> {
    /// Marks a statement as running until the guard is dropped, even when
    /// the future running it is cancelled.
    pub(crate) fn start(self: &Arc<Self>, entry: T) -> RunningGuard<T> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(token, entry);
        RunningGuard {
            registry: Arc::clone(self),
            token,
        }
    }

    /// What each running statement registered.
    pub(crate) fn current(&self) -> Vec<T> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, T>> {
        lock_unpoisoned(&self.entries)
    }
}

/// Locks a mutex that stays usable after a holder panicked: what the
/// adapters guard (a map of running statements, a connection) is consistent
/// between calls.
pub(crate) fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps one statement in [`RunningStatements`] until dropped.
pub(crate) struct RunningGuard<T: Clone> {
    registry: Arc<RunningStatements<T>>,
    token: u64,
}

impl<T: Clone> Drop for RunningGuard<T> {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.token);
    }
}

/// What kind of object a relation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    Table,
    View,
    MaterializedView,
}

impl RelationKind {
    /// The words SQL uses for this kind in `drop`, `alter` and `comment on`.
    pub fn sql_keyword(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized view",
        }
    }
}

impl fmt::Display for RelationKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.sql_keyword())
    }
}

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    /// The type as the warehouse spells it, for example `numeric(10,2)`.
    pub data_type: String,
}

/// What a statement did, in the words dbt reports: `SELECT 16044`,
/// `CREATE VIEW`, `INSERT 0 120`, `MERGE 120`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterResponse {
    pub message: String,
    /// The command alone: `SELECT`, `CREATE VIEW`, `INSERT`, `MERGE`.
    pub code: String,
    pub rows_affected: Option<u64>,
}

impl AdapterResponse {
    /// A response for a command that reports no row count.
    pub fn command(code: &str) -> Self {
        Self {
            message: code.to_string(),
            code: code.to_string(),
            rows_affected: None,
        }
    }

    /// A response for a command that reports rows, such as `SELECT 3`.
    pub fn with_rows(code: &str, rows: u64) -> Self {
        Self {
            message: format!("{code} {rows}"),
            code: code.to_string(),
            rows_affected: Some(rows),
        }
    }

    /// An `INSERT`, which PostgreSQL tags with a legacy OID of `0`.
    pub fn insert(rows: u64) -> Self {
        Self {
            message: format!("INSERT 0 {rows}"),
            code: "INSERT".to_string(),
            rows_affected: Some(rows),
        }
    }
}

/// Rows returned by [`Connection::query`], every value in its text form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    /// What each column holds, so that the text can be read back as a
    /// number or a date (Jinja's `run_query` does); empty or shorter than
    /// `columns` when the driver did not say, and then read as text.
    pub column_types: Vec<ValueType>,
    /// `None` is SQL `NULL`.
    pub rows: Vec<Vec<Option<String>>>,
}

/// The kind of value a result column holds, as dbt's agate tables tell
/// them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Integer,
    /// A decimal or floating-point number.
    Number,
    Boolean,
    Date,
    Timestamp,
    #[default]
    Text,
}

/// An error the database server reported, with everything it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseError {
    /// The five-character SQLSTATE, for example `42P01`.
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character offset into [`Self::statement`], when the server
    /// pointed at one.
    pub position: Option<usize>,
    /// The SQL text the position refers to.
    pub statement: Option<String>,
}

impl DatabaseError {
    /// Where the error points inside `sql`, as a 1-based `(line, column)`,
    /// when `sql` appears verbatim in the failed statement (as a model's
    /// compiled SQL does inside `create view ... as (...)`).
    pub fn position_in(&self, sql: &str) -> Option<(usize, usize)> {
        let position = self.position?;
        let statement = self.statement.as_deref()?;
        let start_byte = statement.find(sql)?;
        let start_character = statement[..start_byte].chars().count();
        // The server counts characters from 1.
        let offset = position.checked_sub(1 + start_character)?;
        let mut line = 1;
        let mut column = 1;
        for (index, character) in sql.chars().enumerate() {
            if index == offset {
                return Some((line, column));
            }
            if character == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        (offset == sql.chars().count()).then_some((line, column))
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} (SQLSTATE `{}`)", self.message, self.sqlstate)?;
        if let Some(detail) = &self.detail {
            write!(formatter, "\ndetail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(formatter, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DatabaseError {}

/// SQLSTATE of a deadlock the server broke by aborting one transaction.
pub const SQLSTATE_DEADLOCK_DETECTED: &str = "40P01";
/// SQLSTATE of a serializable transaction that lost a conflict.
pub const SQLSTATE_SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE of a statement cancelled on request.
pub const SQLSTATE_QUERY_CANCELED: &str = "57014";

/// Everything that can go wrong talking to a warehouse.
///
/// No variant ever carries a password.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("could not connect to `{target}`")]
    Connect {
        /// `user@host:port/dbname` or the database file, without the password.
        target: String,
        #[source]
        source: DriverError,
    },
    #[error("invalid connection setting `{setting}` = `{value}`")]
    InvalidConfig {
        setting: &'static str,
        value: String,
        #[source]
        source: DriverError,
    },
    /// The server's own words, printed as they are.
    #[error(transparent)]
    Database(Box<DatabaseError>),
    #[error("lost the conversation with the database")]
    Driver(#[source] DriverError),
    #[error("could not render SQL template `{name}`")]
    Template {
        name: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error(
        "the columns of `{relation}` changed and `on_schema_change` is `fail`: {}",
        describe_changes(added, removed, changed)
    )]
    SchemaChanged {
        relation: String,
        added: Vec<String>,
        removed: Vec<String>,
        /// `(column, old type, new type)`.
        changed: Vec<(String, String, String)>,
    },
    /// An enforced contract the query does not meet (`crate::contract`).
    #[error("{message}")]
    Contract { message: String },
    #[error(
        "incremental strategy `{strategy}` is not supported; use `append`, `merge`, `delete+insert` or `microbatch`"
    )]
    UnsupportedStrategy { strategy: String },
    /// dbt-postgres' microbatch merges on the model's `unique_key`.
    /// A strategy the target's file format cannot build.
    #[error("incremental strategy `{strategy}` needs a table format that supports it, and `file_format` is `{file_format}`; it works with {formats}")]
    StrategyNeedsFormat {
        strategy: String,
        file_format: String,
        formats: String,
    },
    #[error("dbt-postgres 'microbatch' requires a `unique_key` config")]
    MicrobatchNeedsUniqueKey,
    #[error("privilege `{privilege}` in the grants of `{relation}` is not a SQL privilege name")]
    InvalidPrivilege { relation: String, privilege: String },
    #[error("could not read the seed data for `{relation}`")]
    SeedInput {
        relation: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A hook's Jinja failed to render when it was about to run.
    #[error("{message}")]
    Hook { message: String },
    #[error("data test query returned no row count")]
    MissingTestCount,
    /// A snapshot's relation exists but cannot hold its history.
    #[error("cannot snapshot into `{relation}`: {problem}")]
    SnapshotTarget { relation: String, problem: String },
    #[error("{what} is not supported on {adapter}; {hint}")]
    Unsupported {
        what: &'static str,
        adapter: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
}

fn describe_changes(added: &[String], removed: &[String], changed: &[(String, String, String)]) -> String {
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", backticked(added.iter())));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", backticked(removed.iter())));
    }
    if !changed.is_empty() {
        let descriptions: Vec<String> = changed
            .iter()
            .map(|(name, old, new)| format!("`{name}` (`{old}` -> `{new}`)"))
            .collect();
        parts.push(format!("changed type of {}", descriptions.join(", ")));
    }
    parts.join("; ")
}

fn backticked<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

impl AdapterError {
    /// The server's error, when the server reported one.
    pub fn database_error(&self) -> Option<&DatabaseError> {
        match self {
            AdapterError::Database(error) => Some(error),
            _ => None,
        }
    }

    /// The SQLSTATE, when the server reported one.
    pub fn sqlstate(&self) -> Option<&str> {
        self.database_error().map(|error| error.sqlstate.as_str())
    }

    /// Whether running the whole transaction again may succeed: a deadlock
    /// or a serialization failure.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.sqlstate(),
            Some(SQLSTATE_DEADLOCK_DETECTED | SQLSTATE_SERIALIZATION_FAILURE)
        )
    }

    /// Whether a later attempt may succeed without anything changing: a
    /// retryable conflict, a lost or refused connection, or a server
    /// shutting down or out of connections. Long-running loops such as
    /// `dvt ingest --follow` wait and try again on these.
    pub fn is_transient(&self) -> bool {
        match self {
            AdapterError::Connect { .. } | AdapterError::Driver(_) => true,
            AdapterError::Database(error) => {
                self.is_retryable()
                    || error.sqlstate.starts_with("08")
                    || matches!(error.sqlstate.as_str(), "57P01" | "57P02" | "57P03" | "53300")
            }
            _ => false,
        }
    }

    /// Whether the statement was cancelled, for example by
    /// [`Adapter::cancel_running`].
    pub fn is_cancelled(&self) -> bool {
        self.sqlstate() == Some(SQLSTATE_QUERY_CANCELED)
    }
}

/// A warehouse: a pool of connections and the SQL templates of its dialect.
///
/// Object safe, to be shared as `Arc<dyn Adapter>` between worker threads.
/// How an adapter writes one batch of a microbatch model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicrobatchMethod {
    /// Merged on the model's `unique_key`, as dbt-postgres does (which
    /// requires one).
    MergeOnUniqueKey,
    /// The table's rows in the batch's window deleted, then the batch's
    /// inserted: dbt-duckdb 1.9 has no microbatch strategy, and this is
    /// what the strategy means on warehouses that replace by event time.
    ReplaceWindow,
}

#[async_trait]
pub trait Adapter: Send + Sync {
    /// The adapter's type as profiles name it: `postgres`.
    fn kind(&self) -> &'static str;

    /// A connection from the pool, which holds as many as the configured
    /// threads. It goes back to the pool when dropped.
    async fn connection(&self) -> Result<Box<dyn Connection>, AdapterError>;

    /// Cancels every statement that one of this adapter's connections is
    /// running right now. Statements started afterwards are not affected.
    async fn cancel_running(&self) -> Result<(), AdapterError>;

    /// The dialect's SQL templates, named as in [`template_names`].
    fn templates(&self) -> &minijinja::Environment<'static>;

    /// The schema that holds session-local temporary tables.
    fn temporary_schema(&self) -> &'static str;

    /// The longest identifier the warehouse keeps, in bytes; longer names
    /// are cut, so derived names such as `x__dvt_tmp` must be shortened.
    fn max_identifier_bytes(&self) -> usize;

    /// Whether `materialized: materialized_view` can be built.
    fn supports_materialized_views(&self) -> bool {
        true
    }

    /// How a microbatch model's batch goes into its table.
    fn microbatch_method(&self) -> MicrobatchMethod {
        MicrobatchMethod::ReplaceWindow
    }

    /// The SQL type a seed column of the inferred type gets when
    /// `column_types` names none.
    fn seed_type(&self, inferred: crate::seed::InferredType) -> &'static str {
        inferred.postgres_type()
    }

    /// The format new tables are written in (`file_format`), on warehouses
    /// that choose one per table; given to the table templates.
    fn file_format(&self) -> Option<&str> {
        None
    }

    /// Refuses an incremental strategy this adapter cannot build, before
    /// anything runs; `append`, `merge`, `delete+insert` and `microbatch`
    /// are dbt-postgres' and every adapter's unless it says otherwise.
    fn check_strategy(&self, strategy: &str) -> Result<(), AdapterError> {
        materialize::postgres_strategies(strategy)
    }

    /// The strategy of an incremental model that names none: dbt-postgres'
    /// `delete+insert` with a unique key, `append` without.
    fn default_incremental_strategy(&self, has_unique_key: bool) -> &'static str {
        materialize::postgres_default_strategy(has_unique_key)
    }

    /// A column type as a contract compares and shows it: as dbt's adapter
    /// names the type of a query's column. DuckDB's own spelling.
    fn contract_type(&self, data_type: &str) -> String {
        data_type.to_string()
    }

    /// Streams the rows of a query as Arrow record batches of about
    /// `batch_rows` rows each, for exports to the lake. The rows are read on
    /// a connection of the adapter's own, which a bounded channel holds back
    /// while the reader is busy, so memory stays flat however many rows
    /// there are.
    async fn query_arrow(&self, sql: &str, batch_rows: usize) -> Result<ArrowBatches, AdapterError>;

    /// Closes every connection of the pool.
    async fn close(&self);

    /// One row per column of every relation in `schemas`, with the columns
    /// [`template_names::CATALOG`] names, for `dvt docs generate`: that
    /// template's query, unless the warehouse has no catalog to query.
    async fn catalog(&self, schemas: &[&str]) -> Result<QueryResult, AdapterError> {
        let sql = render_template(
            self.templates(),
            template_names::CATALOG,
            minijinja::context! { schemas => schemas },
        )?;
        self.connection().await?.query(&sql, None).await
    }

    /// A query of every row of `relation` (`select_all.sql`).
    fn select_all(&self, relation: &Relation) -> Result<String, AdapterError> {
        render_template(
            self.templates(),
            template_names::SELECT_ALL,
            minijinja::context! { relation => minijinja::Value::from_serialize(relation) },
        )
    }

    /// The server's version, as its `server_version.sql` template reads it.
    async fn server_version(&self) -> Result<String, AdapterError> {
        let sql = render_template(
            self.templates(),
            template_names::SERVER_VERSION,
            minijinja::Value::from(()),
        )?;
        let mut connection = self.connection().await?;
        let result = connection.query(&sql, None).await?;
        Ok(result
            .rows
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .unwrap_or_default())
    }
}

/// How many record batches wait between the warehouse and the lake writer.
pub const ARROW_CHANNEL_BATCHES: usize = 4;

/// The rows of [`Adapter::query_arrow`]: their schema, then the batches.
/// A reading error arrives as the last item.
pub struct ArrowBatches {
    pub schema: arrow::datatypes::SchemaRef,
    pub batches: tokio::sync::mpsc::Receiver<Result<arrow::record_batch::RecordBatch, AdapterError>>,
}

/// One session with the warehouse.
///
/// A connection dropped in the middle of a transaction is closed rather
/// than handed back to the pool, so the next user never inherits it.
#[async_trait]
pub trait Connection: Send {
    /// Runs SQL that returns no rows; it may hold several statements.
    /// `rows_affected` sums over the statements, and `code` is the first
    /// statement's leading keyword (`INSERT`, `CREATE`); the materializations
    /// build their own dbt-style responses.
    async fn execute(&mut self, sql: &str) -> Result<AdapterResponse, AdapterError>;

    /// Runs a query and returns its rows as text, at most `limit` of them.
    async fn query(&mut self, sql: &str, limit: Option<usize>) -> Result<QueryResult, AdapterError>;

    async fn begin(&mut self) -> Result<(), AdapterError>;
    async fn commit(&mut self) -> Result<(), AdapterError>;
    async fn rollback(&mut self) -> Result<(), AdapterError>;

    /// What the relation is, or `None` when it does not exist.
    async fn relation_kind(&mut self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError>;

    /// The relation's columns in order; empty when it does not exist.
    async fn columns(&mut self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError>;

    /// The relation's comment, if it has one.
    async fn relation_comment(&mut self, relation: &Relation) -> Result<Option<String>, AdapterError>;

    /// Creates the schema unless it exists. Safe when several connections
    /// race to create the same schema. Must not run inside a transaction.
    async fn create_schema_if_missing(&mut self, schema: &str) -> Result<(), AdapterError>;

    /// Streams CSV text, starting with its header row, into the named
    /// columns of a table. Returns the number of rows copied. When a chunk
    /// is an error, the copy is abandoned and that error returned.
    async fn copy_in_csv(
        &mut self,
        relation: &Relation,
        columns: &[String],
        chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
    ) -> Result<u64, AdapterError>;

    /// Appends a record batch to the named columns of a table (its fields
    /// in the same order), in the open transaction if there is one; the
    /// warehouse casts a field whose type is not the column's. Returns the
    /// number of rows appended. Only DuckDB has an appender.
    async fn append_arrow(
        &mut self,
        relation: &Relation,
        _columns: &[String],
        _batch: arrow::record_batch::RecordBatch,
    ) -> Result<u64, AdapterError> {
        Err(AdapterError::Driver(
            format!("this warehouse cannot append Arrow record batches to `{relation}`; use `copy_in_csv`").into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_display_quotes_and_doubles_quotes() {
        let relation = Relation::new("analytics", "my \"odd\" table");
        assert_eq!(relation.to_string(), r#""analytics"."my ""odd"" table""#);
    }

    #[test]
    fn position_in_maps_statement_offset_to_model_line() {
        let model_sql = "select 1\nfrom missing_table";
        let statement = format!("create view \"s\".\"v\" as (\n{model_sql}\n)");
        let position = statement.find("missing_table").map(|byte| byte + 1);
        let error = DatabaseError {
            sqlstate: "42P01".to_string(),
            message: "relation \"missing_table\" does not exist".to_string(),
            detail: None,
            hint: None,
            position,
            statement: Some(statement),
        };
        assert_eq!(error.position_in(model_sql), Some((2, 6)));
        assert_eq!(error.position_in("not in the statement"), None);
    }

    #[test]
    fn schema_change_error_lists_columns() {
        let error = AdapterError::SchemaChanged {
            relation: "\"s\".\"t\"".to_string(),
            added: vec!["c".to_string()],
            removed: vec!["b".to_string()],
            changed: vec![("a".to_string(), "integer".to_string(), "text".to_string())],
        };
        assert_eq!(
            error.to_string(),
            "the columns of `\"s\".\"t\"` changed and `on_schema_change` is `fail`: \
             added `c`; removed `b`; changed type of `a` (`integer` -> `text`)"
        );
    }
}
