//! The Kafka side of `dvt ingest`: the consumers of an ingested source table,
//! which drain its partitions into the warehouse in batches committed
//! together with their offsets.
//!
//! Offsets live in the warehouse (see `docs/ingest-design.md`), and the
//! consumer never commits to Kafka. It takes its partitions one of two ways
//! ([`Membership`]):
//!
//! - **Assigned** (the default): the process `assign`s the partitions itself
//!   (its `--consumers` split them) at the stored offsets, and never joins
//!   Kafka's consumer group. Nothing waits for a group to form, or for a
//!   killed member's session to time out: a batch ingest with nothing new
//!   returns after one metadata request and one query, and a re-run after a
//!   `kill -9` reads at once.
//! - **Group** (`--group`): the consumers join the source's consumer group,
//!   so several processes share its partitions; on every assignment the
//!   rebalance callback reads the stored offsets and assigns there.
//!
//! Either way each batch's commit is fenced on the offsets it started from,
//! so a rebalance, a `kill -9`, or two processes reading the same partitions
//! can neither lose nor duplicate a message: the loser's batch rolls back
//! and it carries on from what the winner stored.
//!
//! librdkafka's consumer is synchronous: it polls on a thread of its own,
//! and the warehouse work runs on the tokio runtime through a handle.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message as _};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::runtime::Handle;

use super::state::{commit_after, load_offsets, Destination, OffsetCommit, OffsetStore, StateError, StoredOffsets};
use super::{BatchEncoder, BatchLimits, EncodedBatch, Mapper, Message};
use crate::adapter::{lock_unpoisoned, Adapter};
use crate::profile::Target;

/// How long a metadata or watermark request may take.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one poll waits for a message.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How many messages may pass between two checks for drained partitions,
/// which look at every assigned partition (per message, with 64
/// partitions, that took most of the consumer's CPU time).
const DRAIN_CHECK_INTERVAL: u32 = 1024;

/// The librdkafka settings of a target: every `kafka_<name>` key of the
/// profile's target, as the property `<name>` with dots for underscores
/// (`kafka_bootstrap_servers` is `bootstrap.servers`,
/// `kafka_sasl_password` is `sasl.password`, read with `env_var()`).
#[derive(Clone)]
pub struct KafkaSettings {
    properties: BTreeMap<String, String>,
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(key, value)| {
                let value = if key.contains("password") || key.contains("secret") {
                    "****"
                } else {
                    value.as_str()
                };
                (key.as_str(), value)
            })
            .collect();
        formatter
            .debug_struct("KafkaSettings")
            .field("properties", &shown)
            .finish()
    }
}

impl KafkaSettings {
    /// The settings of `target`, or `None` when it names no
    /// `kafka_bootstrap_servers`.
    pub fn from_target(target: &Target) -> Option<Self> {
        let properties: BTreeMap<String, String> = target
            .fields
            .keys()
            .filter_map(|key| {
                let name = key.strip_prefix("kafka_")?;
                Some((name.replace('_', "."), target.string(key)?))
            })
            .collect();
        properties
            .contains_key("bootstrap.servers")
            .then_some(Self { properties })
    }

    /// The settings with `bootstrap.servers` alone, for tests and
    /// `dvt produce --bootstrap-servers`.
    pub fn bootstrap(servers: &str) -> Self {
        Self {
            properties: BTreeMap::from([("bootstrap.servers".to_string(), servers.to_string())]),
        }
    }

    /// These settings with `bootstrap.servers` set to `servers`.
    pub fn with_bootstrap(mut self, servers: &str) -> Self {
        self.properties
            .insert("bootstrap.servers".to_string(), servers.to_string());
        self
    }

    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// How a consumer gets its partitions.
#[derive(Debug, Clone)]
pub enum Membership {
    /// Member `index` (from 0) of this process's `count` consumers of the
    /// source: it assigns itself every `count`-th partition, in topic and
    /// partition order, starting at the `index`-th.
    Assigned { index: usize, count: usize },
    /// A member of the source's consumer group, with this process's other
    /// members.
    Group(Crew),
}

/// One source table to ingest.
#[derive(Debug, Clone)]
pub struct IngestJob {
    /// `source.events.rental_events`, for messages.
    pub name: String,
    pub topics: Vec<String>,
    pub consumer_group: String,
    pub mapper: Arc<Mapper>,
    pub destination: Destination,
    pub store: OffsetStore,
    pub batch: BatchLimits,
}

/// What one job loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestTotals {
    pub rows: u64,
    pub dead_letters: u64,
    pub batches: u64,
}

