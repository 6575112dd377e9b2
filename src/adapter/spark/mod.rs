//! The Spark adapter, over Spark Connect (`type: spark`, `method: connect`):
//! Spark's own gRPC client protocol, with results as Arrow batches, which a
//! local `spark-submit` server, a cluster and Databricks all speak.
//!
//! A connection is a Spark session: a session id of its own on one shared
//! gRPC channel ([`client`]), created with dvt's SQL config and the
//! profile's `spark_conf`, and kept in a pool for reuse. Spark has no
//! transactions, so `begin`, `commit` and `rollback` do nothing; what the
//! materializations' swaps guarantee on each file format is written down in
//! ARCHITECTURE.md. Like [`super::duckdb`], this module owns the catalog
//! queries and the templates (`templates/spark/`), and nothing about how a
//! model is built.
//!
//! dvt writes identifiers in double quotes everywhere; each session sets
//! `spark.sql.ansi.doubleQuotedIdentifiers`, which (under ANSI mode, the
//! default since Spark 4.0) reads them as identifiers, so the same SQL
//! works. String literals must then be in single quotes, as in standard
//! SQL.
//!
//! Spark's errors carry an error class and a SQLSTATE in their text
//! (`[TABLE_OR_VIEW_NOT_FOUND] ... SQLSTATE: 42P01`); [`from_status`] keeps
//! both, and where the server pointed in the statement.

mod client;
mod proto;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use client::Client;
pub use client::Endpoints;

use super::arrow_text::{text_rows, value_type};
use super::{
    lock_unpoisoned, quote_identifier, template_names, trim_statement, Adapter, AdapterError, AdapterResponse,
    ArrowBatches, ColumnInfo, Connection, DatabaseError, QueryResult, Relation, RelationKind, RunningStatements,
    SQLSTATE_QUERY_CANCELED,
};
use crate::seed::InferredType;

/// The schema name that stands for a session's temporary views: a relation
/// in it renders as its bare identifier (see [`relation_filter`]).
pub const SESSION_SCHEMA: &str = "__dvt_session";

/// Spark's metastore keeps names of any length; Hive's keeps 128 bytes.
const MAX_IDENTIFIER_BYTES: usize = 128;

/// The file formats whose tables take `merge into`.
const MERGE_FORMATS: &[&str] = &["delta", "iceberg", "hudi"];

/// How many seed rows go up in one local relation.
const SEED_BATCH_ROWS: usize = 20_000;

/// The SQL config every session starts with, before the profile's
/// `spark_conf` (which may override them).
const SESSION_CONF: &[(&str, &str)] = &[
    // dvt quotes identifiers with `"` (module docs).
    ("spark.sql.ansi.enabled", "true"),
    ("spark.sql.ansi.doubleQuotedIdentifiers", "true"),
    // `insert_overwrite` replaces the partitions the new rows fall in, not
    // the whole table, as dbt-spark asks users to set.
    ("spark.sql.sources.partitionOverwriteMode", "dynamic"),
];

/// Settings of a `type: spark` target.
#[derive(Clone)]
pub struct SparkConfig {
    pub endpoints: Endpoints,
    /// The catalog relations are in; `None` is the session's default.
    pub catalog: Option<String>,
    /// The target schema that models build into by default.
    pub schema: String,
    /// How many models run at once.
    pub threads: u32,
    /// `parquet` unless set: the format tables are created in.
    pub file_format: String,
    /// SQL config set on every session.
    pub spark_conf: BTreeMap<String, String>,
}

impl SparkConfig {
    pub fn new(endpoints: Endpoints, schema: impl Into<String>) -> Self {
        Self {
            endpoints,
            catalog: None,
            schema: schema.into(),
            threads: 1,
            file_format: "parquet".to_string(),
            spark_conf: BTreeMap::new(),
        }
    }

    /// `sc://host:port`, without the token.
    pub fn target(&self) -> String {
        self.endpoints.display()
    }
}

impl std::fmt::Debug for SparkConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SparkConfig")
            .field("target", &self.target())
            .field("catalog", &self.catalog)
            .field("schema", &self.schema)
            .field("file_format", &self.file_format)
            .finish_non_exhaustive()
    }
}

/// The Spark [`Adapter`].
pub struct SparkAdapter {
    config: SparkConfig,
    client: Arc<Client>,
    /// Sessions not in use, ready for the next connection.
    idle: Arc<Mutex<Vec<String>>>,
    /// Every session opened, to release on [`Adapter::close`].
    opened: Mutex<Vec<String>>,
    permits: Arc<Semaphore>,
    /// The sessions running an operation now, for [`Adapter::cancel_running`].
    running: Arc<RunningStatements<String>>,
}

