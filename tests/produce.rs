//! End-to-end tests of `dvt produce`: the real binary writing to a
//! `dvt-mock-kafka` broker of its own per test, read back with an rdkafka
//! consumer.

#![cfg(feature = "kafka")]

#[path = "support/command.rs"]
mod command;
// Not every helper of the broker handle is used here.
#[allow(dead_code)]
#[path = "support/mock_kafka.rs"]
mod mock_kafka;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use mock_kafka::MockKafka;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

/// How long reading back may take before a test gives up (a hang, not a timing).
const DEADLINE: Duration = Duration::from_secs(60);

/// One message as read back.
#[derive(Debug, Clone)]
struct Received {
    partition: i32,
    key: Option<String>,
    payload: String,
    timestamp: Option<i64>,
}

impl Received {
    fn json(&self) -> serde_json::Map<String, Value> {
        match serde_json::from_str(&self.payload) {
            Ok(Value::Object(object)) => object,
            other => panic!("not a JSON object ({other:?}): {}", self.payload),
        }
    }
}

/// Runs `dvt produce ARGS`; returns the exit code, stdout and stderr.
fn produce(args: &[&str]) -> (Option<i32>, String, String) {
    let output = command::dvt_command()
        .arg("produce")
        .args(args)
        .timeout(Duration::from_secs(180))
        .output()
        .expect("dvt runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `dvt produce --bootstrap-servers <the broker> ARGS`.
fn produce_on(kafka: &MockKafka, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--bootstrap-servers", kafka.bootstrap()];
    all.extend_from_slice(args);
    produce(&all)
}

/// Produces to the broker; asserts success and returns stderr.
fn produce_ok(kafka: &MockKafka, args: &[&str]) -> String {
    let (code, stdout, stderr) = produce_on(kafka, args);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    stderr
}

/// Every message of `topic`, in offset order per partition, read up to the
/// high watermarks it has now.
fn read_topic(bootstrap: &str, topic: &str) -> Vec<Received> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "dvt-produce-test")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let metadata = consumer.fetch_metadata(Some(topic), DEADLINE).expect("metadata");
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|partition| partition.id())
        .collect();
    assert!(!partitions.is_empty(), "topic `{topic}` has no partitions");
    let mut remaining: BTreeMap<i32, i64> = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, *partition, DEADLINE)
            .expect("watermarks");
        assert_eq!(low, 0, "partition {partition} lost messages to retention");
        if high > 0 {
            remaining.insert(*partition, high);
            assignment
                .add_partition_offset(topic, *partition, Offset::Beginning)
                .expect("add a partition");
        }
    }
    let mut received = Vec::new();
    if remaining.is_empty() {
        return received;
    }
    consumer.assign(&assignment).expect("assign");
    let deadline = Instant::now() + DEADLINE;
    while !remaining.is_empty() {
        assert!(
            Instant::now() < deadline,
            "timed out reading `{topic}`; still to read: {remaining:?}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                received.push(Received {
                    partition: message.partition(),
                    key: message.key().map(|key| String::from_utf8_lossy(key).into_owned()),
                    payload: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
                    timestamp: message.timestamp().to_millis(),
                });
                if remaining.get(&message.partition()) == Some(&(message.offset() + 1)) {
                    remaining.remove(&message.partition());
                }
            }
            Some(Err(error)) => panic!("reading `{topic}`: {error}"),
            None => {}
        }
    }
    received
}

/// Each partition's messages in order: their keys and JSON objects.
type Partitions = BTreeMap<i32, Vec<(Option<String>, serde_json::Map<String, Value>)>>;

/// The messages of each partition in order, with `event_time` (the only
/// field the seed does not fix) removed.
fn without_event_time(messages: &[Received]) -> Partitions {
    let mut partitions: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    for message in messages {
        let mut object = message.json();
        object.remove("event_time").expect("an event_time");
        partitions
            .entry(message.partition)
            .or_default()
            .push((message.key.clone(), object));
    }
    partitions
}