/// When a consumer stops.
#[derive(Debug, Clone)]
pub enum Until {
    /// Batch mode: once every partition has reached the high watermark it
    /// had when the consumer started.
    Drained,
    /// `--follow`: when the flag is set (Ctrl-C), after committing what it
    /// holds.
    Stopped(Arc<AtomicBool>),
}

/// One committed batch, as reported to the caller.
#[derive(Debug, Clone)]
pub struct CommittedBatch {
    pub rows: u64,
    pub dead_letters: u64,
    /// When each message of the batch was produced (its Kafka timestamp),
    /// in milliseconds since the epoch; messages without one are left out.
    pub produced_at: Vec<i64>,
    /// When the transaction committed, in milliseconds since the epoch.
    pub committed_at: i64,
}

/// What a consumer reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The group gave this consumer these partitions (none after a
    /// revocation).
    Assigned(&'a [(String, i32)]),
    /// A batch committed; the totals include it.
    Committed(&'a CommittedBatch, &'a IngestTotals),
    /// A batch failed on a transient warehouse error; nothing of it was
    /// stored, and it is read again after the wait.
    Retrying(&'a IngestError, Duration),
}

/// How many times in a row a batch may fail on a transient warehouse error
/// before the ingest gives up, and how long to wait at most between tries.
const TRANSIENT_ATTEMPTS_DRAINED: u32 = 5;
const TRANSIENT_ATTEMPTS_FOLLOW: u32 = 30;
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Everything that can stop an ingest.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("topic `{topic}` does not exist on the broker")]
    MissingTopic { topic: String },
    #[error("the consumer thread stopped unexpectedly")]
    Crashed,
}

/// Shared between the polling thread and the rebalance callback.
struct Shared {
    adapter: Arc<dyn Adapter>,
    handle: Handle,
    store: OffsetStore,
    topics: Vec<String>,
    offsets: Mutex<StoredOffsets>,
    /// Set by every assignment and revocation: the batch being built is
    /// dropped, since the consumer now starts from the stored offsets.
    rebalanced: AtomicBool,
    /// The first error the callback met, which stops the loop.
    failure: Mutex<Option<IngestError>>,
    /// The partitions assigned right now.
    assigned: Mutex<Vec<(String, i32)>>,
}

impl Shared {
    /// Reads the stored offsets of every topic from the warehouse.
    fn reload_offsets(&self) -> Result<(), IngestError> {
        let loaded = self.handle.block_on(async {
            let mut connection = self
                .adapter
                .connection()
                .await
                .map_err(StateError::warehouse("connect to read the stored offsets"))?;
            load_offsets(&mut *connection, &self.store, &self.topics).await
        })?;
        *lock_unpoisoned(&self.offsets) = loaded;
        Ok(())
    }
}

struct IngestContext {
    shared: Arc<Shared>,
}

impl ClientContext for IngestContext {}