impl SparkAdapter {
    /// Connects to the server and opens a first session, so that a wrong
    /// address or token fails here.
    pub async fn connect(config: SparkConfig) -> Result<Self, AdapterError> {
        let connect_error = |source| AdapterError::Connect {
            target: config.target(),
            source,
        };
        let client = Client::connect(&config.endpoints).await.map_err(connect_error)?;
        let adapter = Self {
            permits: Arc::new(Semaphore::new(config.threads.max(1) as usize)),
            client: Arc::new(client),
            idle: Arc::default(),
            opened: Mutex::default(),
            running: Arc::default(),
            config,
        };
        let session = adapter.open_session().await?;
        lock_unpoisoned(&adapter.idle).push(session);
        Ok(adapter)
    }

    pub fn config(&self) -> &SparkConfig {
        &self.config
    }

    /// A new session with dvt's config and the profile's.
    async fn open_session(&self) -> Result<String, AdapterError> {
        let session = uuid::Uuid::new_v4().to_string();
        let mut pairs: BTreeMap<String, String> = SESSION_CONF
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        if let Some(catalog) = &self.config.catalog {
            pairs.insert("spark.sql.defaultCatalog".to_string(), catalog.clone());
        }
        pairs.extend(self.config.spark_conf.clone());
        let pairs: Vec<(String, String)> = pairs.into_iter().collect();
        self.client
            .set_config(&session, &pairs)
            .await
            .map_err(|status| AdapterError::Connect {
                target: self.config.target(),
                source: Box::new(status),
            })?;
        lock_unpoisoned(&self.opened).push(session.clone());
        Ok(session)
    }

    async fn checkout(&self) -> Result<SparkConnection, AdapterError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|error| AdapterError::Driver(error.into()))?;
        let reused = lock_unpoisoned(&self.idle).pop();
        let session = match reused {
            Some(session) => session,
            None => self.open_session().await?,
        };
        Ok(SparkConnection {
            session: Session {
                client: Arc::clone(&self.client),
                id: session,
                running: Arc::clone(&self.running),
            },
            idle: Arc::clone(&self.idle),
            _permit: permit,
        })
    }

    /// Whether `merge into` works on the tables this target creates.
    fn format_takes_merge(&self) -> bool {
        MERGE_FORMATS.contains(&self.config.file_format.as_str())
    }
}

