//! Exactly once into the warehouse: the consumed offsets live in a dvt state
//! table next to the data, and one transaction loads a batch's rows, its
//! dead letters and its offsets, so a crash at any point leaves either all of
//! them or none.
//!
//! The state table is `<target schema>_dvt.ingest_offsets`, one row per
//! consumer group, topic and partition holding the next offset to consume. A
//! consumer reads it when partitions are assigned ([`load_offsets`]) and
//! seeks there; Kafka's own committed offsets are never trusted.
//!
//! Storing offsets is a compare-and-set: a partition's offset only moves from
//! the value the committing consumer last read or wrote (a partition with no
//! row yet is inserted, and a concurrent insert of the same one fails). After a rebalance, a
//! consumer that lost a partition but still holds a batch of it fails with
//! [`StateError::OffsetConflict`] and its batch is rolled back, so two
//! consumers never both load the same messages.
//!
//! PostgreSQL loads a batch's rows with `COPY` of their CSV; DuckDB appends
//! them as an Arrow record batch with its appender
//! ([`Connection::append_arrow`]), in the same transaction as the offsets.
//! Dead letters are CSV on both.
//!
//! The SQL is in `templates/ingest/` (PostgreSQL's dialect, and DuckDB's
//! where it differs, `templates/duckdb/ingest_*.sql`). This module does
//! not read Kafka or encode rows; [`super::mapping`] does.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, BoxStream, StreamExt};
use serde::Serialize;

use super::arrow_rows::ArrowRows;
pub use super::mapping::Dialect;
use super::mapping::{dead_letter_columns, EncodedBatch, TableColumn};
use crate::adapter::{AdapterError, Connection, Relation};

/// SQLSTATEs of a `create table if not exists` that lost a race with
/// another process creating the same table.
const SQLSTATE_UNIQUE_VIOLATION: &str = "23505";
const SQLSTATE_DUPLICATE_TABLE: &str = "42P07";

const TEMPLATE_SOURCES: &[(&str, &str)] = crate::adapter::template_files!("ingest";
    "create_table.sql", "create_offsets_table.sql", "load_offsets.sql", "store_offsets.sql",
    "publish_delete.sql", "publish_insert.sql", "publish_drop.sql", "publish_rename.sql");

/// DuckDB's own statements: it forbids a subquery in `on conflict ... do
/// update ... where`, so its compare-and-set is an update of the rows that
/// hold the expected offsets and an insert of the partitions that have none.
const DUCKDB_TEMPLATE_SOURCES: &[(&str, &str)] = crate::adapter::template_files!("duckdb";
    "ingest_update_offsets.sql", "ingest_insert_offsets.sql");

pub(crate) fn render(name: &'static str, context: minijinja::Value) -> Result<String, AdapterError> {
    static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| crate::adapter::template_environment(TEMPLATE_SOURCES));
    crate::adapter::render_template(templates, name, context)
}

fn render_duckdb(name: &'static str, context: minijinja::Value) -> Result<String, AdapterError> {
    static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| crate::adapter::template_environment(DUCKDB_TEMPLATE_SOURCES));
    crate::adapter::render_template(templates, name, context)
}

/// The state table of a target: `<schema>_dvt.ingest_offsets`.
pub fn offsets_relation(target_schema: &str) -> Relation {
    Relation::new(format!("{target_schema}_dvt"), "ingest_offsets")
}

/// Where one source table's batches go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub bronze: Relation,
    /// The bronze table's columns, in `COPY` order ([`super::Mapper::columns`]).
    pub columns: Vec<TableColumn>,
    pub dead_letter: Relation,
}

impl Destination {
    /// Where the `ingest:` block of a source table loads; `None` for a
    /// source fed from the lake, which loads in a transaction of its own.
    pub fn of_source(source: &crate::manifest::SourceTable, spec: &super::IngestSpec) -> Option<Self> {
        if spec.lake.is_some() {
            return None;
        }
        let bronze = Relation::new(source.relation.schema.clone(), source.relation.identifier.clone());
        Some(Self {
            dead_letter: spec.dead_letter_relation(&bronze),
            columns: super::Mapper::new(&spec.mapping).columns().to_vec(),
            bronze,
        })
    }

    fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|column| column.name.clone()).collect()
    }
}

/// The offsets of one consumer group in a state table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetStore {
    /// See [`offsets_relation`].
    pub relation: Relation,
    pub consumer_group: String,
    /// The warehouse's dialect, which spells the compare-and-set and the
    /// bronze tables' types.
    pub dialect: Dialect,
}

/// One partition's offset to store with a batch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OffsetCommit {
    pub topic: String,
    pub partition: i32,
    /// The stored offset this consumer last read or wrote; `None` when the
    /// state table had no row for the partition.
    pub expected: Option<i64>,
    pub next_offset: i64,
}

/// Stored next offsets by topic and partition, as read by [`load_offsets`]
/// and advanced by each commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredOffsets(pub BTreeMap<(String, i32), i64>);

impl StoredOffsets {
    /// The next offset to consume of a partition, if one is stored.
    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.0.get(&(topic.to_string(), partition)).copied()
    }

    /// The offsets to store with `batch`, each expecting the value held here.
    pub fn commits_for(&self, batch: &EncodedBatch) -> Vec<OffsetCommit> {
        batch
            .offsets
            .iter()
            .map(|offset| OffsetCommit {
                topic: offset.topic.clone(),
                partition: offset.partition,
                expected: self.get(&offset.topic, offset.partition),
                next_offset: offset.next_offset,
            })
            .collect()
    }

    /// Records offsets once their transaction committed.
    pub fn record(&mut self, commits: &[OffsetCommit]) {
        for commit in commits {
            self.0
                .insert((commit.topic.clone(), commit.partition), commit.next_offset);
        }
    }
}

/// What one committed batch loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    pub rows: u64,
    pub dead_letters: u64,
}

/// Everything that can go wrong keeping ingestion state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("could not {action}")]
    Warehouse {
        /// What dvt was doing, such as "load the batch into `\"bronze\".\"events\"`".
        action: String,
        #[source]
        source: AdapterError,
    },
    #[error(
        "another consumer in group `{consumer_group}` moved the offsets of {} since this one read them; the batch was rolled back",
        describe_partitions(partitions)
    )]
    OffsetConflict {
        consumer_group: String,
        partitions: Vec<(String, i32)>,
    },
    #[error(
        "`{relation}` lacks the columns {} that the ingest mapping writes",
        columns.iter().map(|column| format!("`{column}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingColumns { relation: String, columns: Vec<String> },
    #[error("the state table `{relation}` holds `{value}` where an offset should be")]
    InvalidStoredOffset { relation: String, value: String },
    /// The batch read before this one did not commit, so this one, whose
    /// offsets follow from it, was rolled back.
    #[error("the batch before this one did not commit; this one was rolled back")]
    Aborted,
}

impl StateError {
    pub(crate) fn warehouse(action: impl Into<String>) -> impl FnOnce(AdapterError) -> StateError {
        let action = action.into();
        move |source| StateError::Warehouse { action, source }
    }

    /// Whether running the whole transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateError::Warehouse { source, .. } if source.is_retryable())
    }

    /// Whether waiting and trying again may succeed: a conflict, or a lost
    /// or refused warehouse connection ([`AdapterError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, StateError::Warehouse { source, .. } if source.is_transient())
    }
}