impl ConsumerContext for IngestContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, partitions: &mut TopicPartitionList) {
        self.shared.rebalanced.store(true, Ordering::SeqCst);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if let Err(error) = self.shared.reload_offsets() {
                    lock_unpoisoned(&self.shared.failure).get_or_insert(error);
                }
                let offsets = lock_unpoisoned(&self.shared.offsets).clone();
                let mut assigned = Vec::new();
                for element in partitions.elements() {
                    let (topic, partition) = (element.topic().to_string(), element.partition());
                    assigned.push((topic, partition));
                }
                for (topic, partition) in &assigned {
                    let start = offsets.get(topic, *partition).map_or(Offset::Beginning, Offset::Offset);
                    if let Err(error) = partitions.set_partition_offset(topic, *partition, start) {
                        lock_unpoisoned(&self.shared.failure).get_or_insert(error.into());
                    }
                }
                if let Err(error) = consumer.assign(partitions) {
                    lock_unpoisoned(&self.shared.failure).get_or_insert(error.into());
                }
                *lock_unpoisoned(&self.shared.assigned) = assigned;
            }
            _ => {
                lock_unpoisoned(&self.shared.assigned).clear();
                if let Err(error) = consumer.unassign() {
                    lock_unpoisoned(&self.shared.failure).get_or_insert(error.into());
                }
            }
        }
    }
}

