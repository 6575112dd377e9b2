//! The embedded DuckDB adapter, on the bundled DuckDB library.
//!
//! One [`duckdb::Connection`] opens the database file (or `:memory:`); every
//! connection dvt hands out is a clone of it, so they share one database and
//! its transactions. DuckDB is synchronous, so each call runs on tokio's
//! blocking pool, and a semaphore holds the connections in use to the
//! configured `threads`. Like [`super::postgres`], this module owns the
//! catalog queries and the templates (`templates/duckdb/`), and nothing about
//! how a model is built.
//!
//! DuckDB reports no SQLSTATE; [`from_duckdb`] gives the errors dvt acts on
//! (a transaction conflict, an interrupt) the codes PostgreSQL would use, so
//! that retries and cancellation work the same on both.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use duckdb::arrow::record_batch::RecordBatch;
use futures::stream::{BoxStream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::arrow_text::{relabel, text_rows, utc_schema, value_type, UTC_ZONE};
use super::{
    adapter_templates, leading_keyword, lock_unpoisoned, template_names, trim_statement, Adapter, AdapterError,
    AdapterResponse, ArrowBatches, ColumnInfo, Connection, DatabaseError, QueryResult, Relation, RelationKind,
    RunningStatements, SQLSTATE_QUERY_CANCELED, SQLSTATE_SERIALIZATION_FAILURE,
};
use crate::seed::InferredType;

/// What `path` names for a database that lives only as long as the process.
pub const IN_MEMORY: &str = ":memory:";

/// The catalog that holds a connection's temporary tables.
const TEMPORARY_CATALOG: &str = "temp";

/// DuckDB keeps identifiers of any length.
const MAX_IDENTIFIER_BYTES: usize = 1024;

/// Codes dvt gives DuckDB's error classes, in PostgreSQL's terms, so that a
/// reader of `run_results.json` sees the same codes on both.
const ERROR_CLASSES: &[(&str, &str)] = &[
    ("Parser Error", "42601"),
    ("Catalog Error", "42P01"),
    ("Binder Error", "42703"),
    ("Conversion Error", "22P02"),
    ("Invalid Input Error", "22023"),
    ("Out of Range Error", "22003"),
    ("Constraint Error", "23000"),
    ("Dependency Error", "2BP01"),
    ("Permission Error", "42501"),
    ("IO Error", "58030"),
    ("Out of Memory Error", "53200"),
    ("Not implemented Error", "0A000"),
    ("INTERRUPT Error", SQLSTATE_QUERY_CANCELED),
];

/// Settings for an embedded DuckDB database, from `profiles.yml`.
#[derive(Debug, Clone)]
pub struct DuckDbConfig {
    /// The database file, created with its folder when missing, or
    /// [`IN_MEMORY`].
    pub path: PathBuf,
    /// The target schema that models build into by default.
    pub schema: String,
    /// How many models run at once.
    pub threads: u32,
}

impl DuckDbConfig {
    pub fn new(path: impl Into<PathBuf>, schema: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            schema: schema.into(),
            threads: 1,
        }
    }

    /// The file, or `:memory:`, safe to print.
    pub fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn is_in_memory(&self) -> bool {
        self.path.as_os_str() == IN_MEMORY
    }
}

/// The DuckDB [`Adapter`].
pub struct DuckDbAdapter {
    config: DuckDbConfig,
    /// The connection that opened the database; the others are its clones.
    database: Arc<Mutex<duckdb::Connection>>,
    permits: Arc<Semaphore>,
    running: Arc<RunningStatements<Arc<duckdb::InterruptHandle>>>,
}

impl DuckDbAdapter {
    /// Opens (or creates) the database.
    pub async fn open(config: DuckDbConfig) -> Result<Self, AdapterError> {
        let opening = config.clone();
        let database = blocking(move || open_database(&opening)).await??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(config.threads.max(1) as usize)),
            config,
            database: Arc::new(Mutex::new(database)),
            running: Arc::default(),
        })
    }

    pub fn config(&self) -> &DuckDbConfig {
        &self.config
    }

    /// A clone of the database's connection, once one of the `threads`
    /// permits is free; the permit goes back when dropped.
    async fn checkout(&self) -> Result<(OwnedSemaphorePermit, duckdb::Connection), AdapterError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|error| AdapterError::Driver(error.into()))?;
        let connection = lock_unpoisoned(&self.database)
            .try_clone()
            .map_err(|error| from_duckdb(error, None))?;
        Ok((permit, connection))
    }
}

