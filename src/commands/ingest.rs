//! `dvt ingest`: loads the Kafka topics (or lake prefixes) of the selected
//! sources that have an `ingest:` block into their bronze tables.
//!
//! - By default it drains each topic to the high watermarks it had at the
//!   start, then exits: the batch mode of CI and schedulers.
//! - `--follow` streams until Ctrl-C, committing micro-batches, and with
//!   `--refresh SELECTOR [--every D]` runs the selected models after each
//!   commit or on an interval, reporting end-to-end freshness.
//! - `--status` prints each partition's lag and exits.
//!
//! The consumers, the refresh loop and the lake loads are in
//! [`crate::ingest::driver`].

use std::sync::Arc;

use crate::adapter;
use crate::cli::IngestArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::refresh::Refresh;
use crate::ingest::consumer::{self, IngestJob, KafkaSettings};
use crate::ingest::driver;
use crate::ingest::state::{offsets_relation, Destination, Dialect, OffsetStore};
use crate::ingest::{IngestSpec, Mapper};
use crate::manifest::SourceTable;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{pipeline, Outcome};

pub fn ingest(printer: Arc<Printer>, args: &IngestArgs) -> Result<Outcome, Diagnostics> {
    // `--state` has no use here: sources have no state to compare.
    let invocation = Invocation {
        state: None,
        ..Invocation::selecting("ingest", &args.project, &args.selection)
    };
    let settings = Settings::resolve(&args.project, invocation, None)?;
    let prepared = pipeline::prepare(&printer, settings)?;
    let plan = &prepared.plan;
    let session = &prepared.settings.session;
    let sources: Vec<(&SourceTable, &IngestSpec)> = prepared
        .rendered
        .manifest
        .sources
        .values()
        .filter(|source| plan.selected.contains(&source.unique_id))
        .filter_map(|source| Some((source, prepared.ingested.get(&source.unique_id)?)))
        .collect();
    if sources.is_empty() {
        return Err(Diagnostic::error("no selected source table has an `ingest:` block")
            .hint("declare `ingest: {topics: [...], format: json, mapping: raw}` on a source table, or select one with `--select source:<source>.<table>`")
            .into());
    }
    // Sources fed from Parquet in the lake load once, in batch mode, on any
    // adapter; Kafka sources go on below.
    let (lake_sources, sources): (Vec<_>, Vec<_>) = sources.into_iter().partition(|(_, spec)| spec.lake.is_some());
    if !lake_sources.is_empty() && (args.follow || args.status) {
        if sources.is_empty() {
            return Err(Diagnostic::error(
                "the selected sources are fed from the lake, which has no stream to follow or lag to show",
            )
            .hint("run `dvt ingest` without `--follow` or `--status` to load them")
            .into());
        }
        printer.info(
            "ingest_lake_skipped",
            &format!(
                "Leaving out {} source{} fed from the lake: they load with a plain `dvt ingest`",
                lake_sources.len(),
                if lake_sources.len() == 1 { "" } else { "s" }
            ),
        );
    }
    if sources.is_empty() {
        return driver::load_lake_sources(&printer, &session.target, &lake_sources);
    }
    if !lake_sources.is_empty()
        && !args.follow
        && !args.status
        && driver::load_lake_sources(&printer, &session.target, &lake_sources)? == Outcome::Failure
    {
        return Ok(Outcome::Failure);
    }
    // Into PostgreSQL or DuckDB alike; an adapter type dvt lacks fails
    // when connecting, below. Spark reads Kafka itself (Structured
    // Streaming), and dvt does not load into it.
    let dialect = Dialect::of(&session.target.adapter_type);
    if dialect == Dialect::Spark {
        return Err(Diagnostic::error(format!(
            "`dvt ingest` loads into PostgreSQL and DuckDB targets; target `{}` is `spark`",
            session.target.name
        ))
        .in_file(&session.target.source)
        .hint("ingest into a PostgreSQL or DuckDB target, or read the topic with Spark's own Kafka source")
        .into());
    }
    let target_dir = session.project.target_dir();
    let invocation_id = session.options.invocation_id.clone();
    let settings = match (KafkaSettings::from_target(&session.target), &args.bootstrap_servers) {
        (Some(settings), Some(servers)) => settings.with_bootstrap(servers),
        (None, Some(servers)) => KafkaSettings::bootstrap(servers),
        (Some(settings), None) => settings,
        (None, None) => {
            return Err(Diagnostic::error(format!("target `{}` names no Kafka cluster", session.target.name))
                .in_file(&session.target.source)
                .hint("add `kafka_bootstrap_servers: host:9092` to the target in profiles.yml (other librdkafka settings as `kafka_<name>`, secrets through env_var()), or pass `--bootstrap-servers host:9092`")
                .into())
        }
    };
    let jobs: Vec<IngestJob> = sources
        .iter()
        .filter_map(|(source, spec)| {
            let destination = Destination::of_source(source, spec)?;
            let consumer_group = driver::consumer_group(&session.project.name, source);
            let mut batch = spec.batch;
            if let Some(rows) = args.batch_rows {
                batch.rows = rows;
            }
            if let Some(latency) = args.batch_latency {
                batch.latency = latency;
            }
            Some(IngestJob {
                name: source.unique_id.clone(),
                topics: spec.topics.clone(),
                store: OffsetStore {
                    relation: offsets_relation(&session.target.schema),
                    consumer_group: consumer_group.clone(),
                    dialect,
                },
                consumer_group,
                destination,
                mapper: Arc::new(Mapper::for_dialect(&spec.mapping, dialect)),
                batch,
            })
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Diagnostic::error(format!("cannot start the async runtime: {error}")))?;
    // A connection for each batch loading at once, and the refresh's.
    let threads = jobs.len() * args.consumers * consumer::load_depth(dialect) + prepared.settings.threads;
    let adapter = runtime.block_on(adapter::connect(&session.target, threads))?;
    let outcome = if args.status {
        runtime.block_on(driver::status(&printer, &adapter, &settings, &jobs))
    } else {
        let refresh = if args.refresh.is_empty() {
            None
        } else {
            match Refresh::prepare(&printer, prepared, &args.refresh, Arc::clone(&adapter)) {
                Ok(refresh) => Some(refresh),
                Err(diagnostics) => {
                    runtime.block_on(adapter.close());
                    return Err(diagnostics);
                }
            }
        };
        let run = driver::Run {
            printer: Arc::clone(&printer),
            adapter: Arc::clone(&adapter),
            handle: runtime.handle().clone(),
            settings,
            follow: args.follow,
            every: args.every,
            consumers: args.consumers,
            group: args.group,
            target_dir,
            invocation_id,
        };
        runtime.block_on(run.ingest(jobs, refresh))
    };
    runtime.block_on(adapter.close());
    Ok(outcome?)
}
