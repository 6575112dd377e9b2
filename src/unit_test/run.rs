//! Running one unit test, as dbt's `unit` materialization does: the inputs
//! become `__dbt__cte__<name>` CTEs of their rows, each value cast to the
//! type of the input relation's column (so every input must exist, as in
//! dbt, unless it is given as `sql`), the model renders with its refs,
//! sources and `this` pointing at them and with the overrides, and one
//! query returns the model's rows and the expected ones over the expected
//! columns, which are compared here and printed as a diff when they differ.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::value::Value as JinjaValue;
use serde_json::{Map, Value};

use super::diff::{self, Kind};
use super::{Definition, Given, InputTarget, Rows};
use crate::adapter::{self, template_names, AdapterError, AdapterResponse, ColumnInfo, Connection, ValueType};
use crate::diagnostic::{Diagnostic, Location};
use crate::exec::node::adapter_diagnostic;
use crate::exec::results::{NodeResult, Status};
use crate::exec::warehouse::{render_with, SharedConnection};
use crate::exec::Context;
use crate::manifest::Node;
use crate::render::jinja::{self, Mode, Resolved, Resolver, Scope};

/// Runs the unit test `node` and reports how it went.
pub async fn execute(context: &Arc<Context>, node: &Node) -> NodeResult {
    let mut compiled = None;
    match run(context, node, &mut compiled).await {
        Ok(result) => result,
        Err(diagnostic) => {
            let mut result = NodeResult::error(node, diagnostic);
            if let Some((sql, path)) = compiled {
                result.compiled_code = Some(sql);
                result.compiled_path = path;
            }
            result
        }
    }
}

async fn run(
    context: &Arc<Context>,
    node: &Node,
    compiled: &mut Option<(String, Option<String>)>,
) -> Result<NodeResult, Diagnostic> {
    let manifest = &context.rendered.manifest;
    let (Some(definition), Some(model)) = (
        manifest.unit_tests.get(&node.unique_id),
        manifest
            .unit_tests
            .get(&node.unique_id)
            .and_then(|definition| manifest.nodes.get(&definition.model_id)),
    ) else {
        return Ok(NodeResult::crashed(
            &node.unique_id,
            "its definition or model is not in the manifest",
        ));
    };
    check_inputs_cover(context, node, definition, model)?;
    let connection = SharedConnection::new(
        context
            .adapter
            .connection()
            .await
            .map_err(|error| adapter_diagnostic(&error, node, None))?,
    );
    let warehouse = connection.warehouse(Arc::clone(&context.adapter));
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    for given in &definition.given {
        let body = input_sql(context, &connection, node, model, given).await?;
        inputs.insert(given.name.clone(), body);
    }
    let model_sql = render_with(&warehouse, || render_model(context, node, definition, model, &inputs))?;
    let compiled_path = crate::exec::node::write_compiled(context, node, &model_sql);
    *compiled = Some((model_sql.clone(), compiled_path.clone()));
    let data_error = |error: &AdapterError, sql: &str| {
        let mut diagnostic = adapter_diagnostic(error, node, Some(sql));
        diagnostic.message = format!(
            "An error occurred during execution of unit test '{}'. There may be an error in the unit test definition: check the data types.\n {}",
            node.name, diagnostic.message
        );
        diagnostic
    };
    let columns = output_columns(context, &connection, node, &model_sql)
        .await
        .map_err(|error| data_error(&error, &model_sql))?;
    let (tested, expected_sql) = expected(context, node, definition, &columns)?;
    let comparison = render_template(
        context,
        template_names::UNIT_TEST_COMPARE,
        minijinja::context! { sql => model_sql.clone(), expected_sql => expected_sql, columns => tested },
    )?;
    let mut session = connection.clone();
    let result = session
        .query(&comparison, None)
        .await
        .map_err(|error| data_error(&error, &comparison))?;
    let _ = connection.commit_open().await;
    let marker = result.columns.len().saturating_sub(1);
    let kinds: Vec<Kind> = (0..marker)
        .map(|index| match result.column_types.get(index) {
            Some(ValueType::Integer | ValueType::Number) => Kind::Number,
            _ => Kind::Text,
        })
        .collect();
    let mut actual = Vec::new();
    let mut wanted = Vec::new();
    for mut row in result.rows.iter().cloned() {
        let side = row.pop().flatten();
        let row: Vec<diff::Cell> = row
            .into_iter()
            .enumerate()
            .map(|(index, cell)| cell.map(|text| display(result.column_types.get(index), text)))
            .collect();
        match side.as_deref() {
            Some("actual") => actual.push(row),
            _ => wanted.push(row),
        }
    }
    let names: Vec<String> = result.columns.iter().take(marker).cloned().collect();
    let mut outcome = match diff::render(&names, &kinds, wanted, actual) {
        None => {
            let mut outcome = NodeResult::new(node, Status::Pass, String::new());
            outcome.failures = Some(0);
            outcome
        }
        Some(rendered) => {
            let message = format!("\n\nactual differs from expected:\n\n{rendered}\n");
            let mut outcome = NodeResult::new(node, Status::Fail, message);
            outcome.failures = Some(1);
            outcome
        }
    };
    outcome.adapter_response = Some(AdapterResponse::with_rows("SELECT", result.rows.len() as u64));
    outcome.compiled_code = Some(model_sql);
    outcome.compiled_path = compiled_path;
    Ok(outcome)
}

