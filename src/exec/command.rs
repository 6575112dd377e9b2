//! The commands that talk to the warehouse: `run`, `test`, `seed`, `build`,
//! `show` and `retry`. Each loads and plans the project, connects, executes,
//! then writes `run_results.json` and the manifest.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::adapter::postgres::{PostgresAdapter, PostgresConfig};
use crate::adapter::Adapter;
use crate::cli::{ExecArgs, ProjectArgs, RetryArgs, SelectArgs, ShowArgs};
use crate::commands::load;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::ResourceType;
use crate::output::Printer;
use crate::plan::{self, Plan};
use crate::profile::Target;
use crate::render::jinja::{Mode, Scope};
use crate::{artifacts, render, Outcome};

use super::results::{self, Status};
use super::{Command, Context, ExecOptions};

/// Opens the adapter for a target.
pub async fn connect(target: &Target, threads: usize) -> Result<Arc<dyn Adapter>, Diagnostic> {
    target.check_secrets()?;
    match target.adapter_type.as_str() {
        "postgres" | "postgresql" => {
            let require = |key: &str| {
                target.string(key).ok_or_else(|| {
                    Diagnostic::error(format!("target `{}` has no `{key}`", target.name))
                        .in_file(&target.source)
                        .hint(format!("add `{key}:` to the target in profiles.yml"))
                })
            };
            let mut config = PostgresConfig::new(
                target.string("host").unwrap_or_else(|| "localhost".into()),
                require("user")?,
                target
                    .string("password")
                    .or_else(|| target.string("pass"))
                    .unwrap_or_default(),
                if target.database.is_empty() {
                    require("dbname")?
                } else {
                    target.database.clone()
                },
                target.schema.clone(),
            );
            if let Some(port) = target.string("port") {
                config.port = port.parse().map_err(|_| {
                    Diagnostic::error(format!(
                        "`port` of target `{}` must be a number, got `{port}`",
                        target.name
                    ))
                    .in_file(&target.source)
                })?;
            }
            config.threads = pool_size(threads);
            config.sslmode = target.string("sslmode");
            if let Some(seconds) = target
                .string("connect_timeout")
                .and_then(|text| text.parse::<u64>().ok())
            {
                config.connect_timeout = Duration::from_secs(seconds);
            }
            let display = config.target();
            let adapter = PostgresAdapter::connect(config).await.map_err(|error| {
                connect_error(&error, target, format!("check that PostgreSQL is running at `{display}` and that the user and password are right (`dvt debug` tests the connection)"))
            })?;
            Ok(Arc::new(adapter))
        }
        #[cfg(feature = "duckdb")]
        "duckdb" => connect_duckdb(target, threads).await,
        other => Err(
            Diagnostic::error(format!("adapter type `{other}` is not available in this build of dvt"))
                .in_file(&target.source)
                .hint(if cfg!(feature = "duckdb") {
                    "use `type: postgres` or `type: duckdb`"
                } else {
                    "use `type: postgres`, or build dvt with its default `duckdb` feature"
                }),
        ),
    }
}

/// Opens the embedded DuckDB database of a `type: duckdb` target: `path`
/// (relative to the project, `:memory:` for none; `target/dev.duckdb` when
/// unset), and `threads`.
#[cfg(feature = "duckdb")]
async fn connect_duckdb(target: &Target, threads: usize) -> Result<Arc<dyn Adapter>, Diagnostic> {
    use crate::adapter::duckdb::{self, DuckDbAdapter, DuckDbConfig};
    let path = target
        .string("path")
        .unwrap_or_else(|| crate::profile::EMBEDDED_PATH.to_string());
    let mut config = DuckDbConfig::new(duckdb::resolve_path(&path, &target.project_dir), target.schema.clone());
    config.threads = pool_size(threads);
    let adapter = DuckDbAdapter::open(config).await.map_err(|error| {
        let hint = if duckdb::is_locked_elsewhere(&error) {
            format!("another process has `{path}` open; wait for it to finish, or point `path` at another file")
        } else {
            format!("check that `{path}` is a DuckDB database file that dvt can write")
        };
        connect_error(&error, target, hint)
    })?;
    Ok(Arc::new(adapter))
}

