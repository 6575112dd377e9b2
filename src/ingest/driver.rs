//! The machinery of `dvt ingest` (`src/commands/ingest.rs`): lake sources
//! loaded in one transaction each, Kafka consumers in batch or `--follow`
//! mode with the refresh loop, and `--status`.
//!
//! Each source table is consumed on a thread of its own (`--consumers N`
//! threads), which assigns itself its partitions, or with `--group` joins
//! the source's consumer group, whose partitions several `dvt ingest`
//! processes share.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Notify;

use super::consumer::{self, Crew, Event, IngestJob, IngestTotals, KafkaSettings, Membership, Until};
use super::freshness::{thousands, Freshness, Histogram};
use super::results::{FreshnessResult, IngestResults, Metadata, PartitionResult, SourceResult};
use super::state::{load_offsets, prepare_tables, StoredOffsets};
use super::IngestSpec;
use crate::adapter::{lock_unpoisoned, Adapter};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::refresh::Refresh;
use crate::manifest::SourceTable;
use crate::output::Printer;
use crate::Outcome;

/// SQLSTATE of a table that does not exist.
const SQLSTATE_UNDEFINED_TABLE: &str = "42P01";

/// The consumer group of a source table, unless the profile names one:
/// `dvt.<project>.<source>.<table>`.
pub(crate) fn consumer_group(project: &str, source: &SourceTable) -> String {
    format!("dvt.{project}.{}.{}", source.source_name, source.name)
}

/// Loads the Parquet files under each lake source's prefix (`ingest: {lake:
/// <prefix>}`) into its bronze table, replacing what it held.
pub(crate) fn load_lake_sources(
    printer: &Printer,
    target: &crate::profile::Target,
    sources: &[(&SourceTable, &IngestSpec)],
) -> Result<Outcome, Diagnostics> {
    let settings =
        crate::lake::LakeSettings::from_target(target)?.ok_or_else(|| crate::lake::LakeSettings::missing(target))?;
    let bucket = settings.bucket.clone().ok_or_else(|| {
        Diagnostic::error(format!("target `{}` names no `s3_bucket`", target.name))
            .in_file(&target.source)
            .hint("add `s3_bucket: <bucket>` to the target: lake sources read their prefix in it")
    })?;
    let store = settings.open(&bucket)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Diagnostic::error(format!("cannot start the async runtime: {error}")))?;
    let adapter = runtime.block_on(crate::adapter::connect(target, 1))?;
    let mut failed = false;
    for (source, spec) in sources {
        let Some(prefix) = spec.lake.as_deref() else { continue };
        let table = crate::adapter::Relation::new(source.relation.schema.clone(), source.relation.identifier.clone());
        let started = Instant::now();
        let path = object_store::path::Path::from(prefix);
        // Load beside the table, then swap in one transaction: readers see
        // the old rows or the new ones, never part of them.
        let loading = table.with_identifier(format!("{}__dvt_loading", table.identifier));
        let result = runtime.block_on(async {
            let loaded = crate::lake::read::load(adapter.as_ref(), store.as_ref(), &path, &loading).await?;
            publish_loaded(adapter.as_ref(), &loading, &table)
                .await
                .map_err(crate::lake::read::ReadError::Warehouse)?;
            Ok::<_, crate::lake::read::ReadError>(loaded)
        });
        match result {
            Ok(loaded) => printer.event(
                "ingest_finished",
                &format!(
                    "Loaded {} rows into {table} from {} Parquet file{} under s3://{bucket}/{prefix} in {:.2}s",
                    thousands(loaded.rows),
                    loaded.files,
                    if loaded.files == 1 { "" } else { "s" },
                    started.elapsed().as_secs_f64()
                ),
                json!({"source": source.unique_id, "rows": loaded.rows, "files": loaded.files,
                       "elapsed_s": started.elapsed().as_secs_f64()}),
            ),
            Err(error) => {
                failed = true;
                printer.diagnostic(
                    &Diagnostic::error(format!("{}: {}", source.unique_id, error_chain(&error)))
                        .in_file(&spec.file)
                        .hint(format!("check that Parquet files were exported under s3://{bucket}/{prefix} (`dvt export` writes them), and the target's `s3_*` settings; the bronze table keeps its rows")),
                );
            }
        }
    }
    runtime.block_on(adapter.close());
    Ok(if failed { Outcome::Failure } else { Outcome::Success })
}

