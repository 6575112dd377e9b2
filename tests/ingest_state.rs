//! Integration tests of `dvt ingest`'s warehouse side against a real
//! PostgreSQL and the embedded DuckDB ([`matrix!`]): batches are loaded with
//! their offsets in one transaction, poison messages land in the dead
//! letter, a failure anywhere in a batch stores nothing, and a consumer
//! with stale offsets cannot commit.
//!
//! On PostgreSQL each test creates its own database, named
//! `dvt_test_<random>`, through the admin connection in `DVT_TEST_PG_URL`
//! (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`), and
//! drops it when done, so the tests run in parallel; on DuckDB, a file in a
//! temp directory of its own.

#![cfg(feature = "duckdb")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use sqlx::ConnectOptions;

use dvt::adapter::duckdb::{DuckDbAdapter, DuckDbConfig};
use dvt::adapter::{Adapter, AdapterError, Connection, PostgresAdapter, PostgresConfig, Relation};
use dvt::ingest::{
    commit_after, commit_batch, commit_chunks, load_offsets, offsets_relation, prepare_tables, ColumnType, Destination,
    Dialect, JsonPath, Mapper, Mapping, Message, OffsetCommit, OffsetStore, Routed, StateError, StoredOffsets,
    TypedColumn,
};

mod common;
#[path = "support/engine.rs"]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;

use common::Server;
use engine::Engine;

/// A database of one's own, dropped when the test ends, even when it panics;
/// or a DuckDB file in a temp directory of its own.
struct TestDatabase {
    engine: Engine,
    server: Server,
    name: String,
    adapter: Arc<dyn Adapter>,
    /// The DuckDB file's directory, removed when dropped.
    _directory: Option<tempfile::TempDir>,
}

async fn admin(server: &Server, sql: &str) {
    let mut connection = server
        .options(&server.admin_database)
        .connect()
        .await
        .unwrap_or_else(|error| panic!("admin connection: {error}"));
    sqlx::raw_sql(sql)
        .execute(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("admin `{sql}`: {error}"));
}

impl TestDatabase {
    async fn on(engine: Engine) -> Self {
        match engine {
            Engine::Postgres => Self::new().await,
            Engine::DuckDb => {
                let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("a temp dir: {error}"));
                let mut config = DuckDbConfig::new(directory.path().join("warehouse.duckdb"), "analytics");
                config.threads = 2;
                let adapter = DuckDbAdapter::open(config)
                    .await
                    .unwrap_or_else(|error| panic!("open DuckDB: {error}"));
                Self {
                    engine,
                    server: Server::from_env(),
                    name: String::new(),
                    adapter: Arc::new(adapter),
                    _directory: Some(directory),
                }
            }
        }
    }

    fn dialect(&self) -> Dialect {
        self.engine.pick(Dialect::Postgres, Dialect::DuckDb)
    }

    fn mapper(&self, mapping: &Mapping) -> Mapper {
        Mapper::for_dialect(mapping, self.dialect())
    }

    /// A connection, and the raw table `bronze.events` with its dead letters
    /// and the state table, created.
    async fn raw_events(&self) -> (Box<dyn Connection>, Mapper, Destination, OffsetStore) {
        let mut connection = self.connection().await;
        let mapper = self.mapper(&Mapping::Raw);
        let destination = destination(&mapper, "events");
        let store = self.store("dvt-test");
        prepare_tables(&mut *connection, &store, &destination)
            .await
            .unwrap_or_else(|error| panic!("prepare: {error}"));
        (connection, mapper, destination, store)
    }

    fn store(&self, group: &str) -> OffsetStore {
        OffsetStore {
            dialect: self.dialect(),
            ..store(group)
        }
    }

    async fn new() -> Self {
        let server = Server::from_env();
        let name = format!("dvt_test_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        admin(&server, &format!("create database \"{name}\"")).await;
        let mut config = PostgresConfig::new(
            server.host.clone(),
            server.user.clone(),
            server.password.clone(),
            &name,
            "analytics",
        );
        config.port = server.port;
        config.threads = 2;
        let adapter = PostgresAdapter::connect(config)
            .await
            .unwrap_or_else(|error| panic!("connect to `{name}`: {error}"));
        Self {
            engine: Engine::Postgres,
            server,
            name,
            adapter: Arc::new(adapter),
            _directory: None,
        }
    }

    async fn connection(&self) -> Box<dyn Connection> {
        self.adapter
            .connection()
            .await
            .unwrap_or_else(|error| panic!("connection: {error}"))
    }

    async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut connection = self.connection().await;
        connection
            .query(sql, None)
            .await
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
            .rows
    }

    async fn count(&self, relation: &Relation) -> i64 {
        let rows = self.rows(&format!("select count(*) from {relation}")).await;
        rows[0][0].as_deref().and_then(|text| text.parse().ok()).unwrap_or(-1)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.engine == Engine::DuckDb {
            return;
        }
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop cannot await, and the test's runtime may be shutting down.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(admin(
                &server,
                &format!("drop database if exists \"{name}\" with (force)"),
            ));
        });
        let _joined = cleanup.join();
    }
}

