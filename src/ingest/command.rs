//! `dvt ingest`: drains the Kafka topics of the selected sources that have
//! an `ingest:` block into their bronze tables, then exits. Each source
//! table is consumed by a consumer group of its own; several `dvt ingest`
//! processes share a group's partitions.

use std::sync::Arc;
use std::time::Instant;

use super::consumer::{drain, IngestJob, IngestTotals, KafkaSettings};
use super::state::{offsets_relation, prepare_tables, Destination, OffsetStore};
use super::Mapper;
use crate::adapter::Relation;
use crate::cli::IngestArgs;
use crate::commands::load;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::SourceTable;
use crate::output::Printer;
use crate::{plan, Outcome};

/// The consumer group of a source table, unless the profile names one:
/// `dvt.<project>.<source>.<table>`.
fn consumer_group(project: &str, source: &SourceTable) -> String {
    format!("dvt.{project}.{}.{}", source.source_name, source.name)
}

pub fn ingest(printer: Arc<Printer>, args: &IngestArgs) -> Result<Outcome, Diagnostics> {
    let (session, rendered, dag) = load(&printer, &args.project, "ingest", false, false)?;
    let plan = plan::plan(&rendered.manifest, &dag, &args.selection, None)?;
    let sources: Vec<&SourceTable> = rendered
        .manifest
        .sources
        .values()
        .filter(|source| source.ingest.is_some() && plan.selected.contains(&source.unique_id))
        .collect();
    if sources.is_empty() {
        return Err(Diagnostic::error("no selected source table has an `ingest:` block")
            .hint("declare `ingest: {topics: [...], format: json, mapping: raw}` on a source table, or select one with `--select source:<source>.<table>`")
            .into());
    }
    let settings = KafkaSettings::from_target(&session.target).ok_or_else(|| {
        Diagnostic::error(format!("target `{}` names no Kafka cluster", session.target.name))
            .in_file(&session.target.source)
            .hint("add `kafka_bootstrap_servers: host:9092` to the target in profiles.yml (other librdkafka settings as `kafka_<name>`, secrets through env_var())")
    })?;
    let jobs: Vec<IngestJob> = sources
        .iter()
        .filter_map(|source| {
            let spec = source.ingest.as_ref()?;
            let mapper = Mapper::new(&spec.mapping);
            let bronze = Relation::new(source.relation.schema.clone(), source.relation.identifier.clone());
            let dead_letter = spec.dead_letter_relation(&bronze);
            let consumer_group = consumer_group(&session.project.name, source);
            Some(IngestJob {
                name: source.unique_id.clone(),
                topics: spec.topics.clone(),
                store: OffsetStore {
                    relation: offsets_relation(&session.target.schema),
                    consumer_group: consumer_group.clone(),
                },
                consumer_group,
                destination: Destination {
                    bronze,
                    columns: mapper.columns().to_vec(),
                    dead_letter,
                },
                mapper: Arc::new(mapper),
                batch: spec.batch,
            })
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Diagnostic::error(format!("cannot start the async runtime: {error}")))?;
    let handle = runtime.handle().clone();
    runtime.block_on(async move {
        let adapter = crate::exec::command::connect(&session.target, jobs.len()).await?;
        let mut failed = false;
        for job in jobs {
            let started = Instant::now();
            let mut connection = adapter
                .connection()
                .await
                .map_err(|error| Diagnostic::error(error.to_string()))?;
            prepare_tables(&mut *connection, &job.store, &job.destination)
                .await
                .map_err(|error| Diagnostic::error(format!("{}: {error}", job.name)))?;
            drop(connection);
            let worker_adapter = Arc::clone(&adapter);
            let worker_handle = handle.clone();
            let worker_settings = settings.clone();
            let worker_printer = Arc::clone(&printer);
            let worker_job = job.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let report = |totals: &IngestTotals| {
                    worker_printer.info(
                        "ingest_batch",
                        &format!(
                            "{}: {} rows, {} dead letters in {} batches so far",
                            worker_job.name, totals.rows, totals.dead_letters, totals.batches
                        ),
                    );
                };
                drain(worker_adapter, worker_handle, &worker_settings, &worker_job, &report)
            })
            .await;
            match outcome {
                Ok(Ok(totals)) => printer.result(&format!(
                    "Ingested {} rows into {} from {} in {:.2}s; {} messages went to the dead-letter table {}",
                    totals.rows,
                    job.destination.bronze,
                    job.topics.join(", "),
                    started.elapsed().as_secs_f64(),
                    totals.dead_letters,
                    job.destination.dead_letter,
                )),
                Ok(Err(error)) => {
                    failed = true;
                    printer.diagnostic(
                        &Diagnostic::error(format!("{}: {error}", job.name))
                            .hint("nothing of the failed batch was stored; run `dvt ingest` again to resume from the stored offsets"),
                    );
                }
                Err(_) => {
                    failed = true;
                    printer.diagnostic(&Diagnostic::error(format!("{}: the consumer thread crashed", job.name)));
                }
            }
        }
        adapter.close().await;
        Ok::<_, Diagnostic>(if failed { Outcome::Failure } else { Outcome::Success })
    })
    .map_err(Diagnostics::from)
}
