//! What one node does when it runs: a model is compiled (now that the
//! warehouse tells whether `is_incremental()` holds) and materialized, a seed
//! is validated and streamed in with COPY, a test is counted against its
//! thresholds.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde_json::Value;

use crate::adapter::materialize::{self, Materialization, ModelBuild, OnSchemaChange, SeedBuild, SeedColumn};
use crate::adapter::{self, AdapterError, Connection, RelationKind};
use crate::diagnostic::Diagnostic;
use crate::manifest::{Node, ResourceType};
use crate::render;
use crate::render::context::warehouse::Warehouse;

use super::results::{NodeResult, Status};
use super::warehouse::{render_with, SharedConnection};
use super::Context;

/// Runs one node and reports how it went. Never panics on user data.
pub async fn execute(context: &Arc<Context>, unique_id: &str) -> NodeResult {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let Some(node) = context.rendered.manifest.nodes.get(unique_id) else {
        return NodeResult::crashed(unique_id, "not in the manifest");
    };
    let mut result = match node.resource_type {
        _ if context.options.command == super::Command::Clone => super::clone::clone(context, node).await,
        ResourceType::Model => run_model(context, node).await,
        ResourceType::Seed => run_seed(context, node).await,
        ResourceType::Test => run_test(context, node).await,
        ResourceType::Export => run_export(context, node).await,
        ResourceType::UnitTest => crate::unit_test::execute(context, node).await,
        ResourceType::Snapshot => super::snapshot::run(context, node).await,
        _ => NodeResult::new(node, Status::Success, String::new()),
    };
    if context.cancelled.load(Ordering::SeqCst) && result.status == Status::Error {
        result.message = format!("cancelled: {}", result.message);
    }
    result.started_at = Some(started_at);
    result.execution_time = started.elapsed();
    result
}

/// A node's hooks as written (each is rendered when it runs, by
/// [`NodeHooks`]): those the build runs inside its transaction, and those
/// that run before it begins and after it commits.
pub(super) struct HookLists {
    pub(super) pre: Vec<String>,
    pub(super) post: Vec<String>,
    pub(super) before_begin: Vec<String>,
    pub(super) after_commit: Vec<String>,
}

pub(super) fn hooks(node: &Node) -> HookLists {
    let split = |key: &str| -> (Vec<String>, Vec<String>) {
        let (inside, outside): (Vec<_>, Vec<_>) = render::materialization::hooks(node.config.get(key))
            .into_iter()
            .partition(|hook| hook.transaction);
        (
            inside.into_iter().map(|hook| hook.sql).collect(),
            outside.into_iter().map(|hook| hook.sql).collect(),
        )
    };
    let (pre, before_begin) = split("pre-hook");
    let (post, after_commit) = split("post-hook");
    HookLists {
        pre,
        post,
        before_begin,
        after_commit,
    }
}

/// Runs hooks outside any transaction, each rendered as it runs.
pub(super) async fn run_outside(
    connection: &mut SharedConnection,
    renderer: &NodeHooks,
    hooks: &[String],
) -> Result<(), AdapterError> {
    for hook in hooks {
        let sql = adapter::HookRenderer::render(renderer, hook)?;
        if !sql.trim().is_empty() {
            connection.execute(&sql).await?;
        }
    }
    Ok(())
}

/// Renders a node's hooks as they run, with `execute` true and the
/// warehouse at hand, as dbt does.
pub(super) struct NodeHooks {
    pub(super) context: Arc<Context>,
    pub(super) unique_id: String,
    pub(super) warehouse: Arc<dyn Warehouse>,
}

impl std::fmt::Debug for NodeHooks {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "the hooks of `{}`", self.unique_id)
    }
}