/// Replaces the rows of `table` with those of `loading` in one transaction
/// (or renames `loading` when `table` is new), then drops `loading`.
async fn publish_loaded(
    adapter: &dyn Adapter,
    loading: &crate::adapter::Relation,
    table: &crate::adapter::Relation,
) -> Result<(), crate::adapter::AdapterError> {
    let mut connection = adapter.connection().await?;
    let exists = !connection.columns(table).await?.is_empty();
    let context = minijinja::context! { table => minijinja::Value::from_serialize(table), loading => minijinja::Value::from_serialize(loading) };
    let templates: &[&'static str] = if exists {
        &["publish_delete.sql", "publish_insert.sql", "publish_drop.sql"]
    } else {
        &["publish_rename.sql"]
    };
    let mut statements = Vec::new();
    for template in templates {
        statements.push(super::state::render(template, context.clone())?);
    }
    connection.begin().await?;
    for statement in statements {
        if let Err(error) = connection.execute(&statement).await {
            let _ = connection.rollback().await;
            return Err(error);
        }
    }
    connection.commit().await
}

/// One `dvt ingest` (batch or `--follow`).
pub(crate) struct Run {
    pub printer: Arc<Printer>,
    pub adapter: Arc<dyn Adapter>,
    pub handle: tokio::runtime::Handle,
    pub settings: KafkaSettings,
    pub follow: bool,
    pub every: Option<Duration>,
    /// Consumers per source table (`--consumers`).
    pub consumers: usize,
    /// Whether the consumers join each source's consumer group (`--group`)
    /// rather than assign the partitions themselves.
    pub group: bool,
    /// Where `ingest_results.json` goes.
    pub target_dir: std::path::PathBuf,
    pub invocation_id: String,
}

/// What the consumers of one source table loaded, as they finish.
struct Finished {
    crew: Crew,
    remaining: usize,
    totals: IngestTotals,
    elapsed: Duration,
    failed: bool,
}

impl Finished {
    fn new(members: usize) -> Self {
        Self {
            crew: Crew::new(members),
            remaining: members,
            totals: IngestTotals::default(),
            elapsed: Duration::ZERO,
            failed: false,
        }
    }
}

/// What the consumers and the refresh loop share.
struct Progress {
    freshness: Mutex<Freshness>,
    /// Woken after each commit, for a refresh after every commit.
    committed: Notify,
    /// Set on Ctrl-C in `--follow`.
    stop: Arc<AtomicBool>,
    /// Whether committed events wait for a refresh to be visible.
    refreshing: bool,
    /// What each source table's consumers committed, by unique id, for
    /// `ingest_results.json`.
    sources: Mutex<BTreeMap<String, SourceProgress>>,
}

/// What the consumers of one source table committed in this run.
#[derive(Default)]
struct SourceProgress {
    totals: IngestTotals,
    /// Per message, commit time minus its Kafka timestamp.
    freshness: Histogram,
}