/// Consumes `job`'s topics into the warehouse until `until` says to stop,
/// reporting assignments, commits and retries to `on_event`, and returns what it
/// loaded. Blocks: call it from a blocking thread.
pub fn consume(
    adapter: Arc<dyn Adapter>,
    handle: Handle,
    settings: &KafkaSettings,
    job: &IngestJob,
    until: &Until,
    membership: &Membership,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<IngestTotals, IngestError> {
    let shared = Arc::new(Shared {
        adapter,
        handle,
        store: job.store.clone(),
        topics: job.topics.clone(),
        offsets: Mutex::new(StoredOffsets::default()),
        rebalanced: AtomicBool::new(false),
        failure: Mutex::new(None),
        assigned: Mutex::new(Vec::new()),
    });
    let consumer: BaseConsumer<IngestContext> = settings
        .client_config()
        .set("group.id", &job.consumer_group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create_with_context(IngestContext {
            shared: Arc::clone(&shared),
        })?;

    let crew = match membership {
        Membership::Assigned { index, count } => {
            return consume_with(&consumer, &shared, job, until, Some((*index, *count)), on_event);
        }
        Membership::Group(crew) => crew,
    };
    let result = consume_with(&consumer, &shared, job, until, None, on_event);
    crew.leave();
    if result.is_ok() && matches!(until, Until::Drained) {
        // Stay in the group, reading nothing, until the crew's other
        // consumers have drained theirs: leaving now would have the group
        // take partitions from them mid-batch.
        while !crew.all_left() {
            if let Some(Ok(_)) = consumer.poll(POLL_INTERVAL) {
                // Past the high watermark: not this run's to load.
            }
        }
    }
    result
}

/// The consumers of one source table in one `dvt ingest` process
/// (`--consumers N`), which share its partitions as members of its group.
#[derive(Debug, Clone)]
pub struct Crew {
    remaining: Arc<Mutex<usize>>,
}

impl Crew {
    pub fn new(members: usize) -> Self {
        Self {
            remaining: Arc::new(Mutex::new(members)),
        }
    }

    fn leave(&self) {
        let mut remaining = lock_unpoisoned(&self.remaining);
        *remaining = remaining.saturating_sub(1);
    }

    fn all_left(&self) -> bool {
        *lock_unpoisoned(&self.remaining) == 0
    }
}

/// Consumes with `consumer`: subscribed to the group when `share` is
/// `None`, else assigned share `(index, count)` of the partitions.
fn consume_with(
    consumer: &BaseConsumer<IngestContext>,
    shared: &Arc<Shared>,
    job: &IngestJob,
    until: &Until,
    share: Option<(usize, usize)>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<IngestTotals, IngestError> {
    // The high watermarks now: a batch ingest stops there.
    let targets = high_watermarks(consumer, &job.topics)?;
    match share {
        None => {
            let topics: Vec<&str> = job.topics.iter().map(String::as_str).collect();
            consumer.subscribe(&topics)?;
        }
        Some((index, count)) => {
            let mine: Vec<(String, i32)> = targets.keys().skip(index).step_by(count.max(1)).cloned().collect();
            shared.reload_offsets()?;
            let offsets = lock_unpoisoned(&shared.offsets).clone();
            // Nothing to load in batch mode: done, without a fetch.
            let drained = mine.iter().all(|(topic, partition)| {
                let target = targets.get(&(topic.clone(), *partition)).copied().unwrap_or(0);
                offsets.get(topic, *partition).unwrap_or(0) >= target
            });
            if mine.is_empty() || (drained && matches!(until, Until::Drained)) {
                on_event(Event::Assigned(&mine));
                return Ok(IngestTotals::default());
            }
            let mut assignment = TopicPartitionList::new();
            for (topic, partition) in &mine {
                let start = offsets.get(topic, *partition).map_or(Offset::Beginning, Offset::Offset);
                assignment.add_partition_offset(topic, *partition, start)?;
            }
            consumer.assign(&assignment)?;
            *lock_unpoisoned(&shared.assigned) = mine;
            // Reported by the loop, as an assignment by the group is.
            shared.rebalanced.store(true, Ordering::SeqCst);
        }
    }

    // In the group, a rebalance must find no batch in flight: each batch
    // commits before the consumer reads on. Assigned, batches load on other
    // connections while it reads on, in order (see `Loads`).
    let depth = if share.is_none() {
        1
    } else {
        load_depth(job.store.dialect)
    };
    let mut loads = Loads::new(depth, share.is_none(), lock_unpoisoned(&shared.offsets).clone());
    let mut run = Settling::default();
    let mut pending = Pending::new(job);
    // The next offset of each assigned partition, as consumed so far.
    let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut header_buffer: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    let mut since_drain_check: u32 = 0;
    loop {
        let stopping = matches!(until, Until::Stopped(flag) if flag.load(Ordering::SeqCst));
        let polled = if stopping { None } else { consumer.poll(POLL_INTERVAL) };
        let got_message = matches!(polled, Some(Ok(_)));
        if let Some(error) = lock_unpoisoned(&shared.failure).take() {
            return Err(error);
        }
        if shared.rebalanced.swap(false, Ordering::SeqCst) {
            // The new assignment starts at the stored offsets: what was
            // read but not committed will be read again.
            pending = Pending::new(job);
            positions.clear();
            loads.reset(lock_unpoisoned(&shared.offsets).clone());
            on_event(Event::Assigned(&lock_unpoisoned(&shared.assigned).clone()));
        }
        match polled {
            Some(Ok(message)) => {
                header_buffer.clear();
                if let Some(headers) = message.headers() {
                    for header in headers.iter() {
                        header_buffer.push((header.key.to_string(), header.value.map(<[u8]>::to_vec)));
                    }
                }
                let headers: Vec<(&str, Option<&[u8]>)> = header_buffer
                    .iter()
                    .map(|(key, value)| (key.as_str(), value.as_deref()))
                    .collect();
                let timestamp = message.timestamp().to_millis();
                pending.push(&Message {
                    topic: message.topic(),
                    partition: message.partition(),
                    offset: message.offset(),
                    timestamp,
                    key: message.key(),
                    payload: message.payload(),
                    headers: &headers,
                });
                positions.insert((message.topic().to_string(), message.partition()), message.offset() + 1);
            }
            Some(Err(KafkaError::PartitionEOF(_))) | None => {}
            Some(Err(error)) => return Err(error.into()),
        }

        let due = !pending.is_empty() && pending.due(job.batch);
        let drained = match until {
            Until::Drained => {
                since_drain_check += 1;
                let check = !got_message || due || since_drain_check >= DRAIN_CHECK_INTERVAL;
                check && {
                    since_drain_check = 0;
                    let assigned = lock_unpoisoned(&shared.assigned);
                    let stored = lock_unpoisoned(&shared.offsets);
                    !assigned.is_empty()
                        && assigned.iter().all(|(topic, partition)| {
                            let key = (topic.clone(), *partition);
                            let target = targets.get(&key).copied().unwrap_or(0);
                            let position = positions
                                .get(&key)
                                .copied()
                                .or_else(|| stored.get(topic, *partition))
                                .unwrap_or(0);
                            position >= target
                        })
                }
            }
            Until::Stopped(_) => stopping,
        };
        if !pending.is_empty() && (drained || due) {
            let (batch, produced_at) = std::mem::replace(&mut pending, Pending::new(job)).finish();
            // A full pipeline waits for its oldest batch first.
            while loads.is_full() && run.restart.is_none() {
                if let Some(finished) = loads.next_finished(&shared.handle, true) {
                    run.absorb(finished, shared, on_event)?;
                }
            }
            if run.restart.is_none() {
                loads.dispatch(shared, job, batch, produced_at);
            }
        }
        // What finished meanwhile, in order; everything when the batches
        // are done, when one failed, or when each must commit before the
        // consumer reads on.
        let settle_all = loads.synchronous || run.restart.is_some() || (pending.is_empty() && drained);
        while let Some(finished) = loads.next_finished(&shared.handle, settle_all) {
            run.absorb(finished, shared, on_event)?;
        }
        if let Some(restart) = run.restart.take() {
            // No batch is in flight now. Start again from what is stored:
            // what was read since is read again.
            if let Restart::Transient(error) = restart {
                run.failures += 1;
                let limit = match until {
                    Until::Drained => TRANSIENT_ATTEMPTS_DRAINED,
                    Until::Stopped(_) => TRANSIENT_ATTEMPTS_FOLLOW,
                };
                if run.failures >= limit || stopping {
                    return Err(error);
                }
                // Nothing of the batch was stored: wait, then read it
                // again from the stored offsets.
                let wait = MAX_BACKOFF.min(Duration::from_millis(250) * 2u32.pow(run.failures.min(6)));
                on_event(Event::Retrying(&error, wait));
                std::thread::sleep(wait);
                match shared.reload_offsets() {
                    Ok(()) => {}
                    // The next batch's commit tries again; its stored
                    // offsets are still the ones it expects.
                    Err(error) if is_transient(&error) => {}
                    Err(error) => return Err(error),
                }
            } else {
                // Another consumer moved these partitions on; start again
                // from what it stored.
                shared.reload_offsets()?;
            }
            seek_to_stored(consumer, shared)?;
            positions.clear();
            pending = Pending::new(job);
            loads.reset(lock_unpoisoned(&shared.offsets).clone());
        } else if pending.is_empty() && drained && loads.in_flight.is_empty() {
            return Ok(run.totals);
        }
    }
}

/// How many batches load at once, each on a connection of its own, while
/// the consumer reads on: PostgreSQL commits them in order (each waits for
/// the one before to commit before it stores its offsets). DuckDB would
/// report a write-write conflict on the offsets of a transaction that began
/// before the one before committed, so one loads at a time there, while
/// the consumer reads and encodes the next.
pub fn load_depth(dialect: super::Dialect) -> usize {
    match dialect {
        super::Dialect::Postgres => LOAD_DEPTH,
        super::Dialect::DuckDb | super::Dialect::Spark => 1,
    }
}

/// Batches in flight at most on PostgreSQL; connections per consumer.
pub const LOAD_DEPTH: usize = 3;

/// Why the consumer starts again from the stored offsets.
enum Restart {
    /// Another consumer stored these partitions' offsets first.
    Conflict,
    /// A lost connection or a serialization failure; nothing was stored.
    Transient(IngestError),
}

/// What the batches committed so far, and whether the consumer must start
/// again from the stored offsets once none is in flight.
#[derive(Default)]
struct Settling {
    totals: IngestTotals,
    /// Transient failures in a row.
    failures: u32,
    restart: Option<Restart>,
}

impl Settling {
    /// Takes in one finished batch, in the order the batches were read.
    fn absorb(
        &mut self,
        finished: Finished,
        shared: &Shared,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), IngestError> {
        match finished.result {
            Ok((committed, committed_at)) => {
                self.failures = 0;
                lock_unpoisoned(&shared.offsets).record(&finished.commits);
                self.totals.rows += committed.rows;
                self.totals.dead_letters += committed.dead_letters;
                self.totals.batches += 1;
                let report = CommittedBatch {
                    rows: committed.rows,
                    dead_letters: committed.dead_letters,
                    produced_at: finished.produced_at,
                    committed_at,
                };
                on_event(Event::Committed(&report, &self.totals));
            }
            // The batch before it failed, which restarts the consumer.
            Err(IngestError::State(StateError::Aborted)) => {}
            Err(IngestError::State(StateError::OffsetConflict { .. })) => {
                if self.restart.is_none() {
                    self.restart = Some(Restart::Conflict);
                }
            }
            Err(error) if is_transient(&error) => {
                if !matches!(self.restart, Some(Restart::Transient(_))) {
                    self.restart = Some(Restart::Transient(error));
                }
            }
            Err(error) => return Err(error),
        }
        Ok(())
    }
}

/// Batches loading on connections of their own while the consumer reads
/// on, oldest first. Each commits only after the one before it did, and its
/// offsets expect what that one stored: when one fails, every later one
/// rolls back ([`StateError::Aborted`]).
struct Loads {
    in_flight: std::collections::VecDeque<InFlight>,
    depth: usize,
    /// Whether each batch must commit before the consumer reads on.
    synchronous: bool,
    /// The stored offsets once every batch in flight has committed: what
    /// the next batch expects.
    dispatched: StoredOffsets,
    /// Whether the last batch dispatched committed, for the next to wait on.
    last: Option<tokio::sync::oneshot::Receiver<bool>>,
}

struct InFlight {
    task: tokio::task::JoinHandle<Result<(super::Committed, i64), StateError>>,
    commits: Vec<OffsetCommit>,
    produced_at: Vec<i64>,
}

/// A batch that finished loading: committed (with the time, in
/// milliseconds since the epoch) or not.
struct Finished {
    result: Result<(super::Committed, i64), IngestError>,
    commits: Vec<OffsetCommit>,
    produced_at: Vec<i64>,
}

impl Loads {
    fn new(depth: usize, synchronous: bool, stored: StoredOffsets) -> Self {
        Self {
            in_flight: std::collections::VecDeque::new(),
            depth: depth.max(1),
            synchronous,
            dispatched: stored,
            last: None,
        }
    }

    /// Starts again from `stored`, with no batch in flight.
    fn reset(&mut self, stored: StoredOffsets) {
        self.dispatched = stored;
        self.last = None;
    }

    fn is_full(&self) -> bool {
        self.in_flight.len() >= self.depth
    }

    /// Starts loading `batch` on a connection of its own.
    fn dispatch(&mut self, shared: &Shared, job: &IngestJob, batch: EncodedBatch, produced_at: Vec<i64>) {
        let commits = self.dispatched.commits_for(&batch);
        self.dispatched.record(&commits);
        let (signal, next) = tokio::sync::oneshot::channel();
        let previous = self.last.replace(next);
        let adapter = Arc::clone(&shared.adapter);
        let store = job.store.clone();
        let destination = job.destination.clone();
        let offsets = commits.clone();
        let task = shared.handle.spawn(async move {
            let result = async {
                let mut connection = adapter
                    .connection()
                    .await
                    .map_err(StateError::warehouse("connect to load a batch"))?;
                let before = async move {
                    match previous {
                        Some(previous) => previous.await.unwrap_or(false),
                        None => true,
                    }
                };
                let committed = commit_after(&mut *connection, &store, &destination, batch, &offsets, before).await?;
                Ok((committed, Utc::now().timestamp_millis()))
            }
            .await;
            let _ = signal.send(result.is_ok());
            result
        });
        self.in_flight.push_back(InFlight {
            task,
            commits,
            produced_at,
        });
    }

    /// The oldest batch in flight once it has finished: waiting for it when
    /// `wait`, else only when it already has.
    fn next_finished(&mut self, handle: &Handle, wait: bool) -> Option<Finished> {
        if !wait && !self.in_flight.front()?.task.is_finished() {
            return None;
        }
        let flight = self.in_flight.pop_front()?;
        let result = match handle.block_on(flight.task) {
            Ok(result) => result.map_err(IngestError::from),
            Err(_) => Err(IngestError::Crashed),
        };
        Some(Finished {
            result,
            commits: flight.commits,
            produced_at: flight.produced_at,
        })
    }
}

fn is_transient(error: &IngestError) -> bool {
    matches!(error, IngestError::State(state) if state.is_transient())
}

/// The high watermark of every partition of `topics`; an error when a
/// topic does not exist.
fn high_watermarks<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topics: &[String],
) -> Result<BTreeMap<(String, i32), i64>, IngestError> {
    let mut targets = BTreeMap::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), BROKER_TIMEOUT)?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|found| found.name() == topic)
            .map(|found| found.partitions())
            .unwrap_or_default();
        if partitions.is_empty() {
            return Err(IngestError::MissingTopic { topic: topic.clone() });
        }
        for partition in partitions {
            let (_, high) = consumer.fetch_watermarks(topic, partition.id(), BROKER_TIMEOUT)?;
            targets.insert((topic.clone(), partition.id()), high);
        }
    }
    Ok(targets)
}