fn describe_partitions(partitions: &[(String, i32)]) -> String {
    partitions
        .iter()
        .map(|(topic, partition)| format!("`{topic}` [{partition}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates what ingestion writes to, unless it exists: the state table,
/// then the bronze and dead-letter tables ([`create_destination`]). Runs
/// outside a transaction; safe when several processes race.
pub async fn prepare_tables(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    destination: &Destination,
) -> Result<(), StateError> {
    create_schema(connection, &store.relation.schema).await?;
    let sql = render(
        "create_offsets_table.sql",
        minijinja::context! { relation => &store.relation },
    );
    create_table(connection, &store.relation, sql).await?;
    create_destination(connection, destination, store.dialect).await
}

/// Creates the schemas, the bronze table and the dead-letter table of a
/// source unless they exist, then checks that existing tables have every
/// column the mapping writes. `dvt run` and `dvt build` call it too, so
/// that models read an (empty) bronze table before the first ingest.
pub async fn create_destination(
    connection: &mut dyn Connection,
    destination: &Destination,
    dialect: Dialect,
) -> Result<(), StateError> {
    let schemas: BTreeSet<&str> = [
        destination.bronze.schema.as_str(),
        destination.dead_letter.schema.as_str(),
    ]
    .into();
    for schema in schemas {
        create_schema(connection, schema).await?;
    }
    let tables = [
        (&destination.bronze, destination.columns.clone()),
        (&destination.dead_letter, dead_letter_columns()),
    ];
    for (relation, columns) in tables {
        let sql = render(
            "create_table.sql",
            minijinja::context! { relation => relation, columns => table_columns(&columns, dialect) },
        );
        create_table(connection, relation, sql).await?;
        let names: Vec<String> = columns.into_iter().map(|column| column.name).collect();
        check_columns(connection, relation, &names).await?;
    }
    Ok(())
}

async fn create_schema(connection: &mut dyn Connection, schema: &str) -> Result<(), StateError> {
    connection
        .create_schema_if_missing(schema)
        .await
        .map_err(StateError::warehouse(format!("create schema `{schema}`")))
}

/// Runs a `create table if not exists`, taking a lost race with another
/// process creating the same table as success.
async fn create_table(
    connection: &mut dyn Connection,
    relation: &Relation,
    sql: Result<String, AdapterError>,
) -> Result<(), StateError> {
    let action = format!("create `{relation}`");
    let sql = sql.map_err(StateError::warehouse(action.clone()))?;
    match connection.execute(&sql).await {
        Ok(_) => Ok(()),
        Err(error)
            if matches!(
                error.sqlstate(),
                Some(SQLSTATE_UNIQUE_VIOLATION | SQLSTATE_DUPLICATE_TABLE)
            ) =>
        {
            Ok(())
        }
        Err(error) => Err(StateError::warehouse(action)(error)),
    }
}

fn table_columns(columns: &[TableColumn], dialect: Dialect) -> Vec<minijinja::Value> {
    columns
        .iter()
        .map(|column| {
            minijinja::context! {
                name => &column.name,
                data_type => dialect.column_type(&column.data_type),
                not_null => column.not_null,
            }
        })
        .collect()
}

async fn check_columns(
    connection: &mut dyn Connection,
    relation: &Relation,
    expected: &[String],
) -> Result<(), StateError> {
    let existing = connection
        .columns(relation)
        .await
        .map_err(StateError::warehouse(format!("read the columns of `{relation}`")))?;
    let missing: Vec<String> = expected
        .iter()
        .filter(|name| !existing.iter().any(|column| &column.name == *name))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StateError::MissingColumns {
            relation: relation.to_string(),
            columns: missing,
        })
    }
}

/// The stored next offsets of `topics` for the store's consumer group. The
/// state table must exist: call [`prepare_tables`] first.
pub async fn load_offsets(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    topics: &[String],
) -> Result<StoredOffsets, StateError> {
    let mut offsets = StoredOffsets::default();
    if topics.is_empty() {
        return Ok(offsets);
    }
    let result = query_state(
        connection,
        "load_offsets.sql",
        minijinja::context! {
            relation => &store.relation,
            consumer_group => &store.consumer_group,
            topics => topics,
        },
        format!("read the offsets in `{}`", store.relation),
    )
    .await?;
    let invalid = |value: &Option<String>| StateError::InvalidStoredOffset {
        relation: store.relation.to_string(),
        value: value.clone().unwrap_or_else(|| "null".into()),
    };
    for row in result.rows {
        let [topic, partition, next_offset] = row.as_slice() else {
            continue;
        };
        let partition_number: i32 = partition
            .as_deref()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| invalid(partition))?;
        let next: i64 = next_offset
            .as_deref()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| invalid(next_offset))?;
        offsets
            .0
            .insert((topic.clone().unwrap_or_default(), partition_number), next);
    }
    Ok(offsets)
}