#[test]
fn generated_rentals_arrive_once_each_as_json_keyed_to_one_partition_per_rental() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 6");
    let stderr = produce_ok(
        &kafka,
        &[
            "--topic",
            "rental_events",
            "--generate",
            "rentals",
            "--count",
            "5000",
            "--seed",
            "7",
        ],
    );
    assert!(
        stderr.contains("Producing generated rentals (seed 7) to `rental_events` (6 partitions"),
        "{stderr}"
    );
    assert!(stderr.contains("Produced 5,000 messages ("), "{stderr}");

    let messages = read_topic(kafka.bootstrap(), "rental_events");
    assert_eq!(messages.len(), 5000);
    let mut partitions_of_rental: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    let mut events: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for message in &messages {
        let event = message.json();
        let rental_id = event["rental_id"].to_string();
        assert_eq!(
            message.key.as_deref(),
            Some(rental_id.as_str()),
            "the key is the rental id"
        );
        partitions_of_rental
            .entry(rental_id.clone())
            .or_default()
            .insert(message.partition);
        events
            .entry(rental_id)
            .or_default()
            .push(event["event_type"].as_str().expect("an event type").to_string());
        // The Kafka timestamp is the event time, to the millisecond.
        let event_time = chrono::DateTime::parse_from_rfc3339(event["event_time"].as_str().expect("an event time"))
            .expect("an RFC 3339 event time");
        assert_eq!(message.timestamp, Some(event_time.timestamp_millis()));
    }
    assert!(
        partitions_of_rental.values().all(|partitions| partitions.len() == 1),
        "a rental on two partitions"
    );
    let used: BTreeSet<i32> = messages.iter().map(|message| message.partition).collect();
    assert_eq!(used.len(), 6, "the keys spread over every partition");
    // On its one partition, a rental is created before it is returned.
    for (rental_id, kinds) in &events {
        assert_eq!(kinds[0], "rental_created", "rental {rental_id}: {kinds:?}");
        assert!(kinds.len() <= 2, "rental {rental_id}: {kinds:?}");
    }
    assert!(events.values().any(|kinds| kinds.len() == 2), "some rentals came back");
}

#[test]
fn the_same_seed_produces_the_same_events_on_the_same_partitions() {
    let mut kafka = MockKafka::start(1, &[]);
    for topic in ["first", "second", "other_seed"] {
        kafka.run(&format!("create {topic} 4"));
    }
    for (topic, seed) in [("first", "42"), ("second", "42"), ("other_seed", "43")] {
        produce_ok(
            &kafka,
            &[
                "--topic",
                topic,
                "--generate",
                "payments",
                "--count",
                "2000",
                "--seed",
                seed,
            ],
        );
    }
    let first = without_event_time(&read_topic(kafka.bootstrap(), "first"));
    let second = without_event_time(&read_topic(kafka.bootstrap(), "second"));
    let other = without_event_time(&read_topic(kafka.bootstrap(), "other_seed"));
    assert_eq!(first.values().map(Vec::len).sum::<usize>(), 2000);
    assert_eq!(first, second);
    assert_ne!(first, other);
    // Payments are keyed by customer.
    for (key, payment) in first.values().flatten() {
        assert_eq!(key.as_deref(), Some(payment["customer_id"].to_string().as_str()));
    }
}

#[test]
fn clicks_at_a_rate_with_json_logs() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create clicks 2");
    let stderr = produce_ok(
        &kafka,
        &[
            "--topic",
            "clicks",
            "--generate",
            "clicks",
            "--count",
            "300",
            "--rate",
            "1000",
            "--log-format",
            "json",
        ],
    );
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: a line that is not JSON: {line}"))
        })
        .collect();
    let summary = lines
        .iter()
        .find(|line| line["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    assert_eq!(summary["messages"], 300);
    assert_eq!(summary["failed"], 0);
    assert!(
        summary["bytes"].as_u64().is_some_and(|bytes| bytes > 300 * 100),
        "{summary}"
    );
    let messages = read_topic(kafka.bootstrap(), "clicks");
    assert_eq!(messages.len(), 300);
    for message in &messages {
        assert_eq!(message.key.as_deref(), message.json()["session_id"].as_str());
    }
}

#[test]
fn csv_rows_round_trip_as_typed_json_objects_keyed_by_a_column() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create payments 3");
    let dir = tempfile::tempdir().expect("a temp dir");
    let csv = dir.path().join("payments.csv");
    std::fs::write(
        &csv,
        "payment_id,customer_id,amount,note,refunded,payment_date\n\
         1,252,4.99,\"late, paid \"\"cash\"\"\",false,2005-05-25 02:55:36\n\
         2,300,0.99,,true,2005-05-25 04:39:25\n\
         3,252,10.00,00501,,2005-05-25 05:00:00\n",
    )
    .expect("write the CSV");
    let stderr = produce_ok(
        &kafka,
        &[
            "--topic",
            "payments",
            "--csv",
            csv.to_str().expect("a UTF-8 path"),
            "--key",
            "customer_id",
        ],
    );
    assert!(stderr.contains("Producing 3 rows of `"), "{stderr}");
    assert!(stderr.contains("Produced 3 messages"), "{stderr}");

    let mut messages = read_topic(kafka.bootstrap(), "payments");
    messages.sort_by_key(|message| message.json()["payment_id"].as_i64());
    let payloads: Vec<&str> = messages.iter().map(|message| message.payload.as_str()).collect();
    assert_eq!(
        payloads,
        [
            r#"{"payment_id":1,"customer_id":252,"amount":4.99,"note":"late, paid \"cash\"","refunded":false,"payment_date":"2005-05-25 02:55:36"}"#,
            r#"{"payment_id":2,"customer_id":300,"amount":0.99,"note":null,"refunded":true,"payment_date":"2005-05-25 04:39:25"}"#,
            r#"{"payment_id":3,"customer_id":252,"amount":10.00,"note":"00501","refunded":null,"payment_date":"2005-05-25 05:00:00"}"#,
        ]
    );
    let keys: Vec<Option<&str>> = messages.iter().map(|message| message.key.as_deref()).collect();
    assert_eq!(keys, [Some("252"), Some("300"), Some("252")]);
    assert_eq!(
        messages[0].partition, messages[2].partition,
        "one customer, one partition"
    );
}