impl Run {
    pub(crate) async fn ingest(self, jobs: Vec<IngestJob>, refresh: Option<Refresh>) -> Result<Outcome, Diagnostic> {
        let started = Instant::now();
        let mut connection = self
            .adapter
            .connection()
            .await
            .map_err(|error| Diagnostic::error(error.to_string()))?;
        for job in &jobs {
            prepare_tables(&mut *connection, &job.store, &job.destination)
                .await
                .map_err(|error| Diagnostic::error(format!("{}: {error}", job.name)))?;
        }
        drop(connection);

        let progress = Arc::new(Progress {
            freshness: Mutex::new(Freshness::default()),
            committed: Notify::new(),
            stop: Arc::new(AtomicBool::new(false)),
            refreshing: refresh.is_some(),
            sources: Mutex::new(BTreeMap::new()),
        });
        let until = if self.follow {
            Until::Stopped(Arc::clone(&progress.stop))
        } else {
            Until::Drained
        };
        if self.follow {
            self.printer.info(
                "ingest_follow",
                &format!(
                    "Following {} until Ctrl-C{}",
                    jobs.iter()
                        .map(|job| format!("{} ({})", job.name, job.topics.join(", ")))
                        .collect::<Vec<_>>()
                        .join(", "),
                    match (&refresh, self.every) {
                        (Some(refresh), Some(every)) =>
                            format!("; refreshing {} models every {}", refresh.models(), humanize(every)),
                        (Some(refresh), None) => format!("; refreshing {} models after each commit", refresh.models()),
                        (None, _) => String::new(),
                    }
                ),
            );
            let stop = Arc::clone(&progress.stop);
            let printer = Arc::clone(&self.printer);
            let notify = Arc::clone(&progress);
            tokio::spawn(async move {
                let mut signals = match StopSignals::new() {
                    Ok(signals) => signals,
                    Err(error) => {
                        printer.diagnostic(&Diagnostic::warning(format!(
                            "cannot listen for Ctrl-C: {error}; stop dvt with `kill -9`, which loses nothing"
                        )));
                        return;
                    }
                };
                signals.next().await;
                printer.info(
                    "ingest_stopping",
                    "Stopping: committing what was read (Ctrl-C again to quit at once)",
                );
                stop.store(true, Ordering::SeqCst);
                notify.committed.notify_one();
                signals.next().await;
                std::process::exit(crate::exec::EXIT_FORCED);
            });
        }

        let mut consumers = tokio::task::JoinSet::new();
        let members = self.consumers;
        let mut finished: BTreeMap<String, Finished> = BTreeMap::new();
        for (job, member) in jobs
            .iter()
            .flat_map(|job| (1..=members).map(move |member| (job.clone(), member)))
        {
            let crew = finished
                .entry(job.name.clone())
                .or_insert_with(|| Finished::new(members))
                .crew
                .clone();
            let membership = if self.group {
                Membership::Group(crew)
            } else {
                Membership::Assigned {
                    index: member - 1,
                    count: members,
                }
            };
            let label = if members == 1 {
                job.name.clone()
            } else {
                format!("{} (consumer {member} of {members})", job.name)
            };
            let adapter = Arc::clone(&self.adapter);
            let handle = self.handle.clone();
            let settings = self.settings.clone();
            let printer = Arc::clone(&self.printer);
            let progress = Arc::clone(&progress);
            let until = until.clone();
            let follow = self.follow;
            // On a terminal, a counter of the rows loaded instead of a line a batch.
            let bar = printer.progress_bar(None, crate::output::ProgressUnit::Rows, label.clone());
            consumers.spawn_blocking(move || {
                let started = Instant::now();
                let mut on_event = |event: Event<'_>| match event {
                    Event::Assigned(partitions) => printer.event(
                        "ingest_assigned",
                        &format!("{label}: assigned {}", describe_assignment(partitions)),
                        json!({"source": job.name, "partitions": partitions}),
                    ),
                    Event::Committed(batch, totals) => {
                        lock_unpoisoned(&progress.freshness).committed(
                            &batch.produced_at,
                            batch.committed_at,
                            progress.refreshing,
                        );
                        progress.committed.notify_one();
                        {
                            let mut sources = lock_unpoisoned(&progress.sources);
                            let source = sources.entry(job.name.clone()).or_default();
                            source.totals.rows += batch.rows;
                            source.totals.dead_letters += batch.dead_letters;
                            source.totals.batches += 1;
                            for produced in &batch.produced_at {
                                source.freshness.record(batch.committed_at - produced);
                            }
                        }
                        if let Some(bar) = &bar {
                            bar.set_position(totals.rows);
                            bar.set_message(format!("{label}: {} dead letters", thousands(totals.dead_letters)));
                            return;
                        }
                        let message = if follow {
                            format!(
                                "{label}: committed {} rows, {} dead letters ({} rows in all)",
                                thousands(batch.rows),
                                thousands(batch.dead_letters),
                                thousands(totals.rows)
                            )
                        } else {
                            format!(
                                "{label}: {} rows, {} dead letters in {} batches so far",
                                thousands(totals.rows),
                                thousands(totals.dead_letters),
                                totals.batches
                            )
                        };
                        printer.event(
                            "ingest_batch",
                            &message,
                            json!({"source": job.name, "rows": batch.rows, "dead_letters": batch.dead_letters,
                                   "total_rows": totals.rows, "total_dead_letters": totals.dead_letters}),
                        );
                    }
                    Event::Retrying(error, wait) => {
                        printer.diagnostic(&Diagnostic::warning(format!("{label}: {}", error_chain(error))).hint(
                            format!("nothing of the batch was stored; trying again in {}", humanize(wait)),
                        ))
                    }
                };
                let result = consumer::consume(adapter, handle, &settings, &job, &until, &membership, &mut on_event);
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                (job, result, started.elapsed())
            });
        }

