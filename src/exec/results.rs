//! Results of an execution: one [`NodeResult`] per node, the progress line
//! printed as each finishes, the summary at the end, and
//! `target/run_results.json` in dbt's format.

use std::time::Duration;

use serde_json::{json, Value};

use crate::adapter::AdapterResponse;
use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::manifest::{Node, ResourceType};

use super::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Error,
    Skipped,
    Pass,
    Fail,
    Warn,
    /// A microbatch model some of whose batches failed (dbt's `partial success`).
    PartialSuccess,
    /// An exposure under `build`, which has nothing to run (dbt 1.10's `no-op`).
    NoOp,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::PartialSuccess => "partial success",
            Status::NoOp => "no-op",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "success" => Status::Success,
            "error" => Status::Error,
            "skipped" => Status::Skipped,
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            "warn" => Status::Warn,
            "partial success" => Status::PartialSuccess,
            "no-op" => Status::NoOp,
            _ => return None,
        })
    }

    /// Whether dependents may run after this.
    pub fn lets_children_run(self) -> bool {
        matches!(self, Status::Success | Status::Pass | Status::Warn | Status::NoOp)
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Status::Error | Status::Fail | Status::PartialSuccess)
    }
}

#[derive(Debug, Clone)]
pub struct NodeResult {
    pub unique_id: String,
    pub status: Status,
    pub message: String,
    pub diagnostic: Option<Diagnostic>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub execution_time: Duration,
    pub adapter_response: Option<AdapterResponse>,
    pub failures: Option<u64>,
    pub compiled_code: Option<String>,
    pub compiled_path: Option<String>,
    /// 1-based position in the order nodes finished, for progress lines.
    pub index: usize,
    /// A microbatch model's batches: which succeeded and which failed.
    pub batch_results: Option<crate::microbatch::BatchResults>,
}

impl NodeResult {
    pub fn new(node: &Node, status: Status, message: String) -> Self {
        NodeResult::blank(&node.unique_id, status, message)
    }

    /// A result with nothing recorded but its node, status and message.
    fn blank(unique_id: &str, status: Status, message: String) -> Self {
        NodeResult {
            unique_id: unique_id.to_string(),
            status,
            message,
            diagnostic: None,
            started_at: None,
            execution_time: Duration::ZERO,
            adapter_response: None,
            failures: None,
            compiled_code: None,
            compiled_path: None,
            index: 0,
            batch_results: None,
        }
    }

    pub fn error(node: &Node, diagnostic: Diagnostic) -> Self {
        let mut result = NodeResult::new(node, Status::Error, diagnostic.message.clone());
        result.diagnostic = Some(diagnostic);
        result
    }

    /// An exposure under `build`: dbt 1.10 lists it, with nothing to run.
    pub fn no_op(unique_id: &str) -> Self {
        NodeResult::blank(unique_id, Status::NoOp, "NO-OP".to_string())
    }

    pub fn skipped(unique_id: &str, reason: &str) -> Self {
        NodeResult::blank(unique_id, Status::Skipped, format!("skipped: {reason}"))
    }

    /// A node whose task died without a result (a bug, not a user error).
    /// It counts as an error, so its descendants are skipped and the exit
    /// code reports it.
    pub fn crashed(unique_id: &str, message: &str) -> Self {
        let mut result = NodeResult::skipped(unique_id, message);
        result.status = Status::Error;
        result.message = format!("internal error: {message}");
        result.diagnostic = Some(
            Diagnostic::error(format!("internal error in `{unique_id}`: {message}"))
                .hint("this is a bug in dvt; please report it"),
        );
        result
    }
}

#[derive(Debug)]
pub struct RunResults {
    pub results: Vec<NodeResult>,
    pub elapsed: Duration,
    pub cancelled: bool,
}

impl RunResults {
    pub fn failed(&self) -> bool {
        self.cancelled || self.results.iter().any(|result| result.status.is_failure())
    }
}

