//! Compile mode: every selected node rendered again with its refs resolved
//! to relations, and ephemeral models inlined as `__dbt__cte__<name>` CTEs,
//! dependencies first. The run-time renders of hooks and inline SQL are in
//! [`super::inline`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use rayon::prelude::*;
use serde_json::Map;

use super::jinja;
use super::jinja::{Jinja, Mode, Scope};
use super::{CompiledBody, Rendered};
use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::manifest::{Manifest, Node, ResourceType, TestMetadata};
use crate::project::Project;

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
            // Seeds and exports have no SQL of their own; a unit test
            // compiles its model when it runs, with its inputs.
            !matches!(
                node.resource_type,
                ResourceType::Seed | ResourceType::Export | ResourceType::UnitTest
            ) && (selected.contains(&node.unique_id) || node.is_ephemeral())
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
        )?;
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
    compile_batch(rendered, project, node, is_incremental, None)
}

/// [`compile_node`] for one batch of a microbatch model: `model.batch` is
/// set, and refs and sources with an `event_time` read the batch's window.
pub fn compile_batch(
    rendered: &Rendered,
    project: &Project,
    node: &Node,
    is_incremental: bool,
    batch: Option<&crate::microbatch::BatchContext>,
) -> Result<String, Diagnostic> {
    let (body, ephemerals) = compile_raw(rendered, project, node, is_incremental, batch)?;
    let lookup = |ephemeral_id: &str| -> Option<(String, BTreeSet<String>)> {
        let ephemeral = rendered.manifest.nodes.get(ephemeral_id)?;
        compile_node_raw(rendered, project, ephemeral, false).ok()
    };
    inject_ephemerals(&body, &ephemerals, &lookup, &rendered.manifest)
}

/// Renders a `pre-hook` or `post-hook` of a node, with `this` and refs resolved.
pub fn render_hook(rendered: &Rendered, project: &Project, node: &Node, hook: &str) -> Result<String, Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::clone(&rendered.resolver));
    scope.config_view = node.config.clone();
    // A package's node sees its package's macros and vars in its hooks too
    // (dbt-project-evaluator's `post_hook="{{ insert_resources_from_graph(this) }}"`).
    scope.package = (node.package_name != project.name).then(|| node.package_name.clone());
    let context = rendered.jinja.with_local_namespace(
        scope.package.as_deref(),
        node_context(node, super::context::warehouse::is_connected()),
    );
    let (result, _) = rendered.jinja.render(&node.original_file_path, hook, scope, context);
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
    compile_raw(rendered, project, node, is_incremental, None)
}