fn batch_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-02-01T10:00:00Z")
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_default()
}

fn store(group: &str) -> OffsetStore {
    OffsetStore {
        relation: offsets_relation("analytics"),
        consumer_group: group.to_string(),
        dialect: Dialect::Postgres,
    }
}

/// A batch of `{}` messages at `offsets` of partition `partition` of topic
/// `events`.
fn empty_objects(mapper: &Mapper, partition: i32, offsets: std::ops::RangeInclusive<i64>) -> dvt::ingest::EncodedBatch {
    let mut encoder = mapper.batch(batch_time());
    for offset in offsets {
        encoder.push(&message("events", partition, offset, b"{}"));
    }
    encoder.finish()
}

/// Runs an async test on a runtime of its own.
fn block_on<F: std::future::Future<Output = ()>>(test: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("a runtime: {error}"))
        .block_on(test);
}

fn destination(mapper: &Mapper, identifier: &str) -> Destination {
    let bronze = Relation::new("bronze", identifier);
    Destination {
        dead_letter: bronze.with_identifier(format!("{identifier}__dead_letter")),
        bronze,
        columns: mapper.columns().to_vec(),
    }
}

fn message<'a>(topic: &'a str, partition: i32, offset: i64, payload: &'a [u8]) -> Message<'a> {
    Message {
        topic,
        partition,
        offset,
        timestamp: Some(1_706_689_800_123),
        key: Some(b"k"),
        payload: Some(payload),
        headers: &[],
    }
}

fn typed_mapper(columns: &[(&str, &str, &str)]) -> Mapper {
    Mapper::new(&typed_mapping(columns))
}

fn typed_mapping(columns: &[(&str, &str, &str)]) -> Mapping {
    let columns = columns
        .iter()
        .enumerate()
        .map(|(index, (name, data_type, path))| TypedColumn {
            name: name.to_string(),
            data_type: ColumnType::parse(data_type).unwrap_or_else(|| panic!("type {data_type}")),
            path: JsonPath::parse(path).unwrap_or_else(|(error, _)| panic!("{error}")),
            line: index + 1,
        })
        .collect();
    Mapping::Typed(columns)
}

