//! The commands that need no warehouse writes: `init`, `debug`, `parse`,
//! `compile`, `ls`, `diff` and `clean`. Each is a short chain of phases.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Instant;

use serde_json::json;

use crate::cli::{DiffArgs, DiffFormat, InitArgs, LsArgs, LsOutput, ProjectArgs};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::graph::{self, Dag};
use crate::manifest::ResourceType;
use crate::output::Printer;
use crate::plan;
use crate::render::{self, Rendered};
use crate::settings::Session;
use crate::{artifacts, diff, state, validate, Outcome};

/// Loads, renders and builds the DAG, printing warnings. Under `--warn-error`
/// any warning fails the command.
pub fn load(
    printer: &Printer,
    args: &ProjectArgs,
    command: &str,
    compile: bool,
    full_refresh: bool,
) -> Result<(Session, Rendered, Dag), Diagnostics> {
    let mut session = Session::open(args, command, full_refresh)?;
    printer.set_project_dir(&session.project.dir);
    announce_fallback(printer, &session);
    session.options.compile = compile;
    let mut warnings = std::mem::take(&mut session.project.warnings);
    let rendered = render::render_all(&session.project, &session.target, &session.options)?;
    warnings.extend(rendered.warnings.iter().cloned());
    if printer.warn_error && !warnings.is_empty() {
        return Err(Diagnostics(warnings));
    }
    for warning in &warnings {
        printer.diagnostic(warning);
    }
    let dag = graph::build(&rendered.manifest)?;
    Ok((session, rendered, dag))
}

/// The one line saying that dvt found no `profiles.yml` and uses the
/// embedded DuckDB default.
pub fn announce_fallback(printer: &Printer, session: &Session) {
    if let Some(note) = &session.target.fallback_note {
        printer.info("profile_fallback", note);
    }
}

fn counts(rendered: &Rendered) -> String {
    let manifest = &rendered.manifest;
    let count = |resource_type: ResourceType| {
        manifest
            .nodes
            .values()
            .filter(|node| node.resource_type == resource_type)
            .count()
    };
    let plural = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    [
        plural(count(ResourceType::Model), "model"),
        plural(count(ResourceType::Seed), "seed"),
        plural(count(ResourceType::Test), "test"),
        plural(manifest.sources.len(), "source"),
        plural(manifest.exposures.len(), "exposure"),
        format!(
            "{} analys{}",
            count(ResourceType::Analysis),
            if count(ResourceType::Analysis) == 1 { "is" } else { "es" }
        ),
        plural(manifest.macros.len(), "macro"),
    ]
    .join(", ")
}

pub fn parse(printer: &Printer, args: &ProjectArgs) -> Result<Outcome, Diagnostics> {
    let started = Instant::now();
    let (session, rendered, _dag) = load(printer, args, "parse", false, false)?;
    artifacts::write_manifest(&session.project.target_dir(), &rendered.manifest)?;
    printer.event(
        "parse_done",
        &format!(
            "Parsed {} in {:.0} ms; wrote {}/manifest.json",
            counts(&rendered),
            started.elapsed().as_secs_f64() * 1000.0,
            session.project.target_path
        ),
        json!({"elapsed_ms": started.elapsed().as_millis() as u64}),
    );
    exit_without_freeing(rendered);
    Ok(Outcome::Success)
}

pub fn compile(printer: &Printer, args: &crate::cli::CompileArgs) -> Result<Outcome, Diagnostics> {
    let started = Instant::now();
    let (session, mut rendered, dag) = load(printer, &args.project, "compile", false, false)?;
    let previous = state::load(args.selection.state.as_deref())?;
    let plan = plan::plan(&rendered.manifest, &dag, &args.selection, previous.as_ref())?;
    if args.defer {
        report_deferred(printer, state::defer(&mut rendered, previous.as_ref(), &plan.selected));
    }
    let compilable: BTreeSet<String> = plan
        .selected
        .iter()
        .filter(|id| rendered.manifest.nodes.contains_key(*id))
        .cloned()
        .collect();
    // As dbt's compile: `execute` is true, and a node's Jinja may query the
    // warehouse, which is connected to only if one does.
    let warehouse = crate::exec::warehouse::LazyWarehouse::new(session.target.clone())?;
    let shared = crate::render::context::warehouse::share_warehouse(std::sync::Arc::new(warehouse));
    let bodies = render::compile_selected(&mut rendered, &session.project, &compilable);
    drop(shared);
    let bodies = bodies?;
    let checked = check(printer, &session, &rendered, &compilable, &bodies);
    let target_dir = session.project.target_dir();
    // The manifest streams on one thread while the SQL files are written on the others.
    let (written, manifest_written) = rayon::join(
        || artifacts::write_compiled(&target_dir, &rendered.manifest, Some(&compilable)),
        || artifacts::write_manifest(&target_dir, &rendered.manifest),
    );
    let written = written?;
    manifest_written?;
    // The compiled SQL is written even when checks fail: errors point into it.
    checked?;
    printer.event(
        "compile_done",
        &format!(
            "Compiled {written} node{} ({}) in {:.0} ms; wrote {}/compiled/",
            if written == 1 { "" } else { "s" },
            counts(&rendered),
            started.elapsed().as_secs_f64() * 1000.0,
            session.project.target_path
        ),
        json!({"compiled": written, "elapsed_ms": started.elapsed().as_millis() as u64}),
    );
    exit_without_freeing(rendered);
    Ok(Outcome::Success)
}

