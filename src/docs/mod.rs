//! `dvt docs`: the warehouse catalog, column-level lineage and a static
//! lineage site.
//!
//! `dvt docs generate` (`src/commands/docs.rs`) is `dvt compile` followed by
//! three steps: read the catalog from the warehouse ([`catalog`]), trace
//! every model's columns ([`trace_all`], with [`crate::lineage`]), and write
//! the site with its data inlined ([`site`]). `dvt docs serve` only serves the
//! files `generate` wrote ([`serve`]). Nothing here changes the warehouse.

pub mod catalog;
pub mod serve;
pub mod site;
pub mod streaming;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::lineage::{self, ModelLineage, Relations, Upstream};
use crate::manifest::{Manifest, ResourceType};
use crate::settings::Session;

use catalog::Catalog;

/// What lineage found for one model: its columns, or why it has none.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeLineage {
    #[serde(flatten)]
    pub lineage: ModelLineage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Traces every model, parents first, so that a model can use the traced
/// columns of a parent the catalog and the YAML know nothing about.
pub fn trace_all(
    session: &Session,
    manifest: &Manifest,
    topological_order: &[String],
    catalog: &Catalog,
) -> BTreeMap<String, NodeLineage> {
    let dialect = crate::validate::sql::dialect_for(&session.target.adapter_type)
        .unwrap_or_else(|| Box::new(sqlparser::dialect::PostgreSqlDialect {}));
    let mut known_columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (unique_id, relation) in catalog.nodes.iter().chain(&catalog.sources) {
        known_columns.insert(
            unique_id.clone(),
            relation.columns.iter().map(|column| column.name.clone()).collect(),
        );
    }
    for source in manifest.sources.values() {
        if !known_columns.contains_key(&source.unique_id) && !source.columns.is_empty() {
            known_columns.insert(source.unique_id.clone(), source.columns.keys().cloned().collect());
        }
    }
    for node in manifest.nodes.values() {
        if known_columns.contains_key(&node.unique_id) {
            continue;
        }
        if node.resource_type == ResourceType::Seed {
            if let Some(header) = seed_header(&session.project.dir.join(&node.original_file_path)) {
                known_columns.insert(node.unique_id.clone(), header);
                continue;
            }
        }
        if !node.columns.is_empty() {
            known_columns.insert(node.unique_id.clone(), node.columns.keys().cloned().collect());
        }
    }

    let mut lineage = BTreeMap::new();
    for unique_id in topological_order {
        let Some(node) = manifest.nodes.get(unique_id) else {
            continue;
        };
        if node.resource_type != ResourceType::Model || node.is_ephemeral() {
            continue;
        }
        // Ephemeral parents are inlined as CTEs, so their own parents are read directly.
        let mut parents: BTreeSet<&String> = BTreeSet::new();
        let mut pending: Vec<&String> = node.depends_on_nodes.iter().collect();
        while let Some(parent) = pending.pop() {
            match manifest.nodes.get(parent) {
                Some(parent_node) if parent_node.is_ephemeral() => {
                    if parents.insert(parent) {
                        pending.extend(&parent_node.depends_on_nodes);
                    }
                }
                _ => {
                    parents.insert(parent);
                }
            }
        }
        let mut relations = Relations::default();
        for parent in parents {
            let (relation, columns) = match (manifest.nodes.get(parent), manifest.sources.get(parent)) {
                (Some(parent_node), _) => (&parent_node.relation, known_columns.get(parent)),
                (None, Some(source)) => (&source.relation, known_columns.get(parent)),
                (None, None) => continue,
            };
            let upstream = Upstream {
                unique_id: parent.clone(),
                columns: columns.cloned().unwrap_or_default(),
            };
            relations.insert(&relation.database, &relation.schema, &relation.identifier, upstream);
        }
        let traced = match &node.compiled_code {
            None => NodeLineage {
                lineage: ModelLineage::default(),
                error: Some("the model was not compiled".into()),
            },
            Some(sql) => match lineage::trace(sql, dialect.as_ref(), &relations) {
                Ok(model) => NodeLineage {
                    lineage: model,
                    error: None,
                },
                Err(error) => NodeLineage {
                    lineage: ModelLineage::default(),
                    error: Some(format!("{error}; only model-level lineage is shown")),
                },
            },
        };
        if !known_columns.contains_key(unique_id) && !traced.lineage.columns.is_empty() {
            known_columns.insert(
                unique_id.clone(),
                traced
                    .lineage
                    .columns
                    .iter()
                    .map(|column| column.name.clone())
                    .collect(),
            );
        }
        lineage.insert(unique_id.clone(), traced);
    }
    lineage
}

/// The column names in a seed's header row.
fn seed_header(path: &Path) -> Option<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).ok()?;
    let headers = reader.headers().ok()?;
    Some(headers.iter().map(|name| name.trim().to_lowercase()).collect())
}

pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Diagnostic> {
    let fail = |error: &dyn std::fmt::Display| Diagnostic::error(format!("cannot write `{}`: {error}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| fail(&error))?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|error| fail(&error))?;
    std::fs::write(path, text).map_err(|error| fail(&error))
}