/// The batch being built: its encoder, when its first message came, and
/// when each message was produced.
struct Pending<'a> {
    encoder: BatchEncoder<'a>,
    first_at: Option<Instant>,
    produced_at: Vec<i64>,
}

impl<'a> Pending<'a> {
    fn new(job: &'a IngestJob) -> Self {
        Self {
            encoder: job.mapper.batch(Utc::now()),
            first_at: None,
            produced_at: Vec::new(),
        }
    }

    fn push(&mut self, message: &Message<'_>) {
        self.first_at.get_or_insert_with(Instant::now);
        if let Some(timestamp) = message.timestamp {
            self.produced_at.push(timestamp);
        }
        self.encoder.push(message);
    }

    fn is_empty(&self) -> bool {
        self.encoder.is_empty()
    }

    /// Whether the batch is full, or its first message has waited long
    /// enough.
    fn due(&self, limits: BatchLimits) -> bool {
        self.encoder.len() >= limits.rows || self.first_at.is_some_and(|first| first.elapsed() >= limits.latency)
    }

    fn finish(self) -> (EncodedBatch, Vec<i64>) {
        (self.encoder.finish(), self.produced_at)
    }
}

/// The stored offset and the high watermark of one partition, for
/// `dvt ingest --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// The next offset to load, as stored in the warehouse; `None` before
    /// the first batch.
    pub stored: Option<i64>,
    pub low_watermark: i64,
    pub high_watermark: i64,
}