fn open_database(config: &DuckDbConfig) -> Result<duckdb::Connection, AdapterError> {
    let connect_error = |source: Box<dyn std::error::Error + Send + Sync>| AdapterError::Connect {
        target: config.target(),
        source,
    };
    if config.is_in_memory() {
        return duckdb::Connection::open_in_memory().map_err(|error| connect_error(error.into()));
    }
    if let Some(parent) = config.path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| connect_error(error.into()))?;
    }
    duckdb::Connection::open(&config.path).map_err(|error| connect_error(error.into()))
}

/// Runs DuckDB work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AdapterError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| AdapterError::Driver(error.into()))
}

#[async_trait]
impl Adapter for DuckDbAdapter {
    fn kind(&self) -> &'static str {
        "duckdb"
    }

    async fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        let (permit, connection) = self.checkout().await?;
        let interrupt = connection.interrupt_handle();
        Ok(Box::new(DuckDbConnection {
            connection: Arc::new(Mutex::new(connection)),
            interrupt,
            running: Arc::clone(&self.running),
            _permit: permit,
        }))
    }

    async fn cancel_running(&self) -> Result<(), AdapterError> {
        for handle in self.running.current() {
            handle.interrupt();
        }
        Ok(())
    }

    fn templates(&self) -> &minijinja::Environment<'static> {
        templates()
    }

    fn temporary_schema(&self) -> &'static str {
        TEMPORARY_CATALOG
    }

    fn max_identifier_bytes(&self) -> usize {
        MAX_IDENTIFIER_BYTES
    }

    fn supports_materialized_views(&self) -> bool {
        false
    }

    fn seed_type(&self, inferred: InferredType) -> &'static str {
        match inferred {
            InferredType::Integer => "integer",
            InferredType::BigInt => "bigint",
            // DuckDB's bare `decimal` is `decimal(18,3)`, which would round;
            // dbt-duckdb loads decimal numbers as `double` too.
            InferredType::Numeric => "double",
            InferredType::Boolean => "boolean",
            InferredType::Date => "date",
            InferredType::Timestamp => "timestamp",
            InferredType::TimestampTz => "timestamp with time zone",
            InferredType::Text => "varchar",
        }
    }

    async fn query_arrow(&self, sql: &str, _batch_rows: usize) -> Result<ArrowBatches, AdapterError> {
        let (permit, connection) = self.checkout().await?;
        let running = self.running.start(connection.interrupt_handle());
        let statement = sql.to_string();
        let (sender, receiver) = tokio::sync::mpsc::channel(super::ARROW_CHANNEL_BATCHES);
        let (schema_sender, schema_receiver) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = running;
            stream_batches(&connection, &statement, schema_sender, &sender);
        });
        let schema = schema_receiver
            .await
            .map_err(|error| AdapterError::Driver(error.into()))??;
        Ok(ArrowBatches {
            schema,
            batches: receiver,
        })
    }

    async fn close(&self) {
        // Connections close when dropped; checkpointing now leaves a
        // compact file for the next process.
        let database = Arc::clone(&self.database);
        let _ = blocking(move || lock_unpoisoned(&database).execute_batch("checkpoint")).await;
    }
}

/// One connection to the shared database. Dropping it in the middle of a
/// transaction closes it, which rolls the transaction back.
struct DuckDbConnection {
    connection: Arc<Mutex<duckdb::Connection>>,
    interrupt: Arc<duckdb::InterruptHandle>,
    running: Arc<RunningStatements<Arc<duckdb::InterruptHandle>>>,
    _permit: OwnedSemaphorePermit,
}