        // The refresh loop runs until every consumer has stopped.
        let refresh_loop = refresh.map(|refresh| {
            let progress = Arc::clone(&progress);
            let printer = Arc::clone(&self.printer);
            let every = self.every;
            let done = Arc::new(AtomicBool::new(false));
            let loop_done = Arc::clone(&done);
            let task =
                tokio::spawn(async move { refresh_until(&refresh, &progress, &printer, every, &loop_done).await });
            (task, done)
        });

        let mut failed = false;
        let mut totals = IngestTotals::default();
        while let Some(joined) = consumers.join_next().await {
            let Ok((job, result, elapsed)) = joined else {
                failed = true;
                self.printer.diagnostic(&Diagnostic::error(
                    "a consumer thread crashed; nothing of its batch was stored",
                ));
                continue;
            };
            let Some(source) = finished.get_mut(&job.name) else {
                continue;
            };
            source.remaining -= 1;
            source.elapsed = source.elapsed.max(elapsed);
            match result {
                Ok(member_totals) => {
                    source.totals.rows += member_totals.rows;
                    source.totals.dead_letters += member_totals.dead_letters;
                    source.totals.batches += member_totals.batches;
                }
                Err(error) => {
                    failed = true;
                    source.failed = true;
                    // Stop the other consumers of a --follow too.
                    progress.stop.store(true, Ordering::SeqCst);
                    self.printer.diagnostic(
                        &Diagnostic::error(format!("{}: {}", job.name, error_chain(&error))).hint(failure_hint(&error)),
                    );
                }
            }
            if source.remaining > 0 || source.failed {
                continue;
            }
            let done = source.totals;
            totals.rows += done.rows;
            totals.dead_letters += done.dead_letters;
            totals.batches += done.batches;
            let line = format!(
                "Ingested {} rows into {} from {} in {:.2}s; {} messages went to the dead-letter table {}",
                thousands(done.rows),
                job.destination.bronze,
                job.topics.join(", "),
                source.elapsed.as_secs_f64(),
                thousands(done.dead_letters),
                job.destination.dead_letter,
            );
            self.printer.event(
                "ingest_finished",
                &line,
                json!({"source": job.name, "rows": done.rows, "dead_letters": done.dead_letters,
                       "batches": done.batches, "elapsed_s": source.elapsed.as_secs_f64()}),
            );
        }
        if let Some((task, done)) = refresh_loop {
            done.store(true, Ordering::SeqCst);
            progress.committed.notify_one();
            match task.await {
                Ok(true) => {}
                Ok(false) => failed = true,
                Err(_) => {
                    failed = true;
                    self.printer.diagnostic(&Diagnostic::error("the refresh loop crashed"));
                }
            }
        }
        if self.follow {
            let freshness = lock_unpoisoned(&progress.freshness);
            let visible = if progress.refreshing {
                "visible in the refreshed models"
            } else {
                "committed to bronze"
            };
            self.printer.event(
                "ingest_freshness",
                &format!(
                    "Freshness, event produced to {visible}: {}",
                    freshness.overall.describe()
                ),
                json!({
                    "p50_ms": freshness.overall.percentile(0.5),
                    "p95_ms": freshness.overall.percentile(0.95),
                    "events": freshness.overall.count(),
                }),
            );
        }
        let results = self.results(&jobs, &progress, started.elapsed()).await;
        if let Err(diagnostic) = super::results::write(&self.target_dir, &results) {
            failed = true;
            self.printer.diagnostic(&diagnostic);
        }
        self.printer.event(
            "summary",
            &format!(
                "Done in {:.2}s: {} rows, {} dead letters, {} batches{}",
                started.elapsed().as_secs_f64(),
                thousands(totals.rows),
                thousands(totals.dead_letters),
                totals.batches,
                if failed { "; FAILED" } else { "" }
            ),
            json!({"rows": totals.rows, "dead_letters": totals.dead_letters, "batches": totals.batches, "failed": failed}),
        );
        Ok(if failed { Outcome::Failure } else { Outcome::Success })
    }
}

