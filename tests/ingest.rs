//! End-to-end tests of `dvt ingest`: the real binary, a `dvt-mock-kafka`
//! broker of its own per test, and a warehouse of its own: a PostgreSQL
//! database, or a DuckDB file. Each test runs on both ([`matrix!`]), except
//! where the two differ by design: several processes share a PostgreSQL
//! database, while DuckDB allows one process per file.
//!
//! While a `dvt ingest` runs on DuckDB it holds the file, so the DuckDB
//! tests follow a running ingest by the lines it prints, and read the
//! warehouse once it has stopped.

#![cfg(all(feature = "kafka", feature = "duckdb"))]

#[path = "support/background.rs"]
mod background;
#[path = "support/command.rs"]
mod command;
mod common;
#[path = "support/engine.rs"]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;
// Not every helper of the broker handle is used here.
#[allow(dead_code)]
#[path = "support/mock_kafka.rs"]
mod mock_kafka;

use std::time::Duration;

use background::Background;
use engine::Engine;
use mock_kafka::MockKafka;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use sqlx::{ConnectOptions, Row};

use common::Server;

/// The DuckDB file of a test project, relative to it.
const DUCKDB_FILE: &str = "warehouse.duckdb";

/// A project whose source `events.rental_events` is fed from the topic
/// `rental_events`, with a database of its own (dropped at the end) or a
/// DuckDB file.
struct IngestProject {
    dir: tempfile::TempDir,
    engine: Engine,
    server: Server,
    database: String,
    runtime: tokio::runtime::Runtime,
}