/// A short description of a node for progress lines: `table model analytics.fct_rental`.
fn describe(node: &Node) -> String {
    let relation = format!("{}.{}", node.relation.schema, node.relation.identifier);
    match node.resource_type {
        // As dbt: `OK created sql microbatch model analytics.daily`.
        ResourceType::Model if crate::microbatch::is_microbatch(node) => format!("sql microbatch model {relation}"),
        ResourceType::Model => format!("{} model {relation}", node.materialized().replace('_', " ")),
        ResourceType::Seed => format!("seed file {relation}"),
        ResourceType::Test => node.name.clone(),
        ResourceType::Export => format!("export of {relation}"),
        ResourceType::UnitTest => crate::unit_test::describe(node),
        // As dbt: `OK snapshotted snapshots.customer_addresses`.
        ResourceType::Snapshot => relation,
        other => format!("{} {}", other.as_str(), node.name),
    }
}

/// Prints the line for a finished node, dbt style:
/// `3 of 12 OK created table model analytics.fct_rental ... [SELECT 16044 in 0.27s]`.
/// An exposure's line, as dbt prints it: `NO-OP exposure <name>`, or `SKIP`
/// when what it depends on failed.
fn print_exposure_progress(context: &Context, result: &NodeResult, name: &str) {
    let (word, bracket) = match result.status {
        Status::NoOp => ("NO-OP", format!("NO-OP in {:.2}s", result.execution_time.as_secs_f64())),
        _ => ("SKIP", "SKIP".to_string()),
    };
    let colour = "33";
    let description = format!("exposure {name}");
    let visible = format!("{} of {} {word} {description} ", result.index, context.total);
    let dots = ".".repeat(80usize.saturating_sub(visible.chars().count()).max(3));
    let printer = &context.printer;
    printer.info(
        "node_finished",
        &format!(
            "{} of {} {} {description} {dots} [{}]",
            result.index,
            context.total,
            printer.colour(colour, word),
            printer.colour(colour, &bracket)
        ),
    );
}

pub fn print_progress(context: &Context, result: &NodeResult) {
    if let Some(exposure) = context.rendered.manifest.exposures.get(&result.unique_id) {
        print_exposure_progress(context, result, &exposure.name);
        return;
    }
    let Some(node) = context.rendered.manifest.nodes.get(&result.unique_id) else {
        if let Some(diagnostic) = &result.diagnostic {
            context.printer.diagnostic(diagnostic);
        }
        return;
    };
    let printer = &context.printer;
    let seconds = result.execution_time.as_secs_f64();
    let (word, colour, bracket) = match result.status {
        Status::Success => {
            let response = match &result.adapter_response {
                Some(response) => response.message.clone(),
                None if result.message.is_empty() => "OK".to_string(),
                None => result.message.clone(),
            };
            let verb = match node.resource_type {
                ResourceType::Seed => "loaded",
                ResourceType::Export => "exported",
                ResourceType::Snapshot => "snapshotted",
                _ => "created",
            };
            (format!("OK {verb}"), "32", format!("{response} in {seconds:.2}s"))
        }
        Status::Pass => ("PASS".to_string(), "32", format!("PASS in {seconds:.2}s")),
        Status::Warn => (
            format!("WARN {}", result.failures.unwrap_or(0)),
            "33",
            format!("WARN {} in {seconds:.2}s", result.failures.unwrap_or(0)),
        ),
        Status::Fail => (
            format!("FAIL {}", result.failures.unwrap_or(0)),
            "31",
            format!("FAIL {} in {seconds:.2}s", result.failures.unwrap_or(0)),
        ),
        Status::Error if node.resource_type == ResourceType::Export => {
            ("ERROR exporting".to_string(), "31", format!("ERROR in {seconds:.2}s"))
        }
        Status::Error => ("ERROR creating".to_string(), "31", format!("ERROR in {seconds:.2}s")),
        Status::PartialSuccess => (
            "PARTIALLY created".to_string(),
            "33",
            format!("{} in {seconds:.2}s", result.message),
        ),
        Status::Skipped => ("SKIP".to_string(), "33", "SKIP".to_string()),
        Status::NoOp => ("NO-OP".to_string(), "33", "NO-OP".to_string()),
    };
    let tests = matches!(node.resource_type, ResourceType::Test | ResourceType::UnitTest);
    let word = if tests && result.status == Status::Error {
        "ERROR".to_string()
    } else {
        word
    };
    let description = describe(node);
    let head = format!(
        "{} of {} {} {description} ",
        result.index,
        context.total,
        printer.colour(colour, &word)
    );
    let visible = format!("{} of {} {word} {description} ", result.index, context.total);
    let dots = ".".repeat(80usize.saturating_sub(visible.chars().count()).max(3));
    printer.event(
        "node_finished",
        &format!("{head}{dots} [{}]", printer.colour(colour, &bracket)),
        json!({
            "unique_id": result.unique_id,
            "status": result.status.as_str(),
            "index": result.index,
            "total": context.total,
            "execution_time": seconds,
            "failures": result.failures,
            "message": result.message,
        }),
    );
}