impl Run {
    /// `ingest_results.json` of this run: what each source committed, and
    /// each partition's stored offset and lag now.
    async fn results(&self, jobs: &[IngestJob], progress: &Progress, elapsed: Duration) -> IngestResults {
        let mut sources = Vec::new();
        for job in jobs {
            let partitions = match partition_lags(&self.adapter, &self.settings, job).await {
                Ok(lags) => lags
                    .iter()
                    .map(|lag| PartitionResult {
                        topic: lag.topic.clone(),
                        partition: lag.partition,
                        committed_offset: lag.stored.unwrap_or(lag.low_watermark),
                        high_watermark: lag.high_watermark,
                        lag: lag.lag(),
                    })
                    .collect(),
                Err(error) => {
                    self.printer.diagnostic(
                        &Diagnostic::warning(format!(
                            "{}: cannot read the lag for ingest_results.json: {error}",
                            job.name
                        ))
                        .hint("the file lists no partitions for this source; `dvt ingest --status` shows them"),
                    );
                    Vec::new()
                }
            };
            let committed = lock_unpoisoned(&progress.sources);
            let source = committed.get(&job.name);
            sources.push(SourceResult {
                unique_id: job.name.clone(),
                relation: job.destination.bronze.to_string(),
                rows: source.map_or(0, |source| source.totals.rows),
                dead_letters: source.map_or(0, |source| source.totals.dead_letters),
                batches: source.map_or(0, |source| source.totals.batches),
                partitions,
                freshness: FreshnessResult::of(source.map_or(&Histogram::default(), |source| &source.freshness)),
            });
        }
        IngestResults {
            metadata: Metadata::new(
                &self.invocation_id,
                self.follow,
                elapsed.as_secs_f64(),
                chrono::Utc::now(),
            ),
            sources,
        }
    }
}

/// Each partition's stored offset, watermarks and lag, for `job`.
async fn partition_lags(
    adapter: &Arc<dyn Adapter>,
    settings: &KafkaSettings,
    job: &IngestJob,
) -> Result<Vec<consumer::PartitionLag>, String> {
    let mut connection = adapter.connection().await.map_err(|error| error.to_string())?;
    let stored = match load_offsets(&mut *connection, &job.store, &job.topics).await {
        Ok(stored) => stored,
        Err(super::state::StateError::Warehouse { source, .. })
            if source.sqlstate() == Some(SQLSTATE_UNDEFINED_TABLE) =>
        {
            StoredOffsets::default()
        }
        Err(error) => return Err(error.to_string()),
    };
    drop(connection);
    tokio::task::block_in_place(|| consumer::lag(settings, job, &stored)).map_err(|error| error_chain(&error))
}

