//! Phase 2, `render`: turns the loaded project into a [`Manifest`].
//!
//! 1. Docs blocks and macros are read, and the Jinja environment is built.
//! 2. Schema YAML is read into properties (descriptions, columns, tests, sources).
//! 3. Every model, analysis and singular test is rendered in *parse* mode, in
//!    parallel, capturing its `ref()`, `source()` and `config()` calls.
//! 4. Config is resolved (project tree, then YAML, then `config()`), relation
//!    names are generated, and generic tests become test nodes.
//! 5. Refs and sources are checked; every problem is reported with its line.
//! 6. With `compile`, every node is rendered again in *compile* mode with refs
//!    resolved to relations, and ephemeral models are inlined as CTEs.
//!
//! The DAG is built from the manifest by [`crate::graph`].

pub mod config;
pub mod context;
pub mod jinja;
pub mod materialization;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use rayon::prelude::*;
use serde_json::{json, Map};

use crate::diagnostic::{did_you_mean, Diagnostic, Diagnostics, Location};
use crate::manifest::{
    Doc, Exposure, Macro, Manifest, Node, RefCall, Relation, ResourceType, SourceTable, TestMetadata,
};
use crate::profile::Target;
use crate::project::{Project, SourceFile};
use jinja::{Globals, Jinja, Mode, Resolved, Resolver, Scope};
use schema::{Patch, Properties, TestSpec};

/// Settings of one invocation that reach the templates.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cli_vars: Map<String, serde_json::Value>,
    pub full_refresh: bool,
    pub command: String,
    pub invocation_id: String,
    pub run_started_at: String,
    /// Render every node in compile mode too.
    pub compile: bool,
}

/// The result of rendering: the manifest, and what later phases need to render
/// nodes again (at run time `is_incremental()` depends on the warehouse).
/// A node's compiled SQL and the ephemeral models it refers to directly.
pub type CompiledBody = (String, BTreeSet<String>);

pub struct Rendered {
    pub manifest: Manifest,
    pub warnings: Vec<Diagnostic>,
    pub jinja: Jinja,
    pub resolver: Arc<Resolver>,
    pub target_schema: String,
    pub target_database: String,
    /// The line of each generic test's entry in its schema file, by unique
    /// id, so that problems found after rendering can point at it.
    pub test_lines: BTreeMap<String, usize>,
}

