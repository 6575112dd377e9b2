//! `dvt produce`: a development tool that streams a CSV file or generated
//! DVD-rental events into a Kafka topic, at a given rate, for demos and
//! benchmarks. It is the other end of `dvt ingest`, not a part of it.
//!
//! 1. [`ProduceSettings::resolve`]: the flags, and the brokers from
//!    `--bootstrap-servers` or the profile target's `kafka_*` keys; a CSV
//!    file is checked whole here, so bad input sends nothing.
//! 2. [`prepare_topic`]: find the topic, or create it with `--partitions`
//!    through the admin API; a broker without it (librdkafka's mock
//!    cluster) auto-creates the topic with its default partition count.
//! 3. [`send_all`]: an idempotent producer, messages keyed by one field and
//!    partitioned as Java clients do (murmur2), paced by a token bucket,
//!    with a progress line a second and a summary at the end. The first
//!    delivery failure stops it, and the command exits non-zero.
//!
//! Generated events carry `event_time`, the time they are produced, which
//! is also their Kafka timestamp, so end-to-end freshness can be measured.

mod csv_input;
mod events;
mod rate;
mod record;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message as _};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;
use serde_json::json;

pub use csv_input::CsvInput;
pub use events::{EventKind, Generator};
pub use rate::TokenBucket;
pub use record::Record;

use super::consumer::KafkaSettings;
use crate::cli::{Compression, GeneratedEvents, ProduceArgs};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::settings::Session;
use crate::Outcome;

/// How long a metadata or admin request may take.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long creating a topic may take; a broker without the admin API
/// (the mock cluster) never answers, so this is how long it delays.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the messages still queued at the end may take to be delivered.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the messages come from.
pub enum Input {
    Csv(CsvInput),
    Generated { kind: EventKind, seed: u64 },
}

/// Everything `dvt produce` runs with, resolved and checked.
pub struct ProduceSettings {
    pub kafka: KafkaSettings,
    pub topic: String,
    pub input: Input,
    /// The field whose value keys each message.
    pub key: Option<String>,
    /// Messages a second; `None` is as fast as the brokers take them.
    pub rate: Option<u64>,
    /// Stop after this many; `None` is the whole file, or until Ctrl-C.
    pub count: Option<u64>,
    /// Partitions of the topic if dvt creates it.
    pub partitions: Option<i32>,
    pub compression: Option<Compression>,
}

impl ProduceSettings {
    pub fn resolve(args: &ProduceArgs) -> Result<Self, Diagnostics> {
        if args.topic.trim().is_empty() {
            return Err(Diagnostic::error("`--topic` is empty")
                .hint("name the topic to write to, e.g. `--topic rental_events`")
                .into());
        }
        let (input, key) = match (&args.csv, args.generate) {
            (Some(path), _) => {
                let input = CsvInput::check(path, args.key.as_deref())?;
                (Input::Csv(input), args.key.clone())
            }
            (None, Some(generated)) => {
                let kind = match generated {
                    GeneratedEvents::Rentals => EventKind::Rentals,
                    GeneratedEvents::Payments => EventKind::Payments,
                    GeneratedEvents::Clicks => EventKind::Clicks,
                };
                let key = args.key.clone().unwrap_or_else(|| kind.default_key().to_string());
                if !kind.fields().contains(&key.as_str()) {
                    return Err(Diagnostic::error(format!(
                        "generated {} have no field `{key}` to key messages by",
                        kind.name()
                    ))
                    .hint(format!("the fields are: {}", kind.fields().join(", ")))
                    .into());
                }
                // Without --seed, a fresh one, printed so that a run can be repeated.
                let seed = args
                    .seed
                    .unwrap_or_else(|| u64::from(Utc::now().timestamp_subsec_nanos()) ^ std::process::id() as u64);
                (Input::Generated { kind, seed }, Some(key))
            }
            (None, None) => {
                return Err(Diagnostic::error("nothing to produce")
                    .hint("pass `--csv FILE` or `--generate rentals|payments|clicks`")
                    .into())
            }
        };
        let kafka = match &args.bootstrap_servers {
            Some(servers) => KafkaSettings::bootstrap(servers),
            None => target_settings(args)?,
        };
        Ok(Self {
            kafka,
            topic: args.topic.clone(),
            input,
            key,
            rate: args.rate,
            count: args.count,
            partitions: args.partitions,
            compression: args.compression,
        })
    }

    fn bootstrap_servers(&self) -> String {
        self.kafka
            .client_config()
            .get("bootstrap.servers")
            .unwrap_or_default()
            .to_string()
    }
}