/// Payloads that reach the edges of what `COPY` and `jsonb` accept: every
/// one must either load or be a dead letter, and never fail the batch.
const EDGE_PAYLOADS: &[&[u8]] = &[
    br#"{"rental_id": 1, "note": "plain"}"#,
    br#"{"rental_id": 2, "note": "comma, \"quotes\" and\nnewlines\r\n"}"#,
    br#"{"rental_id": 3, "note": "\\."}"#,
    b"{\"rental_id\": 4, \"note\": \"\\\\.\\n\\\\.\"}",
    br#"{"rental_id": 5, "note": "nul \u0000 escape"}"#,
    br#"{"rental_id": 6, "note": "escaped backslash \\u0000 is text"}"#,
    b"{\"rental_id\": 7, \"note\": \"raw nul \x00 byte\"}",
    b"{\"rental_id\": 8, \"note\": \"bad utf-8 \xc3\x28\"}",
    br#"{"rental_id": 9, "note": "unicode \u00e9 \ud83d\ude00"}"#,
    br#"{"rental_id": 10, "note": "lone surrogate \udc00"}"#,
    br#"{"rental_id": 11, "big": 1e308, "small": -1e-308, "long": 123456789012345678901234567890}"#,
    br#"{"rental_id": 12, "huge": 1e400}"#,
    br#"[1, 2, "top-level array"]"#,
    br#""a top-level string""#,
    br#"{"rental_id": 13"#,
    b"",
    b"   ",
    br#"{"rental_id": 14, "deep": [[[[[[[[[[{"a": null}]]]]]]]]]]}"#,
];

fn a_raw_batch_loads_rows_dead_letters_and_offsets_in_one_commit(engine: Engine) {
    block_on(raw_batch(engine));
}
matrix!(a_raw_batch_loads_rows_dead_letters_and_offsets_in_one_commit);

async fn raw_batch(engine: Engine) {
    let database = TestDatabase::on(engine).await;
    let mut connection = database.connection().await;
    let mapper = database.mapper(&Mapping::Raw);
    let destination = destination(&mapper, "rental_events");
    let store = database.store("dvt-test");
    prepare_tables(&mut *connection, &store, &destination)
        .await
        .unwrap_or_else(|error| panic!("prepare: {error}"));
    // Twice: creating what exists is fine.
    prepare_tables(&mut *connection, &store, &destination)
        .await
        .unwrap_or_else(|error| panic!("prepare again: {error}"));

    let headers: &[(&str, Option<&[u8]>)] = &[("trace", Some(b"t-1")), ("binary", Some(&[0, 159])), ("empty", None)];
    let mut encoder = mapper.batch(batch_time());
    let mut routed = Vec::new();
    for (offset, payload) in EDGE_PAYLOADS.iter().enumerate() {
        let mut next = message("rentals", (offset % 2) as i32, offset as i64, payload);
        next.headers = headers;
        routed.push(encoder.push(&next));
    }
    let mut tombstone = message("rentals", 0, 100, b"");
    tombstone.payload = None;
    tombstone.key = None;
    routed.push(encoder.push(&tombstone));
    let expected_rows = routed.iter().filter(|routed| **routed == Routed::Row).count();
    let expected_dead = routed.len() - expected_rows;
    assert_eq!((expected_rows, expected_dead), (11, 8), "{routed:#?}");

    let batch = encoder.finish();
    let mut stored = load_offsets(&mut *connection, &store, &["rentals".to_string()])
        .await
        .unwrap_or_else(|error| panic!("load: {error}"));
    assert_eq!(stored, StoredOffsets::default());
    let commits = stored.commits_for(&batch);
    let committed = commit_batch(&mut *connection, &store, &destination, batch, &commits)
        .await
        .unwrap_or_else(|error| panic!("commit: {error:?}"));
    stored.record(&commits);
    assert_eq!(
        (committed.rows, committed.dead_letters),
        (expected_rows as u64, expected_dead as u64)
    );

    // The payloads read back as the JSON that was sent.
    let rows = database
        .rows(
            "select \"offset\", payload->>'note', key, headers->>'trace', headers->>'binary', headers->'empty', \
             event_timestamp = '2024-01-31 08:30:00.123+00', ingested_at = '2024-02-01 10:00:00+00' \
             from bronze.rental_events where \"offset\" in (1, 3, 100) order by \"offset\"",
        )
        .await;
    let text = |value: &str| Some(value.to_string());
    let yes = || text(engine.pick("t", "true"));
    assert_eq!(
        rows,
        vec![
            vec![
                text("1"),
                text("comma, \"quotes\" and\nnewlines\r\n"),
                text("k"),
                text("t-1"),
                text("\\x009f"),
                text("null"),
                yes(),
                yes()
            ],
            vec![
                text("3"),
                text("\\.\n\\."),
                text("k"),
                text("t-1"),
                text("\\x009f"),
                text("null"),
                yes(),
                yes()
            ],
            // A tombstone with no key and no headers.
            vec![text("100"), None, None, None, None, None, yes(), yes()],
        ]
    );

    // Dead letters keep the exact bytes, with the reason.
    let hex = engine.pick("encode(payload, 'hex')", "lower(hex(payload))");
    let dead = database
        .rows(&format!(
            "select \"offset\", {hex}, error is not null, failed_at = '2024-02-01 10:00:00+00' \
             from bronze.rental_events__dead_letter order by \"offset\""
        ))
        .await;
    let dead_offsets: Vec<i64> = dead
        .iter()
        .filter_map(|row| row[0].as_deref().and_then(|text| text.parse().ok()))
        .collect();
    assert_eq!(dead_offsets, vec![4, 6, 7, 9, 11, 14, 15, 16]);
    for row in &dead {
        let offset: usize = row[0].as_deref().and_then(|text| text.parse().ok()).unwrap_or_default();
        let hex: String = EDGE_PAYLOADS[offset].iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(row[1].as_deref(), Some(hex.as_str()), "offset {offset}");
        assert_eq!(row[2..], [yes(), yes()]);
    }

    // The offsets were stored with the batch, and read back.
    let reloaded = load_offsets(&mut *connection, &store, &["rentals".to_string(), "other".to_string()])
        .await
        .unwrap_or_else(|error| panic!("reload: {error}"));
    assert_eq!(reloaded, stored);
    assert_eq!(reloaded.get("rentals", 0), Some(101));
    assert_eq!(reloaded.get("rentals", 1), Some(18));
    let other_group = load_offsets(&mut *connection, &database.store("another"), &["rentals".to_string()])
        .await
        .unwrap_or_else(|error| panic!("other group: {error}"));
    assert_eq!(other_group, StoredOffsets::default());
}