/// Renders the project. Errors from every file are collected and returned
/// together.
pub fn render_all(project: &Project, target: &Target, options: &Options) -> Result<Rendered, Diagnostics> {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();

    // 1. Docs blocks and macros.
    let mut docs = BTreeMap::new();
    let mut doc_nodes = BTreeMap::new();
    for file in &project.files.docs {
        match schema::docs_blocks(file) {
            Ok(blocks) => {
                for (name, body, _line) in blocks {
                    let unique_id = format!("doc.{}.{}", project.name, name);
                    docs.insert(name.clone(), body.clone());
                    doc_nodes.insert(
                        unique_id.clone(),
                        Doc {
                            unique_id,
                            package_name: project.name.clone(),
                            name,
                            original_file_path: file.path.clone(),
                            block_contents: body,
                        },
                    );
                }
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    let globals = Globals {
        project_name: project.name.clone(),
        target: target.context(),
        adapter_type: target.adapter_type.clone(),
        vars: project.vars.clone(),
        cli_vars: options.cli_vars.clone(),
        docs,
        invocation_id: options.invocation_id.clone(),
        run_started_at: options.run_started_at.clone(),
        full_refresh: options.full_refresh,
        command: options.command.clone(),
    };
    let macro_files: Vec<(String, String)> = project
        .files
        .macros
        .iter()
        .map(|file| (file.path.clone(), file.contents.clone()))
        .collect();
    let jinja = match Jinja::new(globals, &macro_files) {
        Ok(jinja) => jinja,
        Err(errors) => {
            diagnostics.extend(errors);
            return Err(Diagnostics(diagnostics));
        }
    };

    // 2. Schema YAML.
    let render_yaml = |file: &str, text: &str| -> Result<String, Diagnostic> {
        jinja.render_str(text, Value::from(())).map_err(|error| {
            let source = project
                .files
                .schemas
                .iter()
                .find(|schema_file| schema_file.path == file)
                .map(|schema_file| schema_file.contents.as_str())
                .unwrap_or_default();
            let location = crate::yaml::find_text_line(source, text.lines().next().unwrap_or(text), 1);
            let detail = error
                .detail()
                .map(str::to_owned)
                .unwrap_or_else(|| error.kind().to_string());
            let diagnostic = Diagnostic::error(format!("cannot render `{}`: {detail}", text.trim()));
            match location {
                Some((line, column)) => {
                    diagnostic.at(Location::at(file, line, column, text.trim().len()), Some(source))
                }
                None => diagnostic.in_file(file),
            }
        })
    };
    let (properties, schema_diagnostics) = schema::read_all(&project.files.schemas, &render_yaml);
    diagnostics.extend(schema_diagnostics);

    let context = Builder {
        project,
        target,
        jinja: &jinja,
        properties: &properties,
    };

    // 3. Parse-render models, analyses and singular tests in parallel.
    let mut drafts: Vec<Draft> = Vec::new();
    for file in &project.files.models {
        drafts.push(context.draft(
            file,
            ResourceType::Model,
            &project.model_tree,
            properties.models.get(&file.stem()),
        ));
    }
    for file in &project.files.analyses {
        drafts.push(context.draft(
            file,
            ResourceType::Analysis,
            &serde_json::Value::Null, // analyses take no config from the project file
            properties.analyses.get(&file.stem()),
        ));
    }
    for file in &project.files.singular_tests {
        drafts.push(context.draft(file, ResourceType::Test, &project.test_tree, None));
    }
    let parsed: Vec<Result<Scope, Diagnostic>> = drafts.par_iter().map(|draft| context.parse(draft)).collect();

    // 4. Nodes with resolved config and relation names.
    let mut manifest = Manifest {
        project_name: project.name.clone(),
        adapter_type: target.adapter_type.clone(),
        ..Manifest::default()
    };
    let mut names: BTreeMap<(ResourceType, String), String> = BTreeMap::new();
    for (draft, result) in drafts.iter().zip(parsed) {
        let scope = match result {
            Ok(scope) => scope,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let mut config = draft.base_config.clone();
        config::merge(&mut config, &scope.config_calls);
        diagnostics.extend(context.check_config_keys(
            &scope.config_calls,
            &draft.file.path,
            &draft.file.contents,
            true,
        ));
        if config.get("enabled") == Some(&serde_json::Value::Bool(false)) {
            continue;
        }
        let unique_id = format!("{}.{}.{}", draft.resource_type.as_str(), project.name, draft.name);
        if let Some(previous) = names.insert((draft.resource_type, draft.name.clone()), draft.file.path.clone()) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "two {}s are named `{}`",
                    draft.resource_type.as_str(),
                    draft.name
                ))
                // A node's name is its file name, so the whole file is the culprit:
                // point at its first line.
                .at(
                    Location::at(&draft.file.path, 1, 1, draft.file.contents.lines().next().map_or(1, str::len)),
                    Some(&draft.file.contents),
                )
                .label(format!("`{}` is also the name of `{previous}`", draft.name))
                .hint("rename one of the files: a name is its file name, and ref() needs it unique across folders (an `alias` config can keep the relation's name)"),
            );
            continue;
        }
        let node = context.node(draft, unique_id, config, scope);
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
    for seed in &project.files.seeds {
        let file = seed.as_source();
        let draft = context.draft(
            &file,
            ResourceType::Seed,
            &project.seed_tree,
            properties.seeds.get(&file.stem()),
        );
        if draft.base_config.get("enabled") == Some(&serde_json::Value::Bool(false)) {
            continue;
        }
        let unique_id = format!("seed.{}.{}", project.name, draft.name);
        if let Some(previous) = names.insert((ResourceType::Seed, draft.name.clone()), file.path.clone()) {
            diagnostics.push(
                Diagnostic::error(format!("two seeds are named `{}`", draft.name))
                    .in_file(&file.path)
                    .note(format!("the other is `{previous}`")),
            );
            continue;
        }
        let mut node = context.node(
            &draft,
            unique_id,
            draft.base_config.clone(),
            Scope::new(Mode::Parse, &target.schema, &target.database),
        );
        node.checksum = seed.checksum.clone();
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
    for ((resource_type, name), path) in &names {
        if *resource_type == ResourceType::Seed {
            if let Some(model_path) = names.get(&(ResourceType::Model, name.clone())) {
                diagnostics.push(
                    Diagnostic::error(format!("a model and a seed are both named `{name}`"))
                        .in_file(model_path)
                        .note(format!("the seed is `{path}`"))
                        .hint("`ref()` could not tell them apart: rename one"),
                );
            }
        }
    }
    for (name, patch) in properties.models.iter().chain(properties.seeds.iter()) {
        let known = names.contains_key(&(ResourceType::Model, name.clone()))
            || names.contains_key(&(ResourceType::Seed, name.clone()));
        if !known {
            let candidates: Vec<&str> = names.keys().map(|(_, name)| name.as_str()).collect();
            let mut warning = Diagnostic::warning(format!(
                "`{name}` is described in `{}` but no such model or seed exists",
                patch.file
            ))
            .at(
                Location::at(&patch.file, patch.line, 1, 1),
                project.schema_source(&patch.file),
            );
            if let Some(suggestion) = did_you_mean(name, candidates.iter().copied()) {
                warning = warning.hint(format!("did you mean `{suggestion}`?"));
            }
            diagnostics.push(warning);
        }
    }

    for source in &properties.sources {
        for table in &source.tables {
            let table_node = context.source_table(source, table);
            manifest.sources.insert(table_node.unique_id.clone(), table_node);
        }
    }
    diagnostics.extend(context.check_relation_collisions(&manifest));

    // 5. Refs, sources, generic tests and exposures.
    let lookup = RefLookup::new(&manifest);
    let node_ids: Vec<String> = manifest.nodes.keys().cloned().collect();
    for id in node_ids {
        let Some(node) = manifest.nodes.get(&id) else { continue };
        let (depends, problems) = context.resolve_dependencies(node, &lookup, &manifest);
        diagnostics.extend(problems);
        if let Some(node) = manifest.nodes.get_mut(&id) {
            node.depends_on_nodes.extend(depends);
        }
    }
    let tests = context.generic_tests(&manifest, &lookup, &mut diagnostics);
    let mut test_lines = BTreeMap::new();
    for (test, line) in tests {
        if manifest.nodes.contains_key(&test.unique_id) {
            continue;
        }
        test_lines.insert(test.unique_id.clone(), line);
        manifest.nodes.insert(test.unique_id.clone(), test);
    }
    for export in crate::lake::export_nodes(&manifest) {
        manifest.nodes.insert(export.unique_id.clone(), export);
    }
    for spec in &properties.exposures {
        if let Some(exposure) = context.exposure(spec, &lookup, &mut diagnostics) {
            manifest.exposures.insert(exposure.unique_id.clone(), exposure);
        }
    }
    for definition in jinja.macros.values().filter(|definition| definition.package != "dvt") {
        let unique_id = format!("macro.{}.{}", definition.package, definition.name);
        manifest.macros.insert(
            unique_id.clone(),
            Macro {
                unique_id,
                package_name: definition.package.clone(),
                name: definition.name.clone(),
                original_file_path: definition.template.clone(),
                macro_sql: definition.source.clone(),
                description: String::new(),
            },
        );
    }
    manifest.docs = doc_nodes;
    diagnostics.extend(context.check_tree_paths(&manifest));

    let (errors, mut warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diagnostics.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    warnings.sort_by(|left, right| left.location.cmp(&right.location));

    let resolver = Arc::new(lookup.resolver(&manifest));
    let macro_sources = jinja.macros.values().map(|definition| definition.source.as_str());
    let node_sources = manifest.nodes.values().map(|node| node.raw_code.as_str());
    if context::graph::mentions_graph(macro_sources.chain(node_sources)) {
        jinja.graph.set(&manifest.to_json());
    }
    let mut rendered = Rendered {
        manifest,
        warnings,
        jinja,
        resolver,
        target_schema: target.schema.clone(),
        target_database: target.database.clone(),
        test_lines,
    };
    if options.compile {
        let all: BTreeSet<String> = rendered.manifest.nodes.keys().cloned().collect();
        compile_selected(&mut rendered, project, &all)?;
    }
    Ok(rendered)
}

/// Points the refs to the nodes in `deferred` (by unique id) at the given
/// relations instead of their own, for `--defer` (see [`crate::state::defer`]).
/// Call it after planning and before compiling.
pub fn defer_refs(rendered: &mut Rendered, deferred: &BTreeMap<String, Relation>) {
    if deferred.is_empty() {
        return;
    }
    let mut refs = rendered.resolver.refs.clone();
    for (id, relation) in deferred {
        let Some(node) = rendered.manifest.nodes.get(id) else {
            continue;
        };
        let resolved = Resolved::Relation(relation.clone());
        refs.insert(
            format!("{}.{}", rendered.manifest.project_name, node.name),
            resolved.clone(),
        );
        refs.insert(node.name.clone(), resolved);
    }
    rendered.resolver = Arc::new(Resolver {
        refs,
        sources: rendered.resolver.sources.clone(),
    });
}

/// Step 6: compiles the nodes in `selected` (in parallel), then inlines ephemeral
/// models. Ephemeral models are always compiled, since others inline them.
/// Returns each compiled node's own SQL, before ephemeral models are inlined,
/// for checks that point back into the node's file.
pub fn compile_selected(
    rendered: &mut Rendered,
    project: &Project,
    selected: &BTreeSet<String>,
) -> Result<HashMap<String, CompiledBody>, Diagnostics> {
    let ids: Vec<String> = rendered
        .manifest
        .nodes
        .values()
        .filter(|node| {
            // Seeds and exports have no SQL of their own.
            !matches!(node.resource_type, ResourceType::Seed | ResourceType::Export)
                && (selected.contains(&node.unique_id) || node.is_ephemeral())
        })
        .map(|node| node.unique_id.clone())
        .collect();
    let results: Vec<(String, Result<CompiledBody, Diagnostic>)> = ids
        .par_iter()
        .map(|id| {
            let node = &rendered.manifest.nodes[id];
            (id.clone(), compile_node_raw(rendered, project, node, false))
        })
        .collect();
    let mut errors = Vec::new();
    let mut bodies: HashMap<String, (String, BTreeSet<String>)> = HashMap::new();
    for (id, result) in results {
        match result {
            Ok(compiled) => {
                bodies.insert(id, compiled);
            }
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    let mut compiled_code = Vec::new();
    for (id, (body, ephemerals)) in &bodies {
        let sql = inject_ephemerals(
            body,
            ephemerals,
            &|ephemeral_id| bodies.get(ephemeral_id).cloned(),
            &rendered.manifest,
        );
        compiled_code.push((id.clone(), sql));
    }
    for (id, sql) in compiled_code {
        if let Some(node) = rendered.manifest.nodes.get_mut(&id) {
            node.compiled_code = Some(sql);
        }
    }
    Ok(bodies)
}

/// Compiles one node with ephemeral models inlined. The executor calls this at
/// run time, when it knows whether `is_incremental()` holds.
pub fn compile_node(
    rendered: &Rendered,
    project: &Project,
    node: &Node,
    is_incremental: bool,
) -> Result<String, Diagnostic> {
    let (body, ephemerals) = compile_node_raw(rendered, project, node, is_incremental)?;
    let lookup = |ephemeral_id: &str| -> Option<(String, BTreeSet<String>)> {
        let ephemeral = rendered.manifest.nodes.get(ephemeral_id)?;
        compile_node_raw(rendered, project, ephemeral, false).ok()
    };
    Ok(inject_ephemerals(&body, &ephemerals, &lookup, &rendered.manifest))
}

/// Renders a `pre-hook` or `post-hook` of a node, with `this` and refs resolved.
pub fn render_hook(rendered: &Rendered, project: &Project, node: &Node, hook: &str) -> Result<String, Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::clone(&rendered.resolver));
    scope.config_view = node.config.clone();
    let (result, _) = rendered.jinja.render(
        &node.original_file_path,
        hook,
        scope,
        node_context(node, context::warehouse::is_connected()),
    );
    result.map_err(|error| {
        let source = node_source(project, node);
        let mut diagnostic = jinja::jinja_diagnostic(&error, &node.original_file_path, hook);
        diagnostic.message = format!("hook of `{}`: {}", node.name, diagnostic.message);
        if diagnostic.source_line.is_none() {
            diagnostic.source_line = source.lines().next().map(str::to_owned);
        }
        diagnostic
    })
}

/// Renders a node in compile mode, returning its SQL and the ephemeral models
/// it refers to directly.
pub fn compile_node_raw(
    rendered: &Rendered,
    project: &Project,
    node: &Node,
    is_incremental: bool,
) -> Result<(String, BTreeSet<String>), Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::clone(&rendered.resolver));
    scope.config_view = node.config.clone();
    scope.is_incremental = is_incremental;
    // `execute` is true when the render can reach the warehouse: while the
    // node runs. Offline (the checks before a run, `dvt compile`) it is
    // false, as in dbt's parse, so introspective macros return nothing.
    let context = node_context(node, context::warehouse::is_connected());
    let source = node_source(project, node);
    let (result, scope) = match &node.test_metadata {
        Some(metadata) => {
            let model_expression = node.attached_model_expression();
            let (model, scope) = rendered.jinja.eval(&model_expression, scope, context.clone());
            let model = model.map_err(|error| test_error(&error, node, source))?;
            let model = match node.config.get("where").and_then(serde_json::Value::as_str) {
                // dbt's `get_where_subquery`: the filtered model as a subquery.
                Some(filter) => Value::from_safe_string(format!("(select * from {model} where {filter}) dbt_subquery")),
                None => model,
            };
            let (kwargs, scope) = test_kwargs(&rendered.jinja, metadata, node, model, scope, &context);
            let kwargs = kwargs.map_err(|error| test_error(&error, node, source))?;
            rendered.jinja.call(
                &format!("test_{}", metadata.name),
                &[Value::from(kwargs)],
                scope,
                context,
            )
        }
        None => rendered
            .jinja
            .render(&node.original_file_path, &node.raw_code, scope, context),
    };
    match result {
        // A trailing `;` would end up inside a CTE when the node is inlined.
        Ok(sql) => Ok((
            sql.trim().trim_end_matches(';').trim_end().to_string(),
            scope.ephemerals_used,
        )),
        Err(error) => Err(jinja::jinja_diagnostic_with(
            &error,
            &node.original_file_path,
            source,
            &|name| rendered.jinja.macro_source(name),
        )),
    }
}

fn test_error(error: &minijinja::Error, node: &Node, source: &str) -> Diagnostic {
    let detail = error.detail().map(str::to_owned).unwrap_or_else(|| error.to_string());
    let mut diagnostic = Diagnostic::error(format!("test `{}`: {detail}", node.name));
    let line = crate::yaml::find_text_line(
        source,
        node.test_metadata
            .as_ref()
            .map(|metadata| metadata.name.as_str())
            .unwrap_or(""),
        1,
    );
    diagnostic = match line {
        Some((line, column)) => diagnostic.at(Location::at(&node.original_file_path, line, column, 1), Some(source)),
        None => diagnostic.in_file(&node.original_file_path),
    };
    diagnostic
}

/// The keyword arguments a generic test macro is called with: `model`,
/// `column_name`, and the test's arguments, where strings such as
/// `ref('customers')` are evaluated.
fn test_kwargs(
    jinja: &Jinja,
    metadata: &TestMetadata,
    node: &Node,
    model: Value,
    mut scope: Scope,
    context: &Value,
) -> (Result<Kwargs, minijinja::Error>, Scope) {
    let mut pairs: Vec<(String, Value)> = vec![("model".to_string(), model)];
    if let Some(column) = &node.column_name {
        pairs.push(("column_name".to_string(), Value::from(column.clone())));
    }
    for (key, value) in &metadata.kwargs {
        if key == "model" || key == "column_name" {
            continue;
        }
        let (evaluated, returned) = evaluate_argument(jinja, value, scope, context);
        scope = returned;
        match evaluated {
            Ok(value) => pairs.push((key.clone(), value)),
            Err(error) => return (Err(error), scope),
        }
    }
    (Ok(Kwargs::from_iter(pairs)), scope)
}

fn evaluate_argument(
    jinja: &Jinja,
    value: &serde_json::Value,
    scope: Scope,
    context: &Value,
) -> (Result<Value, minijinja::Error>, Scope) {
    match value {
        serde_json::Value::String(text) if is_relation_expression(text) => {
            jinja.eval(text.trim(), scope, context.clone())
        }
        serde_json::Value::String(text) if text.contains("{{") => {
            let (result, scope) = jinja.render("<test argument>", text, scope, context.clone());
            (result.map(Value::from), scope)
        }
        other => (Ok(Value::from_serialize(other)), scope),
    }
}

fn is_relation_expression(text: &str) -> bool {
    let text = text.trim();
    (text.starts_with("ref(") || text.starts_with("source(")) && text.ends_with(')')
}

/// The Jinja context of one node: `this`, `model` and `execute`.
pub(crate) fn node_context(node: &Node, execute: bool) -> Value {
    let this = jinja::relation_value(node.relation.clone());
    if node.test_metadata.is_some() {
        // Generic tests read their arguments, not `model`; a light one keeps
        // compiling 30,000 tests cheap.
        let model = minijinja::context! {
            unique_id => node.unique_id.clone(),
            name => node.name.clone(),
            resource_type => node.resource_type.as_str(),
        };
        return minijinja::context! { this => this, model => model, execute => execute };
    }
    // dbt's `model` is the whole node, as in the manifest.
    minijinja::context! { this => this, model => Value::from_serialize(node), execute => execute }
}

/// The text errors about `node` point into: its SQL, or for a generic test the
/// schema file that declares it. Borrowed, and looked up only on the error path.
fn node_source<'a>(project: &'a Project, node: &'a Node) -> &'a str {
    if node.test_metadata.is_some() {
        return project.schema_source(&node.original_file_path).unwrap_or_default();
    }
    &node.raw_code
}

/// Inlines the ephemeral models `sql` refers to (transitively, dependencies
/// first) as CTEs named `__dbt__cte__<name>`.
pub fn inject_ephemerals(
    sql: &str,
    direct: &BTreeSet<String>,
    body_of: &dyn Fn(&str) -> Option<CompiledBody>,
    manifest: &Manifest,
) -> String {
    if direct.is_empty() {
        return sql.to_string();
    }
    let mut ordered: Vec<(String, String)> = Vec::new();
    let mut visited = BTreeSet::new();
    fn visit(
        id: &str,
        body_of: &dyn Fn(&str) -> Option<CompiledBody>,
        manifest: &Manifest,
        visited: &mut BTreeSet<String>,
        ordered: &mut Vec<(String, String)>,
    ) {
        if !visited.insert(id.to_string()) {
            return;
        }
        let Some((body, nested)) = body_of(id) else { return };
        for inner in &nested {
            visit(inner, body_of, manifest, visited, ordered);
        }
        let name = manifest.nodes.get(id).map_or(id, |node| node.name.as_str());
        ordered.push((name.to_string(), body));
    }
    for id in direct {
        visit(id, body_of, manifest, &mut visited, &mut ordered);
    }
    let ctes: Vec<String> = ordered
        .iter()
        .map(|(name, body)| format!("__dbt__cte__{name} as (\n{body}\n)"))
        .collect();
    let ctes = ctes.join(",\n");
    match leading_with(sql) {
        Some(insert_at) => format!("{}\n{ctes},\n{}", &sql[..insert_at], sql[insert_at..].trim_start()),
        None => format!("with {ctes}\n{sql}"),
    }
}

/// The byte offset just after a leading `with` (and `recursive`) keyword,
/// skipping comments and whitespace.
fn leading_with(sql: &str) -> Option<usize> {
    let mut offset = 0;
    loop {
        let rest = &sql[offset..];
        let trimmed = rest.trim_start();
        offset += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            offset += trimmed.find('\n').map_or(trimmed.len(), |end| end + 1);
        } else if trimmed.starts_with("/*") {
            offset += trimmed.find("*/").map_or(trimmed.len(), |end| end + 2);
        } else {
            break;
        }
    }
    let rest = &sql[offset..];
    let word: String = rest
        .chars()
        .take_while(|character| character.is_alphanumeric() || *character == '_')
        .collect();
    if !word.eq_ignore_ascii_case("with") {
        return None;
    }
    let mut end = offset + word.len();
    let after = &sql[end..];
    let next: String = after
        .trim_start()
        .chars()
        .take_while(|character| character.is_alphanumeric())
        .collect();
    if next.eq_ignore_ascii_case("recursive") {
        end += after.len() - after.trim_start().len() + next.len();
    }
    Some(end)
}