impl DuckDbConnection {
    /// Runs `work` on this connection, on the blocking pool, interruptible
    /// by [`Adapter::cancel_running`]. `sql` is the statement, for errors.
    async fn run<T: Send + 'static>(
        &mut self,
        sql: &str,
        work: impl FnOnce(&duckdb::Connection, &str) -> Result<T, duckdb::Error> + Send + 'static,
    ) -> Result<T, AdapterError> {
        let connection = Arc::clone(&self.connection);
        let statement = sql.to_string();
        let _running = self.running.start(Arc::clone(&self.interrupt));
        blocking(move || {
            let connection = lock_unpoisoned(&connection);
            work(&connection, &statement).map_err(|error| from_duckdb(error, Some(&statement)))
        })
        .await?
    }

    /// Runs a catalog query with text parameters and returns its rows.
    async fn lookup(&mut self, sql: &'static str, parameters: Vec<String>) -> Result<QueryResult, AdapterError> {
        self.run(sql, move |connection, sql| fetch(connection, sql, &parameters, None))
            .await
    }

    /// Runs SQL that returns no rows.
    async fn batch(&mut self, sql: &str) -> Result<(), AdapterError> {
        self.run(sql, |connection, sql| connection.execute_batch(sql)).await
    }
}

/// Runs a query with DuckDB's streaming Arrow API and sends its batches (of
/// DuckDB's vector size, whatever `batch_rows` asks) until the receiver is
/// gone. The schema (or
/// the error that stopped the query before it had one) goes first, on its
/// own channel.
fn stream_batches(
    connection: &duckdb::Connection,
    sql: &str,
    schema_sender: tokio::sync::oneshot::Sender<Result<arrow::datatypes::SchemaRef, AdapterError>>,
    sender: &tokio::sync::mpsc::Sender<Result<RecordBatch, AdapterError>>,
) {
    let mut statement = match connection.prepare(sql) {
        Ok(statement) => statement,
        Err(error) => {
            let _ = schema_sender.send(Err(from_duckdb(error, Some(sql))));
            return;
        }
    };
    let stream = match statement.stream_arrow([]) {
        Ok(stream) => stream,
        Err(error) => {
            let _ = schema_sender.send(Err(from_duckdb(error, Some(sql))));
            return;
        }
    };
    let schema = utc_schema(&stream.get_schema(), UTC_ZONE);
    if schema_sender.send(Ok(Arc::clone(&schema))).is_err() {
        return;
    }
    for batch in stream {
        let batch = batch
            .map_err(|error| from_duckdb(error, Some(sql)))
            .and_then(|batch| relabel(batch, &schema).map_err(|error| AdapterError::Driver(error.into())));
        let failed = batch.is_err();
        if sender.blocking_send(batch).is_err() || failed {
            return;
        }
    }
}

/// The rows of a query as text, at most `limit` of them.
fn fetch(
    connection: &duckdb::Connection,
    sql: &str,
    parameters: &[String],
    limit: Option<usize>,
) -> Result<QueryResult, duckdb::Error> {
    let mut statement = connection.prepare(sql)?;
    let batches: Vec<RecordBatch> = statement
        .query_arrow(duckdb::params_from_iter(parameters.iter()))?
        .collect();
    let column_types = match batches.first() {
        Some(batch) => batch
            .schema()
            .fields()
            .iter()
            .map(|field| value_type(field.data_type()))
            .collect(),
        None => Vec::new(),
    };
    Ok(QueryResult {
        columns: statement.column_names(),
        column_types,
        rows: text_rows(&batches, limit),
    })
}

/// Runs SQL (every statement but the last, then the last, as `prepare`
/// does) and returns the rows it changed: DML and `create table as` answer
/// with a `Count`; other statements with none.
fn execute_counted(connection: &duckdb::Connection, sql: &str) -> Result<Option<u64>, duckdb::Error> {
    let mut statement = connection.prepare(sql)?;
    let batches: Vec<RecordBatch> = statement.query_arrow([])?.collect();
    Ok(count_column(&batches))
}

/// The parameters of [`CATALOG_FILTER`] for a relation, as the DuckDB
/// catalog functions name it: a temporary table is in schema `main` of the
/// `temp` catalog; anything else is in the open database (an empty catalog).
fn catalog_parameters(relation: &Relation) -> Vec<String> {
    let (catalog, schema) = if relation.schema == TEMPORARY_CATALOG {
        (TEMPORARY_CATALOG, "main")
    } else {
        ("", relation.schema.as_str())
    };
    vec![catalog.to_string(), schema.to_string(), relation.identifier.clone()]
}

/// A query of `templates/duckdb/` without Jinja, run as a prepared
/// statement with `$1`-style parameters.
macro_rules! query_file {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/duckdb/", $file))
    };
}

const SCHEMA_EXISTS_QUERY: &str = query_file!("schema_exists.sql");

/// How long creating a schema waits, in all, for the connections it
/// conflicts with.
const MAX_SCHEMA_WAIT: Duration = Duration::from_secs(5);