/// Ctrl-C (SIGINT) and SIGTERM, which schedulers and `docker stop` send:
/// both stop a `--follow` gracefully.
struct StopSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    /// Waits for the next stop signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs `refresh` after commits (or every `every`) while events wait for
/// it, until `done` or Ctrl-C. Returns whether the last refresh succeeded.
async fn refresh_until(
    refresh: &Refresh,
    progress: &Progress,
    printer: &Printer,
    every: Option<Duration>,
    done: &AtomicBool,
) -> bool {
    let mut last_ok = true;
    let mut ticker = every.map(|every| {
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    loop {
        // After Ctrl-C, the refresh in progress ends and no other starts.
        if done.load(Ordering::SeqCst) || progress.stop.load(Ordering::SeqCst) {
            return last_ok;
        }
        {
            match ticker.as_mut() {
                Some(interval) => {
                    tokio::select! {
                        _ = interval.tick() => {}
                        _ = progress.committed.notified() => continue,
                    }
                }
                None => progress.committed.notified().await,
            }
        }
        let waiting = lock_unpoisoned(&progress.freshness).has_waiting();
        if waiting && !progress.stop.load(Ordering::SeqCst) {
            last_ok = refresh_once(refresh, progress, printer).await;
        }
    }
}

async fn refresh_once(refresh: &Refresh, progress: &Progress, printer: &Printer) -> bool {
    lock_unpoisoned(&progress.freshness).refresh_started();
    let started = Instant::now();
    let results = refresh.run().await;
    let succeeded = !results.failed();
    // What failed, as a run prints it at its end.
    for failure in results.results.iter().filter(|result| result.status.is_failure()) {
        match &failure.diagnostic {
            Some(diagnostic) => printer.diagnostic(diagnostic),
            None => printer.diagnostic(&Diagnostic::error(format!(
                "{}: {}",
                failure.unique_id, failure.message
            ))),
        }
    }
    let mut freshness = lock_unpoisoned(&progress.freshness);
    freshness.refresh_finished(chrono::Utc::now().timestamp_millis(), succeeded);
    let window = freshness.take_window();
    let message = if succeeded {
        format!(
            "Refreshed {} models in {:.2}s; freshness, event produced to visible: {}",
            refresh.models(),
            started.elapsed().as_secs_f64(),
            window.describe()
        )
    } else {
        format!(
            "Refresh of {} models FAILED in {:.2}s; its events wait for the next refresh",
            refresh.models(),
            started.elapsed().as_secs_f64()
        )
    };
    printer.event(
        "ingest_refresh",
        &message,
        json!({
            "succeeded": succeeded,
            "elapsed_s": started.elapsed().as_secs_f64(),
            "p50_ms": window.percentile(0.5),
            "p95_ms": window.percentile(0.95),
            "events": window.count(),
        }),
    );
    succeeded
}

/// `dvt ingest --status`: each partition's stored offset, high watermark
/// and lag.
pub(crate) async fn status(
    printer: &Printer,
    adapter: &Arc<dyn Adapter>,
    settings: &KafkaSettings,
    jobs: &[IngestJob],
) -> Result<Outcome, Diagnostic> {
    // Text shows a table on stdout; JSON logs one `ingest_lag` event per
    // partition instead.
    let json = printer.format == crate::cli::LogFormat::Json;
    let table = |line: String| {
        if !json {
            printer.result(&line);
        }
    };
    let mut total_lag = 0;
    for job in jobs {
        let lags = partition_lags(adapter, settings, job)
            .await
            .map_err(|error| Diagnostic::error(format!("{}: {error}", job.name)))?;
        table(format!(
            "{} -> {} (consumer group `{}`)",
            job.name, job.destination.bronze, job.consumer_group
        ));
        let width = lags.iter().map(|lag| lag.topic.len()).max().unwrap_or(5).max(5);
        table(format!(
            "  {:<width$}  {:>9}  {:>12}  {:>14}  {:>10}",
            "topic", "partition", "stored", "high watermark", "lag"
        ));
        for lag in &lags {
            total_lag += lag.lag();
            table(format!(
                "  {:<width$}  {:>9}  {:>12}  {:>14}  {:>10}",
                lag.topic,
                lag.partition,
                lag.stored.map_or_else(|| "-".to_string(), |offset| offset.to_string()),
                lag.high_watermark,
                lag.lag()
            ));
            if json {
                printer.event(
                    "ingest_lag",
                    &format!("{} [{}]: lag {}", lag.topic, lag.partition, lag.lag()),
                    json!({"source": job.name, "topic": lag.topic, "partition": lag.partition,
                       "stored_offset": lag.stored, "high_watermark": lag.high_watermark, "lag": lag.lag()}),
                );
            }
        }
    }
    printer.event(
        "summary",
        &format!("Total lag: {} messages", thousands(total_lag as u64)),
        json!({"lag": total_lag}),
    );
    Ok(Outcome::Success)
}

/// An error with its causes, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn failure_hint(error: &consumer::IngestError) -> String {
    match error {
        consumer::IngestError::MissingTopic { topic } => format!(
            "create the topic `{topic}` on the broker (or let `dvt produce --topic {topic}` create it), or fix `topics:` in the source's `ingest:` block"
        ),
        _ => "nothing of the failed batch was stored; run `dvt ingest` again to resume from the stored offsets".to_string(),
    }
}

/// `rental_events [0, 2], clicks [1]`, or `no partitions`.
fn describe_assignment(partitions: &[(String, i32)]) -> String {
    if partitions.is_empty() {
        return "no partitions".to_string();
    }
    let mut by_topic: std::collections::BTreeMap<&str, Vec<i32>> = std::collections::BTreeMap::new();
    for (topic, partition) in partitions {
        by_topic.entry(topic).or_default().push(*partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, mut numbers)| {
            numbers.sort_unstable();
            let numbers: Vec<String> = numbers.iter().map(i32::to_string).collect();
            format!("{topic} [{}]", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `10s`, `1.5s`, `2m`.
fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{}m", seconds / 60.0)
    } else {
        format!("{seconds}s")
    }
}