impl Node {
    /// The Jinja expression for the node a generic test is attached to.
    pub fn attached_model_expression(&self) -> String {
        self.test_metadata
            .as_ref()
            .and_then(|metadata| metadata.kwargs.get("model"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

/// A node before rendering.
struct Draft<'a> {
    file: &'a SourceFile,
    resource_type: ResourceType,
    name: String,
    fqn: Vec<String>,
    /// Project tree config merged with YAML config.
    base_config: Map<String, serde_json::Value>,
    patch: Option<&'a Patch>,
}

struct Builder<'a> {
    project: &'a Project,
    target: &'a Target,
    jinja: &'a Jinja,
    properties: &'a Properties,
}

/// Finds what a `ref()` or `source()` names.
struct RefLookup {
    by_name: BTreeMap<String, (String, bool)>,
    sources: BTreeMap<(String, String), String>,
}

impl RefLookup {
    fn new(manifest: &Manifest) -> Self {
        let mut by_name = BTreeMap::new();
        for node in manifest.nodes.values() {
            if matches!(node.resource_type, ResourceType::Model | ResourceType::Seed) {
                by_name.insert(node.name.clone(), (node.unique_id.clone(), node.is_ephemeral()));
            }
        }
        let sources = manifest
            .sources
            .values()
            .map(|source| {
                (
                    (source.source_name.clone(), source.name.clone()),
                    source.unique_id.clone(),
                )
            })
            .collect();
        RefLookup { by_name, sources }
    }

    fn resolver(&self, manifest: &Manifest) -> Resolver {
        let mut resolver = Resolver::default();
        for (name, (id, ephemeral)) in &self.by_name {
            let Some(node) = manifest.nodes.get(id) else { continue };
            let resolved = if *ephemeral {
                Resolved::Ephemeral {
                    unique_id: id.clone(),
                    name: name.clone(),
                }
            } else {
                Resolved::Relation(node.relation.clone())
            };
            resolver
                .refs
                .insert(format!("{}.{name}", manifest.project_name), resolved.clone());
            resolver.refs.insert(name.clone(), resolved);
        }
        for ((source, table), id) in &self.sources {
            if let Some(source_table) = manifest.sources.get(id) {
                resolver
                    .sources
                    .insert((source.clone(), table.clone()), source_table.relation.clone());
            }
        }
        resolver
    }
}

impl<'a> Builder<'a> {
    fn draft(
        &self,
        file: &'a SourceFile,
        resource_type: ResourceType,
        tree: &serde_json::Value,
        patch: Option<&'a Patch>,
    ) -> Draft<'a> {
        let name = file.stem();
        let mut fqn = vec![self.project.name.clone()];
        fqn.extend(file.folders());
        fqn.push(name.clone());
        let mut base_config = config::from_tree(tree, &fqn);
        if let Some(patch) = patch {
            config::merge(&mut base_config, &patch.config);
        }
        Draft {
            file,
            resource_type,
            name,
            fqn,
            base_config,
            patch,
        }
    }

    fn parse(&self, draft: &Draft) -> Result<Scope, Diagnostic> {
        let mut scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
        scope.config_view = draft.base_config.clone();
        let this = jinja::relation_value(Relation {
            database: self.target.database.clone(),
            schema: self.target.schema.clone(),
            identifier: draft.name.clone(),
        });
        let context = minijinja::context! { this => this, execute => false, model => minijinja::context! { name => draft.name.clone() } };
        let (result, scope) = self
            .jinja
            .render(&draft.file.path, &draft.file.contents, scope, context);
        match result {
            Ok(_) => Ok(scope),
            Err(error) => Err(jinja::jinja_diagnostic_with(
                &error,
                &draft.file.path,
                &draft.file.contents,
                &|name| self.jinja.macro_source(name),
            )),
        }
    }

    fn node(&self, draft: &Draft, unique_id: String, mut config: Map<String, serde_json::Value>, scope: Scope) -> Node {
        let materialized = match draft.resource_type {
            ResourceType::Seed => "seed",
            ResourceType::Test => "test",
            _ => "view",
        };
        config.entry("materialized").or_insert_with(|| json!(materialized));
        config.entry("enabled").or_insert(json!(true));
        config.entry("tags").or_insert(json!([]));
        if draft.resource_type == ResourceType::Test {
            set_test_defaults(&mut config);
        }
        if config.get("materialized").and_then(serde_json::Value::as_str) == Some("incremental") {
            config.entry("on_schema_change").or_insert(json!("ignore"));
        }
        let relation = self.relation_for(draft.resource_type, &draft.name, &config, &draft.fqn, &draft.file.path);
        let (description, columns, meta, patch_path) = match draft.patch {
            Some(patch) => (
                patch.description.clone(),
                patch.columns.clone(),
                patch.meta.clone(),
                Some(format!("{}://{}", self.project.name, patch.file)),
            ),
            None => (String::new(), BTreeMap::new(), Map::new(), None),
        };
        let path = draft
            .file
            .path
            .strip_prefix(&draft.file.root)
            .unwrap_or(&draft.file.path)
            .trim_start_matches('/')
            .to_string();
        let mut refs = scope.refs;
        refs.sort();
        refs.dedup();
        let mut sources = scope.sources;
        sources.sort();
        sources.dedup();
        Node {
            unique_id,
            resource_type: draft.resource_type,
            package_name: self.project.name.clone(),
            name: draft.name.clone(),
            path,
            original_file_path: draft.file.path.clone(),
            patch_path,
            fqn: draft.fqn.clone(),
            raw_code: draft.file.contents.clone(),
            compiled_code: None,
            checksum: crate::project::text_checksum(&draft.file.contents),
            config,
            description,
            columns,
            meta,
            refs,
            sources,
            depends_on_nodes: BTreeSet::new(),
            depends_on_macros: scope
                .macros_used
                .into_iter()
                .filter_map(|name| self.macro_id(&name))
                .collect(),
            relation,
            test_metadata: None,
            column_name: None,
            attached_node: None,
        }
    }

    fn macro_id(&self, name: &str) -> Option<String> {
        self.jinja
            .macros
            .get(name)
            .map(|definition| format!("macro.{}.{}", definition.package, definition.name))
    }

    /// Database, schema and identifier of a node, through `generate_*_name`
    /// (dbt's defaults unless the project overrides them).
    fn relation_for(
        &self,
        resource_type: ResourceType,
        name: &str,
        config: &Map<String, serde_json::Value>,
        fqn: &[String],
        path: &str,
    ) -> Relation {
        let custom = |key: &str| config.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
        let node = json!({"name": name, "resource_type": resource_type.as_str(), "fqn": fqn, "config": config, "original_file_path": path});
        let schema = self
            .generate("generate_schema_name", custom("schema"), &node)
            .unwrap_or_else(|| match custom("schema") {
                Some(custom_schema) => format!("{}_{}", self.target.schema, custom_schema.trim()),
                None => self.target.schema.clone(),
            });
        let identifier = self
            .generate("generate_alias_name", custom("alias"), &node)
            .unwrap_or_else(|| custom("alias").unwrap_or_else(|| name.to_string()));
        let database = self
            .generate("generate_database_name", custom("database"), &node)
            .unwrap_or_else(|| custom("database").unwrap_or_else(|| self.target.database.clone()));
        Relation {
            database,
            schema,
            identifier,
        }
    }

    /// Calls a project's own `generate_*_name` macro; `None` when the project
    /// keeps dbt's default (computed in Rust, which is faster).
    fn generate(&self, macro_name: &str, custom: Option<String>, node: &serde_json::Value) -> Option<String> {
        let definition = self.jinja.macros.get(macro_name)?;
        if definition.package == "dvt" {
            return None;
        }
        let scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
        let arguments = [custom.map_or(Value::from(()), Value::from), Value::from_serialize(node)];
        let (result, _) = self.jinja.call(macro_name, &arguments, scope, Value::from(()));
        result.ok().map(|text| text.trim().to_string())
    }

    fn source_table(&self, source: &schema::SourceSpec, table: &schema::SourceTableSpec) -> SourceTable {
        let mut config = source.config.clone();
        config::merge(&mut config, &table.config);
        config.entry("enabled").or_insert(json!(true));
        let mut tags = source.tags.clone();
        tags.extend(table.tags.iter().cloned());
        tags.sort();
        tags.dedup();
        let mut meta = source.meta.clone();
        meta.extend(table.meta.clone());
        // dbt's source schema has no `ingest` property; tools reading the
        // manifest find the block in `meta`, wherever it was declared.
        if let Some(ingest) = &table.ingest {
            meta.insert("ingest".to_string(), ingest.declared.clone());
        }
        let fqn = {
            let mut fqn = vec![self.project.name.clone()];
            let file = SourceFile {
                path: source.file.clone(),
                root: source.file.split('/').next().unwrap_or_default().to_string(),
                contents: String::new(),
            };
            fqn.extend(file.folders());
            fqn.push(source.name.clone());
            fqn.push(table.name.clone());
            fqn
        };
        SourceTable {
            unique_id: format!("source.{}.{}.{}", self.project.name, source.name, table.name),
            package_name: self.project.name.clone(),
            source_name: source.name.clone(),
            name: table.name.clone(),
            original_file_path: source.file.clone(),
            fqn,
            relation: Relation {
                database: source.database.clone().unwrap_or_else(|| self.target.database.clone()),
                schema: source.schema.clone().unwrap_or_else(|| source.name.clone()),
                identifier: table.identifier.clone().unwrap_or_else(|| table.name.clone()),
            },
            description: table.description.clone(),
            source_description: source.description.clone(),
            loader: source.loader.clone(),
            loaded_at_field: table.loaded_at_field.clone().or_else(|| source.loaded_at_field.clone()),
            freshness: table
                .freshness
                .clone()
                .or_else(|| source.freshness.clone())
                .unwrap_or(serde_json::Value::Null),
            columns: table.columns.clone(),
            meta,
            tags,
            config,
            external: table.external.clone(),
            ingest: table.ingest.clone(),
        }
    }

    /// Warnings for config keys dvt does not know.
    fn check_config_keys(
        &self,
        config: &Map<String, serde_json::Value>,
        file: &str,
        source: &str,
        in_call: bool,
    ) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        for key in config.keys() {
            let key = config::normalize_key(key);
            if config::is_known(&key) {
                continue;
            }
            let mut warning = Diagnostic::warning(format!("unknown config key `{key}`"));
            let needle = if in_call { format!("{key}=") } else { format!("{key}:") };
            warning = match crate::yaml::find_text_line(source, &needle, 1) {
                Some((line, column)) => warning.at(Location::at(file, line, column, key.len()), Some(source)),
                None => warning.in_file(file),
            };
            if let Some(suggestion) = did_you_mean(&key, config::KNOWN_KEYS.iter().copied()) {
                warning = warning.label(format!("did you mean `{suggestion}`?"));
            }
            warnings.push(warning.hint("dvt ignores keys it does not know; a typo here silently changes nothing"));
        }
        warnings
    }

