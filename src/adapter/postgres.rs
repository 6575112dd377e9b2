//! The PostgreSQL adapter, on a `sqlx` connection pool.
//!
//! It owns the connection settings, the pool, the catalog queries and the
//! PostgreSQL SQL templates in `templates/postgres/`. It does not decide how
//! a model is built; [`super::materialize`] does, through these templates.
//!
//! Statements run over the simple query protocol, so one call may hold
//! several statements and every value comes back as text.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{
    PgConnectOptions, PgConnection, PgDatabaseError, PgErrorPosition, PgPool, PgPoolOptions, PgSslMode,
};
use sqlx::{Column, ConnectOptions, Executor, Postgres, Row, ValueRef};

use super::pg_binary::{ColumnPlan, Decoder, PgColumn};
use super::{
    adapter_templates, leading_keyword, template_names, trim_statement, Adapter, AdapterError, AdapterResponse,
    ArrowBatches, ColumnInfo, Connection, DatabaseError, QueryResult, Relation, RelationKind, RunningStatements,
    ValueType,
};

/// SQLSTATE of a duplicate key, which `create schema if not exists` raises
/// when another session creates the same schema at the same moment.
const SQLSTATE_UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATE of `create schema` on a schema that exists.
const SQLSTATE_DUPLICATE_SCHEMA: &str = "42P06";

/// PostgreSQL cuts identifiers to 63 bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// A query of `templates/postgres/` without Jinja, run as a prepared
/// statement with `$1`-style parameters.
macro_rules! query_file {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/postgres/", $file))
    };
}

const RELATION_KIND_QUERY: &str = query_file!("relation_kind.sql");
const COLUMNS_QUERY: &str = query_file!("columns.sql");
const RELATION_COMMENT_QUERY: &str = query_file!("relation_comment.sql");
const SCHEMA_EXISTS_QUERY: &str = query_file!("schema_exists.sql");
const BACKEND_PID_QUERY: &str = query_file!("backend_pid.sql");
const CANCEL_QUERY: &str = query_file!("cancel_backends.sql");
const BEGIN: &str = query_file!("begin.sql");
const COMMIT: &str = query_file!("commit.sql");
const ROLLBACK: &str = query_file!("rollback.sql");

/// The statements of an export's binary copy (`templates/postgres/`), which
/// only PostgreSQL runs.
const EXPORT_TEMPLATES: &[(&str, &str)] =
    super::template_files!("postgres"; "export_copy.sql", "export_view.sql", "drop_export_view.sql");

fn render_export(name: &'static str, context: minijinja::Value) -> Result<String, AdapterError> {
    static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| super::template_environment(EXPORT_TEMPLATES));
    super::render_template(templates, name, context)
}

/// Connection settings for PostgreSQL, built by the caller from
/// `profiles.yml`. Its `Debug` output never shows the password.
#[derive(Clone)]
pub struct PostgresConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub dbname: String,
    /// The target schema that models build into by default.
    pub schema: String,
    /// How many models run at once, and so how many connections the pool
    /// holds.
    pub threads: u32,
    /// `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub sslmode: Option<String>,
    /// How long to wait for a connection before giving up.
    pub connect_timeout: Duration,
    /// Shown in `pg_stat_activity`; `dvt` when unset.
    pub application_name: Option<String>,
}

impl PostgresConfig {
    /// Settings with PostgreSQL's defaults for everything but the essentials.
    pub fn new(
        host: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
        dbname: impl Into<String>,
        schema: impl Into<String>,
    ) -> Self {
        Self {
            host: host.into(),
            port: 5432,
            user: user.into(),
            password: password.into(),
            dbname: dbname.into(),
            schema: schema.into(),
            threads: 1,
            sslmode: None,
            connect_timeout: Duration::from_secs(10),
            application_name: None,
        }
    }

    /// `user@host:port/dbname`, safe to print.
    pub fn target(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
    }