/// A progress bar for a large seed, on an interactive terminal only.
pub fn seed_progress(context: &Context, node: &Node, bytes: u64) -> Option<indicatif::ProgressBar> {
    const LARGE: u64 = 8 * 1024 * 1024;
    if bytes < LARGE {
        return None;
    }
    context.printer.progress_bar(
        Some(bytes),
        crate::output::ProgressUnit::Bytes,
        format!("loading {}", node.name),
    )
}

/// Where a node is declared: its file, and for a generic test the line of
/// its entry in the schema file.
fn node_location(context: &Context, node: &Node) -> Location {
    match context.rendered.test_lines.get(&node.unique_id) {
        Some(line) => Location::at(&node.original_file_path, *line, 0, 0),
        None => Location::file(&node.original_file_path),
    }
}

/// Prints every failure in full, then the totals.
pub fn print_summary(context: &Context, results: &RunResults) {
    let printer = &context.printer;
    let manifest = &context.rendered.manifest;
    let count = |status: Status| results.results.iter().filter(|result| result.status == status).count();
    let failures: Vec<&NodeResult> = results
        .results
        .iter()
        .filter(|result| result.status.is_failure() || result.status == Status::Warn)
        .collect();
    let mut kinds: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for result in &results.results {
        if let Some(node) = manifest.nodes.get(&result.unique_id) {
            let kind = match node.resource_type {
                ResourceType::Model => format!("{} model", node.materialized().replace('_', " ")),
                other => other.as_str().to_string(),
            };
            *kinds.entry(kind).or_default() += 1;
        } else if manifest.exposures.contains_key(&result.unique_id) {
            *kinds.entry("exposure".to_string()).or_default() += 1;
        }
    }
    let kinds: Vec<String> = kinds
        .into_iter()
        .map(|(kind, count)| format!("{count} {kind}{}", if count == 1 { "" } else { "s" }))
        .collect();
    printer.info("run_finished", "");
    printer.info(
        "run_finished",
        &format!(
            "Finished running {} in {:.2}s.",
            if kinds.is_empty() {
                "nothing".to_string()
            } else {
                kinds.join(", ")
            },
            results.elapsed.as_secs_f64()
        ),
    );
    for result in &failures {
        let Some(node) = manifest.nodes.get(&result.unique_id) else {
            continue;
        };
        match result.status {
            Status::Fail | Status::Warn => {
                let word = if result.status == Status::Fail {
                    "Failure"
                } else {
                    "Warning"
                };
                printer.info("node_failure", "");
                printer.info(
                    "node_failure",
                    &format!(
                        "{word} in {} {} ({})",
                        if node.resource_type == ResourceType::UnitTest {
                            "unit_test"
                        } else {
                            "test"
                        },
                        node.name,
                        // Relative to the node's package, as dbt prints it.
                        node.package_file_path(&node.original_file_path)
                    ),
                );
                printer.info("node_failure", &format!("  {}", result.message));
                if let Some(path) = &result.compiled_path {
                    printer.info("node_failure", &format!("  compiled code at {path}"));
                }
                let severity = if result.status == Status::Fail {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                printer.annotate(
                    severity,
                    Some(&node_location(context, node)),
                    &format!("{word} in test `{}`: {}", node.name, result.message),
                );
            }
            _ => {
                if let Some(diagnostic) = &result.diagnostic {
                    printer.node_diagnostic(diagnostic, &node_location(context, node));
                    if let Some(path) = &result.compiled_path {
                        printer.info("node_failure", &format!("  compiled code at {path}"));
                    }
                }
            }
        }
    }
    let errors = count(Status::Error) + count(Status::Fail) + count(Status::PartialSuccess);
    let line = format!(
        "Done. PASS={} WARN={} ERROR={} SKIP={} NO-OP={} TOTAL={}",
        count(Status::Success) + count(Status::Pass),
        count(Status::Warn),
        errors,
        count(Status::Skipped),
        count(Status::NoOp),
        results.results.len()
    );
    printer.info("summary", "");
    if results.cancelled {
        printer.event("summary", &printer.colour("31", "Cancelled."), json!({}));
    } else if errors > 0 {
        printer.event(
            "summary",
            &printer.colour(
                "31",
                &format!("Completed with {errors} error{}.", if errors == 1 { "" } else { "s" }),
            ),
            json!({}),
        );
    } else {
        printer.event("summary", &printer.colour("32", "Completed successfully."), json!({}));
    }
    printer.event(
        "summary",
        &line,
        json!({
            "pass": count(Status::Success) + count(Status::Pass),
            "warn": count(Status::Warn),
            "error": errors,
            "skip": count(Status::Skipped),
            "no_op": count(Status::NoOp),
            "total": results.results.len(),
            "elapsed": results.elapsed.as_secs_f64(),
        }),
    );
}

/// `target/run_results.json`, in dbt's v6 format. `args` records the command
/// so that `dvt retry` can repeat it.
pub fn to_json(context: &Context, results: &RunResults, args: Value) -> Value {
    let manifest = &context.rendered.manifest;
    let entries: Vec<Value> = results
        .results
        .iter()
        .map(|result| {
            let node = manifest.nodes.get(&result.unique_id);
            let started = result
                .started_at
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            let completed = result.started_at.map(|at| {
                let end = at + chrono::Duration::from_std(result.execution_time).unwrap_or_default();
                end.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            });
            let timing = match (&started, &completed) {
                (Some(started), Some(completed)) => {
                    json!([{"name": "execute", "started_at": started, "completed_at": completed}])
                }
                _ => json!([]),
            };
            json!({
                "status": result.status.as_str(),
                "timing": timing,
                "thread_id": "Thread-1",
                "execution_time": result.execution_time.as_secs_f64(),
                "adapter_response": result.adapter_response.as_ref().map_or(json!({}), |response| json!({
                    "_message": response.message,
                    "code": response.code,
                    "rows_affected": response.rows_affected,
                })),
                "message": if result.message.is_empty() { Value::Null } else { json!(result.message) },
                "failures": result.failures,
                "unique_id": result.unique_id,
                "compiled": result.compiled_code.is_some(),
                "compiled_code": result.compiled_code,
                "compiled_path": result.compiled_path,
                "relation_name": node.filter(|node| node.is_relational()).map(|node| node.relation.quoted()),
                "batch_results": result.batch_results.as_ref().map(crate::microbatch::BatchResults::to_json),
            })
        })
        .collect();
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": concat!("dvt-", env!("CARGO_PKG_VERSION")),
            "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "invocation_id": context.invocation_id,
            "invocation_started_at": context.options.invocation_started_at,
            "env": {},
        },
        "results": entries,
        "elapsed_time": results.elapsed.as_secs_f64(),
        "args": args,
    })
}