    /// Unknown `+keys` and folder paths in the project file's trees, and unknown
    /// config keys in schema YAML.
    fn check_tree_paths(&self, manifest: &Manifest) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        let source = &self.project.config_source;
        let file = &self.project.config_file;
        for (key, tree, resource_type) in [
            ("models", &self.project.model_tree, ResourceType::Model),
            ("seeds", &self.project.seed_tree, ResourceType::Seed),
        ] {
            let paths: Vec<Vec<String>> = manifest
                .nodes
                .values()
                .filter(|node| node.resource_type == resource_type)
                .map(|node| node.fqn.clone())
                .collect();
            for unused in config::unused_paths(tree, &paths) {
                let last = unused.rsplit('.').next().unwrap_or(&unused).to_string();
                let mut warning = Diagnostic::warning(format!(
                    "`{key}.{unused}` in `{file}` matches no {}",
                    resource_type.as_str()
                ));
                if let Some((line, column)) = crate::yaml::find_text_line(source, &format!("{last}:"), 1) {
                    warning = warning.at(Location::at(file, line, column, last.len()), Some(source));
                }
                warnings.push(warning.hint("check the folder names under this key: its configs apply to nothing"));
            }
            let mut prefixed = Map::new();
            collect_prefixed_keys(tree, &mut prefixed);
            warnings.extend(self.check_config_keys(&prefixed, file, source, false));
        }
        for patch in self.properties.models.values().chain(self.properties.seeds.values()) {
            let source = self.project.schema_source(&patch.file).unwrap_or_default();
            warnings.extend(self.check_config_keys(&patch.config, &patch.file, source, false));
        }
        warnings
    }

    /// Two nodes that would build the same relation.
    fn check_relation_collisions(&self, manifest: &Manifest) -> Vec<Diagnostic> {
        let mut seen: BTreeMap<String, &Node> = BTreeMap::new();
        let mut errors = Vec::new();
        for node in manifest.nodes.values().filter(|node| node.is_relational()) {
            let key = format!("{}.{}", node.relation.quoted(), node.relation.database);
            if let Some(other) = seen.insert(key, node) {
                errors.push(
                    Diagnostic::error(format!(
                        "`{}` and `{}` would both build {}",
                        other.unique_id,
                        node.unique_id,
                        node.relation.quoted()
                    ))
                    .in_file(&node.original_file_path)
                    .hint("give one of them a different `alias` or `schema`"),
                );
            }
        }
        errors
    }

    /// The nodes a node's refs and sources point at; unknown ones are errors.
    fn resolve_dependencies(
        &self,
        node: &Node,
        lookup: &RefLookup,
        manifest: &Manifest,
    ) -> (BTreeSet<String>, Vec<Diagnostic>) {
        let mut depends = BTreeSet::new();
        let mut problems = Vec::new();
        for call in &node.refs {
            if call
                .package
                .as_ref()
                .is_some_and(|package| package != &self.project.name)
            {
                problems.push(self.unknown(
                    node,
                    "ref",
                    &[call.package.clone().unwrap_or_default(), call.name.clone()],
                    format!(
                        "{} `{}` refers to package `{}`, which dvt does not have",
                        node.resource_type.as_str(),
                        node.name,
                        call.package.clone().unwrap_or_default()
                    ),
                    None,
                ));
                continue;
            }
            match lookup.by_name.get(&call.name) {
                Some((id, _)) => {
                    depends.insert(id.clone());
                }
                None => {
                    let suggestion =
                        did_you_mean(&call.name, lookup.by_name.keys().map(String::as_str)).map(str::to_owned);
                    let message = format!(
                        "{} `{}` refers to unknown model `{}`",
                        node.resource_type.as_str(),
                        node.name,
                        call.name
                    );
                    problems.push(self.unknown(node, "ref", std::slice::from_ref(&call.name), message, suggestion));
                }
            }
        }
        for (source, table) in &node.sources {
            match lookup.sources.get(&(source.clone(), table.clone())) {
                Some(id) => {
                    depends.insert(id.clone());
                }
                None => {
                    let candidates: Vec<String> = manifest
                        .sources
                        .values()
                        .map(|source| format!("{}.{}", source.source_name, source.name))
                        .collect();
                    let suggestion = did_you_mean(&format!("{source}.{table}"), candidates.iter().map(String::as_str))
                        .map(|found| {
                            let (source, table) = found.split_once('.').unwrap_or((found, ""));
                            format!("source('{source}', '{table}')")
                        });
                    let message = format!(
                        "{} `{}` refers to unknown source `{source}.{table}`",
                        node.resource_type.as_str(),
                        node.name
                    );
                    let mut diagnostic =
                        self.unknown(node, "source", &[source.clone(), table.clone()], message, suggestion);
                    if manifest.sources.is_empty() {
                        diagnostic = diagnostic.hint("declare it in a schema file under `sources:` with its `tables:`");
                    }
                    problems.push(diagnostic);
                }
            }
        }
        (depends, problems)
    }

    fn unknown(
        &self,
        node: &Node,
        function: &str,
        arguments: &[String],
        message: String,
        suggestion: Option<String>,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(message);
        diagnostic = match locate_call(&node.raw_code, function, arguments) {
            Some((offset, length)) => diagnostic.at(
                Location::from_offset(&node.original_file_path, &node.raw_code, offset, length),
                Some(&node.raw_code),
            ),
            None => diagnostic.in_file(&node.original_file_path),
        };
        match suggestion {
            Some(suggestion) => diagnostic.label(format!("did you mean `{suggestion}`?")),
            None => diagnostic.hint(format!(
                "check the name, or add the missing {}",
                if function == "ref" {
                    "model or seed"
                } else {
                    "source table"
                }
            )),
        }
    }

    /// Test nodes for every generic test declared in YAML, each with the line
    /// of its entry.
    fn generic_tests(
        &self,
        manifest: &Manifest,
        lookup: &RefLookup,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Vec<(Node, usize)> {
        // (specs, attached unique id, name used in test names, Jinja expression of the tested relation)
        let mut jobs: Vec<(&[TestSpec], String, String, String)> = Vec::new();
        for node in manifest.nodes.values() {
            let patch = match node.resource_type {
                ResourceType::Model => self.properties.models.get(&node.name),
                ResourceType::Seed => self.properties.seeds.get(&node.name),
                _ => None,
            };
            if let Some(patch) = patch {
                jobs.push((
                    &patch.tests,
                    node.unique_id.clone(),
                    node.name.clone(),
                    format!("ref('{}')", node.name),
                ));
            }
        }
        for source in &self.properties.sources {
            for table in &source.tables {
                jobs.push((
                    &table.tests,
                    format!("source.{}.{}.{}", self.project.name, source.name, table.name),
                    format!("{}_{}", source.name, table.name),
                    format!("source('{}', '{}')", source.name, table.name),
                ));
            }
        }
        let results: Vec<Result<(Node, usize), Diagnostic>> = jobs
            .par_iter()
            .flat_map_iter(|(specs, attached_id, attached_name, expression)| {
                specs.iter().map(move |spec| {
                    self.generic_test(spec, attached_id, attached_name, expression, lookup)
                        .map(|node| (node, spec.line))
                })
            })
            .collect();
        let mut tests = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(node) => tests.push(node),
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        tests
    }

    fn generic_test(
        &self,
        spec: &TestSpec,
        attached_id: &str,
        attached_name: &str,
        model_expression: &str,
        lookup: &RefLookup,
    ) -> Result<Node, Diagnostic> {
        let source = self.project.schema_source(&spec.file).unwrap_or_default();
        let macro_name = format!("test_{}", spec.test_name);
        if !self.jinja.macros.contains_key(&macro_name) {
            let available: Vec<String> = self
                .jinja
                .macros
                .keys()
                .filter_map(|name| name.strip_prefix("test_"))
                .map(str::to_owned)
                .collect();
            let mut diagnostic = Diagnostic::error(format!("unknown generic test `{}`", spec.test_name));
            diagnostic = match crate::yaml::find_text_line(source, &spec.test_name, spec.line) {
                Some((line, column)) => diagnostic.at(
                    Location::at(&spec.file, line, column, spec.test_name.len()),
                    Some(source),
                ),
                None => diagnostic.in_file(&spec.file),
            };
            return Err(
                match did_you_mean(&spec.test_name, available.iter().map(String::as_str)) {
                    Some(suggestion) => diagnostic.label(format!("did you mean `{suggestion}`?")),
                    None => diagnostic.hint(format!(
                        "define it with `{{% test {}(model, column_name) %}}` in a macro file",
                        spec.test_name
                    )),
                },
            );
        }
        let name = spec.custom_name.clone().unwrap_or_else(|| {
            test_name(
                &spec.test_name,
                attached_name,
                attached_id.starts_with("source."),
                spec.column_name.as_deref(),
                &spec.arguments,
            )
        });
        let mut kwargs = spec.arguments.clone();
        kwargs.insert(
            "model".into(),
            json!(format!("{{{{ get_where_subquery({model_expression}) }}}}")),
        );
        if let Some(column) = &spec.column_name {
            kwargs.insert("column_name".into(), json!(column));
        }
        // Refs and sources inside arguments, such as `to: ref('customers')`.
        let mut depends = BTreeSet::from([attached_id.to_string()]);
        let mut refs = Vec::new();
        let mut sources = Vec::new();
        for value in spec.arguments.values() {
            let serde_json::Value::String(text) = value else {
                continue;
            };
            if !is_relation_expression(text) {
                continue;
            }
            let scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
            let (result, scope) = self.jinja.eval(text.trim(), scope, Value::from(()));
            if let Err(error) = result {
                let detail = error.detail().unwrap_or("cannot evaluate");
                return Err(Diagnostic::error(format!("test `{name}`: `{text}`: {detail}"))
                    .at(Location::at(&spec.file, spec.line, 1, 1), Some(source)));
            }
            for call in scope.refs {
                match lookup.by_name.get(&call.name) {
                    Some((id, _)) => {
                        depends.insert(id.clone());
                    }
                    None => {
                        let mut diagnostic =
                            Diagnostic::error(format!("test `{name}` refers to unknown model `{}`", call.name));
                        diagnostic = match crate::yaml::find_text_line(source, text.trim(), spec.line) {
                            Some((line, column)) => {
                                diagnostic.at(Location::at(&spec.file, line, column, text.trim().len()), Some(source))
                            }
                            None => diagnostic.at(Location::at(&spec.file, spec.line, 1, 1), Some(source)),
                        };
                        diagnostic = match did_you_mean(&call.name, lookup.by_name.keys().map(String::as_str)) {
                            Some(suggestion) => diagnostic.label(format!("did you mean `{suggestion}`?")),
                            None => diagnostic.hint("check the name, or add the missing model or seed"),
                        };
                        return Err(diagnostic);
                    }
                }
                refs.push(call);
            }
            for (source_name, table) in scope.sources {
                match lookup.sources.get(&(source_name.clone(), table.clone())) {
                    Some(id) => {
                        depends.insert(id.clone());
                    }
                    None => {
                        let diagnostic = Diagnostic::error(format!(
                            "test `{name}` refers to unknown source `{source_name}.{table}`"
                        ));
                        let diagnostic = match crate::yaml::find_text_line(source, text.trim(), spec.line) {
                            Some((line, column)) => {
                                diagnostic.at(Location::at(&spec.file, line, column, text.trim().len()), Some(source))
                            }
                            None => diagnostic.at(Location::at(&spec.file, spec.line, 1, 1), Some(source)),
                        };
                        return Err(diagnostic.hint("check the names, or declare the table under `sources:`"));
                    }
                }
                sources.push((source_name, table));
            }
        }
        let file = SourceFile {
            path: spec.file.clone(),
            root: spec.file.split('/').next().unwrap_or_default().to_string(),
            contents: String::new(),
        };
        let mut fqn = vec![self.project.name.clone()];
        fqn.extend(file.folders());
        fqn.push(name.clone());
        let mut config = config::from_tree(&self.project.test_tree, &fqn);
        config::merge(&mut config, &spec.config);
        config.entry("materialized").or_insert(json!("test"));
        config.entry("enabled").or_insert(json!(true));
        config.entry("tags").or_insert(json!([]));
        set_test_defaults(&mut config);
        let mut metadata_kwargs = kwargs.clone();
        metadata_kwargs.insert("model".into(), json!(model_expression));
        let hash = &crate::project::text_checksum(&format!(
            "{attached_id}|{}|{}",
            spec.test_name,
            serde_json::to_string(&kwargs).unwrap_or_default()
        ))[..10];
        let schema = config
            .get("schema")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("dbt_test__audit")
            .to_string();
        let relation = Relation {
            database: self.target.database.clone(),
            schema: format!("{}_{}", self.target.schema, schema),
            identifier: config
                .get("alias")
                .and_then(serde_json::Value::as_str)
                .map_or_else(|| name.clone(), str::to_owned),
        };
        Ok(Node {
            unique_id: format!("test.{}.{}.{}", self.project.name, name, hash),
            resource_type: ResourceType::Test,
            package_name: self.project.name.clone(),
            name: name.clone(),
            path: format!("{name}.sql"),
            original_file_path: spec.file.clone(),
            patch_path: None,
            fqn,
            raw_code: format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}", spec.test_name),
            compiled_code: None,
            checksum: crate::project::text_checksum(&format!("{name}{hash}")),
            config,
            description: spec.description.clone().unwrap_or_default(),
            columns: BTreeMap::new(),
            meta: Map::new(),
            refs,
            sources,
            depends_on_nodes: depends,
            depends_on_macros: [self.macro_id(&macro_name)].into_iter().flatten().collect(),
            relation,
            test_metadata: Some(TestMetadata {
                name: spec.test_name.clone(),
                namespace: spec.namespace.clone(),
                kwargs: metadata_kwargs,
            }),
            column_name: spec.column_name.clone(),
            attached_node: Some(attached_id.to_string()),
        })
    }

    fn exposure(
        &self,
        spec: &schema::ExposureSpec,
        lookup: &RefLookup,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Exposure> {
        let source = self.project.schema_source(&spec.file).unwrap_or_default();
        let mut depends = BTreeSet::new();
        let mut refs: Vec<RefCall> = Vec::new();
        let mut sources = Vec::new();
        for (expression, line) in &spec.depends_on {
            let scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
            let (result, scope) = self.jinja.eval(expression.trim(), scope, Value::from(()));
            if result.is_err() || (scope.refs.is_empty() && scope.sources.is_empty()) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "exposure `{}` depends on `{expression}`, which is not a ref() or source()",
                        spec.name
                    ))
                    .at(Location::at(&spec.file, *line, 1, 1), Some(source))
                    .hint("write `- ref('model_name')` or `- source('source', 'table')`"),
                );
                continue;
            }
            for call in scope.refs {
                match lookup.by_name.get(&call.name) {
                    Some((id, _)) => {
                        depends.insert(id.clone());
                        refs.push(call);
                    }
                    None => {
                        let mut diagnostic = Diagnostic::error(format!(
                            "exposure `{}` depends on unknown model `{}`",
                            spec.name, call.name
                        ));
                        diagnostic = match crate::yaml::find_text_line(source, expression, *line) {
                            Some((found, column)) => {
                                diagnostic.at(Location::at(&spec.file, found, column, expression.len()), Some(source))
                            }
                            None => diagnostic.in_file(&spec.file),
                        };
                        if let Some(suggestion) = did_you_mean(&call.name, lookup.by_name.keys().map(String::as_str)) {
                            diagnostic = diagnostic.label(format!("did you mean `{suggestion}`?"));
                        }
                        diagnostics.push(diagnostic);
                    }
                }
            }
            for (source_name, table) in scope.sources {
                match lookup.sources.get(&(source_name.clone(), table.clone())) {
                    Some(id) => {
                        depends.insert(id.clone());
                        sources.push((source_name, table));
                    }
                    None => diagnostics.push(
                        Diagnostic::error(format!(
                            "exposure `{}` depends on unknown source `{source_name}.{table}`",
                            spec.name
                        ))
                        .at(Location::at(&spec.file, *line, 1, 1), Some(source)),
                    ),
                }
            }
        }
        let file = SourceFile {
            path: spec.file.clone(),
            root: spec.file.split('/').next().unwrap_or_default().to_string(),
            contents: String::new(),
        };
        let mut fqn = vec![self.project.name.clone()];
        fqn.extend(file.folders());
        fqn.push(spec.name.clone());
        Some(Exposure {
            unique_id: format!("exposure.{}.{}", self.project.name, spec.name),
            package_name: self.project.name.clone(),
            name: spec.name.clone(),
            label: spec.label.clone(),
            exposure_type: spec.exposure_type.clone(),
            maturity: spec.maturity.clone(),
            url: spec.url.clone(),
            description: spec.description.clone(),
            owner: spec.owner.clone(),
            original_file_path: spec.file.clone(),
            fqn,
            refs,
            sources,
            depends_on_nodes: depends,
            tags: spec.tags.clone(),
            meta: spec.meta.clone(),
            config: spec.config.clone(),
        })
    }
}