/// A cell as agate shows it: a boolean as Python's `True` or `False`.
fn display(kind: Option<&ValueType>, text: String) -> String {
    match (kind, text.as_str()) {
        (Some(ValueType::Boolean), "t" | "true" | "True") => "True".to_string(),
        (Some(ValueType::Boolean), "f" | "false" | "False") => "False".to_string(),
        _ => text,
    }
}

/// Every ref and source the model reads must be given, as dbt requires.
fn check_inputs_cover(context: &Context, node: &Node, definition: &Definition, model: &Node) -> Result<(), Diagnostic> {
    let given_node = |name: &str| {
        definition
            .given
            .iter()
            .any(|given| matches!(given.target, InputTarget::Node(_)) && given.name == name)
    };
    let given_source = |source: &str, table: &str| {
        definition.given.iter().any(|given| {
            matches!(&given.target, InputTarget::Source { source: given_source, table: given_table, .. }
                if given_source == source && given_table == table)
        })
    };
    let missing = model
        .refs
        .iter()
        .find(|call| !given_node(&call.name))
        .map(|call| (call.name.clone(), format!("ref('{}')", call.name)))
        .or_else(|| {
            model
                .sources
                .iter()
                .find(|(source, table)| !given_source(source, table))
                .map(|(source, table)| (table.clone(), format!("source('{source}', '{table}')")))
        });
    let Some((name, call)) = missing else {
        return Ok(());
    };
    Err(Diagnostic::error(format!(
        "Unit_Test '{}' ({}) depends on a node named '{name}' which was not found",
        node.unique_id, node.original_file_path
    ))
    .at(
        Location::at(&node.original_file_path, definition.line, 1, 1),
        context.project.schema_source(&node.original_file_path),
    )
    .hint(format!(
        "model `{}` reads `{call}`: add `- input: {call}` with its rows to the unit test's `given`",
        model.name
    )))
}

/// The relation an input stands for.
fn input_relation(context: &Context, model: &Node, given: &Given) -> Option<crate::manifest::Relation> {
    let manifest = &context.rendered.manifest;
    match &given.target {
        InputTarget::Node(id) => manifest.nodes.get(id).map(|node| node.relation.clone()),
        InputTarget::Source { unique_id, .. } => manifest.sources.get(unique_id).map(|source| source.relation.clone()),
        InputTarget::This => Some(model.relation.clone()),
    }
}

fn adapter_relation(relation: &crate::manifest::Relation) -> adapter::Relation {
    adapter::Relation::new(relation.schema.clone(), relation.identifier.clone())
}