impl adapter::HookRenderer for NodeHooks {
    fn render(&self, hook: &str) -> Result<String, AdapterError> {
        let Some(node) = self.context.rendered.manifest.nodes.get(&self.unique_id) else {
            return Ok(String::new());
        };
        render_with(&self.warehouse, || {
            render::render_hook(&self.context.rendered, &self.context.project, node, hook)
        })
        .map_err(|diagnostic| AdapterError::Hook {
            message: match &diagnostic.location {
                Some(location) => format!("{}:{}: {}", location.file, location.line, diagnostic.message),
                None => diagnostic.message.clone(),
            },
        })
    }
}

/// A connection from the pool, shared by the node's Jinja and its build.
pub(super) async fn node_connection(context: &Context) -> Result<(SharedConnection, Arc<dyn Warehouse>), AdapterError> {
    let connection = SharedConnection::new(context.adapter.connection().await?);
    let warehouse = connection.warehouse(Arc::clone(&context.adapter));
    Ok((connection, warehouse))
}

/// `--full-refresh`, unless the node's own `full_refresh` config says otherwise.
pub(super) fn full_refresh(context: &Context, node: &Node) -> bool {
    match node.config.get("full_refresh") {
        Some(Value::Bool(flag)) => *flag,
        _ => context.options.full_refresh,
    }
}

pub(super) fn relation(node: &Node) -> adapter::Relation {
    adapter::Relation::new(node.relation.schema.clone(), node.relation.identifier.clone())
}

async fn run_model(context: &Arc<Context>, node: &Node) -> NodeResult {
    if let Some(macro_name) =
        render::materialization::find(&context.rendered, node.materialized(), context.adapter.kind())
    {
        return run_custom_materialization(context, node, &macro_name).await;
    }
    let Some(materialization) = Materialization::from_name(node.materialized()) else {
        return NodeResult::error(
            node,
            Diagnostic::error(format!("materialization `{}` is not supported", node.materialized()))
                .in_file(&node.original_file_path)
                .hint("use view, table, incremental, ephemeral or materialized_view"),
        );
    };
    if crate::microbatch::is_microbatch(node) {
        return super::microbatch::run(context, node).await;
    }
    let full_refresh = full_refresh(context, node);
    let (mut connection, warehouse) = match node_connection(context).await {
        Ok(connection) => connection,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    // is_incremental() holds when the table already exists and no full refresh is asked for.
    let is_incremental = if materialization == Materialization::Incremental && !full_refresh {
        match connection.relation_kind(&relation(node)).await {
            Ok(kind) => kind == Some(RelationKind::Table),
            Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
        }
    } else {
        false
    };
    let compile = || render::compile_node(&context.rendered, &context.project, node, is_incremental);
    let compiled = match compile_on(context, node, &mut connection, &warehouse, compile, None).await {
        Ok(compiled) => compiled,
        Err(failed) => return *failed,
    };
    let renderer = node_hooks(context, node, warehouse);
    let hooks = hooks(node);
    let build = match model_build(
        context,
        node,
        materialization,
        &compiled.sql,
        full_refresh,
        &hooks,
        &renderer,
    ) {
        Ok(build) => build,
        Err(diagnostic) => return NodeResult::error(node, diagnostic),
    };
    let built = build_with_hooks(context, &mut connection, &renderer, &hooks, &build).await;
    compiled.finish(node, built)
}

/// A node's SQL as compiled for a build, and where it was written.
pub(super) struct Compiled {
    pub(super) sql: String,
    pub(super) compiled_path: Option<String>,
}

impl Compiled {
    /// The node's result once its build ended.
    pub(super) fn finish(self, node: &Node, built: Result<adapter::AdapterResponse, AdapterError>) -> NodeResult {
        let mut result = match built {
            Ok(response) => {
                let mut result = NodeResult::new(node, Status::Success, response.message.clone());
                result.adapter_response = Some(response);
                result
            }
            Err(error) => NodeResult::error(node, adapter_diagnostic(&error, node, Some(&self.sql))),
        };
        result.compiled_code = Some(self.sql);
        result.compiled_path = self.compiled_path;
        result
    }
}

/// Compiles a node on its connection (so that its Jinja's queries run
/// there), commits what that Jinja left open, and writes the SQL to
/// `target/run/`, under `split` for a microbatch's batch.
pub(super) async fn compile_on(
    context: &Context,
    node: &Node,
    connection: &mut SharedConnection,
    warehouse: &Arc<dyn Warehouse>,
    compile: impl FnOnce() -> Result<String, Diagnostic>,
    split: Option<&str>,
) -> Result<Compiled, Box<NodeResult>> {
    let sql = render_with(warehouse, compile).map_err(|diagnostic| Box::new(NodeResult::error(node, diagnostic)))?;
    connection
        .commit_open()
        .await
        .map_err(|error| Box::new(NodeResult::error(node, adapter_diagnostic(&error, node, None))))?;
    let compiled_path = write_compiled_split(context, node, &sql, split);
    Ok(Compiled { sql, compiled_path })
}

/// The renderer of a node's hooks, on the warehouse of its connection.
pub(super) fn node_hooks(context: &Arc<Context>, node: &Node, warehouse: Arc<dyn Warehouse>) -> Arc<NodeHooks> {
    Arc::new(NodeHooks {
        context: Arc::clone(context),
        unique_id: node.unique_id.clone(),
        warehouse,
    })
}

/// What building a model takes, from its config: strategy, unique key,
/// schema changes, hooks, grants and contract.
pub(super) fn model_build<'a>(
    context: &Context,
    node: &Node,
    materialization: Materialization,
    sql: &'a str,
    full_refresh: bool,
    hooks: &HookLists,
    renderer: &Arc<NodeHooks>,
) -> Result<ModelBuild<'a>, Diagnostic> {
    let on_schema_change = node.config_str("on_schema_change").unwrap_or("ignore");
    let Some(on_schema_change) = OnSchemaChange::from_name(on_schema_change) else {
        return Err(Diagnostic::error(format!(
            "`on_schema_change: {on_schema_change}` is not one of ignore, fail, append_new_columns, sync_all_columns"
        ))
        .in_file(&node.original_file_path));
    };
    Ok(ModelBuild {
        relation: relation(node),
        materialization,
        sql,
        incremental_strategy: node.config_str("incremental_strategy").map(str::to_owned),
        unique_key: crate::manifest::string_list(node.config.get("unique_key")),
        partition_by: crate::manifest::string_list(node.config.get("partition_by")),
        on_schema_change,
        full_refresh,
        pre_hooks: hooks.pre.clone(),
        post_hooks: hooks.post.clone(),
        grants: grants(node),
        render_hooks: Some(Arc::clone(renderer) as Arc<dyn adapter::HookRenderer>),
        contract: crate::contract::Contract::of(node, &|target| {
            crate::contract::relation_of(&context.rendered.manifest, node, target)
        }),
        batch: None,
    })
}

