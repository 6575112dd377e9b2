//! `dvt run-operation MACRO --args '{...}'`: calls one macro on the
//! warehouse, as dbt's run-operation does. The macro runs with `execute`
//! true on a connection of its own; what its statements did stays done,
//! even when it then fails, as with dbt (its statements are committed), and
//! `run_results.json` records one `macro.<package>.<name>` result.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::adapter;
use crate::cli::RunOperationArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::{driver, warehouse};
use crate::manifest::Macro;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{artifacts, pipeline, render, Outcome};

pub fn run_operation(printer: Arc<Printer>, args: &RunOperationArgs) -> Result<Outcome, Diagnostics> {
    let arguments = parse_arguments(args.args.as_deref())?;
    let invocation = Invocation::new("run-operation", &args.project);
    let settings = Settings::resolve(&args.project, invocation, None)?;
    let pipeline::Loaded { settings, rendered, .. } = pipeline::load(&printer, settings)?;
    let session = settings.session;
    let definition = render::operation::find(&rendered.manifest, &session.project.name, &args.macro_name)?;
    printer.info(
        "operation_started",
        &format!(
            "Running operation `{}.{}` on target `{}` ({})",
            definition.package_name, definition.name, session.target.name, session.target.adapter_type
        ),
    );
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let runtime = driver::runtime()?;
    let outcome = runtime.block_on(async {
        let adapter = adapter::connect(&session.target, 1).await?;
        let connection = adapter
            .connection()
            .await
            .map_err(|error| Diagnostic::error(error.to_string()))?;
        let connection = warehouse::SharedConnection::new(connection);
        let bridge = connection.warehouse(Arc::clone(&adapter));
        let called = warehouse::render_with(&bridge, || render::operation::call(&rendered, definition, &arguments));
        // dbt keeps what the macro's statements did, whether or not it then failed.
        let committed = connection.commit_open().await;
        drop(bridge);
        drop(connection);
        adapter.close().await;
        Ok::<_, Diagnostic>(called.and(committed.map_err(|error| Diagnostic::error(error.to_string()))))
    })?;
    let elapsed = clock.elapsed();
    let results = results_json(
        definition,
        &session,
        &settings.invocation,
        started_at,
        elapsed,
        outcome.is_ok(),
    );
    let bytes = serde_json::to_vec_pretty(&results)
        .map_err(|error| Diagnostic::error(format!("cannot serialise run results: {error}")))?;
    artifacts::write_atomic(&session.project.target_dir().join("run_results.json"), &bytes)?;
    match outcome {
        Ok(()) => {
            printer.info(
                "operation_finished",
                &format!("Operation `{}` OK in {:.2}s", definition.name, elapsed.as_secs_f64()),
            );
            Ok(Outcome::Success)
        }
        Err(diagnostic) => {
            printer.diagnostic(&diagnostic);
            printer.info(
                "operation_finished",
                &format!(
                    "Operation `{}` failed in {:.2}s",
                    definition.name,
                    elapsed.as_secs_f64()
                ),
            );
            Ok(Outcome::Failure)
        }
    }
}

/// `--args`: a YAML mapping, or nothing.
fn parse_arguments(text: Option<&str>) -> Result<Map<String, Value>, Diagnostic> {
    let Some(text) = text else {
        return Ok(Map::new());
    };
    match crate::yaml::parse("--args", text)? {
        Value::Object(arguments) => Ok(arguments),
        Value::Null => Ok(Map::new()),
        _ => Err(
            Diagnostic::error("`--args` must be a YAML mapping of the macro's arguments")
                .hint("write `--args '{name: value, other: 2}'`"),
        ),
    }
}

/// `run_results.json` as dbt writes it for an operation: one result, with
/// the macro's unique id and no adapter response.
fn results_json(
    definition: &Macro,
    session: &crate::settings::Session,
    invocation: &Invocation,
    started_at: chrono::DateTime<chrono::Utc>,
    elapsed: std::time::Duration,
    success: bool,
) -> Value {
    let format = |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let completed_at = started_at + chrono::Duration::from_std(elapsed).unwrap_or_default();
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": concat!("dvt-", env!("CARGO_PKG_VERSION")),
            "generated_at": format(completed_at),
            "invocation_id": session.options.invocation_id,
            "env": {},
        },
        "results": [{
            "status": if success { "success" } else { "error" },
            "timing": [{"name": "execute", "started_at": format(started_at), "completed_at": format(completed_at)}],
            "thread_id": "MainThread",
            "execution_time": elapsed.as_secs_f64(),
            "adapter_response": {},
            "message": null,
            "failures": if success { 0 } else { 1 },
            "unique_id": definition.unique_id,
            "compiled": false,
            "compiled_code": null,
            "relation_name": null,
            "batch_results": null,
        }],
        "elapsed_time": elapsed.as_secs_f64(),
        "args": serde_json::to_value(invocation).unwrap_or(Value::Null),
    })
}
