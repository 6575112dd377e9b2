//! `dvt source freshness`: the pipeline stopped after planning, then each
//! selected source with freshness criteria checked on the warehouse
//! ([`crate::freshness`]), a progress line per source, the failures, and
//! `target/sources.json` (or `--output`). Exits 1 when a source is past
//! its `error_after` or its check fails to run, as dbt does; a warning
//! does not fail.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;

use crate::cli::FreshnessArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::driver;
use crate::freshness::{self, criteria::Status, Check, CheckResult, Outcome};
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{adapter, pipeline, render, Outcome as CommandOutcome};

pub fn freshness(printer: Arc<Printer>, args: &FreshnessArgs) -> Result<CommandOutcome, Diagnostics> {
    let started_at = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let invocation = Invocation {
        threads: args.threads,
        ..Invocation::selecting("freshness", &args.project, &args.selection)
    };
    let settings = Settings::resolve(&args.project, invocation, None)?;
    let prepared = pipeline::prepare(&printer, settings)?;
    let session = &prepared.settings.session;
    let manifest = &prepared.rendered.manifest;
    let mut checks = Vec::new();
    for source in prepared.plan.selected.iter().filter_map(|id| manifest.sources.get(id)) {
        let criteria = freshness::criteria::Threshold::from_json(&source.freshness);
        if !criteria.is_set() {
            continue;
        }
        let query = source
            .loaded_at_query
            .as_deref()
            .map(|query| {
                let label = format!("loaded_at_query of source {}.{}", source.source_name, source.name);
                render::inline::compile(&prepared.rendered, &session.project, &label, query)
            })
            .transpose()?;
        let ingested = prepared
            .ingested
            .get(&source.unique_id)
            .is_some_and(|spec| spec.lake.is_none());
        checks.push(Check::of(source, ingested, query));
    }
    checks.sort_by(|left, right| left.unique_id.cmp(&right.unique_id));
    if checks.is_empty() {
        printer.info(
            "nothing_to_do",
            "Nothing to do: no selected source has a `freshness` with `warn_after` or `error_after`.",
        );
    }
    let total = checks.len();
    let threads = prepared.settings.threads.max(1);
    let runtime = driver::runtime()?;
    let results: Vec<CheckResult> = runtime.block_on(async {
        let adapter = adapter::connect(&session.target, threads).await?;
        let mut finished = Vec::new();
        let mut running = futures::stream::iter(checks)
            .map(|check| freshness::check(adapter.as_ref(), check))
            .buffer_unordered(threads);
        while let Some(result) = running.next().await {
            finished.push(result);
            print_progress(&printer, finished.len(), total, &finished[finished.len() - 1]);
        }
        drop(running);
        adapter.close().await;
        Ok::<_, Diagnostic>(finished)
    })?;
    let elapsed = clock.elapsed().as_secs_f64();
    printer.info(
        "finished",
        &format!(
            "Finished running {total} source{} in {elapsed:.2}s.",
            if total == 1 { "" } else { "s" }
        ),
    );
    for result in &results {
        print_failure(&printer, manifest, result);
    }
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| session.project.target_dir().join("sources.json"));
    let artifact = freshness::artifact::to_json(&results, &session.options.invocation_id, started_at, elapsed);
    freshness::artifact::write(&path, &artifact)?;
    printer.event("summary", "Done.", summary(&results));
    Ok(if results.iter().any(CheckResult::is_failure) {
        CommandOutcome::Failure
    } else {
        CommandOutcome::Success
    })
}

/// `3 of 7 WARN freshness of raw.stale_t ..... [WARN in 0.02s]`, as dbt prints it.
fn print_progress(printer: &Printer, index: usize, total: usize, result: &CheckResult) {
    let (word, colour) = match &result.outcome {
        Outcome::Checked {
            status: Status::Pass, ..
        } => ("PASS", "32"),
        Outcome::Checked {
            status: Status::Warn, ..
        } => ("WARN", "33"),
        Outcome::Checked {
            status: Status::Error, ..
        } => ("ERROR STALE", "31"),
        Outcome::RuntimeError(_) => ("ERROR", "31"),
    };
    let description = format!("freshness of {}.{}", result.check.source_name, result.check.table_name);
    let visible = format!("{index} of {total} {word} {description} ");
    let dots = ".".repeat(80usize.saturating_sub(visible.chars().count()).max(3));
    printer.event(
        "node_finished",
        &format!(
            "{index} of {total} {} {description} {dots} [{} in {:.2}s]",
            printer.colour(colour, word),
            printer.colour(colour, word),
            result.execution_time
        ),
        json!({
            "unique_id": result.check.unique_id,
            "status": result.status(),
            "index": index,
            "total": total,
            "execution_time": result.execution_time,
        }),
    );
}

/// A stale source or a check that failed to run, in full, as dbt lists them after the run.
fn print_failure(printer: &Printer, manifest: &crate::manifest::Manifest, result: &CheckResult) {
    let file = manifest
        .sources
        .get(&result.check.unique_id)
        .map_or("", |source| source.original_file_path.as_str());
    match &result.outcome {
        Outcome::Checked {
            status: Status::Error,
            age,
            ..
        } => printer.diagnostic(
            &Diagnostic::error(format!(
                "Failure in source {} ({file}): Status: error; loaded {age:.0}s ago, past its error_after",
                result.check.table_name
            ))
            .in_file(file),
        ),
        Outcome::RuntimeError(message) => printer.diagnostic(
            &Diagnostic::error(format!(
                "Runtime Error in source {} ({file}): {message}",
                result.check.table_name
            ))
            .in_file(file)
            .hint(
                "check that the table exists and that its `loaded_at_field` or `loaded_at_query` returns a timestamp",
            ),
        ),
        Outcome::Checked { .. } => {}
    }
}

fn summary(results: &[CheckResult]) -> serde_json::Value {
    let count = |status: &str| results.iter().filter(|result| result.status() == status).count();
    json!({
        "pass": count("pass"),
        "warn": count("warn"),
        "error": count("error"),
        "runtime_error": count("runtime error"),
        "total": results.len(),
    })
}