impl PartitionLag {
    /// How many messages are still to load.
    pub fn lag(&self) -> i64 {
        (self.high_watermark - self.stored.unwrap_or(self.low_watermark)).max(0)
    }
}

/// The lag of every partition of `job`'s topics: the broker's watermarks
/// against the offsets stored in the warehouse.
pub fn lag(
    settings: &KafkaSettings,
    job: &IngestJob,
    stored: &StoredOffsets,
) -> Result<Vec<PartitionLag>, IngestError> {
    let consumer: BaseConsumer = settings.client_config().set("group.id", &job.consumer_group).create()?;
    let mut lags = Vec::new();
    for ((topic, partition), high) in high_watermarks(&consumer, &job.topics)? {
        let (low, _) = consumer.fetch_watermarks(&topic, partition, BROKER_TIMEOUT)?;
        lags.push(PartitionLag {
            stored: stored.get(&topic, partition),
            topic,
            partition,
            low_watermark: low,
            high_watermark: high,
        });
    }
    Ok(lags)
}

/// Moves every assigned partition back to its stored offset.
fn seek_to_stored(consumer: &BaseConsumer<IngestContext>, shared: &Shared) -> Result<(), IngestError> {
    let offsets = lock_unpoisoned(&shared.offsets).clone();
    for (topic, partition) in lock_unpoisoned(&shared.assigned).iter() {
        let offset = offsets.get(topic, *partition).map_or(Offset::Beginning, Offset::Offset);
        consumer.seek(topic, *partition, offset, BROKER_TIMEOUT)?;
    }
    Ok(())
}