/// An input's CTE body: its SQL as given, or its rows typed from the input
/// relation's columns.
async fn input_sql(
    context: &Context,
    connection: &SharedConnection,
    node: &Node,
    model: &Node,
    given: &Given,
) -> Result<String, Diagnostic> {
    let rows = match &given.rows {
        Rows::Query(sql) => return Ok(sql.trim().trim_end_matches(';').to_string()),
        Rows::Mappings(rows) => rows,
    };
    let relation = input_relation(context, model, given)
        .ok_or_else(|| Diagnostic::error(format!("the input `{}` is not in the manifest", given.input)))?;
    let mut session = connection.clone();
    let columns = session
        .columns(&adapter_relation(&relation))
        .await
        .map_err(|error| adapter_diagnostic(&error, node, None))?;
    if columns.is_empty() {
        let shown = jinja::relation_value(relation.clone()).to_string();
        return Err(Diagnostic::error(format!(
            "Not able to get columns for unit test '{}' from relation {shown} because the relation doesn't exist",
            given.name
        ))
        .in_file(&node.original_file_path)
        .hint(if is_ephemeral(context, given) {
            format!(
                "`{}` is ephemeral, so it has no relation to type rows from: give this input with `format: sql`, as dbt requires",
                given.name
            )
        } else {
            format!(
                "dbt types an input's rows from its relation's columns: build `{}` first (`dvt build` builds a model's parents before its unit tests), or give this input with `format: sql`",
                given.name
            )
        }));
    }
    fixture_sql(context, node, &columns, rows, &format!("'{}'", given.name))
}

/// Whether the input is an ephemeral model, which is never built.
fn is_ephemeral(context: &Context, given: &Given) -> bool {
    match &given.target {
        InputTarget::Node(id) => context
            .rendered
            .manifest
            .nodes
            .get(id)
            .is_some_and(|node| node.materialized() == "ephemeral"),
        _ => false,
    }
}

/// Rows as a query, typed from `columns`: every column of the relation,
/// those a row does not give null.
fn fixture_sql(
    context: &Context,
    node: &Node,
    columns: &[ColumnInfo],
    rows: &[Map<String, Value>],
    fixture_name: &str,
) -> Result<String, Diagnostic> {
    let by_name: HashMap<String, usize> = columns
        .iter()
        .enumerate()
        .map(|(index, column)| (column.name.to_lowercase(), index))
        .collect();
    let mut cells_of_rows = Vec::new();
    for row in rows {
        let mut cells: Vec<JinjaValue> = columns
            .iter()
            .map(|column| cell(&Value::Null, &column.data_type))
            .collect();
        for (name, value) in row {
            let Some(index) = by_name.get(&name.to_lowercase()) else {
                let accepted: Vec<String> = columns
                    .iter()
                    .map(|column| format!("'{}'", column.name.to_lowercase()))
                    .collect();
                return Err(Diagnostic::error(format!(
                    "Invalid column name: '{}' in unit test fixture for {fixture_name}.\nAccepted columns for {fixture_name} are: [{}]",
                    name.to_lowercase(),
                    accepted.join(", ")
                ))
                .in_file(&node.original_file_path)
                .hint("name only columns the relation has"));
            };
            cells[*index] = cell(value, &columns[*index].data_type);
        }
        cells_of_rows.push(cells);
    }
    let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
    let empty: Vec<JinjaValue> = columns
        .iter()
        .map(|column| cell(&Value::Null, &column.data_type))
        .collect();
    render_template(
        context,
        template_names::UNIT_TEST_FIXTURE,
        minijinja::context! { columns => names, rows => cells_of_rows, empty => empty },
    )
}

/// One value of a fixture, as dbt formats it: text quoted (and a `varying`
/// type's length dropped, so a long value is not cut), null, or a number or
/// boolean as Python prints it.
fn cell(value: &Value, data_type: &str) -> JinjaValue {
    let strip_length = |data_type: &str| -> String {
        if data_type.contains("varying") {
            data_type.split('(').next().unwrap_or(data_type).trim().to_string()
        } else {
            data_type.to_string()
        }
    };
    let (text, string, data_type) = match value {
        Value::Null => ("null".to_string(), false, data_type.to_string()),
        Value::String(text) => (text.clone(), true, strip_length(data_type)),
        Value::Bool(true) => ("True".to_string(), false, data_type.to_string()),
        Value::Bool(false) => ("False".to_string(), false, data_type.to_string()),
        Value::Number(number) => (number.to_string(), false, data_type.to_string()),
        other => (other.to_string(), true, strip_length(data_type)),
    };
    minijinja::context! { value => text, string => string, type => data_type }
}