/// The kind of a relation, `table` or `view`; parameters: database (or
/// empty), schema, name.
const RELATION_KIND_QUERY: &str = query_file!("relation_kind.sql");
/// A relation's columns and their types; parameters as above.
const COLUMNS_QUERY: &str = query_file!("columns.sql");
/// A relation's comment; parameters as above.
const COMMENT_QUERY: &str = query_file!("relation_comment.sql");
const BEGIN: &str = query_file!("begin.sql");
const COMMIT: &str = query_file!("commit.sql");
const ROLLBACK: &str = query_file!("rollback.sql");

#[async_trait]
impl Connection for DuckDbConnection {
    async fn execute(&mut self, sql: &str) -> Result<AdapterResponse, AdapterError> {
        if sql.trim().is_empty() {
            // A template with nothing to do on DuckDB, such as grants.
            return Ok(AdapterResponse::command(""));
        }
        let rows = self.run(sql, execute_counted).await?;
        let code = leading_keyword(sql);
        Ok(match rows {
            Some(rows) => AdapterResponse::with_rows(&code, rows),
            None => AdapterResponse {
                rows_affected: Some(0),
                ..AdapterResponse::command(&code)
            },
        })
    }

    async fn query(&mut self, sql: &str, limit: Option<usize>) -> Result<QueryResult, AdapterError> {
        let sql = match limit {
            Some(limit) => render(
                template_names::LIMIT,
                minijinja::context! { sql => trim_statement(sql), limit => limit },
            )?,
            None => sql.to_string(),
        };
        self.run(&sql, move |connection, sql| fetch(connection, sql, &[], limit))
            .await
    }

    async fn begin(&mut self) -> Result<(), AdapterError> {
        self.batch(BEGIN).await
    }

    async fn commit(&mut self) -> Result<(), AdapterError> {
        self.batch(COMMIT).await
    }

    async fn rollback(&mut self) -> Result<(), AdapterError> {
        self.batch(ROLLBACK).await
    }

    async fn relation_kind(&mut self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let result = self.lookup(RELATION_KIND_QUERY, catalog_parameters(relation)).await?;
        let kind = result.rows.first().and_then(|row| row.first().cloned().flatten());
        Ok(match kind.as_deref() {
            Some("table") => Some(RelationKind::Table),
            Some("view") => Some(RelationKind::View),
            _ => None,
        })
    }