    fn connect_options(&self) -> Result<PgConnectOptions, AdapterError> {
        let mut options = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(&self.dbname)
            .application_name(self.application_name.as_deref().unwrap_or("dvt"))
            // Statements are logged by dvt itself, with their node.
            .disable_statement_logging();
        if !self.password.is_empty() {
            options = options.password(&self.password);
        }
        if let Some(sslmode) = &self.sslmode {
            let mode = PgSslMode::from_str(sslmode).map_err(|source| AdapterError::InvalidConfig {
                setting: "sslmode",
                value: sslmode.clone(),
                source: source.into(),
            })?;
            options = options.ssl_mode(mode);
        }
        Ok(options)
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PostgresConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("dbname", &self.dbname)
            .field("schema", &self.schema)
            .field("threads", &self.threads)
            .field("sslmode", &self.sslmode)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .finish()
    }
}

/// The PostgreSQL [`Adapter`].
pub struct PostgresAdapter {
    config: PostgresConfig,
    options: PgConnectOptions,
    pool: PgPool,
    running: Arc<RunningStatements<i32>>,
}

impl fmt::Debug for PostgresAdapter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `PgConnectOptions` prints its password, so it stays out.
        formatter
            .debug_struct("PostgresAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PostgresAdapter {
    /// Opens the pool and checks that one connection succeeds.
    pub async fn connect(config: PostgresConfig) -> Result<Self, AdapterError> {
        let options = config.connect_options()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.threads.max(1))
            .acquire_timeout(config.connect_timeout)
            .connect_with(options.clone())
            .await
            .map_err(|source| AdapterError::Connect {
                target: config.target(),
                source: source.into(),
            })?;
        Ok(Self {
            config,
            options,
            pool,
            running: Arc::default(),
        })
    }

    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    /// A session from the pool, with its backend pid for cancelling.
    async fn pooled(&self) -> Result<PostgresConnection, AdapterError> {
        let mut connection = self.pool.acquire().await.map_err(|source| AdapterError::Connect {
            target: self.config.target(),
            source: source.into(),
        })?;
        let backend_pid: i32 = sqlx::query_scalar(BACKEND_PID_QUERY)
            .fetch_one(&mut *connection)
            .await
            .map_err(|error| from_sqlx(error, BACKEND_PID_QUERY))?;
        Ok(PostgresConnection {
            connection,
            backend_pid,
            running: Arc::clone(&self.running),
            in_transaction: false,
        })
    }
}