/// Loads an encoded batch and stores its offsets, in one transaction. On
/// success, record `offsets` in the consumer's [`StoredOffsets`].
pub async fn commit_batch(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    destination: &Destination,
    batch: EncodedBatch,
    offsets: &[OffsetCommit],
) -> Result<Committed, StateError> {
    begin(connection).await?;
    let result = async {
        if !offsets.is_empty() {
            store_offsets(connection, store, offsets).await?;
        }
        load_batch(connection, destination, batch).await
    }
    .await;
    finish(connection, result).await
}

/// Loads an encoded batch's rows and dead letters, in the open transaction.
async fn load_batch(
    connection: &mut dyn Connection,
    destination: &Destination,
    batch: EncodedBatch,
) -> Result<Committed, StateError> {
    let appended = match batch.arrow_rows {
        Some(rows) => append_rows(connection, destination, rows).await?,
        None => 0,
    };
    let mut committed = copy_batch(
        connection,
        destination,
        chunk_stream(batch.rows),
        chunk_stream(batch.dead_letters),
    )
    .await?;
    committed.rows += appended;
    Ok(committed)
}

/// Appends Arrow rows to the bronze table, in the open transaction.
async fn append_rows(
    connection: &mut dyn Connection,
    destination: &Destination,
    rows: ArrowRows,
) -> Result<u64, StateError> {
    let action = format!("load the batch into `{}`", destination.bronze);
    let names = rows.column_names();
    let batch = rows
        .finish()
        .map_err(|error| StateError::warehouse(action.clone())(AdapterError::Driver(error.into())))?;
    connection
        .append_arrow(&destination.bronze, &names, batch)
        .await
        .map_err(StateError::warehouse(action))
}

/// Encoded chunks as a stream for `COPY`; `None` when there are none.
fn chunk_stream(chunks: Vec<Vec<u8>>) -> Option<BoxStream<'static, Result<Vec<u8>, AdapterError>>> {
    (!chunks.is_empty()).then(|| stream::iter(chunks.into_iter().map(Ok)).boxed())
}

/// As [`commit_batch`], from streams of CSV chunks (each starting with its
/// header row), so that a batch can be sent while it is encoded. `None`
/// skips a `COPY`. When a chunk is an error, or anything fails, the
/// transaction is rolled back: neither rows nor offsets are stored.
pub async fn commit_chunks(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    destination: &Destination,
    rows: Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
    dead_letters: Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
    offsets: &[OffsetCommit],
) -> Result<Committed, StateError> {
    begin(connection).await?;
    let result = load_in_transaction(connection, store, destination, rows, dead_letters, offsets).await;
    finish(connection, result).await
}

async fn begin(connection: &mut dyn Connection) -> Result<(), StateError> {
    connection
        .begin()
        .await
        .map_err(StateError::warehouse("begin a transaction"))
}

/// Commits the open transaction when `result` is a success, else rolls it
/// back and returns the error.
async fn finish(
    connection: &mut dyn Connection,
    result: Result<Committed, StateError>,
) -> Result<Committed, StateError> {
    match result {
        Ok(committed) => {
            connection
                .commit()
                .await
                .map_err(StateError::warehouse("commit the batch"))?;
            Ok(committed)
        }
        Err(error) => {
            // The batch's error is the one worth reporting; a failed
            // rollback closes the connection anyway.
            let _rolled_back = connection.rollback().await;
            Err(error)
        }
    }
}

/// As [`commit_batch`], for a batch loaded while the batch read before it
/// may still be committing (on another connection): the rows and dead
/// letters are sent first, then `previous` is awaited (whether that batch
/// committed), and only then are the offsets stored and the transaction
/// committed. Batches therefore commit in the order they were read, each
/// fenced on the offsets the one before stored. When `previous` is false,
/// the transaction rolls back with [`StateError::Aborted`].
pub async fn commit_after(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    destination: &Destination,
    batch: EncodedBatch,
    offsets: &[OffsetCommit],
    previous: impl std::future::Future<Output = bool> + Send,
) -> Result<Committed, StateError> {
    begin(connection).await?;
    let result = async {
        let committed = load_batch(connection, destination, batch).await?;
        if !previous.await {
            return Err(StateError::Aborted);
        }
        if !offsets.is_empty() {
            store_offsets(connection, store, offsets).await?;
        }
        Ok(committed)
    }
    .await;
    finish(connection, result).await
}