/// Runs `build` on the node's connection, between the hooks that run
/// outside its transaction.
pub(super) async fn build_with_hooks(
    context: &Context,
    connection: &mut SharedConnection,
    renderer: &NodeHooks,
    hooks: &HookLists,
    build: &ModelBuild<'_>,
) -> Result<adapter::AdapterResponse, AdapterError> {
    run_outside(connection, renderer, &hooks.before_begin).await?;
    let response = materialize::materialize_on(context.adapter.as_ref(), connection, build).await?;
    run_outside(connection, renderer, &hooks.after_commit).await?;
    Ok(response)
}

/// Builds a model with a project's `{% materialization %}` block, on the
/// node's connection; whatever the block leaves open is committed, and an
/// error rolls it back.
async fn run_custom_materialization(context: &Arc<Context>, node: &Node, macro_name: &str) -> NodeResult {
    let (mut connection, warehouse) = match node_connection(context).await {
        Ok(connection) => connection,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let compiled = render_with(&warehouse, || {
        render::compile_node(&context.rendered, &context.project, node, false)
    });
    let sql = match compiled {
        Ok(sql) => sql,
        Err(diagnostic) => return NodeResult::error(node, diagnostic),
    };
    let compiled_path = write_compiled(context, node, &sql);
    // As dbt does before any model runs.
    if let Err(error) = connection.create_schema_if_missing(&node.relation.schema).await {
        return NodeResult::error(node, adapter_diagnostic(&error, node, None));
    }
    let built = render_with(&warehouse, || {
        render::materialization::run(&context.rendered, node, macro_name, &sql)
    });
    let finished = match &built {
        Ok(_) => connection.commit_open().await,
        Err(_) => connection.rollback_open().await,
    };
    let mut result = match (built, finished) {
        (Ok(message), Ok(())) => NodeResult::new(node, Status::Success, message),
        (Err(diagnostic), _) => NodeResult::error(node, diagnostic),
        (Ok(_), Err(error)) => NodeResult::error(node, adapter_diagnostic(&error, node, Some(&sql))),
    };
    result.compiled_code = Some(sql);
    result.compiled_path = compiled_path;
    result
}

pub(super) fn grants(node: &Node) -> BTreeMap<String, Vec<String>> {
    let mut grants = BTreeMap::new();
    if let Some(Value::Object(entries)) = node.config.get("grants") {
        for (privilege, grantees) in entries {
            grants.insert(privilege.clone(), crate::manifest::string_list(Some(grantees)));
        }
    }
    grants
}

/// Writes the SQL that ran to `target/run/...`, so that a failure can be
/// reproduced by hand. Returns the path shown to users.
pub(crate) fn write_compiled(context: &Context, node: &Node, sql: &str) -> Option<String> {
    write_compiled_split(context, node, sql, None)
}

/// [`write_compiled`], for a microbatch's batch in a folder named like the
/// model, as dbt's `split_suffix` writes it (`daily/daily_2024-01-02.sql`).
fn write_compiled_split(context: &Context, node: &Node, sql: &str, split: Option<&str>) -> Option<String> {
    let mut relative = node.compiled_path().replacen("compiled/", "run/", 1);
    if let Some(suffix) = split {
        let stem = relative.strip_suffix(".sql").unwrap_or(&relative).to_string();
        let name = stem.rsplit('/').next().unwrap_or(&stem).to_string();
        relative = format!("{stem}/{name}_{suffix}.sql");
    }
    let path = context.project.target_dir().join(&relative);
    crate::artifacts::write_atomic(&path, format!("{sql}\n").as_bytes()).ok()?;
    Some(format!("{}/{relative}", context.project.target_path))
}

/// Turns an adapter error into a diagnostic; a server error with a position is
/// pointed at the line of the compiled SQL.
pub fn adapter_diagnostic(error: &AdapterError, node: &Node, sql: Option<&str>) -> Diagnostic {
    let mut message = error.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    let mut diagnostic = Diagnostic::error(format!("{} `{}`: {message}", node.resource_type.as_str(), node.name));
    if let (Some(database_error), Some(sql)) = (error.database_error(), sql) {
        if let Some((line, column)) = database_error.position_in(sql) {
            let compiled = node.compiled_path().replacen("compiled/", "run/", 1);
            // Point into the file the user wrote, when the compiled line maps
            // back to it exactly; a generic test's SQL comes from its macro.
            let source = (node.test_metadata.is_none())
                .then(|| crate::validate::source_map::SourceMap::new(&node.raw_code, sql).position(line, column, 1))
                .flatten()
                .filter(|position| position.exact);
            diagnostic = match source {
                Some(position) => diagnostic
                    .at(
                        crate::diagnostic::Location::at(&node.original_file_path, position.line, position.column, 1),
                        Some(&node.raw_code),
                    )
                    .note(format!("line {line} of the SQL that ran, in target/{compiled}")),
                None => diagnostic.at(
                    crate::diagnostic::Location::at(format!("target/{compiled}"), line, column, 1),
                    Some(sql),
                ),
            };
        } else {
            diagnostic = diagnostic.in_file(&node.original_file_path);
        }
    } else {
        diagnostic = diagnostic.in_file(&node.original_file_path);
    }
    if error.is_cancelled() {
        diagnostic = diagnostic.hint("the query was cancelled");
    }
    diagnostic
}

async fn run_seed(context: &Arc<Context>, node: &Node) -> NodeResult {
    let project_dir = context.project.dir.clone();
    let path = project_dir.join(&node.original_file_path);
    let display = node.original_file_path.clone();
    let options = seed_options(node);
    let delimiter = char::from(options.delimiter);
    let prepare_path = path.clone();
    let prepare_display = display.clone();
    let prepare_options = options.clone();
    let prepared =
        tokio::task::spawn_blocking(move || crate::seed::prepare(&prepare_path, &prepare_display, &prepare_options))
            .await;
    let prepared = match prepared {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(error)) => return NodeResult::error(node, seed_diagnostic(&error, &path, delimiter).hint(UNTOUCHED)),
        Err(error) => return NodeResult::crashed(&node.unique_id, &error.to_string()),
    };
    // dvt quotes column names as written, as dbt does by default. With
    // `quote_columns: false` they are left as PostgreSQL would fold them unquoted.
    let fold_names = node.config.get("quote_columns") == Some(&Value::Bool(false));
    let columns: Vec<SeedColumn> = prepared
        .columns
        .iter()
        .map(|column| SeedColumn {
            name: if fold_names {
                column.name.to_lowercase()
            } else {
                column.name.clone()
            },
            // An inferred type is spelled in the warehouse's dialect; a
            // `column_types` override is used as written.
            data_type: column.data_type(|inferred| context.adapter.seed_type(inferred)),
        })
        .collect();
    let hooks = hooks(node);
    let (mut connection, warehouse) = match node_connection(context).await {
        Ok(connection) => connection,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let renderer = Arc::new(NodeHooks {
        context: Arc::clone(context),
        unique_id: node.unique_id.clone(),
        warehouse,
    });
    let full_refresh = full_refresh(context, node);
    let build = SeedBuild {
        relation: relation(node),
        columns: columns.clone(),
        full_refresh,
        pre_hooks: hooks.pre,
        post_hooks: hooks.post,
        grants: grants(node),
        render_hooks: Some(Arc::clone(&renderer) as Arc<dyn adapter::HookRenderer>),
    };

    // The CSV is re-encoded on a blocking thread and streamed to COPY through a
    // bounded channel, so memory stays flat whatever the file size.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, AdapterError>>(8);
    let header = csv_header(&columns);
    let progress = super::results::seed_progress(context, node, prepared.byte_len);
    let encode_progress = progress.clone();
    let encode_path = path.clone();
    let encoder = tokio::task::spawn_blocking(move || {
        if sender.blocking_send(Ok(header)).is_err() {
            return Ok(0);
        }
        let mut sink = |chunk: &[u8]| -> Result<(), crate::seed::SeedError> {
            // A closed channel means the load stopped; the COPY reports why.
            let _ = sender.blocking_send(Ok(chunk.to_vec()));
            Ok(())
        };
        let mut report = |bytes: u64| {
            if let Some(bar) = &encode_progress {
                bar.set_position(bytes);
            }
        };
        crate::seed::encode_copy_csv(&encode_path, &display, &prepared, &options, &mut sink, &mut report)
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed();
    let loaded = async {
        run_outside(&mut connection, &renderer, &hooks.before_begin).await?;
        let response = materialize::load_seed_on(context.adapter.as_ref(), &mut connection, &build, stream).await?;
        run_outside(&mut connection, &renderer, &hooks.after_commit).await?;
        Ok(response)
    }
    .await;
    let encoded = encoder.await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    match (loaded, encoded) {
        (_, Ok(Err(error))) => NodeResult::error(node, seed_diagnostic(&error, &path, delimiter).hint(UNTOUCHED)),
        (Ok(response), _) => {
            let mut result = NodeResult::new(node, Status::Success, response.message.clone());
            result.adapter_response = Some(response);
            result
        }
        (Err(error), _) => NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    }
}

/// Reads `node`'s seed file as loading will, without a warehouse: its
/// warnings, or the error that would fail its load.
pub(super) fn check_seed_file(project_dir: &std::path::Path, node: &Node) -> Result<Vec<Diagnostic>, Diagnostic> {
    let options = seed_options(node);
    let path = project_dir.join(&node.original_file_path);
    let delimiter = char::from(options.delimiter);
    let prepared = crate::seed::prepare(&path, &node.original_file_path, &options)
        .map_err(|error| seed_diagnostic(&error, &path, delimiter))?;
    let source = std::fs::read(&path).ok();
    Ok(prepared
        .warnings
        .into_iter()
        .map(|warning| {
            let diagnostic = Diagnostic::warning(format!("seed `{}`: {}", node.original_file_path, warning.message));
            let at = SeedPosition {
                file: &node.original_file_path,
                source: source.as_deref(),
                line: warning.line,
                field: Some(warning.field),
                delimiter,
            };
            at.locate(diagnostic).hint(warning.hint)
        })
        .collect())
}

fn seed_options(node: &Node) -> crate::seed::SeedOptions {
    let mut options = crate::seed::SeedOptions::default();
    if let Some(delimiter) = node.config_str("delimiter").and_then(|text| text.bytes().next()) {
        options.delimiter = delimiter;
    }
    if let Some(Value::Object(types)) = node.config.get("column_types") {
        for (column, data_type) in types {
            if let Some(data_type) = data_type.as_str() {
                options.column_types.insert(column.clone(), data_type.to_string());
            }
        }
    }
    options
}

fn csv_header(columns: &[SeedColumn]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = writer.write_record(columns.iter().map(|column| column.name.as_str()));
    writer.into_inner().unwrap_or_default()
}

/// `delimiter` splits the offending line of the file at `path` to point at the bad field.
fn seed_diagnostic(error: &crate::seed::SeedError, path: &std::path::Path, delimiter: char) -> Diagnostic {
    let mut text = error.to_string();
    let mut hints = Vec::new();
    if let Some(index) = text.find("\nhint: ") {
        hints.push(text[index + 7..].trim().to_string());
        text.truncate(index);
    }
    // The message starts with `path:line: `; the location carries that instead.
    let prefix = match error.line() {
        Some(line) => format!("{}:{line}: ", error.path()),
        None => format!("{}: ", error.path()),
    };
    let message = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
    let source = std::fs::read(path).ok();
    let diagnostic = Diagnostic::error(format!("seed `{}`: {message}", error.path()));
    let mut diagnostic = match error.line() {
        Some(line) => SeedPosition {
            file: error.path(),
            source: source.as_deref(),
            line,
            field: error.column(),
            delimiter,
        }
        .locate(diagnostic),
        None => diagnostic.in_file(error.path()),
    };
    for hint in hints {
        diagnostic = diagnostic.hint(hint);
    }
    diagnostic
}

/// A line of a seed file (its bytes `source`), and the field of it a
/// message is about.
struct SeedPosition<'a> {
    file: &'a str,
    source: Option<&'a [u8]>,
    line: u64,
    field: Option<usize>,
    delimiter: char,
}

impl SeedPosition<'_> {
    /// Points `diagnostic` at the line, and at the field's start when the line is simple.
    fn locate(&self, diagnostic: Diagnostic) -> Diagnostic {
        let line = self.line.max(1) as usize;
        let line_text = self
            .source
            .and_then(|bytes| bytes.split(|byte| *byte == b'\n').nth(line - 1))
            .map(|bytes| String::from_utf8_lossy(bytes).to_string());
        let mut location = crate::diagnostic::Location::at(self.file, line, 1, 1);
        if let (Some(field), Some(text)) = (self.field, &line_text) {
            let offset: usize = text
                .split(self.delimiter)
                .take(field.saturating_sub(1))
                .map(|part| part.chars().count() + 1)
                .sum();
            let length = text
                .split(self.delimiter)
                .nth(field.saturating_sub(1))
                .map_or(1, |part| part.chars().count().max(1));
            location = crate::diagnostic::Location::at(self.file, line, offset + 1, length);
        }
        // A line of a huge field is shown cut short, underlined to its cut.
        const SHOWN_CHARS: usize = 120;
        location.length = location
            .length
            .min((SHOWN_CHARS + 1).saturating_sub(location.column).max(1));
        let mut diagnostic = diagnostic.at(location, None);
        diagnostic.source_line = line_text.map(|text| match text.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        });
        diagnostic
    }
}