/// A column of each type a typed mapping declares.
const TYPED_COLUMNS: &[(&str, &str, &str)] = &[
    ("rental_id", "bigint", "$.rental_id"),
    ("quantity", "integer", "$.quantity"),
    ("amount", "numeric(10,2)", "$.payment.amount"),
    ("rate", "double", "$.rate"),
    ("returned", "boolean", "$.returned"),
    ("note", "text", "$.note"),
    ("code", "varchar(3)", "$.code"),
    ("rental_date", "date", "$.day"),
    ("local_time", "timestamp", "$.local"),
    ("rented_at", "timestamptz", "$.at"),
    ("payment", "jsonb", "$.payment"),
    ("id", "uuid", "$.id"),
];

#[tokio::test]
async fn typed_values_that_pass_the_mapping_load_as_their_types() {
    let database = TestDatabase::new().await;
    let mut connection = database.connection().await;
    let mapper = typed_mapper(TYPED_COLUMNS);
    let destination = destination(&mapper, "typed_events");
    let store = store("dvt-test");
    prepare_tables(&mut *connection, &store, &destination)
        .await
        .unwrap_or_else(|error| panic!("prepare: {error}"));
    let payloads: &[&[u8]] = &[
        br#"{"rental_id": 1, "quantity": "2", "payment": {"amount": 4.995}, "rate": 1e300, "returned": "yes",
             "note": "", "code": "ab ", "day": "2024-02-29", "local": "2024-01-31T08:30:00.123456",
             "at": "2024-01-31T08:30:00+01:00", "id": "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}"}"#,
        br#"{"rental_id": "9223372036854775807", "quantity": -2147483648, "payment": {"amount": "-99999999.99"},
             "rate": "-Infinity", "returned": 0, "note": "\u00e9\t\"x\"", "code": "\u00e9\u00e9\u00e9", "day": "infinity",
             "local": "2024-01-31 08:30:00", "at": "2024-01-31 08:30:00Z", "payment2": null}"#,
        br#"{"rental_id": null}"#,
        // Each of these is a dead letter.
        br#"{"rental_id": 2, "quantity": 2147483648}"#,
        br#"{"rental_id": 3, "payment": {"amount": 123456789}}"#,
        br#"{"rental_id": 4, "code": "abcd"}"#,
        br#"{"rental_id": 5, "day": "2024-02-30"}"#,
        br#"{"rental_id": 6, "at": "yesterday"}"#,
        br#"{"rental_id": 7, "rate": "1e999"}"#,
        br#"{"rental_id": 8, "payment": {"amount": 1, "memo": "\u0000"}}"#,
        br#"{"rental_id": 9, "id": "a0eebc99-9c0b"}"#,
    ];
    let mut encoder = mapper.batch(batch_time());
    for (offset, payload) in payloads.iter().enumerate() {
        encoder.push(&message("typed", 0, offset as i64, payload));
    }
    let batch = encoder.finish();
    assert_eq!((batch.row_count, batch.dead_letter_count), (3, 8));
    let commits = StoredOffsets::default().commits_for(&batch);
    commit_batch(&mut *connection, &store, &destination, batch, &commits)
        .await
        .unwrap_or_else(|error| panic!("commit: {error:?}"));
    let rows = database
        .rows(
            "select rental_id, quantity, amount, rate, returned, note, code, rental_date, local_time, \
             rented_at at time zone 'UTC', payment->>'amount', id from bronze.typed_events order by \"offset\"",
        )
        .await;
    let row = |values: &[Option<&str>]| values.iter().map(|value| value.map(str::to_string)).collect::<Vec<_>>();
    assert_eq!(
        rows,
        vec![
            row(&[
                Some("1"),
                Some("2"),
                Some("5.00"),
                Some("1e+300"),
                Some("t"),
                Some(""),
                Some("ab "),
                Some("2024-02-29"),
                Some("2024-01-31 08:30:00.123456"),
                Some("2024-01-31 07:30:00"),
                Some("4.995"),
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ]),
            row(&[
                Some("9223372036854775807"),
                Some("-2147483648"),
                Some("-99999999.99"),
                Some("-Infinity"),
                Some("f"),
                Some("é\t\"x\""),
                Some("ééé"),
                Some("infinity"),
                Some("2024-01-31 08:30:00"),
                Some("2024-01-31 08:30:00"),
                Some("-99999999.99"),
                None,
            ]),
            row(&[None, None, None, None, None, None, None, None, None, None, None, None]),
        ]
    );
    assert_eq!(database.count(&destination.dead_letter).await, 8);
}