async fn load_in_transaction(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    destination: &Destination,
    rows: Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
    dead_letters: Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
    offsets: &[OffsetCommit],
) -> Result<Committed, StateError> {
    // Offsets first: their row locks make a second consumer of the same
    // partitions wait here, or fail, before any data is sent.
    if !offsets.is_empty() {
        store_offsets(connection, store, offsets).await?;
    }
    copy_batch(connection, destination, rows, dead_letters).await
}

/// `COPY`s a batch's rows and dead letters, in the open transaction.
async fn copy_batch(
    connection: &mut dyn Connection,
    destination: &Destination,
    rows: Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
    dead_letters: Option<BoxStream<'_, Result<Vec<u8>, AdapterError>>>,
) -> Result<Committed, StateError> {
    let mut committed = Committed::default();
    if let Some(rows) = rows {
        committed.rows = connection
            .copy_in_csv(&destination.bronze, &destination.column_names(), rows)
            .await
            .map_err(StateError::warehouse(format!(
                "load the batch into `{}`",
                destination.bronze
            )))?;
    }
    if let Some(dead_letters) = dead_letters {
        let names: Vec<String> = dead_letter_columns().into_iter().map(|column| column.name).collect();
        committed.dead_letters = connection
            .copy_in_csv(&destination.dead_letter, &names, dead_letters)
            .await
            .map_err(StateError::warehouse(format!(
                "load dead letters into `{}`",
                destination.dead_letter
            )))?;
    }
    Ok(committed)
}

/// Renders a state-table template and runs it, naming `action` in any error.
async fn query_state(
    connection: &mut dyn Connection,
    template: &'static str,
    context: minijinja::Value,
    action: String,
) -> Result<crate::adapter::QueryResult, StateError> {
    let sql = render(template, context).map_err(StateError::warehouse(action.clone()))?;
    connection
        .query(&sql, None)
        .await
        .map_err(StateError::warehouse(action))
}