/// The Kafka settings of the profile's target, as `dvt ingest` uses them.
fn target_settings(args: &ProduceArgs) -> Result<KafkaSettings, Diagnostics> {
    let hint = "or pass the brokers with `--bootstrap-servers host:9092`";
    let session = Session::open(&args.project, "produce", false).map_err(|Diagnostics(mut diagnostics)| {
        if let Some(last) = diagnostics.pop() {
            diagnostics.push(last.hint(hint));
        }
        Diagnostics(diagnostics)
    })?;
    KafkaSettings::from_target(&session.target).ok_or_else(|| {
        Diagnostic::error(format!("target `{}` names no Kafka cluster", session.target.name))
            .in_file(&session.target.source)
            .hint("add `kafka_bootstrap_servers: host:9092` to the target in profiles.yml (other librdkafka settings as `kafka_<name>`, secrets through env_var())")
            .hint(hint)
            .into()
    })
}

/// What the producer has delivered so far, kept by librdkafka's delivery
/// callbacks (which run inside `poll`, on the sending thread).
#[derive(Default)]
pub struct Deliveries {
    delivered: AtomicU64,
    bytes: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Deliveries {
    fn fail(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(error);
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                let bytes = message.payload_len() + message.key().map_or(0, <[u8]>::len);
                self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
            }
            Err((error, message)) => self.fail(format!(
                "{error} (topic `{}`, partition {})",
                message.topic(),
                message.partition()
            )),
        }
    }
}

/// Runs `dvt produce`.
pub fn produce(printer: Arc<Printer>, args: &ProduceArgs) -> Result<Outcome, Diagnostics> {
    let settings = ProduceSettings::resolve(args)?;
    let producer = create_producer(&settings)?;
    let partitions = prepare_topic(&printer, &producer, &settings)?;
    let interrupted = interrupt_flag();
    let what = match &settings.input {
        Input::Csv(input) => format!("{} rows of `{}`", thousands(input.rows()), input.display()),
        Input::Generated { kind, seed } => format!("generated {} (seed {seed})", kind.name()),
    };
    let limit = match (settings.count, &settings.input) {
        (Some(count), _) => format!(", {} messages", thousands(count)),
        (None, Input::Generated { .. }) => ", until Ctrl-C".to_string(),
        (None, Input::Csv(_)) => String::new(),
    };
    let pace = settings.rate.map_or_else(
        || "as fast as the brokers take them".to_string(),
        |rate| format!("{} msgs/s", thousands(rate)),
    );
    printer.event(
        "produce_start",
        &format!(
            "Producing {what} to `{}` ({partitions} partitions on {}), {pace}{limit}",
            settings.topic,
            settings.bootstrap_servers()
        ),
        json!({"topic": settings.topic, "partitions": partitions, "rate": settings.rate, "count": settings.count}),
    );

    let started = Instant::now();
    let sent = send_all(&printer, &producer, &settings, &interrupted)?;
    let flushed = producer.flush(FLUSH_TIMEOUT);
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let deliveries = producer.context();
    let delivered = deliveries.delivered();
    let bytes = deliveries.bytes.load(Ordering::Relaxed);
    if flushed.is_err() {
        let in_flight = producer.in_flight_count();
        deliveries.fail(format!(
            "{in_flight} messages were still not acknowledged after {} s",
            FLUSH_TIMEOUT.as_secs()
        ));
    }
    let stopped = if interrupted.load(Ordering::SeqCst) {
        " (stopped by Ctrl-C)"
    } else {
        ""
    };
    printer.event(
        "summary",
        &format!(
            "Produced {} messages ({}) to `{}` in {elapsed:.2}s: {} msgs/s, {}/s{stopped}",
            thousands(delivered),
            megabytes(bytes),
            settings.topic,
            thousands((delivered as f64 / elapsed) as u64),
            megabytes((bytes as f64 / elapsed) as u64),
        ),
        json!({
            "topic": settings.topic,
            "messages": delivered,
            "bytes": bytes,
            "seconds": elapsed,
            "messages_per_second": delivered as f64 / elapsed,
            "failed": deliveries.failed(),
            "interrupted": !stopped.is_empty(),
        }),
    );
    let failed = deliveries.failed();
    if failed == 0 {
        return Ok(Outcome::Success);
    }
    let first_error = deliveries
        .first_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    printer.diagnostic(
        &Diagnostic::error(format!(
            "{} of {} messages to `{}` were not delivered: {first_error}",
            thousands(failed),
            thousands(sent),
            settings.topic
        ))
        .hint(format!(
            "check that the brokers `{}` are up and accept writes to `{}`; the first failure stopped the producer",
            settings.bootstrap_servers(),
            settings.topic
        )),
    );
    Ok(Outcome::Failure)
}