#[async_trait]
impl Adapter for PostgresAdapter {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        Ok(Box::new(self.pooled().await?))
    }

    async fn cancel_running(&self) -> Result<(), AdapterError> {
        let pids = self.running.current();
        if pids.is_empty() {
            return Ok(());
        }
        // A connection of its own: the pool may be full of the very
        // statements we are cancelling.
        let mut connection = self.options.connect().await.map_err(|source| AdapterError::Connect {
            target: self.config.target(),
            source: source.into(),
        })?;
        let result = sqlx::query(CANCEL_QUERY)
            .bind(pids)
            .execute(&mut connection)
            .await
            .map_err(|error| from_sqlx(error, CANCEL_QUERY));
        // Closing is a courtesy to the server; the cancel already happened.
        let _closed = sqlx::Connection::close(connection).await;
        result.map(|_| ())
    }

    fn templates(&self) -> &minijinja::Environment<'static> {
        templates()
    }

    fn temporary_schema(&self) -> &'static str {
        "pg_temp"
    }

    fn contract_type(&self, data_type: &str) -> String {
        crate::contract::postgres_type_name(data_type)
    }

    fn max_identifier_bytes(&self) -> usize {
        MAX_IDENTIFIER_BYTES
    }

    fn microbatch_method(&self) -> super::MicrobatchMethod {
        super::MicrobatchMethod::MergeOnUniqueKey
    }

    async fn query_arrow(&self, sql: &str, batch_rows: usize) -> Result<ArrowBatches, AdapterError> {
        let mut connection = self.pooled().await?;
        let columns = connection.describe_for_copy(sql).await?;
        let decoder = Decoder::new(&columns, batch_rows);
        let copy = copy_statement(&columns, decoder.plans())?;
        let schema = decoder.schema();
        let (sender, receiver) = tokio::sync::mpsc::channel(super::ARROW_CHANNEL_BATCHES);
        tokio::spawn(async move {
            let result = connection.copy_out_binary(&copy, decoder, &sender).await;
            if let Err(error) = result {
                // The receiver may be gone already, when the export failed.
                let _ = sender.send(Err(error)).await;
            }
        });
        Ok(ArrowBatches {
            schema,
            batches: receiver,
        })
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// The temporary view a query is described through before it is copied.
const EXPORT_VIEW: &str = "__dvt_export";

/// `pg_attribute` of the temporary view: each column's type, type modifier
/// and (for an array) element type.
const EXPORT_COLUMNS_QUERY: &str = query_file!("export_columns.sql");

/// The binary copy of the described view, with the columns that have no
/// binary decoder cast to text.
fn copy_statement(columns: &[PgColumn], plans: &[ColumnPlan]) -> Result<String, AdapterError> {
    let columns: Vec<minijinja::Value> = columns
        .iter()
        .zip(plans)
        .map(|(column, plan)| minijinja::context! { name => column.name.clone(), as_text => plan.needs_text_cast() })
        .collect();
    render_export(
        "export_copy.sql",
        minijinja::context! { columns => columns, view => EXPORT_VIEW },
    )
}

/// One pooled PostgreSQL session.
struct PostgresConnection {
    connection: PoolConnection<Postgres>,
    backend_pid: i32,
    running: Arc<RunningStatements<i32>>,
    in_transaction: bool,
}

impl Drop for PostgresConnection {
    fn drop(&mut self) {
        if self.in_transaction {
            // Dropped mid-transaction (an error or a cancelled task): the
            // session may hold locks and half-done work, so it must not go
            // back to the pool.
            self.connection.close_on_drop();
        }
    }
}

impl PostgresConnection {
    fn connection(&mut self) -> &mut PgConnection {
        &mut self.connection
    }

    /// Creates the temporary view of an export's query and reads its columns
    /// from the catalog, with their exact type modifiers (the precision and
    /// scale of a `numeric`), which a statement description leaves out.
    async fn describe_for_copy(&mut self, sql: &str) -> Result<Vec<PgColumn>, AdapterError> {
        let view = super::quote_identifier(EXPORT_VIEW);
        self.run(&render_export(
            "export_view.sql",
            minijinja::context! { view => EXPORT_VIEW, sql => trim_statement(sql) },
        )?)
        .await?;
        let _running = self.running.start(self.backend_pid);
        let rows: Vec<(String, i64, i32, i64)> = sqlx::query_as(EXPORT_COLUMNS_QUERY)
            .bind(format!("pg_temp.{view}"))
            .fetch_all(self.connection())
            .await
            .map_err(|error| from_sqlx(error, EXPORT_COLUMNS_QUERY))?;
        let columns = rows
            .into_iter()
            .map(|(name, type_oid, type_modifier, element_oid)| PgColumn {
                name,
                type_oid: u32::try_from(type_oid).unwrap_or_default(),
                type_modifier,
                element_oid: u32::try_from(element_oid).unwrap_or_default(),
            })
            .collect();
        Ok(columns)
    }

    /// Runs the binary copy and sends its rows on as record batches; stops
    /// early when the receiver is gone.
    async fn copy_out_binary(
        &mut self,
        copy: &str,
        mut decoder: Decoder,
        sender: &tokio::sync::mpsc::Sender<Result<RecordBatch, AdapterError>>,
    ) -> Result<(), AdapterError> {
        let _running = self.running.start(self.backend_pid);
        let decode_error = |error: super::pg_binary::DecodeError| AdapterError::Driver(error.into());
        let mut abandoned = false;
        {
            let mut stream = self
                .connection()
                .copy_out_raw(copy)
                .await
                .map_err(|error| from_sqlx(error, copy))?;
            let mut ready = Vec::new();
            'copy: while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| from_sqlx(error, copy))?;
                decoder
                    .feed(&chunk, &mut |batch| {
                        ready.push(batch);
                        Ok(())
                    })
                    .map_err(decode_error)?;
                for batch in ready.drain(..) {
                    if sender.send(Ok(batch)).await.is_err() {
                        abandoned = true;
                        break 'copy;
                    }
                }
            }
        }
        if abandoned {
            // The export stopped reading: a session left in the middle of
            // a copy is unusable, so it closes rather than going back.
            self.connection.close_on_drop();
            return Ok(());
        }
        if let Some(batch) = decoder.finish().map_err(decode_error)? {
            let _ = sender.send(Ok(batch)).await;
        }
        self.run(&render_export(
            "drop_export_view.sql",
            minijinja::context! { view => EXPORT_VIEW },
        )?)
        .await?;
        Ok(())
    }

    async fn run(&mut self, sql: &str) -> Result<u64, AdapterError> {
        let _running = self.running.start(self.backend_pid);
        // A bare `&str` carries no arguments, so sqlx sends it with the
        // simple query protocol, which accepts several statements.
        self.connection()
            .execute(sql)
            .await
            .map(|result| result.rows_affected())
            .map_err(|error| from_sqlx(error, sql))
    }

    async fn fetch_text(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        let _running = self.running.start(self.backend_pid);
        let rows = self
            .connection()
            .fetch_all(sql)
            .await
            .map_err(|error| from_sqlx(error, sql))?;
        let (columns, column_types) = match rows.first() {
            Some(row) => (
                row.columns().iter().map(|column| column.name().to_string()).collect(),
                row.columns()
                    .iter()
                    .map(|column| value_type(sqlx::TypeInfo::name(column.type_info())))
                    .collect(),
            ),
            None => (self.describe_columns(sql).await, Vec::new()),
        };
        let mut result_rows = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for index in 0..row.len() {
                let value = row.try_get_raw(index).map_err(|error| from_sqlx(error, sql))?;
                if value.is_null() {
                    values.push(None);
                } else {
                    // The simple query protocol returns every value as text.
                    let bytes = value
                        .as_bytes()
                        .map_err(|source| from_sqlx(sqlx::Error::Decode(source), sql))?;
                    values.push(Some(String::from_utf8_lossy(bytes).into_owned()));
                }
            }
            result_rows.push(values);
        }
        Ok(QueryResult {
            columns,
            column_types,
            rows: result_rows,
        })
    }

    /// Column names of a query that returned no rows. Only a single
    /// statement can be described; for several, no names are known.
    async fn describe_columns(&mut self, sql: &str) -> Vec<String> {
        match self.connection().describe(sql).await {
            Ok(description) => description
                .columns()
                .iter()
                .map(|column| column.name().to_string())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Runs a catalog query that takes the quoted relation name and returns
    /// at most one text value.
    async fn relation_lookup(
        &mut self,
        query: &'static str,
        relation: &Relation,
    ) -> Result<Option<String>, AdapterError> {
        sqlx::query_scalar::<_, Option<String>>(query)
            .bind(relation.to_string())
            .fetch_optional(self.connection())
            .await
            .map(Option::flatten)
            .map_err(|error| from_sqlx(error, query))
    }
}

/// The kind of value of a PostgreSQL type, by the name sqlx gives it.
fn value_type(type_name: &str) -> ValueType {
    match type_name {
        "INT2" | "INT4" | "INT8" | "OID" => ValueType::Integer,
        "NUMERIC" | "FLOAT4" | "FLOAT8" => ValueType::Number,
        "BOOL" => ValueType::Boolean,
        "DATE" => ValueType::Date,
        "TIMESTAMP" | "TIMESTAMPTZ" => ValueType::Timestamp,
        _ => ValueType::Text,
    }
}

#[async_trait]
impl Connection for PostgresConnection {
    async fn execute(&mut self, sql: &str) -> Result<AdapterResponse, AdapterError> {
        let rows = self.run(sql).await?;
        let code = leading_keyword(sql);
        Ok(if rows == 0 {
            AdapterResponse {
                rows_affected: Some(0),
                ..AdapterResponse::command(&code)
            }
        } else {
            AdapterResponse::with_rows(&code, rows)
        })
    }

    async fn query(&mut self, sql: &str, limit: Option<usize>) -> Result<QueryResult, AdapterError> {
        let Some(limit) = limit else {
            return self.fetch_text(sql).await;
        };
        let limited = render(
            template_names::LIMIT,
            minijinja::context! { sql => trim_statement(sql), limit => limit },
        )?;
        let mut result = self.fetch_text(&limited).await?;
        result.rows.truncate(limit);
        Ok(result)
    }

    async fn begin(&mut self) -> Result<(), AdapterError> {
        self.run(BEGIN).await?;
        self.in_transaction = true;
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), AdapterError> {
        self.run(COMMIT).await?;
        self.in_transaction = false;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), AdapterError> {
        self.run(ROLLBACK).await?;
        self.in_transaction = false;
        Ok(())
    }

    async fn relation_kind(&mut self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let kind = self.relation_lookup(RELATION_KIND_QUERY, relation).await?;
        Ok(match kind.as_deref() {
            Some("r" | "p") => Some(RelationKind::Table),
            Some("v") => Some(RelationKind::View),
            Some("m") => Some(RelationKind::MaterializedView),
            // Sequences, indexes and foreign tables are not ours to build.
            _ => None,
        })
    }

    async fn columns(&mut self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
        let rows: Vec<(String, String)> = sqlx::query_as(COLUMNS_QUERY)
            .bind(relation.to_string())
            .fetch_all(self.connection())
            .await
            .map_err(|error| from_sqlx(error, COLUMNS_QUERY))?;
        Ok(rows
            .into_iter()
            .map(|(name, data_type)| ColumnInfo { name, data_type })
            .collect())
    }

    async fn relation_comment(&mut self, relation: &Relation) -> Result<Option<String>, AdapterError> {
        self.relation_lookup(RELATION_COMMENT_QUERY, relation).await
    }

    async fn create_schema_if_missing(&mut self, schema: &str) -> Result<(), AdapterError> {
        // Checking first spares a user without `create` on the database an
        // error when the schema is already there.
        let exists: bool = sqlx::query_scalar(SCHEMA_EXISTS_QUERY)
            .bind(schema)
            .fetch_one(self.connection())
            .await
            .map_err(|error| from_sqlx(error, SCHEMA_EXISTS_QUERY))?;
        if exists {
            return Ok(());
        }
        let sql = render(template_names::CREATE_SCHEMA, minijinja::context! { schema => schema })?;
        match self.run(&sql).await {
            Ok(_) => Ok(()),
            // Another thread created it between our check and our create.
            Err(error)
                if matches!(
                    error.sqlstate(),
                    Some(SQLSTATE_UNIQUE_VIOLATION | SQLSTATE_DUPLICATE_SCHEMA)
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    async fn copy_in_csv(
        &mut self,
        relation: &Relation,
        columns: &[String],
        mut chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
    ) -> Result<u64, AdapterError> {
        let statement = render(
            template_names::SEED_COPY,
            minijinja::context! { relation => relation, columns => columns },
        )?;
        let _running = self.running.start(self.backend_pid);
        let mut copy = self
            .connection
            .copy_in_raw(&statement)
            .await
            .map_err(|error| from_sqlx(error, &statement))?;
        while let Some(chunk) = chunks.next().await {
            let sent = match chunk {
                Ok(bytes) => copy.send(bytes).await.map(|_| ()),
                Err(error) => {
                    // The server answers an abort with an error we expect;
                    // the caller's error is the one worth reporting.
                    let _aborted = copy.abort("dvt could not read the seed data").await;
                    return Err(error);
                }
            };
            if let Err(error) = sent {
                let _aborted = copy.abort("dvt could not send the seed data").await;
                return Err(from_sqlx(error, &statement));
            }
        }
        copy.finish().await.map_err(|error| from_sqlx(error, &statement))
    }
}

adapter_templates!("postgres");

/// Converts a driver error, keeping everything the server said.
fn from_sqlx(error: sqlx::Error, statement: &str) -> AdapterError {
    let sqlx::Error::Database(database_error) = &error else {
        return AdapterError::Driver(error.into());
    };
    let Some(postgres_error) = database_error.try_downcast_ref::<PgDatabaseError>() else {
        return AdapterError::Driver(error.into());
    };
    let position = match postgres_error.position() {
        Some(PgErrorPosition::Original(position)) => Some(position),
        _ => None,
    };
    AdapterError::Database(Box::new(DatabaseError {
        sqlstate: postgres_error.code().to_string(),
        message: postgres_error.message().to_string(),
        detail: postgres_error.detail().map(str::to_string),
        hint: postgres_error.hint().map(str::to_string),
        position,
        statement: Some(statement.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_redacts_password() {
        let config = PostgresConfig::new("db.internal", "analyst", "hunter2-secret", "warehouse", "analytics");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2-secret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(debug.contains("db.internal"), "{debug}");
        assert!(!config.target().contains("hunter2-secret"));
    }

    #[test]
    fn export_query_cuts_dates_and_filters_by_watermark() {
        let sql = render(
            template_names::EXPORT_QUERY,
            minijinja::context! {
                relation => Relation::new("marts", "fct_rental"),
                partitions => vec![
                    serde_json::json!({"column": "store_id", "granularity": null, "alias": "__dvt_partition_0"}),
                    serde_json::json!({"column": "rental_date", "granularity": "month", "alias": "__dvt_partition_1"}),
                ],
                watermark => serde_json::json!({"column": "last_update", "after": "2024-01-01", "through": "2024-02-01"}),
            },
        )
        .unwrap();
        for expected in [
            r#"cast("store_id" as text) as "__dvt_partition_0""#,
            r#"to_char("rental_date", 'YYYY-MM') as "__dvt_partition_1""#,
            r#"where "last_update" > '2024-01-01' and "last_update" <= '2024-02-01'"#,
            r#"order by "__dvt_partition_0", "__dvt_partition_1""#,
        ] {
            assert!(sql.contains(expected), "no `{expected}` in {sql}");
        }
    }

    #[test]
    fn every_template_is_provided_and_parses() {
        super::super::check_templates(TEMPLATE_SOURCES);
    }

    #[test]
    fn quote_filter_doubles_quotes() {
        let sql = render(
            template_names::DROP_RELATION,
            minijinja::context! {
                kind => "view",
                relation => Relation::new("my\"schema", "v"),
            },
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(sql, r#"drop view if exists "my""schema"."v" cascade"#);
    }

    #[test]
    fn merge_template_renders_composite_key() {
        let sql = render(
            template_names::INCREMENTAL_MERGE,
            minijinja::context! {
                target => Relation::new("s", "t"),
                source => Relation::new("pg_temp", "t__dvt_tmp"),
                columns => vec!["a", "b", "value"],
                unique_key => vec!["a", "b"],
                update_columns => vec!["value"],
            },
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            sql,
            "merge into \"s\".\"t\" as dvt_target\n\
             using \"pg_temp\".\"t__dvt_tmp\" as dvt_source\n\
             on (\n\
             \x20   dvt_target.\"a\" = dvt_source.\"a\"\n\
             \x20   and dvt_target.\"b\" = dvt_source.\"b\"\n\
             )\n\
             when matched then update set\n\
             \x20   \"value\" = dvt_source.\"value\"\n\
             when not matched then insert (\"a\", \"b\", \"value\")\n\
             values (dvt_source.\"a\", dvt_source.\"b\", dvt_source.\"value\")"
        );
    }

    #[test]
    fn leading_keyword_skips_comments() {
        assert_eq!(leading_keyword("-- note\n/* x */ insert into t"), "INSERT");
        assert_eq!(leading_keyword("  create table t"), "CREATE");
    }
}
