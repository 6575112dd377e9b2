//! Phase 4, `select::plan`: applies `--select` and `--exclude` to the DAG and
//! returns the chosen resources in a deterministic topological order.
//!
//! The selector language itself lives in [`crate::select`]; this module adapts
//! the manifest to it, compares it with the `--state` manifest for `state:`
//! selectors ([`crate::state`]), and adds dbt's indirect selection of tests
//! (and of exports, which come with their model).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::diagnostic::{Diagnostic, Location};
use crate::graph::Dag;
use crate::manifest::{Manifest, ResourceType};
use crate::select::{self, SelectableNode, SelectionGraph, SelectorError};
use crate::state::{self, Change, StateManifest};

/// What to select: dbt's `--select` and `--exclude` selectors, and the
/// directory of another run's manifest for `state:` selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub select: Vec<String>,
    pub exclude: Vec<String>,
    pub state: Option<std::path::PathBuf>,
    /// A YAML selector's expression (`--selector`, or the default one),
    /// which takes the place of `select` and `exclude`.
    pub selector: Option<select::Expr>,
}

/// The resources a command acts on, in topological order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub order: Vec<String>,
    pub selected: BTreeSet<String>,
}

/// Every resource as the selector sees it, in the DAG's unique-id order. With
/// `changes` (from [`state::compare`]), each carries its change for `state:`.
pub fn selectable_nodes(manifest: &Manifest, changes: Option<&BTreeMap<String, Change>>) -> Vec<SelectableNode> {
    let change_of = |id: &str| changes.map(|changes| changes.get(id).cloned().unwrap_or(Change::New));
    let mut nodes = Vec::new();
    for node in manifest.nodes.values() {
        let mut config = serde_json::Value::Object(node.config.clone());
        if matches!(node.resource_type, ResourceType::Test | ResourceType::UnitTest) {
            let test_type = if node.resource_type == ResourceType::UnitTest {
                "unit"
            } else if node.test_metadata.is_some() {
                "generic"
            } else {
                "singular"
            };
            if let Some(object) = config.as_object_mut() {
                object.insert("test_type".into(), json!(test_type));
            }
        }
        nodes.push(SelectableNode {
            unique_id: node.unique_id.clone(),
            name: node.name.clone(),
            resource_type: node.resource_type.as_str().to_string(),
            package_name: node.package_name.clone(),
            fqn: node.fqn.clone(),
            original_file_path: node.original_file_path.clone(),
            tags: node.tags(),
            materialized: Some(node.materialized().to_string()),
            source_name: None,
            config,
            state: change_of(&node.unique_id),
            version: node.version.as_ref().map(crate::render::versions::rank),
            fresher: None,
        });
    }
    for source in manifest.sources.values() {
        nodes.push(SelectableNode {
            unique_id: source.unique_id.clone(),
            name: source.name.clone(),
            resource_type: "source".into(),
            package_name: source.package_name.clone(),
            fqn: source.fqn.clone(),
            original_file_path: source.original_file_path.clone(),
            tags: source.tags.clone(),
            materialized: None,
            source_name: Some(source.source_name.clone()),
            config: serde_json::Value::Object(source.config.clone()),
            state: change_of(&source.unique_id),
            version: None,
            fresher: None,
        });
    }
    for exposure in manifest.exposures.values() {
        nodes.push(SelectableNode {
            unique_id: exposure.unique_id.clone(),
            name: exposure.name.clone(),
            resource_type: "exposure".into(),
            package_name: exposure.package_name.clone(),
            fqn: exposure.fqn.clone(),
            original_file_path: exposure.original_file_path.clone(),
            tags: exposure.tags.clone(),
            materialized: None,
            source_name: None,
            config: serde_json::Value::Object(exposure.config.clone()),
            state: change_of(&exposure.unique_id),
            version: None,
            fresher: None,
        });
    }
    nodes.sort_by(|left, right| left.unique_id.cmp(&right.unique_id));
    nodes
}