fn compile_raw(
    rendered: &Rendered,
    project: &Project,
    node: &Node,
    is_incremental: bool,
    batch: Option<&crate::microbatch::BatchContext>,
) -> Result<(String, BTreeSet<String>), Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::clone(&rendered.resolver));
    scope.config_view = node.config.clone();
    scope.is_incremental = is_incremental;
    scope.package = (node.package_name != project.name).then(|| node.package_name.clone());
    scope.batch = batch.cloned();
    // `execute` is true when the render can reach the warehouse: while the
    // node runs, and under `dvt compile`. In the offline checks before a run
    // it is false, as in dbt's parse, so introspective macros return nothing.
    let execute = super::context::warehouse::is_connected();
    let node_context = match batch {
        Some(batch) => batch_context(node, batch, execute),
        None => node_context(node, execute),
    };
    let context = rendered
        .jinja
        .with_local_namespace(scope.package.as_deref(), node_context);
    let source = node_source(project, node);
    let (result, scope) = match &node.test_metadata {
        Some(metadata) => {
            let model_expression = node.attached_model_expression();
            let (model, scope) = rendered.jinja.eval(&model_expression, scope, context.clone());
            let model = model.map_err(|error| test_error(&error, node, source))?;
            let model = match node.config.get("where").and_then(serde_json::Value::as_str) {
                // dbt's `get_where_subquery`: the filtered model as a subquery.
                Some(filter) => Value::from_safe_string(
                    render_sql(
                        "where_subquery.sql",
                        minijinja::context! { model => model, filter => filter },
                    )
                    .map_err(|diagnostic| diagnostic.in_file(&node.original_file_path))?,
                ),
                None => model,
            };
            let (kwargs, scope) = test_kwargs(&rendered.jinja, metadata, node, model, scope, &context);
            let kwargs = kwargs.map_err(|error| test_error(&error, node, source))?;
            let macro_name = rendered
                .jinja
                .test_macro(metadata.namespace.as_deref(), &metadata.name)
                .unwrap_or_else(|| format!("test_{}", metadata.name));
            rendered.jinja.call(&macro_name, &[Value::from(kwargs)], scope, context)
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

/// The `config()` calls a generic test's macro makes, such as dbt_utils'
/// `equal_rowcount` setting `fail_calc`: the macro rendered as dbt renders it
/// at parse time (`execute` false), its arguments evaluated. A render that
/// fails here fails again, with its error, when the test compiles.
pub(super) fn test_macro_config(
    jinja: &Jinja,
    node: &Node,
    macro_name: &str,
    scope: Scope,
) -> Map<String, serde_json::Value> {
    let Some(metadata) = &node.test_metadata else {
        return Map::new();
    };
    let context = jinja.with_local_namespace(scope.package.clone().as_deref(), node_context(node, false));
    let (model, scope) = jinja.eval(&node.attached_model_expression(), scope, context.clone());
    let Ok(model) = model else {
        return Map::new();
    };
    let (kwargs, scope) = test_kwargs(jinja, metadata, node, model, scope, &context);
    let Ok(kwargs) = kwargs else {
        return Map::new();
    };
    let (result, scope) = jinja.call(macro_name, &[Value::from(kwargs)], scope, context);
    match result {
        Ok(_) => scope.config_calls,
        Err(_) => Map::new(),
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
        // One `{{ expression }}` is its value, as dbt's native rendering
        // gives it: dbt-project-evaluator's `values: "{{ var('model_types') }}"`
        // is the var's list.
        serde_json::Value::String(text) if single_expression(text).is_some() => {
            let expression = single_expression(text).unwrap_or_default();
            jinja.eval(expression, scope, context.clone())
        }
        serde_json::Value::String(text) if text.contains("{{") => {
            let (result, scope) = jinja.render("<test argument>", text, scope, context.clone());
            (result.map(Value::from), scope)
        }
        // Lists and dicts a macro can change in place, as in dbt, with their
        // strings rendered (`column_type_list: [date, "{{ type_datetime() }}"]`).
        serde_json::Value::Array(_) | serde_json::Value::Object(_) if holds_jinja(value) => {
            let (rendered, scope) = render_nested(jinja, value, scope, context);
            (rendered.map(|rendered| super::context::from_json(&rendered)), scope)
        }
        other => (Ok(super::context::from_json(other)), scope),
    }
}

fn holds_jinja(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains("{{"),
        serde_json::Value::Array(items) => items.iter().any(holds_jinja),
        serde_json::Value::Object(object) => object.values().any(holds_jinja),
        _ => false,
    }
}

/// `value` with every string holding Jinja rendered, in order.
fn render_nested(
    jinja: &Jinja,
    value: &serde_json::Value,
    mut scope: Scope,
    context: &Value,
) -> (Result<serde_json::Value, minijinja::Error>, Scope) {
    match value {
        serde_json::Value::String(text) if text.contains("{{") => {
            let (result, scope) = jinja.render("<test argument>", text, scope, context.clone());
            (result.map(serde_json::Value::String), scope)
        }
        serde_json::Value::Array(items) => {
            let mut rendered = Vec::with_capacity(items.len());
            for item in items {
                let (result, returned) = render_nested(jinja, item, scope, context);
                scope = returned;
                match result {
                    Ok(item) => rendered.push(item),
                    Err(error) => return (Err(error), scope),
                }
            }
            (Ok(serde_json::Value::Array(rendered)), scope)
        }
        serde_json::Value::Object(object) => {
            let mut rendered = serde_json::Map::new();
            for (key, item) in object {
                let (result, returned) = render_nested(jinja, item, scope, context);
                scope = returned;
                match result {
                    Ok(item) => {
                        rendered.insert(key.clone(), item);
                    }
                    Err(error) => return (Err(error), scope),
                }
            }
            (Ok(serde_json::Value::Object(rendered)), scope)
        }
        other => (Ok(other.clone()), scope),
    }
}

/// The expression of a string that is exactly one `{{ expression }}`.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then(|| inner.trim())
}

pub(super) fn is_relation_expression(text: &str) -> bool {
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

/// [`node_context`] of a microbatch model's batch, whose `model.batch`
/// holds the batch's id and window, as dbt's `BatchContext`.
fn batch_context(node: &Node, batch: &crate::microbatch::BatchContext, execute: bool) -> Value {
    let mut model = serde_json::to_value(node).unwrap_or_default();
    if let Some(model) = model.as_object_mut() {
        model.insert("batch".into(), batch.to_json());
    }
    let this = jinja::relation_value(node.relation.clone());
    minijinja::context! { this => this, model => Value::from_serialize(&model), execute => execute }
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
) -> Result<String, Diagnostic> {
    if direct.is_empty() {
        return Ok(sql.to_string());
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
    let ctes: Vec<minijinja::Value> = ordered
        .iter()
        .map(|(name, body)| minijinja::context! { name => name, body => body })
        .collect();
    let (head, body) = match leading_with(sql) {
        Some(insert_at) => (Some(&sql[..insert_at]), sql[insert_at..].trim_start()),
        None => (None, sql),
    };
    render_sql(
        "ephemeral_ctes.sql",
        minijinja::context! { head => head, ctes => ctes, body => body },
    )
}

/// The SQL compile mode writes around a node's own, in `templates/render/`.
const SQL_TEMPLATES: &[(&str, &str)] = &[
    (
        "where_subquery.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/render/where_subquery.sql"
        )),
    ),
    (
        "ephemeral_ctes.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/render/ephemeral_ctes.sql"
        )),
    ),
    (
        "limited_relation.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/render/limited_relation.sql"
        )),
    ),
    (
        "event_time_filtered.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/render/event_time_filtered.sql"
        )),
    ),
];

pub(crate) fn render_sql(name: &str, context: minijinja::Value) -> Result<String, Diagnostic> {
    static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        let mut environment = minijinja::Environment::new();
        environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        environment.set_loader(|name| {
            Ok(SQL_TEMPLATES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, source)| source.to_string()))
        });
        environment
    });
    templates
        .get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|error| Diagnostic::error(format!("cannot render dvt's `templates/render/{name}`: {error}")))
}

/// The byte offset just after a leading `with` (and `recursive`) keyword,
/// skipping comments and whitespace.
pub(super) fn leading_with(sql: &str) -> Option<usize> {
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