fn collect_prefixed_keys(tree: &serde_json::Value, found: &mut Map<String, serde_json::Value>) {
    let serde_json::Value::Object(level) = tree else { return };
    for (key, value) in level {
        if key.starts_with('+') {
            found.insert(key.trim_start_matches('+').to_string(), serde_json::Value::Null);
        } else {
            collect_prefixed_keys(value, found);
        }
    }
}

fn set_test_defaults(config: &mut Map<String, serde_json::Value>) {
    config.entry("severity").or_insert(json!("ERROR"));
    config.entry("warn_if").or_insert(json!("!= 0"));
    config.entry("error_if").or_insert(json!("!= 0"));
    config.entry("fail_calc").or_insert(json!("count(*)"));
    config.entry("store_failures").or_insert(serde_json::Value::Null);
    config.entry("where").or_insert(serde_json::Value::Null);
    config.entry("limit").or_insert(serde_json::Value::Null);
}

/// dbt's generic test naming: `not_null_orders_id`,
/// `accepted_values_orders_status__placed__shipped`, `source_unique_raw_events_id`.
/// Names of 64 characters or more become the first 30 characters and an md5, as
/// dbt shortens them, so that selectors written for dbt keep working.
pub fn test_name(
    test: &str,
    target: &str,
    is_source: bool,
    column: Option<&str>,
    arguments: &Map<String, serde_json::Value>,
) -> String {
    // Arguments sorted by name, `column_name` among them, each as Python's str() prints it.
    let column = column.map(|column| serde_json::Value::String(column.to_string()));
    let mut sorted: Vec<(&str, &serde_json::Value)> = arguments
        .iter()
        .filter(|(key, _)| key.as_str() != "model" && key.as_str() != "column_name")
        .map(|(key, value)| (key.as_str(), value))
        .chain(column.as_ref().map(|column| ("column_name", column)))
        .collect();
    sorted.sort_by_key(|(key, _)| *key);
    let mut parts = Vec::new();
    for (_, value) in sorted {
        match value {
            serde_json::Value::Array(items) => parts.extend(items.iter().map(python_str)),
            serde_json::Value::Object(entries) => parts.extend(entries.values().map(python_str)),
            other => parts.push(python_str(other)),
        }
    }
    let prefix = if is_source { "source_" } else { "" };
    let identifier = format!("{prefix}{test}_{target}");
    let arguments: Vec<String> = parts.iter().map(|part| sanitize_name(part)).collect();
    let full_name = format!("{identifier}_{}", arguments.join("__"));
    if full_name.len() >= 64 {
        use md5::Digest;
        let digest = md5::Md5::digest(full_name.as_bytes());
        let label: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        let truncated: String = identifier.chars().take(30).collect();
        format!("{truncated}_{label}")
    } else {
        full_name
    }
}

