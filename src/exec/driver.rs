//! Runs a prepared plan on the warehouse, for `seed`, `run`, `test`,
//! `build`, `export` and `retry`: connects, runs the project's hooks and the
//! nodes ([`super::run`]), then writes `run_results.json`, the manifest and
//! the JUnit report.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use async_trait::async_trait;

use super::results;
use super::{Command, Context, ExecOptions};
use crate::adapter::Adapter;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::{Manifest, ResourceType};
use crate::output::Printer;
use crate::pipeline::Prepared;
use crate::plan::Plan;
use crate::{artifacts, render, Outcome};

/// A step of a connector, run once the adapter is connected and before the
/// hooks and the nodes: `ingest` creates the bronze tables the nodes read.
#[async_trait]
pub trait BeforeNodes: Sync {
    async fn run(
        &self,
        adapter: &dyn Adapter,
        manifest: &Manifest,
        executable: &BTreeSet<String>,
    ) -> Result<(), Diagnostic>;
}

/// No step before the nodes.
pub struct Nothing;

#[async_trait]
impl BeforeNodes for Nothing {
    async fn run(&self, _: &dyn Adapter, _: &Manifest, _: &BTreeSet<String>) -> Result<(), Diagnostic> {
        Ok(())
    }
}

/// A multi-threaded tokio runtime for the warehouse commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, Diagnostic> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Diagnostic::error(format!("cannot start the async runtime: {error}")))
}

/// Compiles what the command will run and checks it offline (SQL syntax,
/// config values, test columns), so that a broken project fails before
/// anything connects to the warehouse.
pub fn check_offline(printer: &Printer, prepared: &mut Prepared, command: Command) -> Result<(), Diagnostics> {
    let runs: BTreeSet<String> = prepared
        .plan
        .selected
        .iter()
        .filter(|id| {
            prepared
                .rendered
                .manifest
                .nodes
                .get(*id)
                .is_some_and(|node| command.executes(node.resource_type))
        })
        .cloned()
        .collect();
    prepared.compile_and_check(printer, &runs)?;
    check_seed_files(printer, prepared, &runs)
}

/// The first pass over each seed file that will load (`seed::prepare`), so
/// that a broken file fails before dvt connects, with its line and column;
/// what dbt loads but is likely a mistake is printed as a warning.
fn check_seed_files(printer: &Printer, prepared: &Prepared, runs: &BTreeSet<String>) -> Result<(), Diagnostics> {
    let project_dir = &prepared.settings.session.project.dir;
    let mut problems = Vec::new();
    let seeds = runs
        .iter()
        .filter_map(|id| prepared.rendered.manifest.nodes.get(id))
        .filter(|node| node.resource_type == crate::manifest::ResourceType::Seed);
    for node in seeds {
        match super::node::check_seed_file(project_dir, node) {
            Ok(warnings) => warnings.iter().for_each(|warning| printer.diagnostic(warning)),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(problems))
    }
}