/// DuckDB's appender takes the typed columns as Arrow arrays: integers,
/// doubles and booleans parsed by the mapping, the rest as text that DuckDB
/// casts to the column's type; the metadata columns as integers and UTC
/// timestamps.
#[tokio::test]
async fn typed_values_append_to_duckdb_as_their_types() {
    let database = TestDatabase::on(Engine::DuckDb).await;
    let mut connection = database.connection().await;
    let mapper = database.mapper(&typed_mapping(TYPED_COLUMNS));
    let destination = destination(&mapper, "typed_events");
    let store = database.store("dvt-test");
    prepare_tables(&mut *connection, &store, &destination)
        .await
        .unwrap_or_else(|error| panic!("prepare: {error}"));
    let payloads: &[&[u8]] = &[
        br#"{"rental_id": 1, "quantity": " 2 ", "payment": {"amount": 4.995}, "rate": 1.5e3, "returned": "yes",
             "note": "a,\"b\"\nc", "day": "2024-02-29", "at": "2024-01-31T08:30:00+01:00",
             "id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}"#,
        br#"{"rental_id": "9223372036854775807", "quantity": -2147483648, "returned": "of", "rate": "-Infinity"}"#,
        br#"{"rental_id": null}"#,
        // A dead letter, which leaves the rows before and after whole.
        br#"{"rental_id": 2, "quantity": 2147483648}"#,
        br#"{"rental_id": 3, "returned": 0}"#,
    ];
    let mut encoder = mapper.batch(batch_time());
    for (offset, payload) in payloads.iter().enumerate() {
        encoder.push(&message("typed", 0, offset as i64, payload));
    }
    let batch = encoder.finish();
    assert_eq!((batch.row_count, batch.dead_letter_count), (4, 1));
    assert!(batch.rows.is_empty(), "DuckDB's rows are not CSV");
    let commits = StoredOffsets::default().commits_for(&batch);
    let committed = commit_batch(&mut *connection, &store, &destination, batch, &commits)
        .await
        .unwrap_or_else(|error| panic!("commit: {error:?}"));
    assert_eq!((committed.rows, committed.dead_letters), (4, 1));
    let rows = database
        .rows(
            "select rental_id, quantity, amount, rate, returned, note, rental_date, \
             epoch_ms(rented_at), payment, id, topic, partition, \"offset\", \
             epoch_ms(event_timestamp), epoch_ms(ingested_at) \
             from bronze.typed_events order by \"offset\"",
        )
        .await;
    let row = |values: &[Option<&str>]| values.iter().map(|value| value.map(str::to_string)).collect::<Vec<_>>();
    let metadata = |offset: &'static str| {
        [
            Some("typed"),
            Some("0"),
            Some(offset),
            Some("1706689800123"),
            Some("1706781600000"),
        ]
    };
    let with = |values: [Option<&'static str>; 10], offset: &'static str| {
        let mut all = values.to_vec();
        all.extend(metadata(offset));
        row(&all)
    };
    assert_eq!(
        rows,
        vec![
            with(
                [
                    Some("1"),
                    Some("2"),
                    Some("5.00"),
                    Some("1500.0"),
                    Some("true"),
                    Some("a,\"b\"\nc"),
                    Some("2024-02-29"),
                    Some("1706686200000"),
                    Some(r#"{"amount": 4.995}"#),
                    Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                ],
                "0"
            ),
            with(
                [
                    Some("9223372036854775807"),
                    Some("-2147483648"),
                    None,
                    Some("-inf"),
                    Some("false"),
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
                "1"
            ),
            with([None; 10], "2"),
            with(
                [Some("3"), None, None, None, Some("false"), None, None, None, None, None],
                "4"
            ),
        ]
    );
    assert_eq!(database.count(&destination.dead_letter).await, 1);
    let stored = load_offsets(&mut *connection, &store, &["typed".to_string()])
        .await
        .unwrap_or_else(|error| panic!("load: {error}"));
    assert_eq!(stored.get("typed", 0), Some(5));
}

fn a_failure_in_the_middle_of_a_batch_stores_neither_rows_nor_offsets(engine: Engine) {
    block_on(failure_in_the_middle(engine));
}
matrix!(a_failure_in_the_middle_of_a_batch_stores_neither_rows_nor_offsets);

async fn failure_in_the_middle(engine: Engine) {
    let database = TestDatabase::on(engine).await;
    let (mut connection, mapper, destination, store) = database.raw_events().await;
    let payloads: Vec<String> = (0..2000).map(|index| format!("{{\"n\": {index}}}")).collect();
    let encode = || {
        let mut encoder = mapper.batch(batch_time());
        for (offset, payload) in payloads.iter().enumerate() {
            encoder.push(&message("events", 0, offset as i64, payload.as_bytes()));
        }
        encoder.push(&message("events", 0, 2000, b"poison"));
        encoder.finish()
    };
    let commits = vec![OffsetCommit {
        topic: "events".into(),
        partition: 0,
        expected: None,
        next_offset: 2001,
    }];

    // The producer of the chunks fails after the first chunk was sent.
    let batch = encode();
    let mut chunks: Vec<Result<Vec<u8>, AdapterError>> = batch.rows.into_iter().map(Ok).collect();
    chunks.push(Err(AdapterError::MissingTestCount));
    let error = commit_chunks(
        &mut *connection,
        &store,
        &destination,
        Some(stream::iter(chunks).boxed()),
        None,
        &commits,
    )
    .await
    .err();
    assert!(matches!(error, Some(StateError::Warehouse { .. })), "{error:?}");

    // The server rejects the dead letters, after the rows went in (with
    // `COPY` on PostgreSQL, with the appender on DuckDB).
    let mut batch = encode();
    assert_eq!(batch.arrow_rows.is_some(), engine == Engine::DuckDb);
    batch.dead_letters = vec![b"topic,partition,offset,key,payload,error,event_timestamp,failed_at\n\
                                events,0,not-a-number,,,e,,2024-01-01\n"
        .to_vec()];
    let error = commit_batch(&mut *connection, &store, &destination, batch, &commits)
        .await
        .err();
    let Some(StateError::Warehouse { source, .. }) = &error else {
        panic!("expected a warehouse error, got {error:?}");
    };
    assert_eq!(source.sqlstate(), Some("22P02"), "{source}");

    assert_eq!(database.count(&destination.bronze).await, 0);
    assert_eq!(database.count(&destination.dead_letter).await, 0);
    assert_eq!(database.count(&store.relation).await, 0);
    let stored = load_offsets(&mut *connection, &store, &["events".to_string()])
        .await
        .unwrap_or_else(|error| panic!("load: {error}"));
    assert_eq!(stored, StoredOffsets::default());

    // The connection is usable afterwards, and the same batch commits.
    let committed = commit_batch(&mut *connection, &store, &destination, encode(), &commits)
        .await
        .unwrap_or_else(|error| panic!("commit: {error:?}"));
    assert_eq!((committed.rows, committed.dead_letters), (2000, 1));
    assert_eq!(database.count(&destination.bronze).await, 2000);
}

fn a_consumer_with_stale_offsets_cannot_commit(engine: Engine) {
    block_on(stale_offsets(engine));
}
matrix!(a_consumer_with_stale_offsets_cannot_commit);

async fn stale_offsets(engine: Engine) {
    let database = TestDatabase::on(engine).await;
    let (mut connection, mapper, destination, store) = database.raw_events().await;
    let batch = |first: i64, last: i64| empty_objects(&mapper, 3, first..=last);

    // Two consumers both read "no offset stored" for partition 3.
    let mut first = StoredOffsets::default();
    let mut second = StoredOffsets::default();
    let first_batch = batch(0, 9);
    let first_commits = first.commits_for(&first_batch);
    commit_batch(&mut *connection, &store, &destination, first_batch, &first_commits)
        .await
        .unwrap_or_else(|error| panic!("first: {error:?}"));
    first.record(&first_commits);

    let second_batch = batch(0, 4);
    let second_commits = second.commits_for(&second_batch);
    let error = commit_batch(&mut *connection, &store, &destination, second_batch, &second_commits)
        .await
        .err();
    let Some(StateError::OffsetConflict { partitions, .. }) = &error else {
        panic!("expected an offset conflict, got {error:?}");
    };
    assert_eq!(partitions, &[("events".to_string(), 3)]);
    assert_eq!(
        error.map(|error| error.to_string()).unwrap_or_default(),
        "another consumer in group `dvt-test` moved the offsets of `events` [3] since this one read them; \
         the batch was rolled back"
    );

    // The second one reloads, and carries on from where the first stopped.
    second = load_offsets(&mut *connection, &store, &["events".to_string()])
        .await
        .unwrap_or_else(|error| panic!("reload: {error}"));
    assert_eq!(second.get("events", 3), Some(10));
    let next_batch = batch(10, 14);
    let next_commits = second.commits_for(&next_batch);
    commit_batch(&mut *connection, &store, &destination, next_batch, &next_commits)
        .await
        .unwrap_or_else(|error| panic!("next: {error:?}"));

    // Now the first is stale.
    let stale_batch = batch(10, 12);
    let stale_commits = first.commits_for(&stale_batch);
    let error = commit_batch(&mut *connection, &store, &destination, stale_batch, &stale_commits)
        .await
        .err();
    assert!(matches!(error, Some(StateError::OffsetConflict { .. })), "{error:?}");

    let offsets = database
        .rows("select \"offset\" from bronze.events order by \"offset\"")
        .await;
    let offsets: Vec<String> = offsets.into_iter().filter_map(|row| row[0].clone()).collect();
    assert_eq!(offsets, (0..15).map(|offset| offset.to_string()).collect::<Vec<_>>());
}

fn a_bronze_table_missing_mapped_columns_is_reported(engine: Engine) {
    block_on(missing_columns(engine));
}
matrix!(a_bronze_table_missing_mapped_columns_is_reported);

async fn missing_columns(engine: Engine) {
    let database = TestDatabase::on(engine).await;
    let mut connection = database.connection().await;
    connection
        .execute("create schema bronze; create table bronze.narrow (rental_id bigint, topic text)")
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let mapper = typed_mapper(&[
        ("rental_id", "bigint", "$.rental_id"),
        ("amount", "numeric", "$.amount"),
    ]);
    let error = prepare_tables(
        &mut *connection,
        &database.store("dvt-test"),
        &destination(&mapper, "narrow"),
    )
    .await
    .err()
    .map(|error| error.to_string())
    .unwrap_or_default();
    assert_eq!(
        error,
        "`\"bronze\".\"narrow\"` lacks the columns `amount`, `partition`, `offset`, `event_timestamp`, `ingested_at` \
         that the ingest mapping writes"
    );
}

fn a_batch_loaded_after_one_that_failed_stores_nothing(engine: Engine) {
    block_on(after_a_failure(engine));
}
matrix!(a_batch_loaded_after_one_that_failed_stores_nothing);

/// Pipelined loads: a batch sent while the one read before it commits
/// stores its offsets only once that one committed, and rolls back when it
/// did not.
async fn after_a_failure(engine: Engine) {
    let database = TestDatabase::on(engine).await;
    let (mut connection, mapper, destination, store) = database.raw_events().await;
    let batch = |first: i64, last: i64| empty_objects(&mapper, 0, first..=last);
    let mut stored = StoredOffsets::default();
    let first = batch(0, 9);
    let commits = stored.commits_for(&first);
    let error = commit_after(&mut *connection, &store, &destination, first, &commits, async { false })
        .await
        .err();
    assert!(matches!(error, Some(StateError::Aborted)), "{error:?}");
    assert_eq!(database.count(&destination.bronze).await, 0);
    assert_eq!(database.count(&store.relation).await, 0);

    let first = batch(0, 9);
    let commits = stored.commits_for(&first);
    commit_after(&mut *connection, &store, &destination, first, &commits, async { true })
        .await
        .unwrap_or_else(|error| panic!("commit: {error:?}"));
    stored.record(&commits);
    assert_eq!(database.count(&destination.bronze).await, 10);
    assert_eq!(
        load_offsets(&mut *connection, &store, &["events".to_string()])
            .await
            .unwrap_or_else(|error| panic!("load: {error}")),
        stored
    );
}