/// What a seed that fails while loading leaves behind.
const UNTOUCHED: &str = "the existing table was left untouched";

async fn run_test(context: &Arc<Context>, node: &Node) -> NodeResult {
    let (mut connection, warehouse) = match node_connection(context).await {
        Ok(connection) => connection,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let compiled = render_with(&warehouse, || {
        render::compile_node(&context.rendered, &context.project, node, false)
    });
    if let Err(error) = connection.commit_open().await {
        return NodeResult::error(node, adapter_diagnostic(&error, node, None));
    }
    let sql = match compiled {
        Ok(sql) => sql,
        Err(diagnostic) => return NodeResult::error(node, diagnostic),
    };
    let compiled_path = write_compiled(context, node, &sql);
    let counted_sql = match node.config.get("limit").and_then(Value::as_u64) {
        Some(limit) => match context
            .adapter
            .templates()
            .get_template(adapter::template_names::LIMIT)
            .and_then(|template| template.render(minijinja::context! { sql => sql.clone(), limit => limit }))
        {
            Ok(limited) => limited,
            Err(error) => return NodeResult::crashed(&node.unique_id, &error.to_string()),
        },
        None => sql.clone(),
    };
    let fail_calc = node.config_str("fail_calc").unwrap_or("count(*)");
    let failures = match materialize::count_failures_on(
        context.adapter.as_ref(),
        &mut connection,
        &counted_sql,
        fail_calc,
    )
    .await
    {
        Ok(failures) => failures,
        Err(error) => {
            let mut result = NodeResult::error(node, adapter_diagnostic(&error, node, Some(&sql)));
            result.compiled_path = compiled_path;
            return result;
        }
    };
    let store = node
        .config
        .get("store_failures")
        .and_then(Value::as_bool)
        .unwrap_or(context.options.store_failures);
    let mut stored = None;
    if store {
        let build = ModelBuild::new(relation(node), Materialization::Table, &counted_sql);
        match materialize::materialize_on(context.adapter.as_ref(), &mut connection, &build).await {
            Ok(_) => stored = Some(node.relation.quoted()),
            Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, Some(&counted_sql))),
        }
    }
    let severity = node.config_str("severity").unwrap_or("error").to_lowercase();
    let error_if = node.config_str("error_if").unwrap_or("!= 0");
    let warn_if = node.config_str("warn_if").unwrap_or("!= 0");
    let status = match (threshold(error_if, failures), threshold(warn_if, failures)) {
        (Err(message), _) | (_, Err(message)) => {
            return NodeResult::error(
                node,
                Diagnostic::error(format!("test `{}`: {message}", node.name)).in_file(&node.original_file_path),
            )
        }
        (Ok(true), _) if severity != "warn" => Status::Fail,
        (_, Ok(true)) => Status::Warn,
        _ => Status::Pass,
    };
    // As in dbt, `--warn-error` makes a test that warns fail.
    let warning_as_error = status == Status::Warn && context.printer.warn_error;
    let status = if warning_as_error { Status::Fail } else { status };
    let condition = if status == Status::Fail && !warning_as_error {
        error_if
    } else {
        warn_if
    };
    let message = match status {
        Status::Pass => String::new(),
        _ => {
            let mut message = format!(
                "Got {failures} result{}, configured to {} if {condition}",
                if failures == 1 { "" } else { "s" },
                if status == Status::Fail && !warning_as_error {
                    "fail"
                } else {
                    "warn"
                }
            );
            if warning_as_error {
                message.push_str(" (an error under --warn-error)");
            }
            if let Some(table) = &stored {
                message.push_str(&format!("; failing rows stored in {table}"));
            }
            message
        }
    };
    let mut result = NodeResult::new(node, status, message);
    result.failures = Some(failures);
    result.compiled_code = Some(sql);
    result.compiled_path = compiled_path;
    result
}