/// The model's SQL with its inputs as CTEs and the overrides applied.
fn render_model(
    context: &Context,
    node: &Node,
    definition: &Definition,
    model: &Node,
    inputs: &BTreeMap<String, String>,
) -> Result<String, Diagnostic> {
    let rendered = &context.rendered;
    let mut refs = HashMap::new();
    let mut replaced_sources = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut this = None;
    for given in &definition.given {
        match &given.target {
            InputTarget::Node(id) => {
                let resolved = Resolved::Ephemeral {
                    unique_id: given.name.clone(),
                    name: given.name.clone(),
                };
                if let Some(input) = rendered.manifest.nodes.get(id) {
                    refs.insert(format!("{}.{}", input.package_name, input.name), resolved.clone());
                }
                refs.insert(given.name.clone(), resolved);
            }
            InputTarget::Source { unique_id, .. } => {
                if let Some(source) = rendered.manifest.sources.get(unique_id) {
                    let shown = jinja::relation_value(source.relation.clone()).to_string();
                    replaced_sources.push((shown, given.name.clone()));
                }
            }
            InputTarget::This => {
                this = Some(crate::render::context::Relation::ephemeral(&given.name));
                used.insert(given.name.clone());
            }
        }
    }
    let resolver = Resolver {
        refs,
        sources: rendered.resolver.sources.clone(),
        package_sources: rendered.resolver.package_sources.clone(),
        // A unit test's inputs are its own rows, never narrowed by `--empty`
        // or a batch's window.
        narrowing: Default::default(),
        event_times: Default::default(),
    };
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::new(resolver));
    scope.config_view = model.config.clone();
    scope.package = (model.package_name != context.project.name).then(|| model.package_name.clone());
    scope.var_overrides = definition.overrides.vars.clone();
    scope.env_var_overrides = definition.overrides.env_vars.clone();
    let mut overrides: BTreeMap<String, JinjaValue> = BTreeMap::new();
    for (name, value) in &definition.overrides.macros {
        if name == "is_incremental" {
            scope.is_incremental = value.as_bool().unwrap_or_else(|| value.as_str() == Some("true"));
            continue;
        }
        // Any other macro returns its override, as dbt replaces it, wherever
        // it is called from: `audit_helper._get_comparison_bounds` inside
        // the package's own macros (dbt-audit-helper's unit tests). A `dbt.`
        // name is dvt's built-in, which unqualified calls reach too.
        let returned = crate::render::context::from_json(value);
        let called_as = name.strip_prefix("dbt.").unwrap_or(name);
        scope.macro_overrides.insert(called_as.to_string(), returned.clone());
        if !called_as.contains('.') {
            overrides.insert(
                called_as.to_string(),
                JinjaValue::from_function(move |_arguments: minijinja::value::Rest<JinjaValue>| returned.clone()),
            );
        }
    }
    if let Some(this) = this {
        overrides.insert("this".to_string(), JinjaValue::from(this));
    }
    let base = crate::render::node_context(model, true);
    let jinja_context = minijinja::value::merge_maps([base, JinjaValue::from(overrides)]);
    let jinja_context = rendered
        .jinja
        .with_local_namespace(scope.package.as_deref(), jinja_context);
    let (result, scope) = rendered
        .jinja
        .render(&model.original_file_path, &model.raw_code, scope, jinja_context);
    let body = result.map_err(|error| {
        let mut diagnostic =
            jinja::jinja_diagnostic_with(&error, &model.original_file_path, &model.raw_code, &|name| {
                rendered.jinja.macro_source(name)
            });
        diagnostic.message = format!("unit test `{}`: {}", node.name, diagnostic.message);
        diagnostic
    })?;
    let mut body = body.trim().trim_end_matches(';').trim_end().to_string();
    for (shown, name) in &replaced_sources {
        if body.contains(shown.as_str()) {
            body = body.replace(shown.as_str(), &format!("__dbt__cte__{name}"));
            used.insert(name.clone());
        }
    }
    used.extend(scope.ephemerals_used);
    let body_of = |name: &str| inputs.get(name).map(|sql| (sql.clone(), BTreeSet::new()));
    crate::render::inject_ephemerals(&body, &used, &body_of, &rendered.manifest)
}