#[async_trait]
impl Adapter for SparkAdapter {
    fn kind(&self) -> &'static str {
        "spark"
    }

    async fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        Ok(Box::new(self.checkout().await?))
    }

    async fn cancel_running(&self) -> Result<(), AdapterError> {
        for session in self.running.current() {
            self.client
                .interrupt(&session)
                .await
                .map_err(|status| from_status(status, None))?;
        }
        Ok(())
    }

    fn templates(&self) -> &minijinja::Environment<'static> {
        templates()
    }

    fn temporary_schema(&self) -> &'static str {
        SESSION_SCHEMA
    }

    fn max_identifier_bytes(&self) -> usize {
        MAX_IDENTIFIER_BYTES
    }

    fn supports_materialized_views(&self) -> bool {
        false
    }

    fn seed_type(&self, inferred: InferredType) -> &'static str {
        match inferred {
            InferredType::Integer => "int",
            InferredType::BigInt => "bigint",
            // dbt-spark loads decimal numbers as `double`.
            InferredType::Numeric => "double",
            InferredType::Boolean => "boolean",
            InferredType::Date => "date",
            InferredType::Timestamp | InferredType::TimestampTz => "timestamp",
            InferredType::Text => "string",
        }
    }

    fn file_format(&self) -> Option<&str> {
        Some(&self.config.file_format)
    }

    /// dbt-spark's default, with a unique key or without.
    fn default_incremental_strategy(&self, _has_unique_key: bool) -> &'static str {
        "append"
    }

    fn check_strategy(&self, strategy: &str) -> Result<(), AdapterError> {
        let needs = |formats: &str| {
            Err(AdapterError::StrategyNeedsFormat {
                strategy: strategy.to_string(),
                file_format: self.config.file_format.clone(),
                formats: formats.to_string(),
            })
        };
        match strategy {
            "append" | "insert_overwrite" => Ok(()),
            "merge" if self.format_takes_merge() => Ok(()),
            "merge" => needs(&MERGE_FORMATS.join(", ")),
            // Deleting rows takes a table format with row-level changes.
            "delete+insert" | crate::microbatch::STRATEGY if self.format_takes_merge() => Ok(()),
            "delete+insert" | crate::microbatch::STRATEGY => needs(&MERGE_FORMATS.join(", ")),
            _ => Err(AdapterError::UnsupportedStrategy {
                strategy: strategy.to_string(),
            }),
        }
    }

    async fn query_arrow(&self, sql: &str, _batch_rows: usize) -> Result<ArrowBatches, AdapterError> {
        let connection = self.checkout().await?;
        let mut stream = connection.session.start(query_plan(sql), sql).await?;
        let statement = sql.to_string();
        // The first batch (Spark sends one with the schema even for no
        // rows) gives the schema.
        let first = next_batches(&mut stream, &statement).await?;
        let schema = first
            .as_ref()
            .and_then(|batches| batches.first().map(RecordBatch::schema))
            .unwrap_or_else(|| Arc::new(Schema::empty()));
        let (sender, receiver) = tokio::sync::mpsc::channel(super::ARROW_CHANNEL_BATCHES);
        tokio::spawn(async move {
            let _connection = connection;
            let mut pending = first;
            loop {
                let batches = match pending.take() {
                    Some(batches) => batches,
                    None => match next_batches(&mut stream, &statement).await {
                        Ok(Some(batches)) => batches,
                        Ok(None) => return,
                        Err(error) => {
                            let _ = sender.send(Err(error)).await;
                            return;
                        }
                    },
                };
                for batch in batches.into_iter().filter(|batch| batch.num_rows() > 0) {
                    if sender.send(Ok(batch)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(ArrowBatches {
            schema,
            batches: receiver,
        })
    }

    async fn catalog(&self, schemas: &[&str]) -> Result<QueryResult, AdapterError> {
        let mut connection = self.checkout().await?;
        let mut rows = Vec::new();
        for schema in schemas {
            let listing = |template: &'static str| render(template, minijinja::context! { schema => schema });
            let tables = match connection.rows(&listing(LIST_TABLES)?, None).await {
                Ok(result) => result,
                Err(error) if error.sqlstate() == Some(SQLSTATE_SCHEMA_NOT_FOUND) => continue,
                Err(error) => return Err(error),
            };
            let views: std::collections::BTreeSet<String> = connection
                .rows(&listing(LIST_VIEWS)?, None)
                .await?
                .rows
                .into_iter()
                .filter_map(|row| row.into_iter().nth(1).flatten())
                .collect();
            // `show tables`: namespace, tableName, isTemporary.
            for row in tables.rows {
                let mut values = row.into_iter();
                let (Some(name), temporary) = (values.nth(1).flatten(), values.next().flatten()) else {
                    continue;
                };
                if temporary.as_deref() == Some("true") {
                    continue;
                }
                let relation = Relation::new(*schema, name.as_str());
                let kind = if views.contains(&name) { "v" } else { "r" };
                for (index, column) in connection.columns(&relation).await?.into_iter().enumerate() {
                    rows.push(vec![
                        Some(schema.to_string()),
                        Some(name.clone()),
                        Some(kind.to_string()),
                        None,
                        None,
                        None,
                        None,
                        Some(column.name),
                        Some(column.data_type),
                        Some((index + 1).to_string()),
                        None,
                    ]);
                }
            }
        }
        Ok(QueryResult {
            columns: Vec::new(),
            column_types: Vec::new(),
            rows,
        })
    }

    async fn close(&self) {
        let sessions = std::mem::take(&mut *lock_unpoisoned(&self.opened));
        for session in sessions {
            let _ = self.client.release(&session).await;
        }
    }
}

/// One session's operations, counted as running while they stream.
struct Session {
    client: Arc<Client>,
    id: String,
    running: Arc<RunningStatements<String>>,
}

/// The responses of one operation, and the mark that it is running.
struct Operation {
    responses: tonic::Streaming<proto::ExecutePlanResponse>,
    _running: super::RunningGuard<String>,
}

impl Session {
    async fn start(&self, plan: proto::Plan, sql: &str) -> Result<Operation, AdapterError> {
        let running = self.running.start(self.id.clone());
        let responses = self
            .client
            .execute(&self.id, uuid::Uuid::new_v4().to_string(), plan)
            .await
            .map_err(|status| from_status(status, Some(sql)))?;
        Ok(Operation {
            responses,
            _running: running,
        })
    }

    /// Runs a plan to its end and returns every batch it answered with.
    async fn collect(&self, plan: proto::Plan, sql: &str) -> Result<Vec<RecordBatch>, AdapterError> {
        let mut operation = self.start(plan, sql).await?;
        let mut all = Vec::new();
        while let Some(batches) = next_batches(&mut operation, sql).await? {
            all.extend(batches);
        }
        Ok(all)
    }
}

/// The batches of the operation's next Arrow response, skipping responses
/// of other kinds; `None` at its end.
async fn next_batches(operation: &mut Operation, sql: &str) -> Result<Option<Vec<RecordBatch>>, AdapterError> {
    use proto::execute_plan_response::ResponseType;
    loop {
        let response = operation
            .responses
            .message()
            .await
            .map_err(|status| from_status(status, Some(sql)))?;
        let Some(response) = response else {
            return Ok(None);
        };
        match response.response_type {
            Some(ResponseType::ArrowBatch(batch)) => return decode_ipc(&batch.data).map(Some),
            Some(ResponseType::ResultComplete(_)) => return Ok(None),
            _ => {}
        }
    }
}

/// The record batches of an Arrow IPC stream.
fn decode_ipc(data: &[u8]) -> Result<Vec<RecordBatch>, AdapterError> {
    let reader = arrow::ipc::reader::StreamReader::try_new(Cursor::new(data), None)
        .map_err(|error| AdapterError::Driver(error.into()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| AdapterError::Driver(error.into()))
}

/// Record batches as one Arrow IPC stream.
fn encode_ipc(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut data = Vec::new();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut data, schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    drop(writer);
    Ok(data)
}

fn sql_relation(sql: &str) -> proto::Relation {
    proto::Relation {
        rel_type: Some(proto::relation::RelType::Sql(proto::Sql { query: sql.to_string() })),
    }
}

/// A query whose rows come back as Arrow batches.
fn query_plan(sql: &str) -> proto::Plan {
    proto::Plan {
        op_type: Some(proto::plan::OpType::Root(sql_relation(sql))),
    }
}

/// A statement run eagerly, as `spark.sql()` runs DDL and DML.
fn command_plan(sql: &str) -> proto::Plan {
    proto::Plan {
        op_type: Some(proto::plan::OpType::Command(proto::Command {
            command_type: Some(proto::command::CommandType::SqlCommand(proto::SqlCommand {
                input: Some(sql_relation(sql)),
            })),
        })),
    }
}

/// One connection: a session, back in the pool when dropped (Spark has no
/// transaction a later user could inherit).
struct SparkConnection {
    session: Session,
    idle: Arc<Mutex<Vec<String>>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for SparkConnection {
    fn drop(&mut self) {
        lock_unpoisoned(&self.idle).push(std::mem::take(&mut self.session.id));
    }
}

impl SparkConnection {
    async fn rows(&mut self, sql: &str, limit: Option<usize>) -> Result<QueryResult, AdapterError> {
        let batches = self.session.collect(query_plan(sql), sql).await?;
        Ok(query_result(&batches, limit))
    }

    /// Whether `show tables` or `show views` (`template`) lists the
    /// relation: as a session's temporary view when it is in
    /// [`SESSION_SCHEMA`], else as a relation of its schema (whose listing
    /// shows the session's temporary views too). False when the schema
    /// does not exist.
    async fn listed(&mut self, template: &'static str, relation: &Relation) -> Result<bool, AdapterError> {
        let sql = render(template, minijinja::context! { relation => relation })?;
        let result = match self.rows(&sql, None).await {
            Ok(result) => result,
            Err(error) if error.sqlstate() == Some(SQLSTATE_SCHEMA_NOT_FOUND) => return Ok(false),
            Err(error) => return Err(error),
        };
        let temporary = relation.schema == SESSION_SCHEMA;
        // Columns: namespace, name, isTemporary.
        Ok(result.rows.iter().any(|row| {
            let name = row.get(1).cloned().flatten().unwrap_or_default();
            let is_temporary = row.get(2).cloned().flatten().as_deref() == Some("true");
            name.eq_ignore_ascii_case(&relation.identifier) && is_temporary == temporary
        }))
    }
}

/// SQLSTATE of `SCHEMA_NOT_FOUND`.
const SQLSTATE_SCHEMA_NOT_FOUND: &str = "42704";
/// SQLSTATE of `TABLE_OR_VIEW_NOT_FOUND`.
const SQLSTATE_TABLE_NOT_FOUND: &str = "42P01";

fn query_result(batches: &[RecordBatch], limit: Option<usize>) -> QueryResult {
    let Some(first) = batches.first() else {
        return QueryResult::default();
    };
    let schema = first.schema();
    QueryResult {
        columns: schema.fields().iter().map(|field| field.name().clone()).collect(),
        column_types: schema
            .fields()
            .iter()
            .map(|field| value_type(field.data_type()))
            .collect(),
        rows: text_rows(batches, limit),
    }
}

#[async_trait]
impl Connection for SparkConnection {
    async fn execute(&mut self, sql: &str) -> Result<AdapterResponse, AdapterError> {
        let statements = split_statements(sql);
        for statement in &statements {
            self.session.collect(command_plan(statement), statement).await?;
        }
        // Spark reports no row counts for DDL and DML on most formats;
        // dbt-spark answers `OK`.
        Ok(AdapterResponse::command(if statements.is_empty() { "" } else { "OK" }))
    }

    async fn query(&mut self, sql: &str, limit: Option<usize>) -> Result<QueryResult, AdapterError> {
        let sql = match limit {
            Some(limit) => render(
                template_names::LIMIT,
                minijinja::context! { sql => trim_statement(sql), limit => limit },
            )?,
            None => trim_statement(sql).to_string(),
        };
        self.rows(&sql, limit).await
    }

    async fn begin(&mut self) -> Result<(), AdapterError> {
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), AdapterError> {
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), AdapterError> {
        Ok(())
    }

    async fn relation_kind(&mut self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        // `show tables` lists views too; `show views` only views.
        if self.listed(SHOW_VIEWS, relation).await? {
            return Ok(Some(RelationKind::View));
        }
        if relation.schema != SESSION_SCHEMA && self.listed(SHOW_TABLES, relation).await? {
            return Ok(Some(RelationKind::Table));
        }
        Ok(None)
    }

    async fn columns(&mut self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
        let sql = render(DESCRIBE, minijinja::context! { relation => relation })?;
        let result = match self.rows(&sql, None).await {
            Ok(result) => result,
            Err(error)
                if matches!(
                    error.sqlstate(),
                    Some(SQLSTATE_TABLE_NOT_FOUND | SQLSTATE_SCHEMA_NOT_FOUND)
                ) =>
            {
                return Ok(Vec::new())
            }
            Err(error) => return Err(error),
        };
        Ok(describe_columns(result))
    }

    async fn relation_comment(&mut self, relation: &Relation) -> Result<Option<String>, AdapterError> {
        let sql = render(DESCRIBE_EXTENDED, minijinja::context! { relation => relation })?;
        let result = match self.rows(&sql, None).await {
            Ok(result) => result,
            Err(error) if error.sqlstate() == Some(SQLSTATE_TABLE_NOT_FOUND) => return Ok(None),
            Err(error) => return Err(error),
        };
        Ok(result.rows.into_iter().find_map(|row| {
            let mut values = row.into_iter();
            let name = values.next().flatten()?;
            let value = values.next().flatten()?;
            (name == "Comment").then_some(value)
        }))
    }

    async fn create_schema_if_missing(&mut self, schema: &str) -> Result<(), AdapterError> {
        let sql = render(template_names::CREATE_SCHEMA, minijinja::context! { schema => schema })?;
        self.execute(&sql).await.map(|_| ())
    }

    async fn copy_in_csv(
        &mut self,
        relation: &Relation,
        columns: &[String],
        mut chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
    ) -> Result<u64, AdapterError> {
        // The CSV becomes Arrow batches of text columns, sent as local
        // relations; each is a temporary view that one `insert ... select`
        // casts into the table's types.
        let types = self.columns(relation).await?;
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|name| Field::new(name, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let view = format!("dvt_seed_{}", uuid::Uuid::new_v4().simple());
        let mut text = Vec::new();
        while let Some(chunk) = chunks.next().await {
            text.extend(chunk?);
        }
        let reader = arrow::csv::ReaderBuilder::new(Arc::clone(&schema))
            .with_header(true)
            .with_batch_size(SEED_BATCH_ROWS)
            .with_null_regex(empty_field())
            .build(Cursor::new(text))
            .map_err(|error| seed_input(relation, error))?;
        let mut copied = 0u64;
        for batch in reader {
            let batch = batch.map_err(|error| seed_input(relation, error))?;
            copied += batch.num_rows() as u64;
            let data =
                encode_ipc(&schema, std::slice::from_ref(&batch)).map_err(|error| seed_input(relation, error))?;
            let plan = proto::Plan {
                op_type: Some(proto::plan::OpType::Command(proto::Command {
                    command_type: Some(proto::command::CommandType::CreateDataframeView(
                        proto::CreateDataFrameViewCommand {
                            input: Some(proto::Relation {
                                rel_type: Some(proto::relation::RelType::LocalRelation(proto::LocalRelation {
                                    data: Some(data),
                                    schema: None,
                                })),
                            }),
                            name: view.clone(),
                            is_global: false,
                            replace: true,
                        },
                    )),
                })),
            };
            self.session.collect(plan, "create a seed's temporary view").await?;
            let insert = render(
                SEED_INSERT,
                minijinja::context! { relation => relation, view => &view, columns => &types },
            )?;
            self.execute(&insert).await?;
        }
        let drop = render(
            template_names::DROP_RELATION,
            minijinja::context! {
                relation => Relation::new(SESSION_SCHEMA, view.as_str()),
                kind => RelationKind::View.sql_keyword(),
            },
        )?;
        self.execute(&drop).await?;
        Ok(copied)
    }
}

/// An unquoted empty CSV field, which is NULL as PostgreSQL's COPY reads
/// it (arrow's reader cannot tell it from a quoted empty field, which is
/// NULL here too).
fn empty_field() -> regex::Regex {
    static EMPTY: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    EMPTY
        .get_or_init(|| regex::Regex::new("^$").unwrap_or_else(|_| unreachable!("a valid pattern")))
        .clone()
}

fn seed_input(relation: &Relation, source: impl std::error::Error + Send + Sync + 'static) -> AdapterError {
    AdapterError::SeedInput {
        relation: relation.to_string(),
        source: Box::new(source),
    }
}

/// The columns of a `describe table` result: its rows until the first
/// blank or `#` row (partition and detail sections follow).
fn describe_columns(result: QueryResult) -> Vec<ColumnInfo> {
    result
        .rows
        .into_iter()
        .map(|row| {
            let mut values = row.into_iter().map(Option::unwrap_or_default);
            (values.next().unwrap_or_default(), values.next().unwrap_or_default())
        })
        .take_while(|(name, _)| !name.trim().is_empty() && !name.starts_with('#'))
        .map(|(name, data_type)| ColumnInfo { name, data_type })
        .collect()
}

/// SQL split into its statements at the semicolons outside quotes and
/// comments, since a Spark command holds one statement.
fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut characters = sql.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\'' | '"' | '`' => {
                current.push(character);
                while let Some(next) = characters.next() {
                    current.push(next);
                    if next == '\\' && character == '\'' {
                        if let Some(escaped) = characters.next() {
                            current.push(escaped);
                        }
                    } else if next == character {
                        break;
                    }
                }
            }
            '-' if characters.peek() == Some(&'-') => {
                current.push(character);
                for next in characters.by_ref() {
                    current.push(next);
                    if next == '\n' {
                        break;
                    }
                }
            }
            '/' if characters.peek() == Some(&'*') => {
                current.push(character);
                let mut previous = ' ';
                for next in characters.by_ref() {
                    current.push(next);
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
            }
            ';' => statements.push(std::mem::take(&mut current)),
            _ => current.push(character),
        }
    }
    statements.push(current);
    statements
        .into_iter()
        .filter(|statement| !only_comments(statement))
        .map(|statement| statement.trim().to_string())
        .collect()
}

/// Whether SQL holds nothing but blanks and comments.
fn only_comments(sql: &str) -> bool {
    super::leading_keyword(sql).is_empty()
}

/// Converts a gRPC status from Spark Connect, keeping Spark's error class,
/// SQLSTATE and position.
fn from_status(status: tonic::Status, statement: Option<&str>) -> AdapterError {
    let text = status.message().trim_start().to_string();
    let text = text.as_str();
    let cancelled = status.code() == tonic::Code::Cancelled || text.contains("OPERATION_CANCELED");
    if !cancelled
        && !matches!(
            status.code(),
            tonic::Code::Internal
                | tonic::Code::InvalidArgument
                | tonic::Code::Unknown
                | tonic::Code::NotFound
                | tonic::Code::AlreadyExists
                | tonic::Code::FailedPrecondition
                | tonic::Code::Unimplemented
        )
    {
        return AdapterError::Driver(Box::new(status));
    }
    let sqlstate = if cancelled {
        SQLSTATE_QUERY_CANCELED.to_string()
    } else {
        text.split("SQLSTATE: ")
            .nth(1)
            .map(|rest| rest.chars().take_while(char::is_ascii_alphanumeric).collect::<String>())
            .filter(|code| code.len() == 5)
            .unwrap_or_else(|| "XX000".to_string())
    };
    // Spark appends the SQLSTATE to the message, then the query context
    // and sometimes the plan.
    let message = match text.split_once(" SQLSTATE: ") {
        Some((message, _)) => message,
        None => text.lines().next().unwrap_or_default(),
    }
    .trim_end()
    .to_string();
    let position = statement.and_then(|statement| error_position(text, statement));
    AdapterError::Database(Box::new(DatabaseError {
        sqlstate,
        message,
        detail: None,
        hint: None,
        position,
        statement: statement.map(str::to_string),
    }))
}

/// The 1-based character offset into `statement` that Spark points at,
/// after the SQLSTATE: `line 2 pos 14` (analysis) or `(line 1, pos 13)`
/// (parsing), the position counted from 0.
fn error_position(text: &str, statement: &str) -> Option<usize> {
    static POSITION: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let pattern = POSITION
        .get_or_init(|| regex::Regex::new(r"SQLSTATE: \w{5}[;,]? \(?line (\d+),? pos (\d+)").ok())
        .as_ref()?;
    let captures = pattern.captures(text)?;
    let line: usize = captures.get(1)?.as_str().parse().ok()?;
    let column: usize = captures.get(2)?.as_str().parse().ok()?;
    let before: usize = statement
        .split('\n')
        .take(line.checked_sub(1)?)
        .map(|line| line.chars().count() + 1)
        .sum();
    Some(before + column + 1)
}

/// A query of `templates/spark/` by file name.
macro_rules! spark_template {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/spark/", $file)),
        )
    };
}

/// `show tables in <schema> like <identifier>`; context: `relation`.
const SHOW_TABLES: &str = "show_tables.sql";
/// `show views ...` as above; context: `relation`.
const SHOW_VIEWS: &str = "show_views.sql";
/// `describe table`; context: `relation`.
const DESCRIBE: &str = "describe.sql";
/// `describe table extended`; context: `relation`.
const DESCRIBE_EXTENDED: &str = "describe_extended.sql";
/// Every table and view of a schema; context: `schema`.
const LIST_TABLES: &str = "list_tables.sql";
/// Every view of a schema; context: `schema`.
const LIST_VIEWS: &str = "list_views.sql";
/// A seed batch's temporary view cast into its table; context:
/// `relation`, `view`, `columns` (name, data_type).
const SEED_INSERT: &str = "seed_insert.sql";

/// Spark's templates: where Spark SQL differs from the common ones, and
/// the catalog statements above.
const TEMPLATE_SOURCES: &[(&str, &str)] = &[
    spark_template!("create_view.sql"),
    spark_template!("create_or_replace_view.sql"),
    spark_template!("create_table_as.sql"),
    spark_template!("create_temporary_table_as.sql"),
    spark_template!("drop_relation.sql"),
    spark_template!("rename_relation.sql"),
    spark_template!("comment_on_relation.sql"),
    spark_template!("incremental_delete.sql"),
    spark_template!("incremental_insert_overwrite.sql"),
    spark_template!("add_columns.sql"),
    spark_template!("drop_columns.sql"),
    spark_template!("alter_column_types.sql"),
    spark_template!("create_materialized_view.sql"),
    spark_template!("refresh_materialized_view.sql"),
    spark_template!("grants.sql"),
    spark_template!("seed_create.sql"),
    spark_template!("seed_copy.sql"),
    spark_template!("catalog.sql"),
    spark_template!("export_partition_value.sql"),
    spark_template!("server_version.sql"),
    spark_template!("list_relations.sql"),
    spark_template!("list_schemas.sql"),
    spark_template!("snapshot_time.sql"),
    spark_template!("show_tables.sql"),
    spark_template!("show_views.sql"),
    spark_template!("describe.sql"),
    spark_template!("describe_extended.sql"),
    spark_template!("seed_insert.sql"),
    spark_template!("snapshot_hash.sql"),
    spark_template!("export_watermark.sql"),
    spark_template!("list_tables.sql"),
    spark_template!("list_views.sql"),
];

/// Spark's templates, parsed once: the shared environment with Spark's
/// `relation` and `literal` filters.
pub fn templates() -> &'static minijinja::Environment<'static> {
    static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut environment = super::template_environment(TEMPLATE_SOURCES);
        environment.add_filter("relation", relation_filter);
        environment.add_filter("literal", |text: String| string_literal(&text));
        environment
    })
}

fn render(name: &'static str, context: minijinja::Value) -> Result<String, AdapterError> {
    super::render_template(templates(), name, context)
}

/// A relation as `"schema"."identifier"`, or a session's temporary view
/// (in [`SESSION_SCHEMA`]) as its bare `"identifier"`.
fn relation_filter(relation: minijinja::Value) -> Result<String, minijinja::Error> {
    let part = |name: &str| -> Result<String, minijinja::Error> {
        relation.get_attr(name)?.as_str().map(str::to_string).ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("a relation needs a string `{name}`"),
            )
        })
    };
    let schema = part("schema")?;
    let identifier = quote_identifier(&part("identifier")?);
    Ok(if schema == SESSION_SCHEMA {
        identifier
    } else {
        format!("{}.{identifier}", quote_identifier(&schema))
    })
}