/// Runs the offline checks ([`validate`]) on the compiled `selected` nodes and
/// prints the warnings. An error, or any warning under `--warn-error`, fails
/// the command with every problem found.
pub fn check(
    printer: &Printer,
    session: &Session,
    rendered: &Rendered,
    selected: &BTreeSet<String>,
    bodies: &HashMap<String, render::CompiledBody>,
) -> Result<(), Diagnostics> {
    let diagnostics = validate::validate(&validate::Input {
        project: &session.project,
        rendered,
        adapter_type: &session.target.adapter_type,
        selected,
        bodies,
    });
    if diagnostics.iter().any(Diagnostic::is_error) || (printer.warn_error && !diagnostics.is_empty()) {
        return Err(Diagnostics(diagnostics));
    }
    for warning in &diagnostics {
        printer.diagnostic(warning);
    }
    Ok(())
}

/// Skips freeing the whole manifest just before the process exits: the
/// operating system reclaims it at once, and freeing 40,000 nodes one by one
/// takes longer than building them.
fn exit_without_freeing(rendered: Rendered) {
    std::mem::forget(rendered);
}

pub fn ls(printer: &Printer, args: &LsArgs) -> Result<Outcome, Diagnostics> {
    let (_session, rendered, dag) = load(printer, &args.project, "ls", false, false)?;
    let previous = state::load(args.selection.state.as_deref())?;
    let plan = plan::plan(&rendered.manifest, &dag, &args.selection, previous.as_ref())?;
    let mut types = BTreeSet::new();
    for resource_type in &args.resource_type {
        let Some(parsed) = ResourceType::parse(resource_type) else {
            let known = ["model", "seed", "test", "source", "exposure", "analysis"];
            let mut diagnostic = Diagnostic::error(format!("unknown resource type `{resource_type}`"));
            diagnostic = match crate::diagnostic::did_you_mean(resource_type, known) {
                Some(suggestion) => diagnostic.hint(format!("did you mean `{suggestion}`?")),
                None => diagnostic.hint(format!("use one of: {}", known.join(", "))),
            };
            return Err(diagnostic.into());
        };
        types.insert(parsed);
    }
    let manifest = &rendered.manifest;
    let mut ids: Vec<&String> = plan.selected.iter().collect();
    ids.sort();
    for id in ids {
        let (resource_type, line) = if let Some(node) = manifest.nodes.get(id) {
            let line = match args.output {
                LsOutput::Selector => node.fqn.join("."),
                LsOutput::Name => node.name.clone(),
                LsOutput::Path => node.original_file_path.clone(),
                LsOutput::Json => json!({
                    "name": node.name,
                    "resource_type": node.resource_type.as_str(),
                    "package_name": node.package_name,
                    "original_file_path": node.original_file_path,
                    "unique_id": node.unique_id,
                    "alias": node.relation.identifier,
                    "config": node.config,
                    "tags": node.tags(),
                    "depends_on": {"nodes": node.depends_on_nodes, "macros": node.depends_on_macros},
                })
                .to_string(),
            };
            (node.resource_type, line)
        } else if let Some(source) = manifest.sources.get(id) {
            let line = match args.output {
                LsOutput::Selector => format!("source:{}", source.fqn.join(".")),
                LsOutput::Name => format!("{}.{}", source.source_name, source.name),
                LsOutput::Path => source.original_file_path.clone(),
                LsOutput::Json => json!({
                    "name": source.name,
                    "source_name": source.source_name,
                    "resource_type": "source",
                    "package_name": source.package_name,
                    "original_file_path": source.original_file_path,
                    "unique_id": source.unique_id,
                    "config": source.config,
                    "tags": source.tags,
                })
                .to_string(),
            };
            (ResourceType::Source, line)
        } else if let Some(exposure) = manifest.exposures.get(id) {
            let line = match args.output {
                LsOutput::Selector => format!("exposure:{}", exposure.fqn.join(".")),
                LsOutput::Name => exposure.name.clone(),
                LsOutput::Path => exposure.original_file_path.clone(),
                LsOutput::Json => json!({
                    "name": exposure.name,
                    "resource_type": "exposure",
                    "package_name": exposure.package_name,
                    "original_file_path": exposure.original_file_path,
                    "unique_id": exposure.unique_id,
                    "tags": exposure.tags,
                    "depends_on": {"nodes": exposure.depends_on_nodes},
                })
                .to_string(),
            };
            (ResourceType::Exposure, line)
        } else {
            continue;
        };
        if types.is_empty() || types.contains(&resource_type) {
            printer.result(&line);
        }
    }
    Ok(Outcome::Success)
}