#[test]
fn bad_csv_input_is_one_error_naming_the_file_and_line_and_sends_nothing() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rows 1");
    let dir = tempfile::tempdir().expect("a temp dir");
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "id,amount\n1,4.99\n2,0.99,extra\n3,2.99\n").expect("write the CSV");
    let path = ragged.to_str().expect("a UTF-8 path");
    let (code, _, stderr) = produce_on(&kafka, &["--topic", "rows", "--csv", path]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("error: line 3 of `{path}` has 3 fields, but the header has 2")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("--> {path}:3:1")), "{stderr}");
    assert!(stderr.contains("3 | 2,0.99,extra"), "{stderr}");
    assert!(read_topic(kafka.bootstrap(), "rows").is_empty(), "nothing was sent");

    let missing = dir.path().join("missing.csv");
    let (code, _, stderr) = produce_on(
        &kafka,
        &["--topic", "rows", "--csv", missing.to_str().expect("a UTF-8 path")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot open the CSV file") && stderr.contains("missing.csv"),
        "{stderr}"
    );
}

#[test]
fn a_message_the_producer_rejects_fails_the_command_with_a_clear_error() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create big 1");
    let dir = tempfile::tempdir().expect("a temp dir");
    let csv = dir.path().join("big.csv");
    // The second row is larger than librdkafka's default message.max.bytes (1 MB).
    std::fs::write(
        &csv,
        format!("id,blob\n1,small\n2,{}\n3,small\n", "x".repeat(2_000_000)),
    )
    .expect("write");
    let (code, _, stderr) = produce_on(
        &kafka,
        &["--topic", "big", "--csv", csv.to_str().expect("a UTF-8 path")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: 1 of 1 messages to `big` were not delivered"),
        "{stderr}"
    );
    assert!(stderr.contains("too large"), "{stderr}");
    assert!(stderr.contains("Produced 1 messages"), "{stderr}");
}

#[test]
fn a_missing_topic_is_auto_created_by_a_broker_without_the_admin_api() {
    let kafka = MockKafka::start(1, &[]);
    let stderr = produce_ok(
        &kafka,
        &[
            "--topic",
            "fresh",
            "--generate",
            "rentals",
            "--count",
            "100",
            "--partitions",
            "8",
        ],
    );
    assert!(stderr.contains("warning: cannot create topic `fresh`"), "{stderr}");
    assert!(
        stderr.contains("hint: to get 8 partitions, create the topic on the broker first"),
        "{stderr}"
    );
    // The mock cluster auto-creates topics with 4 partitions.
    assert!(stderr.contains("to `fresh` (4 partitions"), "{stderr}");
    assert_eq!(read_topic(kafka.bootstrap(), "fresh").len(), 100);
}

#[test]
fn the_brokers_come_from_the_profile_target() {
    let mut kafka = MockKafka::start(1, &[]);
    kafka.run("create rental_events 2");
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("project.yml"), "name: streaming\nprofile: streaming\n").expect("write");
    let profiles = |extra: &str| {
        format!(
            "streaming:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n      \
             user: postgres\n      password: pg-hunter2\n      dbname: none\n      schema: analytics\n{extra}"
        )
    };
    let project_args = |dir: &std::path::Path| {
        let dir = dir.to_str().expect("a UTF-8 path").to_string();
        [
            "--project-dir".to_string(),
            dir.clone(),
            "--profiles-dir".to_string(),
            dir,
        ]
    };
    std::fs::write(
        dir.path().join("profiles.yml"),
        profiles(&format!("      kafka_bootstrap_servers: \"{}\"\n", kafka.bootstrap())),
    )
    .expect("write");
    let mut args: Vec<String> = project_args(dir.path()).to_vec();
    args.extend(["--topic", "rental_events", "--generate", "rentals", "--count", "50"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = produce(&args);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(read_topic(kafka.bootstrap(), "rental_events").len(), 50);

    // A target without Kafka settings: an error that says what to add.
    std::fs::write(dir.path().join("profiles.yml"), profiles("")).expect("write");
    let (code, _, stderr) = produce(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("error: target `dev` names no Kafka cluster"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kafka_bootstrap_servers") && stderr.contains("--bootstrap-servers"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("pg-hunter2"),
        "the password is never printed: {stderr}"
    );
}