    async fn columns(&mut self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
        let result = self.lookup(COLUMNS_QUERY, catalog_parameters(relation)).await?;
        Ok(result
            .rows
            .into_iter()
            .map(|row| {
                let mut values = row.into_iter().map(Option::unwrap_or_default);
                ColumnInfo {
                    name: values.next().unwrap_or_default(),
                    data_type: values.next().unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn relation_comment(&mut self, relation: &Relation) -> Result<Option<String>, AdapterError> {
        let result = self.lookup(COMMENT_QUERY, catalog_parameters(relation)).await?;
        Ok(result
            .rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten()))
    }

    async fn create_schema_if_missing(&mut self, schema: &str) -> Result<(), AdapterError> {
        let sql = render(template_names::CREATE_SCHEMA, minijinja::context! { schema => schema })?;
        // Creating a schema conflicts with any open transaction that
        // creates in it, so dvt asks first, and waits its turn when another
        // connection creates the same schema at the same moment.
        let mut delay = Duration::from_millis(10);
        loop {
            let missing = self
                .lookup(SCHEMA_EXISTS_QUERY, vec![schema.to_string()])
                .await?
                .rows
                .is_empty();
            if !missing {
                return Ok(());
            }
            match self.batch(&sql).await {
                Err(error) if error.is_retryable() && delay < MAX_SCHEMA_WAIT => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
    }

    async fn copy_in_csv(
        &mut self,
        relation: &Relation,
        columns: &[String],
        mut chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
    ) -> Result<u64, AdapterError> {
        // DuckDB's CSV reader takes a file: the stream is spooled to one,
        // so memory stays flat, and the file goes when this returns.
        let (spool, file) = SpoolFile::create().map_err(|source| seed_input(relation, source))?;
        let mut writer = std::io::BufWriter::new(file);
        while let Some(chunk) = chunks.next().await {
            writer
                .write_all(&chunk?)
                .map_err(|source| seed_input(relation, source))?;
        }
        writer.flush().map_err(|source| seed_input(relation, source))?;
        drop(writer);
        let statement = render(
            template_names::SEED_COPY,
            minijinja::context! { relation => relation, columns => columns, path => spool.path.display().to_string() },
        )?;
        Ok(self.run(&statement, execute_counted).await?.unwrap_or(0))
    }

    async fn append_arrow(
        &mut self,
        relation: &Relation,
        columns: &[String],
        batch: RecordBatch,
    ) -> Result<u64, AdapterError> {
        // The appender writes in the connection's open transaction, so the
        // rows commit or roll back with it; `flush` sends the last rows
        // before the caller commits.
        let schema = relation.schema.clone();
        let table = relation.identifier.clone();
        let columns = columns.to_vec();
        let rows = batch.num_rows() as u64;
        self.run(&format!("append to {relation}"), move |connection, _| {
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            let mut appender = connection.appender_with_columns_to_db(&table, &schema, &names)?;
            appender.append_record_batch(batch)?;
            appender.flush()?;
            Ok(rows)
        })
        .await
    }
}

fn seed_input(relation: &Relation, source: std::io::Error) -> AdapterError {
    AdapterError::SeedInput {
        relation: relation.to_string(),
        source: source.into(),
    }
}

/// A file in the temp directory, removed when dropped.
struct SpoolFile {
    path: PathBuf,
}

impl SpoolFile {
    /// A new, empty file, and the file opened for writing.
    fn create() -> std::io::Result<(Self, std::fs::File)> {
        let name = format!("dvt-seed-{}-{}.csv", std::process::id(), uuid::Uuid::new_v4().simple());
        let path = std::env::temp_dir().join(name);
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok((Self { path }, file))
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The rows a DML statement or `create table as` reports in its single
/// `Count` column, or `None` for a statement that reports none.
fn count_column(batches: &[RecordBatch]) -> Option<u64> {
    let schema = batches.first()?.schema();
    if schema.fields().len() != 1 || schema.field(0).name() != "Count" {
        return None;
    }
    let rows = text_rows(batches, None);
    Some(
        rows.iter()
            .filter_map(|row| row.first().cloned().flatten())
            .filter_map(|value| value.parse::<u64>().ok())
            .sum(),
    )
}

adapter_templates!("duckdb");

/// Converts a DuckDB error, keeping what it said and where it pointed.
fn from_duckdb(error: duckdb::Error, statement: Option<&str>) -> AdapterError {
    let duckdb::Error::DuckDBFailure(_, Some(message)) = &error else {
        return AdapterError::Driver(error.into());
    };
    let (class, text) = message.split_once(": ").unwrap_or(("", message));
    let sqlstate = if class == "TransactionContext Error" || text.contains("write-write conflict") {
        SQLSTATE_SERIALIZATION_FAILURE
    } else {
        ERROR_CLASSES
            .iter()
            .find(|(known, _)| *known == class)
            .map_or("XX000", |(_, code)| code)
    };
    // DuckDB appends `LINE n: <source>` and a caret line; dvt shows the
    // position its own way, mapped to the model's file.
    let (text, pointer) = match text.find("\n\nLINE ").or_else(|| text.find("\nLINE ")) {
        Some(index) => (text[..index].trim_end(), Some(&text[index..])),
        None => (text.trim_end(), None),
    };
    let (message, hint) = match text.split_once("\nDid you mean") {
        Some((message, suggestion)) => (
            message.trim_end(),
            Some(format!("did you mean{}", suggestion.trim_end())),
        ),
        None => (text, None),
    };
    let position = pointer
        .zip(statement)
        .and_then(|(pointer, statement)| pointer_position(pointer, statement));
    AdapterError::Database(Box::new(DatabaseError {
        sqlstate: sqlstate.to_string(),
        message: if class.is_empty() {
            message.to_string()
        } else {
            format!("{class}: {message}")
        },
        detail: None,
        hint,
        position,
        statement: statement.map(str::to_string),
    }))
}

/// The 1-based character offset into `statement` that DuckDB's
/// `LINE n: <text>` and caret lines point at, when the text was not cut.
fn pointer_position(pointer: &str, statement: &str) -> Option<usize> {
    let mut lines = pointer.trim_start_matches('\n').lines();
    let source_line = lines.next()?;
    let caret_line = lines.next()?;
    let rest = source_line.strip_prefix("LINE ")?;
    let (number, text) = rest.split_once(": ")?;
    let line_number: usize = number.trim().parse().ok()?;
    let prefix = source_line.len() - text.len();
    let caret = caret_line.find('^')?.checked_sub(prefix)?;
    let line = statement.lines().nth(line_number.checked_sub(1)?)?;
    if text.starts_with("...") || !line.starts_with(text.trim_end_matches("...")) {
        return None;
    }
    let before: usize = statement
        .lines()
        .take(line_number - 1)
        .map(|line| line.chars().count() + 1)
        .sum();
    Some(before + text[..caret.min(text.len())].chars().count() + 1)
}

/// Whether a database file is in use by another process, from the error
/// DuckDB gives when it cannot lock it.
pub fn is_locked_elsewhere(error: &AdapterError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.to_string().contains("Could not set lock") {
            return true;
        }
        source = current.source();
    }
    false
}

/// Resolves a profile's `path` against the project directory.
pub fn resolve_path(path: &str, project_dir: &Path) -> PathBuf {
    if path == IN_MEMORY || Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        project_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_provided_and_parses() {
        super::super::check_templates(TEMPLATE_SOURCES);
    }

    #[test]
    fn errors_get_postgres_codes_and_lose_the_line_pointer() {
        let statement = "create view \"s\".\"v\" as (\nselect * from missing_table\n)";
        let message = "Catalog Error: Table with name missing_table does not exist!\n\
                       Did you mean \"main.other\"?\n\n\
                       LINE 2: select * from missing_table\n\
                       \x20                     ^";
        let error = from_duckdb(
            duckdb::Error::DuckDBFailure(
                duckdb::ffi::Error::new(duckdb::ffi::duckdb_state_DuckDBError),
                Some(message.to_string()),
            ),
            Some(statement),
        );
        let database_error = error.database_error().unwrap_or_else(|| panic!("{error:?}"));
        assert_eq!(database_error.sqlstate, "42P01");
        assert_eq!(
            database_error.message,
            "Catalog Error: Table with name missing_table does not exist!"
        );
        assert_eq!(database_error.hint.as_deref(), Some("did you mean \"main.other\"?"));
        assert_eq!(database_error.position_in("select * from missing_table"), Some((1, 15)));
    }

    #[test]
    fn conflicts_are_retryable_and_interrupts_are_cancellations() {
        let failure = |message: &str| {
            from_duckdb(
                duckdb::Error::DuckDBFailure(
                    duckdb::ffi::Error::new(duckdb::ffi::duckdb_state_DuckDBError),
                    Some(message.to_string()),
                ),
                None,
            )
        };
        assert!(failure("TransactionContext Error: Catalog write-write conflict on create with \"s\"").is_retryable());
        assert!(failure("INTERRUPT Error: Interrupted!").is_cancelled());
        assert!(!failure("Binder Error: column x not found").is_retryable());
    }

    #[test]
    fn zoned_timestamps_print_in_utc() -> Result<(), duckdb::Error> {
        // `dvt source freshness` read DuckDB's `current_timestamp` as null:
        // Arrow's formatter could not read the session's zone name.
        let connection = duckdb::Connection::open_in_memory()?;
        let result = fetch(
            &connection,
            "select timestamptz '2026-12-03 18:31:36.47237+02', timestamp '2026-12-03 16:31:36', current_timestamp is not null",
            &[],
            None,
        )?;
        assert_eq!(
            result.rows,
            [[
                Some("2026-12-03 16:31:36.472370+00:00".to_string()),
                Some("2026-12-03 16:31:36".to_string()),
                Some("true".to_string())
            ]]
        );
        let result = fetch(&connection, "select current_timestamp", &[], None)?;
        assert!(
            result.rows[0][0]
                .as_deref()
                .is_some_and(|text| text.ends_with("+00:00")),
            "{result:?}"
        );
        Ok(())
    }

    #[test]
    fn relative_paths_are_under_the_project() {
        let project = Path::new("/work/project");
        assert_eq!(
            resolve_path("target/dev.duckdb", project),
            project.join("target/dev.duckdb")
        );
        assert_eq!(resolve_path(":memory:", project), PathBuf::from(":memory:"));
        assert_eq!(resolve_path("/data/x.duckdb", project), PathBuf::from("/data/x.duckdb"));
    }
}
