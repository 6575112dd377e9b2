//! State comparison: reads the `manifest.json` of another run (dvt's, or dbt's,
//! whose format dvt writes) and compares the current project with it, resource
//! by resource. `state:` selectors, `--defer` and `dvt diff` are built on it.
//!
//! A resource is *new* when the other manifest lacks it. Otherwise it is
//! *modified* for one or more reasons ([`Modification`]), as in dbt:
//! - `body`: the raw code changed, ignoring whitespace-only edits (every run of
//!   whitespace compares equal); for a seed, the checksum of its file changed.
//! - `configs`: the config changed. Null and empty values count as unset, and
//!   the keys in [`IGNORED_CONFIG_KEYS`] are left to the other kinds.
//! - `macros`: a macro the node calls changed its source.
//! - `contract`: the declared columns or their data types changed, or those of a
//!   parent, since a model reading a contract is affected by its change.
//! - `relation`: the configured database, schema or alias changed. The resolved
//!   relation is not compared: it also depends on the target, and a pull
//!   request builds into another schema than production does.
//!
//! This module does not select nodes ([`crate::select`]) or print reports
//! ([`crate::diff`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifest, Node, Relation, ResourceType};
use crate::render::{self, Rendered};

/// Config keys that `configs` does not compare: `database`, `schema` and
/// `alias` are `relation`, `contract` is `contract`, and `docs` only changes how
/// the node is shown.
pub const IGNORED_CONFIG_KEYS: &[&str] = &["database", "schema", "alias", "contract", "docs"];

/// Values dbt writes into every node's config, which mean the same as no value
/// at all; leaving them out lets a dvt project compare with a dbt manifest.
const DEFAULT_CONFIG_VALUES: &[(&str, &str)] = &[
    ("on_schema_change", "ignore"),
    ("on_configuration_change", "apply"),
    ("access", "protected"),
];

/// Why a resource that exists in both manifests differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Modification {
    Body,
    Configs,
    Macros,
    Contract,
    Relation,
}

impl Modification {
    pub const ALL: [Modification; 5] = [
        Modification::Body,
        Modification::Configs,
        Modification::Macros,
        Modification::Contract,
        Modification::Relation,
    ];

    /// The name used in `state:modified.<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Modification::Body => "body",
            Modification::Configs => "configs",
            Modification::Macros => "macros",
            Modification::Contract => "contract",
            Modification::Relation => "relation",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|modification| modification.as_str() == text)
    }
}

/// How one resource of the project compares with the other manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    New,
    /// In both manifests, different for these reasons (never empty).
    Modified(BTreeSet<Modification>),
    Unchanged,
}

impl Change {
    /// The reasons the resource is modified; empty when it is new or unchanged.
    pub fn modifications(&self) -> impl Iterator<Item = Modification> + '_ {
        match self {
            Change::Modified(modifications) => Some(modifications.iter().copied()),
            _ => None,
        }
        .into_iter()
        .flatten()
    }
}

/// A resource the other manifest has and the project no longer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub resource_type: String,
    pub name: String,
}

/// The project compared with the other manifest.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Every resource of the project (nodes, sources and exposures), by unique id.
    pub changes: BTreeMap<String, Change>,
    /// Resources only the other manifest has, by unique id.
    pub removed: BTreeMap<String, Removed>,
}

