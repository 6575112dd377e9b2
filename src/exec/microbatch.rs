//! A microbatch model run batch by batch, as dbt-core 1.10's
//! `MicrobatchModelRunner` runs it: the first batch alone (it creates the
//! table on a first or full-refresh run, and its failure skips the rest),
//! the middle ones at once when they are independent (`concurrent_batches`,
//! or unset and the model does not read `this`), the last alone. Pre-hooks
//! run with the first batch only, post-hooks with the last. Each batch is
//! compiled with its window ([`crate::microbatch`]), built in its own
//! transaction, and printed on a line of its own; the model's result holds
//! every batch's outcome, for `run_results.json` and `dvt retry`.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde_json::json;

use crate::adapter::materialize::{BatchWindow, Materialization};
use crate::adapter::{AdapterError, AdapterResponse, RelationKind};
use crate::diagnostic::Diagnostic;
use crate::manifest::Node;
use crate::microbatch::{Batch, BatchContext, BatchResults, Config};
use crate::render;

use super::node::{self, adapter_diagnostic, node_connection};
use super::results::{NodeResult, Status};
use super::Context;

/// Where a batch stands among its model's: which one, of how many, and
/// whether it is the first or last (for the hooks).
#[derive(Debug, Clone, Copy)]
struct Position {
    index: usize,
    total: usize,
}

/// How one batch went.
struct BatchOutcome {
    batch: Batch,
    position: Position,
    result: Result<AdapterResponse, Box<NodeResult>>,
    seconds: f64,
}