/// How many connections an adapter holds for `threads` nodes at once: one
/// more, for the statements dvt runs beside the nodes.
fn pool_size(threads: usize) -> u32 {
    u32::try_from(threads.max(1) + 1).unwrap_or(u32::MAX)
}

/// The error for a target dvt could not connect to: the adapter's words and
/// the driver's, and what to check.
fn connect_error(error: &crate::adapter::AdapterError, target: &Target, hint: String) -> Diagnostic {
    let mut message = error.to_string();
    if let Some(source) = std::error::Error::source(error) {
        message.push_str(&format!(": {source}"));
    }
    Diagnostic::error(message).in_file(&target.source).hint(hint)
}

fn runtime() -> Result<tokio::runtime::Runtime, Diagnostic> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Diagnostic::error(format!("cannot start the async runtime: {error}")))
}

/// `dvt run`, `dvt test`, `dvt seed` and `dvt build`. With `--junit`, a
/// project error that stops the command is written to the report too.
pub fn execute(printer: Arc<Printer>, args: &ExecArgs, command: Command) -> Result<Outcome, Diagnostics> {
    let outcome = execute_plan(printer, args, command);
    if let (Err(diagnostics), Some(path)) = (&outcome, &args.junit) {
        super::junit::write_errors(path, command.as_str(), diagnostics)?;
    }
    outcome
}

fn execute_plan(printer: Arc<Printer>, args: &ExecArgs, command: Command) -> Result<Outcome, Diagnostics> {
    let (session, mut rendered, dag) = load(&printer, &args.project, command.as_str(), false, args.full_refresh)?;
    let previous = crate::state::load(args.selection.state.as_deref())?;
    let plan = plan::plan(&rendered.manifest, &dag, &args.selection, previous.as_ref())?;
    if args.defer {
        let deferred = crate::state::defer(&mut rendered, previous.as_ref(), &plan.selected);
        crate::commands::report_deferred(&printer, deferred);
    }
    let record = json!({
        "which": command.as_str(),
        "select": args.selection.select,
        "exclude": args.selection.exclude,
        "full_refresh": args.full_refresh,
        "threads": args.threads,
        "fail_fast": args.fail_fast,
        "store_failures": args.store_failures,
        "state": args.selection.state,
        "defer": args.defer,
        "vars": args.project.vars,
        "target": args.project.target,
        "profile": args.project.profile,
    });
    let options = ExecOptions {
        command,
        threads: args.threads.unwrap_or(session.target.threads),
        fail_fast: args.fail_fast,
        full_refresh: args.full_refresh,
        store_failures: args.store_failures,
        junit: args.junit.clone(),
    };
    check_offline(&printer, &session, &mut rendered, &plan, command)?;
    run_plan(printer, session, rendered, &dag, &plan, options, record)
}

/// Compiles what the command will run and checks it offline (SQL syntax,
/// config values, test columns), so that a broken project fails before
/// anything connects to the warehouse.
fn check_offline(
    printer: &Printer,
    session: &crate::settings::Session,
    rendered: &mut render::Rendered,
    plan: &Plan,
    command: Command,
) -> Result<(), Diagnostics> {
    let runs: BTreeSet<String> = plan
        .selected
        .iter()
        .filter(|id| {
            rendered
                .manifest
                .nodes
                .get(*id)
                .is_some_and(|node| command.executes(node.resource_type))
        })
        .cloned()
        .collect();
    let bodies = render::compile_selected(rendered, &session.project, &runs)?;
    crate::commands::check(printer, session, rendered, &runs, &bodies)
}