/// The manifest of another run, as far as comparison and deferral need it.
/// Fields dvt does not use are skipped, and missing or null ones are empty, so
/// that manifests of any recent dbt version read.
#[derive(Debug, Default, Deserialize)]
pub struct StateManifest {
    /// The file it was read from.
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(default, deserialize_with = "null_as_default")]
    pub nodes: BTreeMap<String, StateNode>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sources: BTreeMap<String, StateSource>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub exposures: BTreeMap<String, StateExposure>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub macros: BTreeMap<String, StateMacro>,
    /// dbt's unit tests, kept apart from `nodes` as dbt writes them; compared
    /// by their definition's checksum.
    #[serde(default, deserialize_with = "null_as_default")]
    pub unit_tests: BTreeMap<String, serde_json::Value>,
    /// The sources loaded since this run's `sources.json`, for
    /// `source_status:fresher` ([`crate::freshness::fresher`]); filled only
    /// when a selector asks.
    #[serde(skip)]
    pub fresher: Option<std::collections::BTreeSet<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateNode {
    #[serde(deserialize_with = "null_as_default")]
    pub resource_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub alias: Option<String>,
    /// `raw_sql` in manifests before dbt 1.3.
    #[serde(alias = "raw_sql", deserialize_with = "null_as_default")]
    pub raw_code: String,
    #[serde(deserialize_with = "null_as_default")]
    pub checksum: Checksum,
    #[serde(deserialize_with = "null_as_default")]
    pub config: Map<String, Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub depends_on: DependsOn,
    #[serde(deserialize_with = "null_as_default")]
    pub columns: BTreeMap<String, StateColumn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Checksum {
    #[serde(deserialize_with = "null_as_default")]
    pub checksum: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DependsOn {
    #[serde(deserialize_with = "null_as_default")]
    pub macros: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub nodes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateColumn {
    pub data_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateSource {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub source_name: String,
    pub schema: Option<String>,
    pub identifier: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub config: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateExposure {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateMacro {
    #[serde(deserialize_with = "null_as_default")]
    pub macro_sql: String,
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Errors reading the other manifest.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("no manifest to compare with: `{path}` does not exist")]
    Missing { path: String },

    #[error("cannot read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{path}` is not a dbt or dvt manifest")]
    Invalid {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

impl From<StateError> for Diagnostic {
    fn from(error: StateError) -> Self {
        let hint = match &error {
            StateError::Missing { .. } => {
                "point `--state` at the target directory of the run to compare with (it holds `manifest.json`), \
                 for example a copy of production's `target/`"
            }
            StateError::Read { .. } => "check the permissions of the file",
            StateError::Invalid { .. } => {
                "`--state` needs the `manifest.json` that `dvt parse`, `dvt compile` or dbt wrote"
            }
        };
        let mut diagnostic = Diagnostic::error(error.to_string());
        if let Some(source) = std::error::Error::source(&error) {
            diagnostic = diagnostic.note(format!("caused by: {source}"));
        }
        diagnostic.hint(hint)
    }
}

/// Reads `DIR/manifest.json`, or the manifest file itself when `path` is one.
pub fn read(path: &Path) -> Result<StateManifest, StateError> {
    let file = if path.is_file() {
        path.to_path_buf()
    } else {
        path.join("manifest.json")
    };
    let shown = file.display().to_string();
    let bytes = std::fs::read(&file).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => StateError::Missing { path: shown.clone() },
        _ => StateError::Read {
            path: shown.clone(),
            source,
        },
    })?;
    let mut manifest: StateManifest =
        serde_json::from_slice(&bytes).map_err(|source| StateError::Invalid { path: shown, source })?;
    manifest.path = file;
    Ok(manifest)
}

/// Reads the manifest `--state` names, if it names one.
pub fn load(path: Option<&Path>) -> Result<Option<StateManifest>, Diagnostic> {
    path.map(read).transpose().map_err(Diagnostic::from)
}

impl StateManifest {
    /// The relation each model, seed and snapshot was built as, by unique id;
    /// ephemeral models have none.
    pub fn relations(&self) -> BTreeMap<String, Relation> {
        self.nodes
            .iter()
            .filter(|(_, node)| {
                matches!(node.resource_type.as_str(), "model" | "seed" | "snapshot")
                    && node.config.get("materialized").and_then(Value::as_str) != Some("ephemeral")
                    && node.schema.as_deref().is_some_and(|schema| !schema.is_empty())
            })
            .map(|(id, node)| {
                let relation = Relation {
                    database: node.database.clone().unwrap_or_default(),
                    schema: node.schema.clone().unwrap_or_default(),
                    identifier: node.alias.clone().unwrap_or_else(|| node.name.clone()),
                };
                (id.clone(), relation)
            })
            .collect()
    }
}

/// `--defer`: refs to models and seeds outside `selected` resolve to the
/// relations the other manifest recorded, so that a pull request builds only
/// what it changed and reads the rest from production. Nodes missing there
/// resolve as usual. Returns how many nodes were deferred.
pub fn defer(rendered: &mut Rendered, state: Option<&StateManifest>, selected: &BTreeSet<String>) -> usize {
    let Some(state) = state else { return 0 };
    let relations = state.relations();
    let deferred: BTreeMap<String, Relation> = rendered
        .manifest
        .nodes
        .values()
        .filter(|node| node.is_relational() && !selected.contains(&node.unique_id))
        .filter_map(|node| Some((node.unique_id.clone(), relations.get(&node.unique_id)?.clone())))
        .collect();
    render::defer_refs(rendered, &deferred);
    deferred.len()
}

/// Compares the project with the other manifest.
pub fn compare(current: &Manifest, previous: &StateManifest) -> Comparison {
    let mut changes = BTreeMap::new();
    let mut contract_changed = Vec::new();
    for node in current.nodes.values() {
        if node.resource_type == crate::manifest::ResourceType::UnitTest {
            let change = match previous.unit_tests.get(&node.unique_id) {
                None => Change::New,
                Some(old) if old["checksum"] == node.checksum.as_str() => Change::Unchanged,
                Some(_) => Change::Modified(BTreeSet::from([Modification::Body])),
            };
            changes.insert(node.unique_id.clone(), change);
            continue;
        }
        let change = match previous.nodes.get(&node.unique_id) {
            None => Change::New,
            Some(old) => {
                let modifications = node_modifications(node, old, current, previous);
                if modifications.contains(&Modification::Contract) {
                    contract_changed.push(node.unique_id.as_str());
                }
                modified_or_unchanged(modifications)
            }
        };
        changes.insert(node.unique_id.clone(), change);
    }
    // Models reading a changed contract are affected by it; tests check data,
    // and come along with their models anyway.
    let children = current.child_map();
    for id in contract_changed {
        for child in children.get(id).into_iter().flatten() {
            let reads_contract = current
                .nodes
                .get(child)
                .is_some_and(|node| node.resource_type != ResourceType::Test);
            match changes.get_mut(child) {
                Some(Change::Modified(modifications)) if reads_contract => {
                    modifications.insert(Modification::Contract);
                }
                Some(change @ Change::Unchanged) if reads_contract => {
                    *change = Change::Modified(BTreeSet::from([Modification::Contract]));
                }
                _ => {}
            }
        }
    }
    for source in current.sources.values() {
        let change = match previous.sources.get(&source.unique_id) {
            None => Change::New,
            Some(old) => {
                let mut modifications = BTreeSet::new();
                if comparable_config(&source.config) != comparable_config(&old.config) {
                    modifications.insert(Modification::Configs);
                }
                // The database is left out: by default it is the target's.
                if old.schema.as_deref() != Some(source.relation.schema.as_str())
                    || old.identifier.as_deref() != Some(source.relation.identifier.as_str())
                {
                    modifications.insert(Modification::Relation);
                }
                modified_or_unchanged(modifications)
            }
        };
        changes.insert(source.unique_id.clone(), change);
    }
    for exposure in current.exposures.values() {
        let change = if previous.exposures.contains_key(&exposure.unique_id) {
            Change::Unchanged
        } else {
            Change::New
        };
        changes.insert(exposure.unique_id.clone(), change);
    }
    let mut removed = BTreeMap::new();
    for (id, node) in &previous.nodes {
        if !current.nodes.contains_key(id) {
            removed.insert(
                id.clone(),
                Removed {
                    resource_type: node.resource_type.clone(),
                    name: node.name.clone(),
                },
            );
        }
    }
    for (id, source) in &previous.sources {
        if !current.sources.contains_key(id) {
            removed.insert(
                id.clone(),
                Removed {
                    resource_type: "source".into(),
                    name: format!("{}.{}", source.source_name, source.name),
                },
            );
        }
    }
    for (id, exposure) in &previous.exposures {
        if !current.exposures.contains_key(id) {
            removed.insert(
                id.clone(),
                Removed {
                    resource_type: "exposure".into(),
                    name: exposure.name.clone(),
                },
            );
        }
    }
    Comparison { changes, removed }
}

fn modified_or_unchanged(modifications: BTreeSet<Modification>) -> Change {
    if modifications.is_empty() {
        Change::Unchanged
    } else {
        Change::Modified(modifications)
    }
}

fn node_modifications(
    node: &Node,
    old: &StateNode,
    current: &Manifest,
    previous: &StateManifest,
) -> BTreeSet<Modification> {
    let mut modifications = BTreeSet::new();
    let body_changed = if node.resource_type == ResourceType::Seed {
        node.checksum != old.checksum.checksum
    } else {
        !same_text(&node.raw_code, &old.raw_code)
    };
    if body_changed {
        modifications.insert(Modification::Body);
    }
    if comparable_config(&node.config) != comparable_config(&old.config) {
        modifications.insert(Modification::Configs);
    }
    // dvt's own macros are not in the manifest: they change with dvt, not the project.
    let macro_changed = node.depends_on_macros.iter().any(|id| {
        current.macros.get(id).is_some_and(|definition| {
            previous
                .macros
                .get(id)
                .is_none_or(|old| !same_text(&definition.macro_sql, &old.macro_sql))
        })
    });
    if macro_changed {
        modifications.insert(Modification::Macros);
    }
    let columns = node
        .columns
        .iter()
        .map(|(name, column)| (name.as_str(), column.data_type.as_deref()));
    let old_columns = old
        .columns
        .iter()
        .map(|(name, column)| (name.as_str(), column.data_type.as_deref()));
    if contract(&node.config, columns) != contract(&old.config, old_columns) {
        modifications.insert(Modification::Contract);
    }
    if relation_config(&node.config) != relation_config(&old.config) {
        modifications.insert(Modification::Relation);
    }
    modifications
}

/// Whether two texts differ only in whitespace: every run of whitespace
/// compares equal, and leading and trailing whitespace is ignored.
pub fn same_text(left: &str, right: &str) -> bool {
    left.split_whitespace().eq(right.split_whitespace())
}

/// The config as `configs` compares it.
fn comparable_config(config: &Map<String, Value>) -> BTreeMap<&str, &Value> {
    config
        .iter()
        .filter(|(key, value)| !IGNORED_CONFIG_KEYS.contains(&key.as_str()) && !is_default(key, value))
        .map(|(key, value)| (key.as_str(), value))
        .collect()
}

/// Whether a config value means the same as leaving the key out.
fn is_default(key: &str, value: &Value) -> bool {
    if is_unset(value) {
        return true;
    }
    if key == "enabled" {
        return value.as_bool() == Some(true);
    }
    DEFAULT_CONFIG_VALUES
        .iter()
        .any(|(default_key, default)| key == *default_key && value.as_str() == Some(default))
}

fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

/// Whether the contract is enforced, and each declared column with its data
/// type (whitespace collapsed).
fn contract<'a>(
    config: &Map<String, Value>,
    columns: impl Iterator<Item = (&'a str, Option<&'a str>)>,
) -> (bool, BTreeMap<&'a str, Option<String>>) {
    let enforced = config
        .get("contract")
        .and_then(|contract| contract.get("enforced"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let columns = columns
        .map(|(name, data_type)| {
            let data_type = data_type.map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "));
            (name, data_type)
        })
        .collect();
    (enforced, columns)
}

/// The configured database, schema and alias; unset when null or empty.
fn relation_config(config: &Map<String, Value>) -> [Option<&Value>; 3] {
    ["database", "schema", "alias"].map(|key| config.get(key).filter(|value| !is_unset(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(id: &str, raw_code: &str, config: Value) -> Node {
        let (resource_type, name) = match id.split('.').collect::<Vec<_>>().as_slice() {
            [kind, _, name] => (ResourceType::parse(kind).unwrap(), name.to_string()),
            _ => panic!("bad id {id}"),
        };
        Node {
            unique_id: id.into(),
            resource_type,
            package_name: "shop".into(),
            name: name.clone(),
            path: format!("{name}.sql"),
            original_file_path: format!("models/{name}.sql"),
            package_dir: String::new(),
            patch_path: None,
            fqn: vec!["shop".into(), name.clone()],
            raw_code: raw_code.into(),
            compiled_code: None,
            checksum: crate::project::text_checksum(raw_code),
            config: config.as_object().cloned().unwrap_or_default(),
            description: String::new(),
            columns: BTreeMap::new(),
            meta: Map::new(),
            refs: Vec::new(),
            sources: Vec::new(),
            depends_on_nodes: BTreeSet::new(),
            depends_on_macros: BTreeSet::new(),
            relation: Relation {
                database: "db".into(),
                schema: "analytics".into(),
                identifier: name,
            },
            test_metadata: None,
            column_name: None,
            attached_node: None,
            version: None,
            constraints: Vec::new(),
            time_spine: None,
        }
    }

    fn manifest(nodes: Vec<Node>) -> Manifest {
        Manifest {
            project_name: "shop".into(),
            nodes: nodes.into_iter().map(|node| (node.unique_id.clone(), node)).collect(),
            ..Manifest::default()
        }
    }

    /// The manifest dvt writes for `current`, read back as a state.
    fn state_of(current: &Manifest) -> StateManifest {
        let mut bytes = Vec::new();
        current.write_json(&mut bytes).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn change(comparison: &Comparison, id: &str) -> Change {
        comparison.changes[id].clone()
    }

    fn modified(modifications: &[Modification]) -> Change {
        Change::Modified(modifications.iter().copied().collect())
    }

    #[test]
    fn whitespace_only_edits_are_not_changes() {
        assert!(same_text("select a,\n  b\nfrom t\n", "select a, b from t"));
        assert!(same_text("select 1", "\tselect   1\n\n"));
        assert!(!same_text("select a,b", "select a, b"));
        assert!(!same_text("select 1", "select 2"));
    }

    #[test]
    fn a_project_compared_with_its_own_manifest_is_unchanged() {
        let mut orders = node(
            "model.shop.orders",
            "select 1",
            json!({"materialized": "table", "tags": []}),
        );
        orders.depends_on_nodes.insert("seed.shop.raw".into());
        let current = manifest(vec![orders, node("seed.shop.raw", "", json!({"materialized": "seed"}))]);
        let comparison = compare(&current, &state_of(&current));
        assert!(comparison.removed.is_empty());
        assert!(
            comparison.changes.values().all(|change| *change == Change::Unchanged),
            "{comparison:?}"
        );
    }

    #[test]
    fn each_kind_of_change_is_named() {
        let base = manifest(vec![
            node("model.shop.body", "select 1", json!({})),
            node("model.shop.spaces", "select 1 from t", json!({})),
            node("model.shop.configs", "select 1", json!({"materialized": "view"})),
            node("model.shop.relation", "select 1", json!({"schema": "marts"})),
            node("model.shop.gone", "select 1", json!({})),
        ]);
        let state = state_of(&base);
        let current = manifest(vec![
            node("model.shop.body", "select 2", json!({})),
            node("model.shop.spaces", "select 1\n  from t\n", json!({})),
            node("model.shop.configs", "select 1", json!({"materialized": "table"})),
            node("model.shop.relation", "select 1", json!({"schema": "finance"})),
            node("model.shop.fresh", "select 1", json!({})),
        ]);
        let comparison = compare(&current, &state);
        assert_eq!(change(&comparison, "model.shop.body"), modified(&[Modification::Body]));
        assert_eq!(change(&comparison, "model.shop.spaces"), Change::Unchanged);
        assert_eq!(
            change(&comparison, "model.shop.configs"),
            modified(&[Modification::Configs])
        );
        assert_eq!(
            change(&comparison, "model.shop.relation"),
            modified(&[Modification::Relation])
        );
        assert_eq!(change(&comparison, "model.shop.fresh"), Change::New);
        assert_eq!(
            comparison.removed.keys().collect::<Vec<_>>(),
            ["model.shop.gone"],
            "{comparison:?}"
        );
    }

    #[test]
    fn a_changed_contract_reaches_the_models_reading_it() {
        let mut orders = node("model.shop.orders", "select 1 as id", json!({}));
        orders.columns.insert(
            "id".into(),
            crate::manifest::Column {
                name: "id".into(),
                data_type: Some("integer".into()),
                ..Default::default()
            },
        );
        let mut report = node("model.shop.report", "select * from orders", json!({}));
        report.depends_on_nodes.insert("model.shop.orders".into());
        let mut test = node("test.shop.not_null_orders_id", "{{ test_not_null() }}", json!({}));
        test.depends_on_nodes.insert("model.shop.orders".into());
        let base = manifest(vec![orders.clone(), report.clone(), test.clone()]);
        let state = state_of(&base);

        // Only whitespace in the type: no change.
        let mut spaced = orders.clone();
        if let Some(column) = spaced.columns.get_mut("id") {
            column.data_type = Some(" integer ".into());
        }
        let comparison = compare(&manifest(vec![spaced, report.clone(), test.clone()]), &state);
        assert_eq!(change(&comparison, "model.shop.report"), Change::Unchanged);

        if let Some(column) = orders.columns.get_mut("id") {
            column.data_type = Some("bigint".into());
        }
        let comparison = compare(&manifest(vec![orders, report, test]), &state);
        assert_eq!(
            change(&comparison, "model.shop.orders"),
            modified(&[Modification::Contract])
        );
        assert_eq!(
            change(&comparison, "model.shop.report"),
            modified(&[Modification::Contract])
        );
        assert_eq!(change(&comparison, "test.shop.not_null_orders_id"), Change::Unchanged);
    }

    #[test]
    fn a_changed_macro_modifies_the_nodes_calling_it() {
        let macro_named = |sql: &str| crate::manifest::Macro {
            unique_id: "macro.shop.cents".into(),
            package_name: "shop".into(),
            name: "cents".into(),
            original_file_path: "macros/cents.sql".into(),
            macro_sql: sql.into(),
            description: String::new(),
        };
        let mut payments = node("model.shop.payments", "select {{ cents('x') }}", json!({}));
        payments.depends_on_macros.insert("macro.shop.cents".into());
        payments.depends_on_macros.insert("macro.dvt.builtin".into());
        let other = node("model.shop.other", "select 1", json!({}));
        let mut base = manifest(vec![payments.clone(), other.clone()]);
        base.macros.insert(
            "macro.shop.cents".into(),
            macro_named("{% macro cents(c) %}{{ c }}/100{% endmacro %}"),
        );
        let state = state_of(&base);
        let mut current = manifest(vec![payments, other]);
        current.macros.insert(
            "macro.shop.cents".into(),
            macro_named("{% macro cents(c) %}round({{ c }}/100, 2){% endmacro %}"),
        );
        let comparison = compare(&current, &state);
        assert_eq!(
            change(&comparison, "model.shop.payments"),
            modified(&[Modification::Macros])
        );
        assert_eq!(change(&comparison, "model.shop.other"), Change::Unchanged);
    }

    #[test]
    fn seeds_compare_by_checksum() {
        let base = manifest(vec![node("seed.shop.raw", "", json!({}))]);
        let state = state_of(&base);
        let mut seed = node("seed.shop.raw", "", json!({}));
        seed.checksum = "0000".into();
        let comparison = compare(&manifest(vec![seed]), &state);
        assert_eq!(change(&comparison, "seed.shop.raw"), modified(&[Modification::Body]));
    }

    /// A node as dbt 1.8 writes it: every config key present, defaults included.
    #[test]
    fn a_dbt_manifest_compares_with_the_same_dvt_project() {
        let dbt = json!({
            "metadata": {"dbt_version": "1.8.0"},
            "nodes": {
                "model.shop.orders": {
                    "resource_type": "model", "name": "orders", "database": "prod_db",
                    "schema": "prod", "alias": "orders", "relation_name": "\"prod_db\".\"prod\".\"orders\"",
                    "raw_code": "select 1\n",
                    "checksum": {"name": "sha256", "checksum": "x"},
                    "config": {
                        "enabled": true, "alias": null, "schema": null, "database": null, "tags": [],
                        "meta": {}, "group": null, "materialized": "table", "incremental_strategy": null,
                        "persist_docs": {}, "post-hook": [], "pre-hook": [], "quoting": {},
                        "column_types": {}, "full_refresh": null, "unique_key": null,
                        "on_schema_change": "ignore", "on_configuration_change": "apply",
                        "grants": {}, "packages": [], "docs": {"show": true, "node_color": null},
                        "contract": {"enforced": false, "alias_types": true}, "access": "protected"
                    },
                    "depends_on": {"macros": [], "nodes": []},
                    "columns": {}
                },
                "model.shop.legacy": {
                    "resource_type": "model", "name": "legacy", "schema": "prod", "alias": "legacy_v1",
                    "raw_sql": "select 2", "config": {"materialized": "ephemeral"}
                }
            },
            "sources": {},
            "macros": {"macro.dbt.is_incremental": {"macro_sql": "{% macro is_incremental() %}{% endmacro %}"}},
            "exposures": null
        });
        let state: StateManifest = serde_json::from_value(dbt).unwrap();
        assert_eq!(state.nodes["model.shop.legacy"].raw_code, "select 2");
        let current = manifest(vec![node(
            "model.shop.orders",
            "select 1",
            json!({"materialized": "table", "enabled": true, "tags": []}),
        )]);
        let comparison = compare(&current, &state);
        assert_eq!(change(&comparison, "model.shop.orders"), Change::Unchanged);
        let relations = state.relations();
        assert_eq!(relations["model.shop.orders"].quoted(), r#""prod"."orders""#);
        assert!(
            !relations.contains_key("model.shop.legacy"),
            "ephemeral models have no relation"
        );
    }

    #[test]
    fn reading_a_missing_or_broken_manifest_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Diagnostic::from(read(&dir.path().join("prod")).unwrap_err());
        assert!(
            missing.message.starts_with("no manifest to compare with: `"),
            "{}",
            missing.message
        );
        assert!(
            missing.message.ends_with("manifest.json` does not exist"),
            "{}",
            missing.message
        );
        assert!(missing.hints[0].contains("--state"));
        std::fs::write(dir.path().join("manifest.json"), "{nodes").unwrap();
        let invalid = Diagnostic::from(read(dir.path()).unwrap_err());
        assert!(
            invalid.message.ends_with("is not a dbt or dvt manifest"),
            "{}",
            invalid.message
        );
        assert!(invalid.notes[0].starts_with("caused by: "), "{:?}", invalid.notes);
        // The file itself may be named too.
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        assert!(read(&dir.path().join("manifest.json")).is_ok());
    }
}