async fn store_offsets(
    connection: &mut dyn Connection,
    store: &OffsetStore,
    offsets: &[OffsetCommit],
) -> Result<(), StateError> {
    let action = format!("store offsets in `{}`", store.relation);
    let context = |offsets: &[&OffsetCommit]| {
        minijinja::context! {
            relation => &store.relation,
            consumer_group => &store.consumer_group,
            offsets => offsets,
        }
    };
    let mut results = Vec::new();
    match store.dialect {
        // `dvt ingest` refuses Spark targets before it reads a message.
        Dialect::Postgres | Dialect::Spark => {
            let all: Vec<&OffsetCommit> = offsets.iter().collect();
            results.push(query_state(connection, "store_offsets.sql", context(&all), action).await?);
        }
        Dialect::DuckDb => {
            let (new, moved): (Vec<&OffsetCommit>, Vec<&OffsetCommit>) =
                offsets.iter().partition(|offset| offset.expected.is_none());
            for (template, offsets) in [("ingest_update_offsets.sql", moved), ("ingest_insert_offsets.sql", new)] {
                if offsets.is_empty() {
                    continue;
                }
                let sql = render_duckdb(template, context(&offsets)).map_err(StateError::warehouse(action.clone()))?;
                let result = connection
                    .query(&sql, None)
                    .await
                    .map_err(StateError::warehouse(action.clone()))?;
                results.push(result);
            }
        }
    }
    let stored: BTreeSet<(String, i32)> = results
        .iter()
        .flat_map(|result| result.rows.iter())
        .filter_map(|row| match row.as_slice() {
            [Some(topic), Some(partition)] => partition.parse().ok().map(|partition| (topic.clone(), partition)),
            _ => None,
        })
        .collect();
    let conflicts: Vec<(String, i32)> = offsets
        .iter()
        .map(|offset| (offset.topic.clone(), offset.partition))
        .filter(|key| !stored.contains(key))
        .collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(StateError::OffsetConflict {
            consumer_group: store.consumer_group.clone(),
            partitions: conflicts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_sql_quotes_names_and_values() {
        let store = OffsetStore {
            relation: offsets_relation("analytics"),
            consumer_group: "dvt's group".into(),
            dialect: Dialect::Postgres,
        };
        let sql = render(
            "store_offsets.sql",
            minijinja::context! {
                relation => &store.relation,
                consumer_group => &store.consumer_group,
                offsets => vec![
                    OffsetCommit { topic: "a".into(), partition: 0, expected: None, next_offset: 10 },
                    OffsetCommit { topic: "a".into(), partition: 1, expected: Some(5), next_offset: 7 },
                ],
            },
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(
            sql.contains("insert into \"analytics_dvt\".\"ingest_offsets\" as stored"),
            "{sql}"
        );
        assert!(sql.contains("('a', 0, null::bigint, 10::bigint),"), "{sql}");
        assert!(sql.contains("('a', 1, 5::bigint, 7::bigint)\n"), "{sql}");
        assert!(sql.contains("select 'dvt''s group', topic"), "{sql}");
        let sql = render(
            "load_offsets.sql",
            minijinja::context! {
                relation => &store.relation,
                consumer_group => &store.consumer_group,
                topics => vec!["a", "b"],
            },
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(sql.contains("and topic in ('a', 'b')"), "{sql}");
    }

    #[test]
    fn duckdb_offsets_are_an_update_of_the_stored_and_an_insert_of_the_new() {
        let offsets = [OffsetCommit {
            topic: "a".into(),
            partition: 1,
            expected: Some(5),
            next_offset: 7,
        }];
        let context = minijinja::context! {
            relation => offsets_relation("analytics"),
            consumer_group => "dvt's group",
            offsets => offsets,
        };
        let update =
            render_duckdb("ingest_update_offsets.sql", context.clone()).unwrap_or_else(|error| panic!("{error}"));
        assert!(update.contains("('a', 1, 5::bigint, 7::bigint)\n"), "{update}");
        assert!(
            update.contains("and stored.next_offset = batch.expected_offset"),
            "{update}"
        );
        assert!(
            update.contains("where stored.consumer_group = 'dvt''s group'"),
            "{update}"
        );
        let insert = render_duckdb("ingest_insert_offsets.sql", context).unwrap_or_else(|error| panic!("{error}"));
        assert!(insert.contains("('a', 1, 7::bigint)\n"), "{insert}");
        assert!(insert.contains("where not exists ("), "{insert}");
    }

    #[test]
    fn create_table_lists_columns_with_not_null() {
        let sql = render(
            "create_table.sql",
            minijinja::context! {
                relation => Relation::new("bronze", "events__dead_letter"),
                columns => table_columns(&dead_letter_columns(), Dialect::Postgres),
            },
        )
        .unwrap_or_else(|error| panic!("{error}"));
        insta::assert_snapshot!(sql, @r#"
        create table if not exists "bronze"."events__dead_letter" (
            "topic" text not null,
            "partition" integer not null,
            "offset" bigint not null,
            "key" bytea,
            "payload" bytea,
            "error" text not null,
            "event_timestamp" timestamptz,
            "failed_at" timestamptz not null
        )
        "#);
    }

    #[test]
    fn stored_offsets_give_the_expected_values() {
        let mut stored = StoredOffsets::default();
        stored.0.insert(("a".into(), 0), 10);
        let batch = EncodedBatch {
            offsets: vec![
                super::super::mapping::PartitionOffset {
                    topic: "a".into(),
                    partition: 0,
                    first_offset: 10,
                    next_offset: 20,
                },
                super::super::mapping::PartitionOffset {
                    topic: "a".into(),
                    partition: 1,
                    first_offset: 0,
                    next_offset: 3,
                },
            ],
            ..EncodedBatch::default()
        };
        let commits = stored.commits_for(&batch);
        assert_eq!(
            commits.iter().map(|commit| commit.expected).collect::<Vec<_>>(),
            vec![Some(10), None]
        );
        stored.record(&commits);
        assert_eq!(stored.get("a", 0), Some(20));
        assert_eq!(stored.get("a", 1), Some(3));
    }
}