/// Says how many unselected nodes `--defer` reads from the other run.
pub fn report_deferred(printer: &Printer, deferred: usize) {
    printer.info(
        "defer",
        &format!(
            "Deferred {deferred} unselected node{} to the relations of the --state manifest",
            if deferred == 1 { "" } else { "s" }
        ),
    );
}

/// `dvt diff`: what changed since the run whose manifest `--state` names, and
/// what each change affects downstream.
pub fn diff(printer: &Printer, args: &DiffArgs) -> Result<Outcome, Diagnostics> {
    let (_session, rendered, dag) = load(printer, &args.project, "diff", false, false)?;
    let previous = state::read(&args.state).map_err(Diagnostic::from)?;
    let comparison = state::compare(&rendered.manifest, &previous);
    let report = diff::Report::new(
        &rendered.manifest,
        &dag,
        &comparison,
        &previous.path.display().to_string(),
    );
    let text = match args.format {
        DiffFormat::Text => report.text(),
        DiffFormat::Markdown => report.markdown(),
    };
    printer.result(text.trim_end());
    Ok(Outcome::Success)
}

pub fn clean(printer: &Printer, args: &ProjectArgs) -> Result<Outcome, Diagnostics> {
    let project_dir = crate::settings::absolute(&args.project_dir);
    let no_render = |_: &str, text: &str| -> Result<String, Diagnostic> { Ok(text.to_string()) };
    let project = crate::project::load(&project_dir, &no_render)?;
    for target in &project.clean_targets {
        let path = project_dir.join(target);
        // Never delete outside the project directory.
        let inside = path.canonicalize().ok().is_some_and(|canonical| {
            project_dir
                .canonicalize()
                .is_ok_and(|root| canonical.starts_with(&root) && canonical != root)
        });
        if !path.exists() {
            continue;
        }
        if !inside {
            return Err(Diagnostic::error(format!(
                "refusing to clean `{target}`: it is not inside the project directory"
            ))
            .in_file(&project.config_file)
            .hint("list only folders inside the project under `clean-targets`")
            .into());
        }
        std::fs::remove_dir_all(&path)
            .map_err(|error| Diagnostic::error(format!("cannot remove `{target}`: {error}")))?;
        printer.info("clean", &format!("Removed {target}/"));
    }
    Ok(Outcome::Success)
}

pub fn debug(printer: &Printer, args: &ProjectArgs) -> Result<Outcome, Diagnostics> {
    let session = Session::open(args, "debug", false)?;
    announce_fallback(printer, &session);
    let project = &session.project;
    let target = &session.target;
    printer.result(&format!("dvt version: {}", env!("CARGO_PKG_VERSION")));
    printer.result(&format!(
        "project: {} ({})",
        project.name,
        project.dir.join(&project.config_file).display()
    ));
    printer.result(&format!("profile: {} from {}", target.profile, target.source));
    printer.result(&format!("target: {} (type {})", target.name, target.adapter_type));
    for (key, value) in target.redacted_fields() {
        let value = match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        printer.result(&format!("  {key}: {value}"));
    }
    let started = Instant::now();
    target.check_secrets()?;
    match check_connection(target) {
        Ok(version) => {
            printer.result(&format!(
                "connection: OK ({version}, {:.0} ms)",
                started.elapsed().as_secs_f64() * 1000.0
            ));
            Ok(Outcome::Success)
        }
        Err(message) => Err(Diagnostic::error(format!("connection test failed: {message}"))
            .hint("check host, port, user and dbname in profiles.yml, and that the password's env var is set")
            .into()),
    }
}