/// Evaluates a dbt threshold such as `!= 0`, `>10` or `>= 5` against a count.
fn threshold(condition: &str, count: u64) -> Result<bool, String> {
    let condition = condition.trim();
    let (operator, value) = ["!=", "<>", ">=", "<=", "==", "=", ">", "<"]
        .iter()
        .find_map(|operator| condition.strip_prefix(operator).map(|rest| (*operator, rest.trim())))
        .ok_or_else(|| format!("threshold `{condition}` must start with one of != > >= < <= ="))?;
    let value: u64 = value
        .parse()
        .map_err(|_| format!("threshold `{condition}` must compare with a whole number"))?;
    Ok(match operator {
        "!=" | "<>" => count != value,
        ">=" => count >= value,
        "<=" => count <= value,
        "==" | "=" => count == value,
        ">" => count > value,
        _ => count < value,
    })
}

/// Exports a model's rows to the lake. (Without `s3_*` settings in the
/// target, the command leaves the exports out before they get here.)
async fn run_export(context: &Context, node: &Node) -> NodeResult {
    let Some(settings) = &context.lake else {
        return NodeResult::error(
            node,
            Diagnostic::error(format!(
                "export `{}`: the target has no `s3_*` settings for the lake",
                node.name
            ))
            .in_file(&node.original_file_path),
        );
    };
    let spec = match crate::lake::ExportSpec::parse(&serde_json::Value::Object(node.config.clone())) {
        Ok(spec) => spec,
        Err(problems) => {
            let first = &problems[0];
            return NodeResult::error(
                node,
                Diagnostic::error(format!("export `{}`: {}", node.name, first.message))
                    .in_file(
                        node.patch_path
                            .as_deref()
                            .map_or(node.original_file_path.as_str(), |patch| {
                                patch.split_once("://").map_or(patch, |(_, file)| file)
                            }),
                    )
                    .hint(first.hint.clone()),
            );
        }
    };
    let job = crate::lake::ExportJob {
        adapter: context.adapter.as_ref(),
        settings,
        spec: &spec,
        relation: relation(node),
        model_name: &node.name,
        unique_id: &node.unique_id,
        progress: context.printer.progress_bar(
            None,
            crate::output::ProgressUnit::Rows,
            format!("exporting {}", node.name),
        ),
    };
    let bar = job.progress.clone();
    let exported = crate::lake::export::run(job).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match exported {
        Ok(outcome) => {
            let message = format!(
                "EXPORT {} rows, {} file{} to {}",
                outcome.rows,
                outcome.files,
                if outcome.files == 1 { "" } else { "s" },
                outcome.location
            );
            let mut result = NodeResult::new(node, Status::Success, message.clone());
            result.adapter_response = Some(adapter::AdapterResponse {
                message,
                code: "EXPORT".into(),
                rows_affected: Some(outcome.rows),
            });
            result
        }
        Err(error) => {
            let mut diagnostic = match &error {
                crate::lake::ExportError::Warehouse(adapter_error) => adapter_diagnostic(adapter_error, node, None),
                other => {
                    Diagnostic::error(format!("export `{}`: {other}", node.name)).in_file(&node.original_file_path)
                }
            };
            if let Some(hint) = error.hint() {
                diagnostic = diagnostic.hint(hint);
            }
            NodeResult::error(node, diagnostic)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn thresholds_follow_dbt() {
        assert_eq!(threshold("!= 0", 0), Ok(false));
        assert_eq!(threshold("!= 0", 3), Ok(true));
        assert_eq!(threshold(">10", 10), Ok(false));
        assert_eq!(threshold(">= 10", 10), Ok(true));
        assert!(threshold("about 3", 1).is_err());
    }
}