fn run_plan(
    printer: Arc<Printer>,
    session: crate::settings::Session,
    rendered: render::Rendered,
    dag: &crate::graph::Dag,
    plan: &Plan,
    options: ExecOptions,
    record: Value,
) -> Result<Outcome, Diagnostics> {
    let command = options.command;
    let manifest = &rendered.manifest;
    let lake = crate::lake::LakeSettings::from_target(&session.target)?;
    let without_exports;
    let plan = match (&lake, command) {
        (None, Command::Export) => {
            return Err(Diagnostic::error(format!(
                "target `{}` has no `s3_*` settings for the lake",
                session.target.name
            ))
            .in_file(&session.target.source)
            .hint(
                "add `s3_endpoint`, `s3_bucket` and the credentials to the target (README.md, \"Exports to the lake\")",
            )
            .into());
        }
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
    let adapter = runtime.block_on(connect(&target, options.threads))?;
    let exports = match count(ResourceType::Export) {
        0 => String::new(),
        exports => format!(", {exports} export{}", if exports == 1 { "" } else { "s" }),
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
    if let Err(diagnostic) = runtime.block_on(create_bronze_tables(&context, &executable)) {
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

/// A `dvt run` of one selection, prepared once and run again and again:
/// `dvt ingest --follow --refresh SELECTOR`.
pub struct Refresh {
    context: Arc<Context>,
    plan: Plan,
    dag: crate::graph::Dag,
}

impl Refresh {
    /// Plans and compiles the models `selectors` select, to run on `adapter`.
    pub fn prepare(
        printer: &Arc<Printer>,
        session: crate::settings::Session,
        mut rendered: render::Rendered,
        dag: crate::graph::Dag,
        selectors: &[String],
        adapter: Arc<dyn Adapter>,
    ) -> Result<Self, Diagnostics> {
        let selection = SelectArgs {
            select: selectors.to_vec(),
            exclude: Vec::new(),
            state: None,
        };
        let plan = plan::plan(&rendered.manifest, &dag, &selection, None)?;
        check_offline(printer, &session, &mut rendered, &plan, Command::Run)?;
        let total = super::executable(&rendered.manifest, &plan, Command::Run).len();
        if total == 0 {
            return Err(Diagnostic::error(format!(
                "`--refresh {}` selects no model",
                selectors.join(" ")
            ))
            .hint("select the models built on the ingested source, e.g. `--refresh source:<source>.<table>+`; `dvt ls --select ...` shows what a selector matches")
            .into());
        }
        let options = ExecOptions {
            command: Command::Run,
            threads: session.target.threads,
            fail_fast: false,
            full_refresh: false,
            store_failures: false,
            junit: None,
        };
        let context = Arc::new(Context {
            adapter,
            rendered,
            project: session.project,
            printer: Arc::clone(printer),
            options,
            total,
            counter: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            invocation_id: session.options.invocation_id,
            // `run` builds models only; exports wait for `dvt export`.
            lake: None,
        });
        Ok(Self { context, plan, dag })
    }

    /// How many models each refresh runs.
    pub fn models(&self) -> usize {
        self.context.total
    }

    /// Runs the selected models once, printing a progress line for each.
    pub async fn run(&self) -> super::results::RunResults {
        self.context.counter.store(0, std::sync::atomic::Ordering::SeqCst);
        super::run(Arc::clone(&self.context), &self.plan, &self.dag).await
    }
}

/// Creates the bronze tables of the ingested sources (`ingest:` blocks)
/// that the nodes to run read, unless they exist: models built on a topic
/// then build, empty, before the first `dvt ingest`.
async fn create_bronze_tables(context: &Context, executable: &BTreeSet<String>) -> Result<(), Diagnostic> {
    let manifest = &context.rendered.manifest;
    let read: BTreeSet<&String> = executable
        .iter()
        .filter_map(|id| manifest.nodes.get(id))
        .flat_map(|node| node.depends_on_nodes.iter())
        .collect();
    let sources: Vec<_> = manifest
        .sources
        .values()
        .filter(|source| read.contains(&source.unique_id))
        .filter_map(|source| Some((source, crate::ingest::Destination::of_source(source)?)))
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    let mut connection = context
        .adapter
        .connection()
        .await
        .map_err(|error| Diagnostic::error(error.to_string()))?;
    let dialect = crate::ingest::state::Dialect::of(context.adapter.kind());
    for (source, destination) in sources {
        crate::ingest::state::create_destination(&mut *connection, &destination, dialect)
            .await
            .map_err(|error| {
                let spec = source.ingest.as_ref();
                Diagnostic::error(format!("{}: {error}", source.unique_id))
                    .in_file(spec.map_or(source.original_file_path.as_str(), |spec| spec.file.as_str()))
                    .hint("the bronze table of an `ingest:` block must have the columns its mapping writes; drop it or fix the mapping")
            })?;
    }
    Ok(())
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
                "Leaving out {left_out} export{}: target `{target}` has no `s3_*` settings for the lake",
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
    let warehouse = connection.warehouse(Arc::clone(&context.adapter));
    for (index, hook) in hooks.iter().enumerate() {
        let mut scope = Scope::new(
            Mode::Compile,
            &context.rendered.target_schema,
            &context.rendered.target_database,
        );
        scope.resolver = Some(Arc::clone(&context.rendered.resolver));
        let name = format!("{} ({key} #{})", context.project.config_file, index + 1);
        let (sql, _) = super::warehouse::render_with(&warehouse, || {
            context
                .rendered
                .jinja
                .render(&name, hook, scope, minijinja::context! { execute => true })
        });
        let sql = sql.map_err(|error| {
            crate::render::jinja::jinja_diagnostic(&error, &context.project.config_file, &context.project.config_source)
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

/// `dvt retry`: repeats the last command on what failed or was skipped.
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
    let previous: Value = serde_json::from_str(&text)
        .map_err(|error| Diagnostic::error(format!("`{}` is not valid JSON: {error}", path.display())))?;
    let which = previous
        .pointer("/args/which")
        .and_then(Value::as_str)
        .unwrap_or("build");
    let command = match which {
        "run" => Command::Run,
        "test" => Command::Test,
        "seed" => Command::Seed,
        "export" => Command::Export,
        _ => Command::Build,
    };
    let again: BTreeSet<String> = previous
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|result| {
            result
                .get("status")
                .and_then(Value::as_str)
                .and_then(Status::parse)
                .is_some_and(|status| status.is_failure() || status == Status::Skipped)
        })
        .filter_map(|result| result.get("unique_id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if again.is_empty() {
        printer.info(
            "retry",
            "Nothing to retry: the last run had no failed or skipped nodes.",
        );
        return Ok(Outcome::Success);
    }
    let full_refresh = previous
        .pointer("/args/full_refresh")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // Like dbt, the retry renders the project as the last run did, unless
    // told otherwise.
    let mut project_args = args.project.clone();
    let previous_setting = |key: &str| {
        previous
            .pointer(&format!("/args/{key}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    project_args.vars = project_args.vars.or_else(|| previous_setting("vars"));
    project_args.target = project_args.target.or_else(|| previous_setting("target"));
    project_args.profile = project_args.profile.or_else(|| previous_setting("profile"));
    let (session, mut rendered, dag) = load(&printer, &project_args, command.as_str(), false, full_refresh)?;
    let selected: BTreeSet<String> = again
        .into_iter()
        .filter(|id| rendered.manifest.nodes.contains_key(id))
        .collect();
    let order = dag
        .topological_order()
        .into_iter()
        .filter(|id| selected.contains(id))
        .collect();
    let plan = Plan { order, selected };
    // A deferred run is retried deferred, or refs to what it did not build
    // break; what it did build is read from this target, as then.
    if previous.pointer("/args/defer").and_then(Value::as_bool) == Some(true) {
        let state_dir = previous_setting("state").map(std::path::PathBuf::from);
        let state = crate::state::load(state_dir.as_deref())?;
        let built_before: BTreeSet<String> = previous
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|result| result.get("unique_id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let deferred = crate::state::defer(&mut rendered, state.as_ref(), &built_before);
        crate::commands::report_deferred(&printer, deferred);
    }
    printer.info(
        "retry",
        &format!(
            "Retrying `dvt {which}` on {} node{} that failed or were skipped",
            plan.selected.len(),
            if plan.selected.len() == 1 { "" } else { "s" }
        ),
    );
    let threads = args
        .threads
        .or_else(|| {
            previous
                .pointer("/args/threads")
                .and_then(Value::as_u64)
                .map(|threads| threads as usize)
        })
        .unwrap_or(session.target.threads);
    let options = ExecOptions {
        command,
        threads,
        fail_fast: previous
            .pointer("/args/fail_fast")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        full_refresh,
        store_failures: previous
            .pointer("/args/store_failures")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        junit: args.junit.clone(),
    };
    let mut record = previous.get("args").cloned().unwrap_or(json!({}));
    if let Some(object) = record.as_object_mut() {
        object.insert("which".into(), json!(which));
        object.insert("vars".into(), json!(project_args.vars));
        object.insert("target".into(), json!(project_args.target));
        object.insert("profile".into(), json!(project_args.profile));
    }
    check_offline(&printer, &session, &mut rendered, &plan, command)?;
    run_plan(printer, session, rendered, &dag, &plan, options, record)
}

/// `dvt show`: runs a model's SQL, or inline SQL, and prints the first rows.
pub fn show(printer: Arc<Printer>, args: &ShowArgs) -> Result<Outcome, Diagnostics> {
    let selection = SelectArgs {
        select: args.select.clone().into_iter().collect(),
        ..SelectArgs::default()
    };
    let project_args: &ProjectArgs = &args.project;
    let (session, rendered, dag) = load(&printer, project_args, "show", false, false)?;
    let sql = match (&args.inline, &args.select) {
        (Some(inline), _) => {
            let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
            scope.resolver = Some(Arc::clone(&rendered.resolver));
            let (result, scope) = rendered
                .jinja
                .render("--inline", inline, scope, minijinja::Value::from(()));
            let body = result.map_err(|error| crate::render::jinja::jinja_diagnostic(&error, "--inline", inline))?;
            render::inject_ephemerals(
                &body,
                &scope.ephemerals_used,
                &|id| {
                    rendered.manifest.nodes.get(id).and_then(|node| {
                        render::compile_node(&rendered, &session.project, node, false)
                            .ok()
                            .map(|sql| (sql, BTreeSet::new()))
                    })
                },
                &rendered.manifest,
            )
        }
        (None, Some(_)) => {
            let plan = plan::plan(&rendered.manifest, &dag, &selection, None)?;
            let nodes: Vec<&crate::manifest::Node> = plan
                .order
                .iter()
                .filter_map(|id| rendered.manifest.nodes.get(id))
                .filter(|node| {
                    matches!(
                        node.resource_type,
                        ResourceType::Model | ResourceType::Seed | ResourceType::Analysis
                    )
                })
                .collect();
            let [node] = nodes.as_slice() else {
                return Err(Diagnostic::error(format!(
                    "`dvt show --select` needs exactly one model, seed or analysis; the selection matches {}",
                    nodes.len()
                ))
                .hint("select a single node by name, e.g. `--select fct_rental`")
                .into());
            };
            if node.resource_type == ResourceType::Seed {
                format!("select * from {}", node.relation.quoted())
            } else {
                render::compile_node(&rendered, &session.project, node, false)?
            }
        }
        (None, None) => {
            return Err(Diagnostic::error("`dvt show` needs `--select MODEL` or `--inline \"select ...\"`").into())
        }
    };
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let adapter = connect(&session.target, 1).await?;
        let mut connection = adapter
            .connection()
            .await
            .map_err(|error| Diagnostic::error(error.to_string()))?;
        let result = connection.query(&sql, Some(args.limit)).await;
        drop(connection);
        adapter.close().await;
        result.map_err(|error| {
            let mut diagnostic = Diagnostic::error(format!("query failed: {error}"));
            if let Some(database_error) = error.database_error() {
                if let Some((line, column)) = database_error.position_in(&sql) {
                    diagnostic = diagnostic.at(
                        crate::diagnostic::Location::at("<compiled sql>", line, column, 1),
                        Some(&sql),
                    );
                }
            }
            diagnostic
        })
    })?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    table.set_header(result.columns.clone());
    for row in &result.rows {
        table.add_row(row.iter().map(|value| value.clone().unwrap_or_else(|| "NULL".into())));
    }
    printer.result(&table.to_string());
    printer.info(
        "show",
        &format!(
            "{} row{} (limit {})",
            result.rows.len(),
            if result.rows.len() == 1 { "" } else { "s" },
            args.limit
        ),
    );
    Ok(Outcome::Success)
}