fn create_producer(settings: &ProduceSettings) -> Result<BaseProducer<Deliveries>, Diagnostic> {
    let mut config = settings.kafka.client_config();
    config
        .set("enable.idempotence", "true")
        // The Java client's partitioner: a key lands on the same partition
        // whichever client wrote it.
        .set("partitioner", "murmur2_random");
    if config.get("client.id").is_none() {
        config.set("client.id", "dvt-produce");
    }
    if let Some(compression) = settings.compression {
        config.set("compression.type", compression.librdkafka_name());
    }
    config.create_with_context(Deliveries::default()).map_err(|error| {
        Diagnostic::error(format!("cannot configure the Kafka producer: {error}"))
            .hint("check the `kafka_*` settings of the target in profiles.yml")
    })
}

/// The partition count of the topic, created first if missing.
fn prepare_topic(
    printer: &Printer,
    producer: &BaseProducer<Deliveries>,
    settings: &ProduceSettings,
) -> Result<usize, Diagnostic> {
    let topic = settings.topic.as_str();
    let unreachable = |error: KafkaError| {
        Diagnostic::error(format!(
            "cannot reach the Kafka brokers `{}`: {error}",
            settings.bootstrap_servers()
        ))
        .hint("start a broker (`scripts/start-kafka.sh` for a local mock one, or `docker compose up -d kafka`), or pass `--bootstrap-servers host:port`")
    };
    // Metadata of every topic: asking for one by name would make the
    // broker auto-create it before we could create it with our partitions.
    let metadata = producer
        .client()
        .fetch_metadata(None, BROKER_TIMEOUT)
        .map_err(unreachable)?;
    if let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) {
        let partitions = found.partitions().len();
        if partitions > 0 {
            if let Some(wanted) = settings.partitions.filter(|wanted| *wanted as usize != partitions) {
                printer.diagnostic(&Diagnostic::warning(format!(
                    "topic `{topic}` exists with {partitions} partitions; `--partitions {wanted}` only applies to a topic dvt creates"
                )));
            }
            return Ok(partitions);
        }
    }

    match create_topic(settings) {
        Ok(()) => printer.info(
            "topic_created",
            &format!(
                "Created topic `{topic}` with {}",
                settings.partitions.map_or_else(
                    || "the broker's default partition count".to_string(),
                    |count| format!("{count} partitions")
                )
            ),
        ),
        Err(reason) => {
            let mut warning = Diagnostic::warning(format!(
                "cannot create topic `{topic}` ({reason}); the broker may create it on the first message, with its default partition count"
            ));
            if let Some(wanted) = settings.partitions {
                warning = warning.hint(format!(
                    "to get {wanted} partitions, create the topic on the broker first (dvt-mock-kafka: `--topic {topic} --partitions {wanted}`)"
                ));
            }
            printer.diagnostic(&warning);
        }
    }
    // Naming the topic lets a broker that allows it auto-create it.
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), BROKER_TIMEOUT)
        .map_err(unreachable)?;
    match metadata.topics().iter().find(|found| found.name() == topic) {
        Some(found) if found.error().is_none() && !found.partitions().is_empty() => Ok(found.partitions().len()),
        _ => Err(Diagnostic::error(format!(
            "topic `{topic}` does not exist, and the broker did not create it"
        ))
        .hint("create it on the broker (kafka-topics.sh --create), or allow `auto.create.topics.enable`")),
    }
}

/// Creates the topic through the admin API; the error says why not.
fn create_topic(settings: &ProduceSettings) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = settings
        .kafka
        .client_config()
        .create()
        .map_err(|error| error.to_string())?;
    let new_topic = NewTopic::new(
        &settings.topic,
        settings.partitions.unwrap_or(-1),
        TopicReplication::Fixed(-1),
    );
    let options = AdminOptions::new()
        .request_timeout(Some(ADMIN_TIMEOUT))
        .operation_timeout(Some(ADMIN_TIMEOUT));
    let results =
        futures::executor::block_on(admin.create_topics([&new_topic], &options)).map_err(|error| error.to_string())?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(code.to_string()),
        }
    }
    Ok(())
}