impl IngestProject {
    fn new(engine: Engine, bootstrap: &str) -> Self {
        let server = Server::from_env();
        let database = format!("dvt_ingest_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let project = Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            engine,
            server,
            database,
            runtime,
        };
        let write = |path: &str, text: &str| project.write(path, text);
        write("project.yml", "name: ingest\nprofile: ingest\n");
        let warehouse = match engine {
            Engine::Postgres => {
                project.admin(&format!("create database \"{}\"", project.database));
                format!(
                    "type: postgres\n      host: {}\n      port: {}\n      user: {}\n      \
                     password: \"{{{{ env_var('DVT_PG_PASSWORD', 'postgres') }}}}\"\n      dbname: {}",
                    project.server.host, project.server.port, project.server.user, project.database
                )
            }
            Engine::DuckDb => format!("type: duckdb\n      path: {DUCKDB_FILE}"),
        };
        write(
            "profiles.yml",
            &format!(
                "ingest:\n  target: dev\n  outputs:\n    dev:\n      {warehouse}\n      \
                 schema: analytics\n      threads: 2\n      kafka_bootstrap_servers: \"{bootstrap}\"\n      \
                 kafka_session_timeout_ms: 6000\n      kafka_heartbeat_interval_ms: 1000\n"
            ),
        );
        write(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: events\n    schema: bronze\n    tables:\n      - name: rental_events\n        \
             ingest:\n          topics: [rental_events]\n          format: json\n          mapping: typed\n          \
             columns:\n            - {name: rental_id, type: bigint, path: $.rental_id}\n            \
             - {name: amount, type: \"numeric(10,2)\", path: $.amount}\n",
        );
        project
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
        std::fs::write(path, text).expect("write");
    }

    fn admin(&self, sql: &str) {
        self.runtime.block_on(async {
            let mut connection = self
                .server
                .options(&self.server.admin_database)
                .connect()
                .await
                .expect("admin connection");
            sqlx::raw_sql(sql)
                .execute(&mut connection)
                .await
                .expect("admin statement");
        });
    }

    /// The first column of the first row of `sql`, which must be text. On
    /// DuckDB, only while no `dvt` process holds the file.
    fn value(&self, sql: &str) -> String {
        match self.engine {
            Engine::Postgres => self.runtime.block_on(async {
                let mut connection = self.server.options(&self.database).connect().await.expect("connect");
                let row = sqlx::query(sql).fetch_one(&mut connection).await.expect("query");
                row.try_get::<String, _>(0).expect("a text value")
            }),
            Engine::DuckDb => {
                let path = self.dir.path().join(DUCKDB_FILE);
                let connection =
                    duckdb::Connection::open(&path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
                connection
                    .query_row(sql, [], |row| row.get::<_, String>(0))
                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
            }
        }
    }

    /// `dvt ingest ARGS` on this project, to its end.
    fn ingest(&self, args: &[&str]) -> (Option<i32>, String) {
        self.dvt("ingest", args)
    }

    /// `dvt COMMAND ARGS` on this project, to its end.
    fn dvt(&self, command: &str, args: &[&str]) -> (Option<i32>, String) {
        let output = command::dvt_command()
            .args(self.arguments(command))
            .args(args)
            .env("DVT_PG_PASSWORD", &self.server.password)
            .timeout(Duration::from_secs(180))
            .output()
            .expect("dvt runs");
        (
            output.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    }

    /// `dvt ingest ARGS` on this project, in the background.
    fn background(&self, args: &[&str]) -> Background {
        let mut dvt = std::process::Command::new(env!("CARGO_BIN_EXE_dvt"));
        command::isolate(&mut dvt);
        dvt.args(self.arguments("ingest"))
            .args(args)
            .env("DVT_PG_PASSWORD", &self.server.password);
        Background::spawn(dvt)
    }

    fn arguments(&self, command: &str) -> Vec<std::ffi::OsString> {
        vec![
            command.into(),
            "--project-dir".into(),
            self.dir.path().into(),
            "--profiles-dir".into(),
            self.dir.path().into(),
        ]
    }

    /// Rows, distinct ids and the sums of ids and amounts in the bronze
    /// table, and the rows in its dead-letter table.
    fn loaded(&self) -> Loaded {
        let text = self.value(
            "select count(*)::text || ' ' || count(distinct rental_id)::text || ' ' || coalesce(sum(rental_id), 0)::text \
             || ' ' || coalesce(sum(amount), 0)::text || ' ' || (select count(*) from bronze.rental_events__dead_letter)::text \
             from bronze.rental_events",
        );
        let fields: Vec<&str> = text.split(' ').collect();
        Loaded {
            rows: fields[0].parse().expect("a count"),
            distinct: fields[1].parse().expect("a count"),
            id_sum: fields[2].parse().expect("a sum"),
            amount_sum: fields[3].to_string(),
            dead_letters: fields[4].parse().expect("a count"),
        }
    }

    /// How many rows the bronze table has, 0 before it exists.
    fn bronze_rows(&self) -> u64 {
        self.value_if_exists(
            "bronze",
            "rental_events",
            "select count(*)::text from bronze.rental_events",
        )
        .map_or(0, |count| count.parse().expect("a count"))
    }

    /// `sql`'s value once `schema.table` exists; `None` before.
    fn value_if_exists(&self, schema: &str, table: &str, sql: &str) -> Option<String> {
        let exists = self.value(&format!(
            "select (count(*) > 0)::text from information_schema.tables \
             where table_schema = '{schema}' and table_name = '{table}'"
        ));
        matches!(exists.as_str(), "true" | "t").then(|| self.value(sql))
    }

    /// `target/ingest_results.json` of the last run.
    fn results(&self) -> serde_json::Value {
        let path = self.dir.path().join("target/ingest_results.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}\n{text}", path.display()))
    }
}

/// What the bronze table holds, to compare with what was produced.
#[derive(Debug, PartialEq, Eq)]
struct Loaded {
    rows: u64,
    distinct: u64,
    id_sum: u64,
    amount_sum: String,
    dead_letters: u64,
}

/// What loading the messages `ids` exactly once leaves in the warehouse.
fn expected(ids: std::ops::Range<u64>) -> Loaded {
    let good: Vec<u64> = ids.clone().filter(|id| id % 1000 != 0).collect();
    let cents: u64 = good.iter().map(|id| (id % 100) * 100 + id % 7).sum();
    Loaded {
        rows: good.len() as u64,
        distinct: good.len() as u64,
        id_sum: good.iter().sum(),
        amount_sum: format!("{}.{:02}", cents / 100, cents % 100),
        dead_letters: ids.count() as u64 - good.len() as u64,
    }
}

/// Waits until `condition` holds, at most `limit`.
fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for IngestProject {
    fn drop(&mut self) {
        if self.engine == Engine::DuckDb {
            return;
        }
        let drop_database = format!("drop database if exists \"{}\" with (force)", self.database);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.admin(&drop_database)));
    }
}