/// Connects to the target and returns the server version.
fn check_connection(target: &crate::profile::Target) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    match target.adapter_type.as_str() {
        "postgres" => runtime.block_on(postgres_version(target)),
        #[cfg(feature = "duckdb")]
        "duckdb" => runtime.block_on(duckdb_version(target)),
        other => Err(format!(
            "adapter type `{other}` is not supported; use `type: postgres` or `type: duckdb`"
        )),
    }
}

async fn postgres_version(target: &crate::profile::Target) -> Result<String, String> {
    use sqlx::Connection;
    let options = postgres_options(target);
    let mut connection = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sqlx::PgConnection::connect_with(&options),
    )
    .await
    .map_err(|_| "timed out after 10 s".to_string())?
    .map_err(|error| error.to_string())?;
    let version: (String,) = sqlx::query_as("show server_version")
        .fetch_one(&mut connection)
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!("PostgreSQL {}", version.0))
}

/// Opens the DuckDB file (creating it, as the first build would) and
/// returns the library's version.
#[cfg(feature = "duckdb")]
async fn duckdb_version(target: &crate::profile::Target) -> Result<String, String> {
    let adapter = crate::exec::command::connect(target, 1)
        .await
        .map_err(|diagnostic| diagnostic.message.clone())?;
    let mut connection = adapter.connection().await.map_err(|error| error.to_string())?;
    let version = connection
        .query("select library_version from pragma_version()", None)
        .await
        .map_err(|error| error.to_string())?;
    drop(connection);
    adapter.close().await;
    let version = version.rows.first().and_then(|row| row.first().cloned().flatten());
    Ok(format!("DuckDB {} (embedded)", version.unwrap_or_default()))
}

fn postgres_options(target: &crate::profile::Target) -> sqlx::postgres::PgConnectOptions {
    let mut options = sqlx::postgres::PgConnectOptions::new_without_pgpass()
        .host(&target.string("host").unwrap_or_else(|| "localhost".into()))
        .port(target.string("port").and_then(|port| port.parse().ok()).unwrap_or(5432))
        .database(&target.database)
        .application_name("dvt");
    if let Some(user) = target.string("user") {
        options = options.username(&user);
    }
    if let Some(password) = target.string("password") {
        options = options.password(&password);
    }
    options
}

/// Files `dvt init` writes, relative to the new project.
const INIT_FILES: &[(&str, &str)] = &[
    ("project.yml", include_str!("../templates/init/project.yml")),
    ("profiles.yml", include_str!("../templates/init/profiles.yml")),
    (
        "models/example/my_first_model.sql",
        include_str!("../templates/init/my_first_model.sql"),
    ),
    (
        "models/example/my_second_model.sql",
        include_str!("../templates/init/my_second_model.sql"),
    ),
    (
        "models/example/schema.yml",
        include_str!("../templates/init/schema.yml"),
    ),
    ("seeds/.gitkeep", ""),
    ("tests/.gitkeep", ""),
    ("macros/.gitkeep", ""),
    ("analyses/.gitkeep", ""),
    (".gitignore", "target/\nprofiles.yml\n"),
];

pub fn init(printer: &Printer, args: &InitArgs) -> Result<Outcome, Diagnostics> {
    let name = &args.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
        || name.starts_with(|character: char| character.is_ascii_digit())
    {
        return Err(Diagnostic::error(format!("project name `{name}` is not valid"))
            .hint("use letters, digits and underscores, starting with a letter, e.g. `dvt init shop_analytics`")
            .into());
    }
    let dir = args.path.clone().unwrap_or_else(|| Path::new(name).to_path_buf());
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(
            Diagnostic::error(format!("`{}` already exists and is not empty", dir.display()))
                .hint("choose another name, or pass `--path` to an empty directory")
                .into(),
        );
    }
    for (path, contents) in INIT_FILES {
        let contents = contents.replace("{{project_name}}", name);
        artifacts::write_atomic(&dir.join(path), contents.as_bytes())?;
    }
    printer.info("init", &format!("Created project `{name}` in {}", dir.display()));
    printer.info(
        "init",
        &format!(
            "Next: cd {} && edit profiles.yml (or export DVT_PG_PASSWORD) && dvt debug && dvt build",
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}