/// Runs every batch of a microbatch model and merges their results.
pub(super) async fn run(context: &Arc<Context>, node: &Node) -> NodeResult {
    let config = match Config::of(node) {
        Ok(config) => config,
        Err(message) => {
            return NodeResult::error(
                node,
                Diagnostic::error(format!("model `{}`: {message}", node.name)).in_file(&node.original_file_path),
            )
        }
    };
    let full_refresh = node::full_refresh(context, node);
    let exists = match table_exists(context, node).await {
        Ok(exists) => exists,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let is_incremental = exists && !full_refresh;
    let previous = context.options.microbatch.previous.get(&node.unique_id);
    // A retry builds the batches that failed last time, and only those.
    let batches = match previous {
        Some(previous) => previous.failed.clone(),
        None => crate::microbatch::batches(&config, is_incremental, &context.options.microbatch),
    };
    let total = batches.len();
    let mut outcomes = Vec::with_capacity(total);
    let mut remaining = batches.into_iter().enumerate().map(|(index, batch)| {
        let position = Position { index, total };
        (batch, position)
    });
    if let Some((batch, position)) = remaining.next() {
        outcomes.push(run_batch(context, node, &config, batch, position, is_incremental).await);
    }
    let first_failed = outcomes.first().is_some_and(|outcome| outcome.result.is_err());
    let mut rest: Vec<(Batch, Position)> = remaining.collect();
    let last = if rest.is_empty() { None } else { rest.pop() };
    if first_failed {
        for (batch, position) in rest.into_iter().chain(last) {
            outcomes.push(skipped(context, node, &config, batch, position));
        }
    } else {
        let parallel = config.concurrent_batches.unwrap_or_else(|| !reads_this(&node.raw_code));
        let threads = if parallel { context.options.threads.max(1) } else { 1 };
        let middle: Vec<BatchOutcome> = futures::stream::iter(rest)
            .map(|(batch, position)| run_batch(context, node, &config, batch, position, true))
            .buffer_unordered(threads)
            .collect()
            .await;
        outcomes.extend(middle);
        if let Some((batch, position)) = last {
            outcomes.push(run_batch(context, node, &config, batch, position, true).await);
        }
    }
    merge(node, outcomes, previous)
}

async fn table_exists(context: &Context, node: &Node) -> Result<bool, AdapterError> {
    let mut connection = context.adapter.connection().await?;
    Ok(connection.relation_kind(&node::relation(node)).await? == Some(RelationKind::Table))
}

/// dbt's `has_this`: whether the model's Jinja names `this`, which makes
/// its batches depend on each other.
fn reads_this(raw_code: &str) -> bool {
    let mut rest = raw_code;
    while let Some(open) = rest.find(['{']) {
        let after = &rest[open + 1..];
        let Some(kind @ ('{' | '%')) = after.chars().next() else {
            rest = after;
            continue;
        };
        let close = if kind == '{' { "}}" } else { "%}" };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        let names_this = body[..end]
            .split(|character: char| !(character.is_alphanumeric() || character == '_'))
            .any(|word| word == "this");
        if names_this {
            return true;
        }
        rest = &body[end..];
    }
    false
}

/// Builds one batch on a connection of its own, in one transaction, and
/// prints its line.
async fn run_batch(
    context: &Arc<Context>,
    node: &Node,
    config: &Config,
    batch: Batch,
    position: Position,
    incremental: bool,
) -> BatchOutcome {
    let clock = Instant::now();
    let built = async {
        let batch_context = BatchContext::new(batch, config.batch_size);
        let (mut connection, warehouse) = node_connection(context)
            .await
            .map_err(|error| Box::new(NodeResult::error(node, adapter_diagnostic(&error, node, None))))?;
        let compile = || {
            render::compile_batch(
                &context.rendered,
                &context.project,
                node,
                incremental,
                Some(&batch_context),
            )
        };
        let split = config.batch_size.format_start(batch.start);
        let compiled = node::compile_on(context, node, &mut connection, &warehouse, compile, Some(&split)).await?;
        let renderer = node::node_hooks(context, node, warehouse);
        let mut hooks = node::hooks(node);
        if position.index != 0 {
            hooks.pre.clear();
            hooks.before_begin.clear();
        }
        if position.index + 1 != position.total {
            hooks.post.clear();
            hooks.after_commit.clear();
        }
        let mut build = node::model_build(
            context,
            node,
            Materialization::Incremental,
            &compiled.sql,
            !incremental,
            &hooks,
            &renderer,
        )
        .map_err(|diagnostic| Box::new(NodeResult::error(node, diagnostic)))?;
        build.batch = Some(BatchWindow {
            event_time: config.event_time.clone(),
            batch,
        });
        let built = node::build_with_hooks(context, &mut connection, &renderer, &hooks, &build).await;
        let result = compiled.finish(node, built);
        match result.status {
            Status::Success => Ok(result
                .adapter_response
                .unwrap_or_else(|| AdapterResponse::command("OK"))),
            _ => Err(Box::new(result)),
        }
    };
    let outcome = BatchOutcome {
        batch,
        position,
        result: built.await,
        seconds: clock.elapsed().as_secs_f64(),
    };
    print_batch(context, node, config, &outcome);
    outcome
}

/// A batch that does not run because the first one failed.
fn skipped(context: &Context, node: &Node, config: &Config, batch: Batch, position: Position) -> BatchOutcome {
    let outcome = BatchOutcome {
        batch,
        position,
        result: Err(Box::new(NodeResult::skipped(&node.unique_id, "the first batch failed"))),
        seconds: 0.0,
    };
    print_batch(context, node, config, &outcome);
    outcome
}

/// `Batch 2 of 5 OK created batch 2024-01-02 of analytics.daily ... [MERGE 1 in 0.17s]`,
/// as dbt prints a batch; a failed batch's error follows it.
fn print_batch(context: &Context, node: &Node, config: &Config, outcome: &BatchOutcome) {
    let printer = &context.printer;
    let description = format!(
        "batch {} of {}.{}",
        config.batch_size.format_start(outcome.batch.start),
        node.relation.schema,
        node.relation.identifier
    );
    let seconds = outcome.seconds;
    let (word, colour, bracket, status) = match &outcome.result {
        Ok(response) => (
            "OK created",
            "32",
            format!("{} in {seconds:.2}s", response.message),
            "success",
        ),
        Err(result) if result.status == Status::Skipped => ("SKIP", "33", "SKIP".to_string(), "skipped"),
        Err(_) => ("ERROR creating", "31", format!("ERROR in {seconds:.2}s"), "error"),
    };
    let position = outcome.position;
    let visible = format!(
        "Batch {} of {} {word} {description} ",
        position.index + 1,
        position.total
    );
    let dots = ".".repeat(80usize.saturating_sub(visible.chars().count()).max(3));
    printer.event(
        "batch_finished",
        &format!(
            "Batch {} of {} {} {description} {dots} [{}]",
            position.index + 1,
            position.total,
            printer.colour(colour, word),
            printer.colour(colour, &bracket)
        ),
        json!({
            "unique_id": node.unique_id,
            "batch_index": position.index + 1,
            "total_batches": position.total,
            "event_time_start": Batch::json_bound(outcome.batch.start),
            "event_time_end": Batch::json_bound(outcome.batch.end),
            "status": status,
            "execution_time": seconds,
        }),
    );
    if let Err(result) = &outcome.result {
        if let Some(diagnostic) = &result.diagnostic {
            printer.diagnostic(diagnostic);
        }
    }
}

/// The model's result from its batches': success when all succeeded, an
/// error when none did, else dbt's `partial success`. A retry's batches
/// that succeeded before count as successful.
fn merge(node: &Node, outcomes: Vec<BatchOutcome>, previous: Option<&BatchResults>) -> NodeResult {
    let mut batch_results = BatchResults::default();
    let mut errors = Vec::new();
    let mut compiled_code = None;
    let mut compiled_path = None;
    for outcome in outcomes {
        match outcome.result {
            Ok(_) => batch_results.successful.push(outcome.batch),
            Err(result) => {
                batch_results.failed.push(outcome.batch);
                if result.status == Status::Error {
                    compiled_code = compiled_code.or(result.compiled_code.clone());
                    compiled_path = compiled_path.or(result.compiled_path.clone());
                    errors.push(*result);
                }
            }
        }
    }
    let succeeded = batch_results.successful.len();
    let failed = batch_results.failed.len();
    if let Some(previous) = previous {
        batch_results.successful.extend(previous.successful.iter().copied());
    }
    let (status, message) = if failed == 0 {
        (Status::Success, "SUCCESS".to_string())
    } else if succeeded == 0 {
        (Status::Error, "ERROR".to_string())
    } else {
        (
            Status::PartialSuccess,
            format!("PARTIAL SUCCESS ({succeeded}/{})", succeeded + failed),
        )
    };
    let mut result = NodeResult::new(node, status, message);
    if let Some(first) = errors.into_iter().next() {
        let mut diagnostic = first
            .diagnostic
            .unwrap_or_else(|| Diagnostic::error(first.message.clone()).in_file(&node.original_file_path));
        if failed > 1 {
            diagnostic = diagnostic.note(format!("{failed} of {} batches failed", succeeded + failed));
        }
        result.diagnostic = Some(diagnostic.hint("`dvt retry` builds the failed batches again, and only those"));
    }
    result.compiled_code = compiled_code;
    result.compiled_path = compiled_path;
    result.batch_results = Some(batch_results);
    result
}

#[cfg(test)]
mod tests {
    use super::reads_this;

    // dbt's `has_this` looks for the name `this` in the Jinja, not in the SQL.
    #[test]
    fn a_model_reading_this_is_found() {
        assert!(reads_this(
            "select * from {{ ref('a') }} where at > (select max(at) from {{ this }})"
        ));
        assert!(reads_this(
            "{% if is_incremental() %}{% set t = this %}{% endif %}select 1"
        ));
        assert!(!reads_this("select 'this' as word, this_column from {{ ref('a') }}"));
        assert!(!reads_this("select 1 { not jinja } this"));
    }
}