/// The model's columns and their types, from a table created from its
/// query with no rows inside a transaction that is rolled back.
async fn output_columns(
    context: &Context,
    connection: &SharedConnection,
    node: &Node,
    model_sql: &str,
) -> Result<Vec<ColumnInfo>, AdapterError> {
    let empty = adapter::render_template(
        context.adapter.templates(),
        template_names::UNIT_TEST_COLUMNS,
        minijinja::context! { sql => model_sql },
    )?;
    let relation = adapter::Relation::new(
        node.relation.schema.clone(),
        format!("dvt_unit_test_{}", &node.checksum[..node.checksum.len().min(16)]),
    );
    let create = adapter::render_template(
        context.adapter.templates(),
        template_names::CREATE_TABLE_AS,
        minijinja::context! { relation => relation.clone(), sql => empty, file_format => context.adapter.file_format() },
    )?;
    // Dropped before and after as well as rolled back, for warehouses with
    // no transactions (Spark), where a table would outlive the test.
    let drop = adapter::render_template(
        context.adapter.templates(),
        template_names::DROP_RELATION,
        minijinja::context! { relation => relation.clone(), kind => adapter::RelationKind::Table.sql_keyword() },
    )?;
    let mut session = connection.clone();
    session.begin().await?;
    let columns = async {
        session.create_schema_if_missing(&relation.schema).await?;
        session.execute(&drop).await?;
        session.execute(&create).await?;
        let columns = session.columns(&relation).await?;
        session.execute(&drop).await?;
        Ok(columns)
    }
    .await;
    session.rollback().await?;
    columns
}

/// The columns compared and the expected rows' query: the columns of the
/// first expected row (all the model's when none is given or for `sql`),
/// typed from the model's.
fn expected(
    context: &Context,
    node: &Node,
    definition: &Definition,
    columns: &[ColumnInfo],
) -> Result<(Vec<String>, Option<String>), Diagnostic> {
    let all: Vec<String> = columns.iter().map(|column| column.name.clone()).collect();
    let rows = match &definition.expect.rows {
        Rows::Query(sql) => return Ok((all, Some(sql.trim().trim_end_matches(';').to_string()))),
        Rows::Mappings(rows) if rows.is_empty() => return Ok((all, None)),
        Rows::Mappings(rows) => rows,
    };
    let by_name: HashMap<String, &ColumnInfo> = columns
        .iter()
        .map(|column| (column.name.to_lowercase(), column))
        .collect();
    let mut tested: Vec<ColumnInfo> = Vec::new();
    for name in rows[0].keys() {
        let Some(column) = by_name.get(&name.to_lowercase()) else {
            let accepted: Vec<String> = columns
                .iter()
                .map(|column| format!("'{}'", column.name.to_lowercase()))
                .collect();
            return Err(Diagnostic::error(format!(
                "Invalid column name: '{}' in unit test fixture for expected output.\nAccepted columns for expected output are: [{}]",
                name.to_lowercase(),
                accepted.join(", ")
            ))
            .at(
                Location::at(&node.original_file_path, definition.line, 1, 1),
                context.project.schema_source(&node.original_file_path),
            )
            .hint("expect only columns the model returns"));
        };
        tested.push((*column).clone());
    }
    let sql = fixture_sql(context, node, &tested, rows, "expected output")?;
    Ok((tested.into_iter().map(|column| column.name).collect(), Some(sql)))
}

fn render_template(context: &Context, name: &'static str, values: JinjaValue) -> Result<String, Diagnostic> {
    adapter::render_template(context.adapter.templates(), name, values)
        .map_err(|error| Diagnostic::error(format!("cannot render dvt's template `{name}`: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attribute(value: &JinjaValue, name: &str) -> Option<String> {
        value.get_attr(name).ok().map(|value| value.to_string())
    }

    #[test]
    fn cells_are_formatted_as_dbt_formats_them() {
        // dbt's format_row: a string drops a varying type's length, a
        // boolean prints as Python's, a number keeps its type.
        assert_eq!(
            attribute(&cell(&json!("it's"), "character varying(3)"), "type").as_deref(),
            Some("character varying")
        );
        assert_eq!(
            attribute(&cell(&json!(true), "boolean"), "value").as_deref(),
            Some("True")
        );
        assert_eq!(
            attribute(&cell(&json!(1.5), "numeric(10,2)"), "type").as_deref(),
            Some("numeric(10,2)")
        );
        assert_eq!(attribute(&cell(&Value::Null, "date"), "value").as_deref(), Some("null"));
    }
}