/// Applies the selection. Tests are selected indirectly, as dbt's default
/// (`eager`) does: a test runs when any resource it tests is selected, unless it
/// is excluded itself. `state` is the manifest `--state` names, if any.
pub fn plan(
    manifest: &Manifest,
    dag: &Dag,
    selection: &Selection,
    state: Option<&StateManifest>,
) -> Result<Plan, Diagnostic> {
    if selection.select.is_empty() && selection.exclude.is_empty() && selection.selector.is_none() {
        let order = dag.topological_order();
        let selected = order.iter().cloned().collect();
        return Ok(Plan { order, selected });
    }
    let comparison = state.map(|state| state::compare(manifest, state));
    let mut nodes = selectable_nodes(manifest, comparison.as_ref().map(|comparison| &comparison.changes));
    if let Some(fresher) = state.and_then(|state| state.fresher.as_ref()) {
        for node in &mut nodes {
            node.fresher = Some(fresher.contains(&node.unique_id));
        }
    }
    let ids: Vec<String> = nodes.iter().map(|node| node.unique_id.clone()).collect();
    let (parents, children) = dag.adjacency(&ids);
    let graph = SelectionGraph {
        nodes: &nodes,
        parents: &parents,
        children: &children,
    };
    let chosen = match &selection.selector {
        Some(expression) => select::select_expression(&graph, expression),
        None => select::select(&graph, &selection.select, &selection.exclude),
    }
    .map_err(|error| selector_diagnostic(&error, &selection.select, &selection.exclude))?;
    let mut selected: BTreeSet<String> = chosen.iter().map(|index| ids[*index].clone()).collect();
    if !selection.select.is_empty() || selection.selector.is_some() {
        let excluded: BTreeSet<String> = if let Some(select::Expr::Difference(_, removed)) = &selection.selector {
            // A test the selector's `exclude` names stays out, as with --exclude.
            select::select_expression(&graph, removed)
                .map_err(|error| selector_diagnostic(&error, &[], &[]))?
                .into_iter()
                .map(|index| ids[index].clone())
                .collect()
        } else if selection.exclude.is_empty() || selection.selector.is_some() {
            BTreeSet::new()
        } else {
            select::select(&graph, &selection.exclude, &[])
                .map_err(|error| selector_diagnostic(&error, &[], &selection.exclude))?
                .into_iter()
                .map(|index| ids[index].clone())
                .collect()
        };
        for node in manifest
            .nodes
            .values()
            .filter(|node| node.resource_type == ResourceType::Test)
        {
            if excluded.contains(&node.unique_id) {
                continue;
            }
            let tested = node
                .attached_node
                .iter()
                .chain(node.depends_on_nodes.iter())
                .any(|parent| selected.contains(parent));
            let all_parents_available = node.depends_on_nodes.iter().all(|parent| {
                selected.contains(parent)
                    || !manifest.nodes.contains_key(parent)
                    || manifest.sources.contains_key(parent)
                    || node.attached_node.as_deref() != Some(parent.as_str())
            });
            if tested && all_parents_available {
                selected.insert(node.unique_id.clone());
            }
        }
        // A model's export and unit tests come with the model, as its tests do.
        for node in manifest
            .nodes
            .values()
            .filter(|node| matches!(node.resource_type, ResourceType::Export | ResourceType::UnitTest))
        {
            let model_selected = node
                .attached_node
                .as_ref()
                .is_some_and(|model| selected.contains(model));
            if model_selected && !excluded.contains(&node.unique_id) {
                selected.insert(node.unique_id.clone());
            }
        }
    }
    let order = dag
        .topological_order()
        .into_iter()
        .filter(|id| selected.contains(id))
        .collect();
    Ok(Plan { order, selected })
}

/// A selector error pointed at the flag it came from, as written on the
/// command line (`--select tag:x +orders`), with the term underlined; the
/// error's own hints go on lines of their own.
fn selector_diagnostic(error: &SelectorError, select: &[String], exclude: &[String]) -> Diagnostic {
    let text = error.to_string();
    let mut parts = text.split("\nhint: ");
    let mut diagnostic = Diagnostic::error(parts.next().unwrap_or_default());
    for hint in parts {
        diagnostic = diagnostic.hint(hint);
    }
    // These carry their own hint.
    if !matches!(
        error,
        SelectorError::StateNeedsState { .. } | SelectorError::UnknownState { .. }
    ) {
        diagnostic = diagnostic.hint("see `dvt ls --help`; for example `--select +fct_rental tag:marts`");
    }
    let Some(term) = error.term() else {
        return diagnostic;
    };
    for (flag, arguments) in [("--select", select), ("--exclude", exclude)] {
        let written = arguments.join(" ");
        if let Some(start) = written.find(term) {
            let column = written[..start].chars().count() + 1;
            let location = Location::at(flag, 1, column, term.chars().count().max(1));
            return diagnostic.at(location, Some(&written));
        }
    }
    diagnostic
}
