//! End-to-end tests of `dvt ingest`: the real binary, a `dvt-mock-kafka`
//! broker of its own per test, and a PostgreSQL database of its own.

#![cfg(feature = "kafka")]

#[path = "support/command.rs"]
mod command;
mod common;
// Not every helper of the broker handle is used here.
#[allow(dead_code)]
#[path = "support/mock_kafka.rs"]
mod mock_kafka;

use std::time::Duration;

use mock_kafka::MockKafka;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use sqlx::{ConnectOptions, Row};

use common::Server;

/// A project whose source `events.rental_events` is fed from the topic
/// `rental_events`, with a database of its own (dropped at the end).
struct IngestProject {
    dir: tempfile::TempDir,
    server: Server,
    database: String,
    runtime: tokio::runtime::Runtime,
}

impl IngestProject {
    fn new(bootstrap: &str) -> Self {
        let server = Server::from_env();
        let database = format!("dvt_ingest_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let project = Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            server,
            database,
            runtime,
        };
        project.admin(&format!("create database \"{}\"", project.database));
        let write = |path: &str, text: &str| {
            let path = project.dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
            std::fs::write(path, text).expect("write");
        };
        write("project.yml", "name: ingest\nprofile: ingest\n");
        write(
            "profiles.yml",
            &format!(
                "ingest:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {}\n      port: {}\n      \
                 user: {}\n      password: \"{{{{ env_var('DVT_PG_PASSWORD', 'postgres') }}}}\"\n      dbname: {}\n      \
                 schema: analytics\n      threads: 2\n      kafka_bootstrap_servers: \"{bootstrap}\"\n      \
                 kafka_session_timeout_ms: 6000\n      kafka_heartbeat_interval_ms: 1000\n",
                project.server.host, project.server.port, project.server.user, project.database
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

    fn value(&self, sql: &str) -> String {
        self.runtime.block_on(async {
            let mut connection = self.server.options(&self.database).connect().await.expect("connect");
            let row = sqlx::query(sql).fetch_one(&mut connection).await.expect("query");
            row.try_get::<String, _>(0).expect("a text value")
        })
    }

    fn ingest(&self) -> (Option<i32>, String) {
        let output = command::dvt_command()
            .args(["ingest", "--project-dir"])
            .arg(self.dir.path())
            .arg("--profiles-dir")
            .arg(self.dir.path())
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
}

impl Drop for IngestProject {
    fn drop(&mut self) {
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

#[test]
fn ingest_drains_the_topic_once_with_poison_messages_in_the_dead_letter_table() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 3");
    let project = IngestProject::new(kafka.bootstrap());
    produce(kafka.bootstrap(), 1..10_001);

    let (code, output) = project.ingest();
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Ingested 9990 rows"), "{output}");
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

    // Nothing new: nothing loaded. New messages: exactly those.
    let (code, output) = project.ingest();
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Ingested 0 rows"), "{output}");
    produce(kafka.bootstrap(), 10_001..12_001);
    let (code, output) = project.ingest();
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Ingested 1998 rows"), "{output}");
    assert_eq!(
        project.value("select count(*)::text || ' ' || count(distinct rental_id)::text from bronze.rental_events"),
        "11988 11988"
    );
}