/// Sends every message, paced and reported; returns how many were handed
/// to librdkafka. Stops early on Ctrl-C or at the first failed delivery.
fn send_all(
    printer: &Printer,
    producer: &BaseProducer<Deliveries>,
    settings: &ProduceSettings,
    interrupted: &AtomicBool,
) -> Result<u64, Diagnostic> {
    enum Source<'a> {
        Csv(csv_input::CsvRows<'a>),
        Generated(Generator),
    }
    let mut source = match &settings.input {
        Input::Csv(input) => Source::Csv(input.rows_reader()?),
        Input::Generated { kind, seed } => Source::Generated(Generator::new(*kind, *seed)),
    };
    let deliveries = producer.context();
    let started = Instant::now();
    let mut bucket = settings.rate.map(|rate| TokenBucket::new(rate, started));
    let mut record = Record::new(settings.key.as_deref());
    let mut event_time = String::new();
    let mut sent: u64 = 0;
    let total = match &settings.input {
        Input::Csv(input) => Some(settings.count.map_or(input.rows(), |count| count.min(input.rows()))),
        Input::Generated { .. } => settings.count,
    };
    let bar = printer.progress_bar(
        total,
        crate::output::ProgressUnit::Messages,
        format!("producing to {}", settings.topic),
    );
    let mut progress = Progress::new(started, bar);
    loop {
        if settings.count.is_some_and(|count| sent >= count)
            || interrupted.load(Ordering::Relaxed)
            || deliveries.failed() > 0
        {
            break;
        }
        if let Some(bucket) = &mut bucket {
            while let Some(wait) = bucket.take(Instant::now()) {
                // Serve delivery callbacks while waiting for a token.
                producer.poll(wait);
                progress.report(printer, &settings.topic, sent, deliveries);
            }
        }
        let now = Utc::now();
        match &mut source {
            Source::Csv(rows) => {
                if !rows.write_next(&mut record)? {
                    break;
                }
            }
            Source::Generated(generator) => {
                event_time.clear();
                let _ = write!(event_time, "{}", now.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
                generator.write_next(&mut record, &event_time);
            }
        }
        if let Err(error) = send(producer, &settings.topic, &record, now.timestamp_millis()) {
            deliveries.fail(error.to_string());
            break;
        }
        sent += 1;
        if sent % 256 == 0 {
            producer.poll(Duration::ZERO);
        }
        progress.report(printer, &settings.topic, sent, deliveries);
    }
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    Ok(sent)
}

/// Hands one message to librdkafka, waiting while its queue is full.
fn send(producer: &BaseProducer<Deliveries>, topic: &str, record: &Record, timestamp: i64) -> Result<(), KafkaError> {
    loop {
        let mut message = BaseRecord::<str, str>::to(topic)
            .payload(record.payload())
            .timestamp(timestamp);
        if let Some(key) = record.key() {
            message = message.key(key);
        }
        match producer.send(message) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// A progress line a second: sent, delivered, and the rate over the last
/// second; on a terminal, a progress bar of the delivered messages instead.
struct Progress {
    next_at: Instant,
    last_at: Instant,
    last_delivered: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(now: Instant, bar: Option<indicatif::ProgressBar>) -> Self {
        Self {
            next_at: now + Duration::from_secs(1),
            last_at: now,
            last_delivered: 0,
            bar,
        }
    }

    fn report(&mut self, printer: &Printer, topic: &str, sent: u64, deliveries: &Deliveries) {
        if let Some(bar) = &self.bar {
            bar.set_position(deliveries.delivered());
            return;
        }
        let now = Instant::now();
        if now < self.next_at {
            return;
        }
        let delivered = deliveries.delivered();
        let rate = (delivered - self.last_delivered) as f64 / now.duration_since(self.last_at).as_secs_f64();
        printer.event(
            "produce_progress",
            &format!(
                "{topic}: {} sent, {} delivered, {} msgs/s",
                thousands(sent),
                thousands(delivered),
                thousands(rate as u64)
            ),
            json!({"topic": topic, "sent": sent, "delivered": delivered, "failed": deliveries.failed(), "messages_per_second": rate}),
        );
        self.next_at = now + Duration::from_secs(1);
        self.last_at = now;
        self.last_delivered = delivered;
    }
}

/// Set on the first Ctrl-C, which stops producing; what was sent is then
/// flushed and summed up.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let _ = std::thread::Builder::new()
        .name("dvt-produce-signal".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
                set.store(true, Ordering::SeqCst);
            }
        });
    flag
}

/// `1234567` as `1,234,567`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_printed_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(megabytes(212_345_678), "212.3 MB");
    }
}