/// Produces messages `ids` to `rental_events`; every id divisible by 1,000
/// is not JSON.
fn produce(bootstrap: &str, ids: std::ops::Range<u64>) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create()
        .expect("a producer");
    for id in ids {
        let key = id.to_string();
        let payload = if id % 1000 == 0 {
            "not json {".to_string()
        } else {
            format!("{{\"rental_id\": {id}, \"amount\": {}.{:02}}}", id % 100, id % 7)
        };
        while let Err((error, _)) = producer.send(BaseRecord::to("rental_events").key(&key).payload(&payload)) {
            producer.poll(Duration::from_millis(10));
            assert!(error.to_string().contains("Queue full"), "produce {id}: {error}");
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The freshness percentiles of one source in `ingest_results.json`, as
/// `(samples, p50, p95, max)`, checked to be in order.
fn freshness(source: &serde_json::Value) -> (u64, f64, f64, f64) {
    let freshness = &source["freshness"];
    let seconds = |name: &str| {
        freshness[name]
            .as_f64()
            .unwrap_or_else(|| panic!("`{name}` is a number: {freshness}"))
    };
    let (p50, p95, max) = (seconds("p50_seconds"), seconds("p95_seconds"), seconds("max_seconds"));
    assert!(0.0 <= p50 && p50 <= p95 && p95 <= max, "{freshness}");
    (freshness["samples"].as_u64().unwrap_or_default(), p50, p95, max)
}

/// Each partition's `(committed_offset, high_watermark, lag)` in a source
/// of `ingest_results.json`.
fn partitions(source: &serde_json::Value) -> Vec<(i64, i64, i64)> {
    source["partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of partitions: {source}"))
        .iter()
        .map(|partition| {
            let number = |name: &str| {
                partition[name]
                    .as_i64()
                    .unwrap_or_else(|| panic!("`{name}`: {partition}"))
            };
            (number("committed_offset"), number("high_watermark"), number("lag"))
        })
        .collect()
}

fn ingest_drains_the_topic_once_with_poison_messages_in_the_dead_letter_table(engine: Engine) {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 3");
    let project = IngestProject::new(engine, kafka.bootstrap());
    produce(kafka.bootstrap(), 1..10_001);

    let (code, output) = project.ingest(&[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Ingested 9,990 rows"), "{output}");
    assert!(output.contains("10 messages went to the dead-letter table"), "{output}");
    assert_eq!(
        project.value("select count(*)::text || ' ' || count(distinct rental_id)::text from bronze.rental_events"),
        "9990 9990"
    );
    assert_eq!(
        project.value("select count(*)::text from bronze.rental_events__dead_letter"),
        "10"
    );
    assert_eq!(
        project.value("select sum(next_offset)::text from analytics_dvt.ingest_offsets"),
        "10000"
    );

    // The run's artifact: what it loaded, no lag left, and the freshness of
    // every message (the producer stamps each with its time).
    let results = project.results();
    assert_eq!(results["metadata"]["follow"], false, "{results}");
    let source = &results["sources"][0];
    assert_eq!(source["unique_id"], "source.ingest.events.rental_events", "{results}");
    assert_eq!(source["relation"], "\"bronze\".\"rental_events\"", "{results}");
    assert_eq!(
        (source["rows"].as_u64(), source["dead_letters"].as_u64()),
        (Some(9_990), Some(10))
    );
    assert!(source["batches"].as_u64().unwrap_or_default() >= 1, "{results}");
    let lags = partitions(source);
    assert_eq!(lags.len(), 3, "{results}");
    assert_eq!(lags.iter().map(|(committed, _, _)| committed).sum::<i64>(), 10_000);
    assert_eq!(lags.iter().map(|(_, high, _)| high).sum::<i64>(), 10_000);
    assert!(lags.iter().all(|(_, _, lag)| *lag == 0), "{results}");
    assert_eq!(freshness(source).0, 10_000, "{results}");

    // Nothing new: nothing loaded. New messages: exactly those.
    let (code, output) = project.ingest(&[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Ingested 0 rows"), "{output}");
    let results = project.results();
    assert_eq!(results["sources"][0]["rows"], 0, "{results}");
    assert_eq!(results["sources"][0]["freshness"]["samples"], 0, "{results}");
    assert!(results["sources"][0]["freshness"]["p50_seconds"].is_null(), "{results}");
    produce(kafka.bootstrap(), 10_001..12_001);
    let (code, output) = project.ingest(&[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Ingested 1,998 rows"), "{output}");
    assert_eq!(
        project.value("select count(*)::text || ' ' || count(distinct rental_id)::text from bronze.rental_events"),
        "11988 11988"
    );
    assert_eq!(project.results()["sources"][0]["rows"], 1_998);
}
matrix!(ingest_drains_the_topic_once_with_poison_messages_in_the_dead_letter_table);

fn a_kill_9_mid_stream_neither_loses_nor_duplicates_a_message(engine: Engine) {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 4");
    let project = IngestProject::new(engine, kafka.bootstrap());
    produce(kafka.bootstrap(), 1..60_001);
    let total = expected(1..60_001);

    // Small batches, so that batches are in flight when the process dies.
    let args = ["--follow", "--batch-rows", "500", "--batch-latency", "10s"];
    for round in 1..=2 {
        let before = project.bronze_rows();
        let mut dvt = project.background(&args);
        match engine {
            Engine::Postgres => wait_until("a batch committed", Duration::from_secs(90), || {
                dvt.has_exited() || project.bronze_rows() > before
            }),
            // The file is the running ingest's: its lines tell.
            Engine::DuckDb => dvt.wait_for_line(": committed ", Duration::from_secs(90)),
        }
        let output = dvt.kill_hard();
        let after = project.bronze_rows();
        assert!(
            after > before,
            "round {round}: nothing was loaded before the kill:\n{output}"
        );
        assert!(
            after < total.rows,
            "round {round}: everything was loaded before the kill, so the kill tested nothing:\n{output}"
        );
    }

    // A drain after the kills loads the rest, each message once.
    let (code, output) = project.ingest(&[]);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(project.loaded(), total, "{output}");
    assert_eq!(
        project.value("select sum(next_offset)::text from analytics_dvt.ingest_offsets"),
        "60000"
    );
}
matrix!(a_kill_9_mid_stream_neither_loses_nor_duplicates_a_message);

/// Stops two `--follow` processes with Ctrl-C, checks that both exit 0 and
/// that the warehouse holds `total`, and returns what each printed.
fn stop_both(project: &IngestProject, first: Background, second: Background, total: &Loaded) -> (String, String) {
    first.interrupt();
    second.interrupt();
    let (first_code, first_output) = first.finish(Duration::from_secs(30));
    let (second_code, second_output) = second.finish(Duration::from_secs(30));
    assert_eq!(first_code, Some(0), "{first_output}");
    assert_eq!(second_code, Some(0), "{second_output}");
    assert_eq!(
        &project.loaded(),
        total,
        "first:\n{first_output}\nsecond:\n{second_output}"
    );
    (first_output, second_output)
}

/// Several processes on one PostgreSQL database: with `--group` they share
/// the partitions through the consumer group; DuckDB has no such case, as
/// one process holds its file (see the next test).
#[test]
fn two_consumers_in_one_group_share_the_partitions_and_load_each_message_once() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 4");
    let project = IngestProject::new(Engine::Postgres, kafka.bootstrap());
    produce(kafka.bootstrap(), 1..5_001);

    let args = ["--follow", "--group", "--batch-latency", "200ms"];
    let mut first = project.background(&args);
    first.wait_for_line("assigned rental_events [0, 1, 2, 3]", Duration::from_secs(60));
    wait_until("the first consumer loaded the topic", Duration::from_secs(60), || {
        project.bronze_rows() == expected(1..5_001).rows
    });
    // The second member joins: the group rebalances while messages arrive.
    let mut second = project.background(&args);
    second.wait_for_line("assigned rental_events [", Duration::from_secs(90));
    produce(kafka.bootstrap(), 5_001..20_001);
    let total = expected(1..20_001);
    wait_until("both consumers loaded everything", Duration::from_secs(90), || {
        project.bronze_rows() == total.rows
    });
    // Let a late duplicate, if there were one, land before counting.
    std::thread::sleep(Duration::from_secs(1));

    let (first_output, second_output) = stop_both(&project, first, second, &total);
    assert!(
        second_output.contains(": committed "),
        "the second consumer loaded nothing:\n{second_output}"
    );
    assert!(
        first_output.matches(": assigned ").count() >= 2,
        "the first consumer never saw the rebalance:\n{first_output}"
    );
}

/// Without `--group`, two processes on one PostgreSQL database each read
/// every partition, and the fence on the stored offsets still loads each
/// message once: the one whose batch lost rolls it back and carries on.
#[test]
fn two_processes_without_a_group_still_load_each_message_once() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 4");
    let project = IngestProject::new(Engine::Postgres, kafka.bootstrap());
    produce(kafka.bootstrap(), 1..20_001);

    let args = ["--follow", "--batch-rows", "500", "--batch-latency", "200ms"];
    let mut first = project.background(&args);
    let mut second = project.background(&args);
    let total = expected(1..20_001);
    wait_until("the two loaded everything", Duration::from_secs(120), || {
        first.has_exited() || second.has_exited() || project.bronze_rows() >= total.rows
    });
    produce(kafka.bootstrap(), 20_001..25_001);
    let total = expected(1..25_001);
    wait_until("the two loaded the later messages", Duration::from_secs(120), || {
        first.has_exited() || second.has_exited() || project.bronze_rows() >= total.rows
    });
    std::thread::sleep(Duration::from_secs(1));
    stop_both(&project, first, second, &total);
}

/// DuckDB holds one process per file: while a `dvt ingest --follow` runs, a
/// `dvt build` or a second ingest on the same file fails at once, saying
/// why and what to do, and the running ingest carries on untouched.
#[test]
fn a_duckdb_file_followed_by_an_ingest_refuses_other_processes_with_a_hint() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 2");
    let project = IngestProject::new(Engine::DuckDb, kafka.bootstrap());
    project.write(
        "models/rentals.sql",
        "select * from {{ source('events', 'rental_events') }}\n",
    );
    produce(kafka.bootstrap(), 1..2_001);
    let mut dvt = project.background(&["--follow", "--batch-latency", "200ms"]);
    dvt.wait_for_line("(1,998 rows in all)", Duration::from_secs(90));

    for (command, args) in [("build", &[][..]), ("ingest", &[][..])] {
        let (code, output) = project.dvt(command, args);
        assert_ne!(code, Some(0), "dvt {command}: {output}");
        assert!(output.contains("DuckDB allows one per file"), "dvt {command}: {output}");
        assert!(output.contains("--refresh SELECTOR"), "dvt {command}: {output}");
    }
    produce(kafka.bootstrap(), 2_001..3_001);
    dvt.wait_for_line("(2,997 rows in all)", Duration::from_secs(90));
    dvt.interrupt();
    let (code, output) = dvt.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(project.loaded(), expected(1..3_001), "{output}");
    // Once it stopped, the build runs.
    let (code, output) = project.dvt("build", &[]);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(project.value("select count(*)::text from analytics.rentals"), "2997");
}

/// Waits at most 90 s until `condition` holds of the running `dvt`; on
/// failure, shows what it printed.
fn wait_for(dvt: &mut Background, what: &str, mut condition: impl FnMut(&mut Background) -> bool) {
    let started = std::time::Instant::now();
    while !condition(dvt) {
        if started.elapsed() > Duration::from_secs(90) {
            panic!("timed out waiting until {what}:\n{}", dvt.stderr_so_far().join("\n"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many events the refreshes a `--follow --refresh` printed so far
/// made visible: each event is counted by the one refresh that did.
fn made_visible(dvt: &mut Background) -> u64 {
    dvt.stderr_so_far()
        .iter()
        .filter(|line| line.contains("Refreshed "))
        .filter_map(|line| {
            let count = line.rsplit_once(" over ")?.1.strip_suffix(" events")?;
            count.replace(',', "").parse::<u64>().ok()
        })
        .sum()
}

fn follow_refreshes_the_models_downstream_and_reports_freshness(engine: Engine) {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 2");
    let project = IngestProject::new(engine, kafka.bootstrap());
    // The new events by their key: the bundled DuckDB has no ICU, so no
    // arithmetic on `timestamptz` (`max(ingested_at) - interval ...`).
    project.write(
        "models/silver_rentals.sql",
        "{{ config(materialized='incremental', unique_key='event_key') }}\n\
         select topic || '/' || partition || '/' || \"offset\" as event_key, rental_id, amount, ingested_at\n\
         from {{ source('events', 'rental_events') }}\n\
         {% if is_incremental() %}\n\
         where topic || '/' || partition || '/' || \"offset\" not in (select event_key from {{ this }})\n\
         {% endif %}\n",
    );
    project.write(
        "models/gold_revenue.sql",
        "{{ config(materialized='table') }}\n\
         select count(*) as rentals, sum(amount) as revenue from {{ ref('silver_rentals') }}\n",
    );
    produce(kafka.bootstrap(), 1..3_001);
    let mut dvt = project.background(&[
        "--follow",
        "--batch-latency",
        "200ms",
        "--refresh",
        "source:events.rental_events+",
        "--every",
        "1s",
    ]);
    // Every message is counted, the poison ones too (they commit to the
    // dead letter in the same batches). The refresh's line, not the gold
    // table, tells that it ended: Ctrl-C during a refresh cancels it.
    wait_for(&mut dvt, "the refreshes show the first events", |dvt| {
        dvt.has_exited() || made_visible(dvt) >= 3_000
    });
    let first = expected(1..3_001);
    if engine == Engine::Postgres {
        assert_eq!(project_gold(&project), format!("{} {}", first.rows, first.amount_sum));
    }
    produce(kafka.bootstrap(), 3_001..6_001);
    let all = expected(1..6_001);
    let all_gold = format!("{} {}", all.rows, all.amount_sum);
    wait_for(&mut dvt, "the refreshes show the later events", |dvt| {
        dvt.has_exited() || made_visible(dvt) >= 6_000
    });
    dvt.interrupt();
    let (code, output) = dvt.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Refreshed 2 models in"), "{output}");
    assert!(
        output.contains("Freshness, event produced to visible in the refreshed models: p50 "),
        "{output}"
    );
    assert_eq!(project_gold(&project), all_gold, "{output}");
    assert_eq!(
        project.value("select count(*)::text || ' ' || count(distinct event_key)::text from analytics.silver_rentals"),
        format!("{} {}", all.rows, all.rows)
    );

    // The artifact of a `--follow`: every message's freshness, from its
    // production to its commit.
    let results = project.results();
    assert_eq!(results["metadata"]["follow"], true, "{results}");
    let source = &results["sources"][0];
    assert_eq!(
        (source["rows"].as_u64(), source["dead_letters"].as_u64()),
        (Some(all.rows), Some(6))
    );
    assert_eq!(freshness(source).0, 6_000, "{results}");
    assert_eq!(
        partitions(source).iter().map(|(_, _, lag)| lag).sum::<i64>(),
        0,
        "{results}"
    );
}
matrix!(follow_refreshes_the_models_downstream_and_reports_freshness);

/// `analytics.gold_revenue` as `rentals revenue` (on DuckDB, only while no
/// `dvt` holds the file).
fn project_gold(project: &IngestProject) -> String {
    project
        .value_if_exists(
            "analytics",
            "gold_revenue",
            "select rentals::text || ' ' || revenue::text from analytics.gold_revenue",
        )
        .unwrap_or_default()
}

fn status_shows_the_lag_of_every_partition(engine: Engine) {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 3");
    let project = IngestProject::new(engine, kafka.bootstrap());
    produce(kafka.bootstrap(), 1..301);

    // Before any ingest, the whole topic is lag.
    let (code, output) = project.ingest(&["--status"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Total lag: 300 messages"), "{output}");

    let (code, output) = project.ingest(&[]);
    assert_eq!(code, Some(0), "{output}");
    produce(kafka.bootstrap(), 301..351);
    let (code, output) = project.ingest(&["--status"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Total lag: 50 messages"), "{output}");
    let partition_lines = output
        .lines()
        .filter(|line| line.trim_start().starts_with("rental_events "))
        .count();
    assert_eq!(partition_lines, 3, "{output}");
}
matrix!(status_shows_the_lag_of_every_partition);

fn several_consumers_in_one_process_drain_the_topic_together(engine: Engine) {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 4");
    let project = IngestProject::new(engine, kafka.bootstrap());
    produce(kafka.bootstrap(), 1..20_001);

    let (code, output) = project.ingest(&["--consumers", "2", "--batch-rows", "2000"]);
    assert_eq!(code, Some(0), "{output}");
    // Each takes half of the partitions.
    assert!(
        output.contains("(consumer 1 of 2): assigned rental_events [0, 2]"),
        "{output}"
    );
    assert!(
        output.contains("(consumer 2 of 2): assigned rental_events [1, 3]"),
        "{output}"
    );
    assert!(output.contains("Ingested 19,980 rows"), "{output}");
    assert_eq!(project.loaded(), expected(1..20_001), "{output}");
}
matrix!(several_consumers_in_one_process_drain_the_topic_together);

/// With no `profiles.yml` at all, the embedded DuckDB default target
/// (`target/dev.duckdb`) ingests too, the brokers given on the command line:
/// what `scripts/demo.sh` runs on a fresh clone.
#[test]
fn the_embedded_default_target_ingests_from_brokers_on_the_command_line() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 2");
    let project = IngestProject::new(Engine::DuckDb, kafka.bootstrap());
    std::fs::remove_file(project.dir.path().join("profiles.yml")).expect("remove profiles.yml");
    produce(kafka.bootstrap(), 1..2_001);
    let output = command::dvt_command()
        .current_dir(project.dir.path())
        // No profiles.yml in the home directory either.
        .env("HOME", project.dir.path())
        .args(["ingest", "--bootstrap-servers", kafka.bootstrap()])
        .timeout(Duration::from_secs(180))
        .output()
        .expect("dvt runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("using the embedded DuckDB target `dev`"), "{stderr}");
    assert!(stderr.contains("Ingested 1,998 rows"), "{stderr}");
    let path = project.dir.path().join("target/dev.duckdb");
    let connection = duckdb::Connection::open(&path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
    let rows: i64 = connection
        .query_row("select count(*) from bronze.rental_events", [], |row| row.get(0))
        .unwrap_or_else(|error| panic!("count: {error}"));
    assert_eq!(rows, 1_998);
    assert_eq!(project.results()["sources"][0]["rows"], 1_998);
}