/// A value as Python's `str()` prints it, which is what dbt's test names use.
fn python_str(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::Null => "None".into(),
        serde_json::Value::Number(number) => number.to_string(),
        serde_json::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        serde_json::Value::Object(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(key, item)| format!("'{key}': {}", python_repr(item)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn python_repr(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => format!("'{text}'"),
        other => python_str(other),
    }
}

/// Replaces each run of characters other than letters, digits and `_` with one
/// `_`, as dbt names tests.
fn sanitize_name(name: &str) -> String {
    let mut sanitized = String::with_capacity(name.len());
    let mut in_run = false;
    for character in name.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            sanitized.push(character);
            in_run = false;
        } else if !in_run {
            sanitized.push('_');
            in_run = true;
        }
    }
    sanitized
}

/// Byte offset and length of the `function(...)` call whose arguments include
/// every one of `arguments` as a quoted string.
pub fn locate_call(source: &str, function: &str, arguments: &[String]) -> Option<(usize, usize)> {
    let pattern = format!("{function}(");
    let mut offset = 0;
    while let Some(found) = source[offset..].find(&pattern) {
        let start = offset + found;
        let preceded_by_word = source[..start]
            .chars()
            .next_back()
            .is_some_and(|character| character.is_alphanumeric() || character == '_' || character == '.');
        let end = source[start..].find(')').map(|close| start + close + 1);
        if let (false, Some(end)) = (preceded_by_word, end) {
            let call = &source[start..end];
            let matches = arguments
                .iter()
                .all(|argument| call.contains(&format!("'{argument}'")) || call.contains(&format!("\"{argument}\"")));
            if matches {
                return Some((start, end - start));
            }
        }
        offset = start + pattern.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_follow_dbt() {
        let arguments = json!({"values": ["placed", "shipped"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("accepted_values", "orders", false, Some("status"), &arguments),
            "accepted_values_orders_status__placed__shipped"
        );
        let relationships = json!({"field": "customer_id", "to": "ref('customers')"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("relationships", "orders", false, Some("customer_id"), &relationships),
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        // dbt sorts the arguments by name, whatever order the YAML gives them in.
        let written_to_first = json!({"to": "ref('customers')", "field": "customer_id"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("relationships", "orders", false, Some("customer_id"), &written_to_first),
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        assert_eq!(
            test_name("not_null", "orders", false, Some("id"), &Map::new()),
            "not_null_orders_id"
        );
        // Source tests carry a `source_` prefix, and values print as Python's str().
        assert_eq!(
            test_name("not_null", "raw_events", true, Some("kind"), &Map::new()),
            "source_not_null_raw_events_kind"
        );
        let unquoted = json!({"quote": false, "values": [1, 2, 3]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("accepted_values", "people", false, Some("id"), &unquoted),
            "accepted_values_people_id__False__1__2__3"
        );
        // 64 characters or more: the first 30 of `test_target`, then an md5 of the full name.
        let segments = json!({"values": ["champions", "loyal", "potential", "at_risk", "hibernating"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name(
                "accepted_values",
                "kpi_customer_rfm",
                false,
                Some("rfm_segment"),
                &segments
            ),
            "accepted_values_kpi_customer_r_da804acd82cae37da63d391ef3ec8260"
        );
    }

    #[test]
    fn ephemerals_are_injected_after_existing_with() {
        assert_eq!(leading_with("-- note\nwith a as (select 1) select * from a"), Some(12));
        assert_eq!(leading_with("select 1"), None);
        assert_eq!(leading_with("WITH RECURSIVE t as (select 1) select 1"), Some(14));
    }

    #[test]
    fn locates_ref_calls() {
        let source = "select * from {{ ref('a') }} join {{ ref(\"b\") }}";
        assert_eq!(locate_call(source, "ref", &["b".to_string()]), Some((37, 8)));
        assert_eq!(locate_call(source, "ref", &["c".to_string()]), None);
    }
}
