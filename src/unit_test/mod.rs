//! dbt's unit tests (dbt 1.8+): `unit_tests:` in schema YAML, each testing
//! one model on rows it gives instead of the warehouse's data.
//!
//! - [`read`] turns the YAML entries into [`Definition`]s, with their inputs
//!   resolved (`ref`, `source`, `this`), their rows normalized from the
//!   `dict`, `csv` and `sql` formats and from fixture files, and every
//!   problem at its file and line. [`add_nodes`] puts a `unit_test` node for
//!   each into the manifest, depending on its model, so selection, the DAG,
//!   `dvt ls` and the scheduler treat it like any node; its definition sits
//!   beside it in [`Manifest::unit_tests`], which `manifest.json` lists under
//!   `unit_tests` in dbt's shape.
//! - [`run`] executes one: each input becomes a `__dbt__cte__<name>` CTE of
//!   its rows (typed from the input relation's columns, as dbt does), the
//!   model renders with its refs pointing at those CTEs and the overrides of
//!   `is_incremental`, vars and env vars, and the result is compared with
//!   the expected rows over the expected columns.
//! - [`diff`] prints the difference as dbt does (daff's terminal rendering).
//!
//! Under `build` a model waits for its unit tests, which run in unique-id
//! order once the model's parents are built; a failing one skips the model,
//! and its siblings after it, as in dbt ([`schedule_under_build`]).

mod diff;
mod read;
mod run;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

pub use read::add_nodes;
pub use run::execute;

use crate::manifest::{Manifest, Node, ResourceType};
use crate::plan::Plan;

/// How a fixture's rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dict,
    Csv,
    Sql,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Dict => "dict",
            Format::Csv => "csv",
            Format::Sql => "sql",
        }
    }
}

/// A fixture's rows: a list of mappings (`dict` and `csv`, where a `csv`
/// value is text and an empty one null), or a query (`sql`).
#[derive(Debug, Clone)]
pub enum Rows {
    Mappings(Vec<Map<String, Value>>),
    Query(String),
}

impl Rows {
    fn to_json(&self) -> Value {
        match self {
            Rows::Mappings(rows) => Value::Array(rows.iter().cloned().map(Value::Object).collect()),
            Rows::Query(sql) => Value::String(sql.clone()),
        }
    }
}

/// What an input stands for in the model's SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputTarget {
    /// A model or seed, by unique id.
    Node(String),
    /// A source table, by unique id, with its source and table names.
    Source {
        unique_id: String,
        source: String,
        table: String,
    },
    /// The model itself, for `{{ this }}`.
    This,
}

/// One entry of `given`.
#[derive(Debug, Clone)]
pub struct Given {
    /// As written: `ref('stg_customer')`.
    pub input: String,
    pub target: InputTarget,
    /// The CTE is `__dbt__cte__<name>`: the model's, seed's or table's name.
    pub name: String,
    pub format: Format,
    pub rows: Rows,
    pub fixture: Option<String>,
}

/// `expect`.
#[derive(Debug, Clone)]
pub struct Expect {
    pub format: Format,
    pub rows: Rows,
    pub fixture: Option<String>,
}

/// `overrides`: macros (`is_incremental` and others, by name, with the
/// value they return), vars and env vars.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub macros: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub env_vars: Map<String, Value>,
}

/// A unit test as declared, its inputs resolved.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The tested model's name and unique id.
    pub model: String,
    pub model_id: String,
    pub given: Vec<Given>,
    pub expect: Expect,
    pub overrides: Overrides,
    /// The line of the entry's `name:` in its schema file.
    pub line: usize,
}

/// A unit test node as progress lines show it: `model::test`.
pub fn describe(node: &Node) -> String {
    let model = node.fqn.iter().rev().nth(1).map_or("", String::as_str);
    format!("{model}::{}", node.name)
}

/// A definition's `model`, `given`, `expect` and `overrides`, as the
/// manifest gives them.
fn definition_json(definition: &Definition) -> Value {
    let fixture_json = |format: Format, rows: &Rows, fixture: &Option<String>| json!({"rows": rows.to_json(), "format": format.as_str(), "fixture": fixture});
    let given: Vec<Value> = definition
        .given
        .iter()
        .map(|given| {
            let mut entry = json!({"input": given.input});
            if let (Some(entry), Value::Object(rest)) = (
                entry.as_object_mut(),
                fixture_json(given.format, &given.rows, &given.fixture),
            ) {
                entry.extend(rest);
            }
            entry
        })
        .collect();
    let expect = &definition.expect;
    json!({
        "model": definition.model,
        "given": given,
        "expect": fixture_json(expect.format, &expect.rows, &expect.fixture),
        "overrides": {
            "macros": definition.overrides.macros,
            "vars": definition.overrides.vars,
            "env_vars": definition.overrides.env_vars,
        },
    })
}

/// The manifest's `unit_tests`, in dbt's shape.
pub fn manifest_json(manifest: &Manifest) -> Value {
    let entries: Map<String, Value> = manifest
        .unit_tests
        .iter()
        .filter_map(|(id, definition)| {
            let node = manifest.nodes.get(id)?;
            let parts = definition_json(definition);
            let original_file_path = node.package_file_path(&node.original_file_path);
            let json = json!({
                "model": definition.model,
                "given": parts["given"],
                "expect": parts["expect"],
                "name": node.name,
                "resource_type": "unit_test",
                "package_name": node.package_name,
                // The schema file below its root, as dbt gives it.
                "path": original_file_path.split_once('/').map_or(original_file_path, |(_, path)| path),
                "original_file_path": original_file_path,
                "unique_id": node.unique_id,
                "fqn": node.fqn,
                "description": node.description,
                "overrides": parts["overrides"],
                "depends_on": {"macros": [], "nodes": node.depends_on_nodes},
                "config": node.config,
                "checksum": node.checksum,
                "schema": node.relation.schema,
                "versions": null,
                "version": null,
            });
            Some((id.clone(), json))
        })
        .collect();
    Value::Object(entries)
}

/// Whether `node` runs under `build`: a unit test only when its model is
/// planned too, as dbt runs them with the model; every other node does.
pub fn model_planned(node: &Node, plan: &Plan) -> bool {
    node.resource_type != ResourceType::UnitTest
        || node
            .attached_node
            .as_ref()
            .is_some_and(|model| plan.selected.contains(model))
}

/// Under `build`: a model's unit tests wait for what the model waits for,
/// one after the other in unique-id order, and the model waits for them, so
/// a failing unit test skips its model and what is built on it (and the
/// model's later unit tests, as dbt skips them).
pub fn schedule_under_build(manifest: &Manifest, plan: &Plan, dependencies: &mut BTreeMap<String, BTreeSet<String>>) {
    let mut by_model: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in &plan.order {
        let Some(node) = manifest.nodes.get(id) else { continue };
        if node.resource_type != ResourceType::UnitTest {
            continue;
        }
        if let Some(model) = node
            .attached_node
            .as_deref()
            .filter(|model| plan.selected.contains(*model))
        {
            by_model.entry(model).or_default().push(id);
        }
    }
    for (model, mut tests) in by_model {
        tests.sort_unstable();
        let model_waits_for = dependencies.get(model).cloned().unwrap_or_default();
        let mut previous: Option<&str> = None;
        for test in &tests {
            let mut waits_for = model_waits_for.clone();
            waits_for.extend(previous.map(str::to_owned));
            dependencies.insert(test.to_string(), waits_for);
            previous = Some(test);
        }
        if let (Some(last), Some(model_dependencies)) = (previous, dependencies.get_mut(model)) {
            model_dependencies.insert(last.to_string());
        }
    }
}