/// Connects, runs the plan and writes the artifacts.
pub fn execute(
    printer: Arc<Printer>,
    prepared: Prepared,
    options: ExecOptions,
    before_nodes: &dyn BeforeNodes,
) -> Result<Outcome, Diagnostics> {
    let command = options.command;
    let Prepared {
        settings,
        rendered,
        dag,
        plan,
        ..
    } = prepared;
    let record = serde_json::to_value(&settings.invocation)
        .map_err(|error| Diagnostic::error(format!("cannot serialise the invocation: {error}")))?;
    let session = settings.session;
    let plan = &plan;
    let dag = &dag;
    let manifest = &rendered.manifest;
    let lake = crate::lake::LakeSettings::from_target(&session.target)?;
    let without_exports;
    let plan = match (&lake, command) {
        (None, Command::Export) => return Err(crate::lake::LakeSettings::missing(&session.target).into()),
        // Without a lake, `build` leaves the exports out, so that a project
        // with exports still builds where there is none.
        (None, Command::Build) => {
            without_exports = leave_out_exports(&printer, manifest, plan, &session.target.name);
            &without_exports
        }
        _ => plan,
    };
    let executable = super::executable(manifest, plan, command);
    if executable.is_empty() {
        printer.diagnostic(
            &Diagnostic::warning(format!(
                "nothing to {}: the selection matches no node this command runs",
                command.as_str()
            ))
            .hint("check `--select`; `dvt ls --select ...` shows what a selector matches"),
        );
        return Ok(Outcome::Success);
    }
    let count = |resource_type: ResourceType| {
        executable
            .iter()
            .filter(|id| {
                manifest
                    .nodes
                    .get(*id)
                    .is_some_and(|node| node.resource_type == resource_type)
            })
            .count()
    };
    let runtime = runtime()?;
    let target = session.target.clone();
    let adapter = runtime.block_on(crate::adapter::connect(&target, options.threads))?;
    let exports = match count(ResourceType::Export) {
        0 => String::new(),
        exports => format!(", {exports} export{}", if exports == 1 { "" } else { "s" }),
    };
    let exports = match count(ResourceType::Snapshot) {
        0 => exports,
        snapshots => format!(
            ", {snapshots} snapshot{}{exports}",
            if snapshots == 1 { "" } else { "s" }
        ),
    };
    printer.info(
        "run_started",
        &format!(
            "Running with dvt {} on target `{}` ({}, {} thread{}): {} models, {} seeds, {} tests{exports}",
            env!("CARGO_PKG_VERSION"),
            target.name,
            target.adapter_type,
            options.threads,
            if options.threads == 1 { "" } else { "s" },
            count(ResourceType::Model),
            count(ResourceType::Seed),
            count(ResourceType::Test),
        ),
    );
    let total = executable.len();
    let invocation_id = session.options.invocation_id.clone();
    let context = Arc::new(Context {
        adapter: Arc::clone(&adapter),
        rendered,
        project: session.project,
        printer: Arc::clone(&printer),
        options,
        total,
        counter: AtomicUsize::new(0),
        cancelled: AtomicBool::new(false),
        invocation_id,
        lake,
    });
    if let Err(diagnostic) =
        runtime.block_on(before_nodes.run(&*context.adapter, &context.rendered.manifest, &executable))
    {
        runtime.block_on(adapter.close());
        return Err(diagnostic.into());
    }
    let hooks_apply = matches!(command, Command::Run | Command::Build | Command::Seed | Command::Test);
    if hooks_apply {
        if let Err(diagnostic) = runtime.block_on(run_project_hooks(&context, "on-run-start")) {
            runtime.block_on(adapter.close());
            return Err(diagnostic.into());
        }
    }
    let results = runtime.block_on(super::run(Arc::clone(&context), plan, dag));
    let end_hooks = if hooks_apply {
        runtime.block_on(run_project_hooks(&context, "on-run-end"))
    } else {
        Ok(())
    };
    runtime.block_on(adapter.close());
    results::print_summary(&context, &results);
    let target_dir = context.project.target_dir();
    let json = results::to_json(&context, &results, record);
    let bytes = serde_json::to_vec_pretty(&json)
        .map_err(|error| Diagnostic::error(format!("cannot serialise run results: {error}")))?;
    artifacts::write_atomic(&target_dir.join("run_results.json"), &bytes)?;
    artifacts::write_manifest(&target_dir, &context.rendered.manifest)?;
    if let Some(path) = &context.options.junit {
        super::junit::write(path, &context, &results)?;
    }
    end_hooks?;
    Ok(if results.failed() {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// The plan without its export nodes (leaves, so nothing waits for them),
/// saying so in one line when there were any.
fn leave_out_exports(printer: &Printer, manifest: &crate::manifest::Manifest, plan: &Plan, target: &str) -> Plan {
    let is_export = |id: &String| {
        manifest
            .nodes
            .get(id)
            .is_some_and(|node| node.resource_type == ResourceType::Export)
    };
    let left_out = plan.order.iter().filter(|id| is_export(id)).count();
    if left_out > 0 {
        printer.info(
            "exports_left_out",
            &format!(
                "Leaving out {left_out} export{}: target `{target}` has no lake (`lake_path` or `s3_*` settings)",
                if left_out == 1 { "" } else { "s" }
            ),
        );
    }
    Plan {
        order: plan.order.iter().filter(|id| !is_export(id)).cloned().collect(),
        selected: plan.selected.iter().filter(|id| !is_export(id)).cloned().collect(),
    }
}

async fn run_project_hooks(context: &Context, key: &str) -> Result<(), Diagnostic> {
    let hooks = if key == "on-run-start" {
        &context.project.on_run_start
    } else {
        &context.project.on_run_end
    };
    if hooks.is_empty() {
        return Ok(());
    }
    let connection = context
        .adapter
        .connection()
        .await
        .map_err(|error| Diagnostic::error(format!("{key}: {error}")))?;
    // The hooks' Jinja runs with `execute` true and the warehouse at hand.
    use crate::adapter::Connection as _;
    let mut connection = super::warehouse::SharedConnection::new(connection);
    let warehouse = connection.warehouse(std::sync::Arc::clone(&context.adapter));
    for (index, hook) in hooks.iter().enumerate() {
        let name = format!("{} ({key} #{})", context.project.config_file, index + 1);
        let origin = render::inline::Origin {
            file: &context.project.config_file,
            source: &context.project.config_source,
        };
        let (sql, _) = super::warehouse::render_with(&warehouse, || {
            render::inline::render(&context.rendered, &name, hook, &origin)
        })?;
        if sql.trim().is_empty() {
            continue;
        }
        connection.execute(&sql).await.map_err(|error| {
            Diagnostic::error(format!("{key} hook #{} failed: {error}", index + 1))
                .in_file(&context.project.config_file)
                .note(format!("the hook ran: {}", sql.trim()))
        })?;
        context.printer.info("hook", &format!("{key} hook #{} OK", index + 1));
    }
    Ok(())
}