/// A Spark string literal: backslashes escape in Spark's strings, so both
/// they and quotes are escaped with one.
fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_provided_and_parses() {
        super::super::check_templates(TEMPLATE_SOURCES);
    }

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        assert_eq!(
            split_statements("alter table a add columns (x int);\n-- a; comment\nselect 'a;b', \"c;d\" /* ; */;\n"),
            [
                "alter table a add columns (x int)",
                "-- a; comment\nselect 'a;b', \"c;d\" /* ; */"
            ]
        );
        assert!(split_statements("  ;\n-- nothing\n").is_empty());
    }

    #[test]
    fn errors_keep_spark_sqlstate_and_position() {
        let statement = "create view \"s\".\"v\" as\nselect * from missing_table";
        // As Spark 4.1 words them.
        let status = tonic::Status::internal(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `missing_table` cannot be found. SQLSTATE: 42P01; line 2 pos 14;\n\
             'Project [*]\n+- 'UnresolvedRelation [missing_table], [], false\n",
        );
        let error = from_status(status, Some(statement));
        let database_error = error.database_error().unwrap_or_else(|| panic!("{error:?}"));
        assert_eq!(database_error.sqlstate, "42P01");
        assert_eq!(
            database_error.message,
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `missing_table` cannot be found."
        );
        assert_eq!(database_error.position_in("select * from missing_table"), Some((1, 15)));
        let parse = from_status(
            tonic::Status::internal(
                "\n[PARSE_SYNTAX_ERROR] Syntax error at or near 'missing_table'. SQLSTATE: 42601 (line 1, pos 13)\n\n== SQL ==\n",
            ),
            Some("select * fro missing_table"),
        );
        let parse = parse.database_error().unwrap_or_else(|| panic!("{parse:?}"));
        assert_eq!(parse.sqlstate, "42601");
        assert_eq!(parse.position_in("select * fro missing_table"), Some((1, 14)));
        let cancelled = from_status(
            tonic::Status::cancelled("[OPERATION_CANCELED] Operation has been cancelled."),
            None,
        );
        assert!(cancelled.is_cancelled());
        assert!(matches!(
            from_status(tonic::Status::unavailable("connection refused"), None),
            AdapterError::Driver(_)
        ));
    }

    #[test]
    fn session_views_render_unqualified_and_literals_escape() -> Result<(), minijinja::Error> {
        let render = |relation: Relation| relation_filter(minijinja::Value::from_serialize(relation));
        assert_eq!(
            render(Relation::new("analytics", "orders"))?,
            "\"analytics\".\"orders\""
        );
        assert_eq!(
            render(Relation::new(SESSION_SCHEMA, "orders__dvt_tmp"))?,
            "\"orders__dvt_tmp\""
        );
        assert_eq!(string_literal(r"it's a \ path"), r"'it\'s a \\ path'");
        Ok(())
    }

    #[test]
    fn describe_stops_at_the_partition_section() {
        let row = |name: &str, data_type: &str| vec![Some(name.to_string()), Some(data_type.to_string()), None];
        let result = QueryResult {
            columns: vec!["col_name".into(), "data_type".into(), "comment".into()],
            column_types: Vec::new(),
            rows: vec![
                row("id", "int"),
                row("day", "date"),
                row("# Partition Information", ""),
                row("# col_name", "data_type"),
                row("day", "date"),
            ],
        };
        let columns = describe_columns(result);
        assert_eq!(
            columns.iter().map(|column| column.name.as_str()).collect::<Vec<_>>(),
            ["id", "day"]
        );
    }
}
