//! `dvt-mock-kafka`: a Kafka wire-protocol broker on loopback, for tests and demos.
//!
//! It hosts librdkafka's mock cluster (`rdkafka::mocking::MockCluster`): real
//! Kafka brokers over TCP on 127.0.0.1, holding everything in memory. It is
//! not a production broker, and `docs/kafka-broker.md` records what it
//! supports and what it does not.
//!
//! On start it prints exactly one line, `bootstrap=<host:port,...>`, and then
//! reads commands from stdin, one per line, answering each with `ok` or
//! `error: ...`:
//!
//! ```text
//! create <topic> [partitions]   create a topic (default: --partitions)
//! down <broker_id>              disconnect a broker and refuse new connections
//! up <broker_id>                accept connections again on the same port
//! ```
//!
//! Broker ids run from 1 to `--brokers`; -1 means every broker.
//!
//! Data lives in the cluster, not in a broker, so it survives `down`/`up`.
//! The process serves until stdin closes or it is killed.

use std::io::{self, BufRead, Write};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer};
use rdkafka::ClientConfig;

/// A Kafka wire-protocol broker on loopback for tests (librdkafka's mock cluster).
#[derive(Parser)]
#[command(name = "dvt-mock-kafka")]
struct Args {
    /// Number of brokers in the cluster; their ids are 1..=N.
    #[arg(long, default_value_t = 1)]
    brokers: i32,
    /// Partitions of the topics created with `--topic` or with `create` without a count.
    /// Topics a client auto-creates always get librdkafka's fixed 4.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// A topic to create before printing the bootstrap address; repeatable.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// How long the group coordinator waits for more members before a new
    /// group's first assignment: Kafka's `group.initial.rebalance.delay.ms`,
    /// 3000 by default (`docker-compose.yml`'s Kafka sets 0).
    #[arg(long, default_value_t = 3000)]
    group_initial_rebalance_delay_ms: i32,
}

type Cluster<'c> = MockCluster<'c, DefaultProducerContext>;

fn main() -> Result<()> {
    let args = Args::parse();
    if args.brokers < 1 {
        bail!("`--brokers` must be at least 1, got `{}`", args.brokers);
    }
    if args.partitions < 1 {
        bail!("`--partitions` must be at least 1, got `{}`", args.partitions);
    }
    // The cluster lives in a client of its own (librdkafka's
    // `test.mock.num.brokers`), which gives access to its native handle for
    // settings the Rust wrapper does not expose.
    let host: BaseProducer = ClientConfig::new()
        .set("test.mock.num.brokers", args.brokers.to_string())
        .create()
        .context("starting the mock cluster")?;
    let cluster = host
        .client()
        .mock_cluster()
        .context("librdkafka started no mock cluster")?;
    // SAFETY: the handle belongs to `host`, which outlives every use here,
    // and the call only sets an integer on the cluster.
    unsafe {
        let handle = rdkafka::bindings::rd_kafka_handle_mock_cluster(host.client().native_ptr());
        if handle.is_null() {
            bail!("librdkafka started no mock cluster");
        }
        rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(
            handle,
            args.group_initial_rebalance_delay_ms,
        );
    }
    for topic in &args.topics {
        create_topic(&cluster, topic, args.partitions, args.brokers)?;
    }

    let mut stdout = io::stdout().lock();
    writeln!(stdout, "bootstrap={}", cluster.bootstrap_servers())?;
    stdout.flush()?;

    for line in io::stdin().lock().lines() {
        let line = line.context("reading a command from stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        match run_command(&cluster, &line, &args) {
            Ok(()) => writeln!(stdout, "ok")?,
            Err(error) => writeln!(stdout, "error: {error:#}")?,
        }
        stdout.flush()?;
    }
    Ok(())
}

fn run_command(cluster: &Cluster, line: &str, args: &Args) -> Result<()> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["create", topic] => create_topic(cluster, topic, args.partitions, args.brokers),
        ["create", topic, partitions] => {
            let partitions = parse_number(partitions, "partition count")?;
            create_topic(cluster, topic, partitions, args.brokers)
        }
        ["down", broker] => {
            let broker = parse_number(broker, "broker id")?;
            cluster
                .broker_down(broker)
                .map_err(flatten(format!("broker `{broker}`")))
        }
        ["up", broker] => {
            let broker = parse_number(broker, "broker id")?;
            cluster.broker_up(broker).map_err(flatten(format!("broker `{broker}`")))
        }
        _ => bail!(
            "unknown command `{line}`; expected `create <topic> [partitions]`, `down <broker_id>` or `up <broker_id>`"
        ),
    }
}

/// Creates a topic replicated to every broker, up to Kafka's usual 3.
fn create_topic(cluster: &Cluster, topic: &str, partitions: i32, brokers: i32) -> Result<()> {
    if partitions < 1 {
        bail!("a topic needs at least 1 partition, got `{partitions}`");
    }
    cluster
        .create_topic(topic, partitions, brokers.min(3))
        .map_err(flatten(format!("topic `{topic}`")))
}

/// librdkafka's errors repeat their code as their source, so one is shown as
/// a single message about `subject` rather than as a chain.
fn flatten(subject: String) -> impl FnOnce(KafkaError) -> anyhow::Error {
    move |error| anyhow!("{subject}: {error}")
}

fn parse_number(word: &str, what: &str) -> Result<i32> {
    word.parse().with_context(|| format!("`{word}` is not a valid {what}"))
}
