//! `dvt retry`: repeats the last `run`, `test`, `seed`, `build` or `export`
//! on what failed or was skipped, with the settings the last run recorded in
//! `run_results.json` ([`Invocation`]), unless flags override them.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use crate::cli::RetryArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::results::Status;
use crate::exec::{driver, Command};
use crate::ingest::bronze::BronzeTables;
use crate::output::Printer;
use crate::settings::{Invocation, Retry, Settings};
use crate::{pipeline, Outcome};

/// The parts of the last `run_results.json` a retry reads.
#[derive(Deserialize)]
struct LastRun {
    #[serde(default)]
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    args: Option<serde_json::Value>,
    #[serde(default)]
    results: Vec<LastResult>,
}

#[derive(Deserialize)]
struct LastResult {
    #[serde(default)]
    unique_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// A microbatch model's batches; a retry builds the failed ones.
    #[serde(default)]
    batch_results: Option<serde_json::Value>,
}

pub fn retry(printer: Arc<Printer>, args: &RetryArgs) -> Result<Outcome, Diagnostics> {
    let project_dir = crate::settings::absolute(&args.project.project_dir);
    let no_render = |_: &str, text: &str| -> Result<String, Diagnostic> { Ok(text.to_string()) };
    let target_path = crate::project::load(&project_dir, &no_render)
        .map(|project| project.target_dir())
        .unwrap_or_else(|_| project_dir.join("target"));
    let path = target_path.join("run_results.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Diagnostic::error(format!("no previous run to retry: `{}` does not exist", path.display()))
            .hint("run `dvt build` (or run, test, seed) first")
    })?;
    let previous: LastRun = serde_json::from_str::<serde_json::Value>(&text)
        .map(|value| {
            serde_json::from_value(value).unwrap_or(LastRun {
                metadata: None,
                args: None,
                results: Vec::new(),
            })
        })
        .map_err(|error| Diagnostic::error(format!("`{}` is not valid JSON: {error}", path.display())))?;
    let last: Invocation = previous
        .args
        .and_then(|args| serde_json::from_value(args).ok())
        .unwrap_or_default();
    let command = match last.which.as_str() {
        "run" => Command::Run,
        "test" => Command::Test,
        "seed" => Command::Seed,
        "export" => Command::Export,
        "snapshot" => Command::Snapshot,
        _ => Command::Build,
    };
    let again: BTreeSet<String> = previous
        .results
        .iter()
        .filter(|result| {
            result
                .status
                .as_deref()
                .and_then(Status::parse)
                .is_some_and(|status| status.is_failure() || status == Status::Skipped)
        })
        .filter_map(|result| result.unique_id.clone())
        .collect();
    if again.is_empty() {
        printer.info(
            "retry",
            "Nothing to retry: the last run had no failed or skipped nodes.",
        );
        return Ok(Outcome::Success);
    }
    let built_before: BTreeSet<String> = previous
        .results
        .iter()
        .filter_map(|result| result.unique_id.clone())
        .collect();
    // Like dbt, the retry renders the project as the last run did, unless
    // told otherwise.
    let mut project = args.project.clone();
    project.vars = project.vars.or_else(|| last.vars.clone());
    project.target = project.target.or_else(|| last.target.clone());
    project.profile = project.profile.or_else(|| last.profile.clone());
    let which = last.which.clone();
    let invocation = Invocation {
        vars: project.vars.clone(),
        target: project.target.clone(),
        profile: project.profile.clone(),
        ..last
    };
    let mut settings = Settings::resolve(&project, invocation, args.threads)?;
    settings.retry = Some(Retry { again, built_before });
    // As dbt: the failed batches again, their windows counted from when the
    // original run started.
    settings.microbatch.previous = previous
        .results
        .iter()
        .filter(|result| result.status.as_deref() != Some("success"))
        .filter_map(|result| {
            let batches = crate::microbatch::BatchResults::from_json(result.batch_results.as_ref()?)?;
            Some((result.unique_id.clone()?, batches))
        })
        .filter(|(_, batches)| !batches.failed.is_empty())
        .collect();
    let original_start = previous
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("invocation_started_at")?.as_str())
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok());
    if let Some(original_start) = original_start {
        settings.microbatch.started_at = Some(original_start.with_timezone(&chrono::Utc));
    }
    let mut prepared = pipeline::prepare(&printer, settings)?;
    let selected = prepared.plan.selected.len();
    printer.info(
        "retry",
        &format!(
            "Retrying `dvt {which}` on {selected} node{} that failed or were skipped",
            if selected == 1 { "" } else { "s" }
        ),
    );
    let options = super::run::options(&prepared.settings, command, args.junit.clone());
    driver::check_offline(&printer, &mut prepared, command)?;
    let ingested = std::mem::take(&mut prepared.ingested);
    driver::execute(printer, prepared, options, &BronzeTables(&ingested))
}
