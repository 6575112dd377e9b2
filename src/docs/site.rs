//! The static docs site: `index.html`, `app.js` and `style.css` from
//! `templates/docs/`, and `data.js`, which assigns the project's data to a
//! global so that the site works from `file://` with no fetch.
//!
//! This module decides what the site knows about each node; how it is drawn
//! is the business of `templates/docs/app.js`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Map, Value};

use super::catalog::{Catalog, CatalogRelation};
use super::NodeLineage;
use crate::diagnostic::Diagnostic;
use crate::ingest::sources::IngestSpecs;
use crate::manifest::{Column, Manifest, ResourceType};
use crate::settings::Session;

const FILES: [(&str, &str); 3] = [
    ("index.html", include_str!("../../templates/docs/index.html")),
    ("app.js", include_str!("../../templates/docs/app.js")),
    ("style.css", include_str!("../../templates/docs/style.css")),
];

/// Writes the site to `docs_dir`.
pub fn write(
    docs_dir: &Path,
    session: &Session,
    manifest: &Manifest,
    ingested: &IngestSpecs,
    catalog: &Catalog,
    lineage: &BTreeMap<String, NodeLineage>,
    artifacts: &Artifacts,
) -> Result<(), Diagnostic> {
    let fail = |path: &Path, error: &dyn std::fmt::Display| {
        Diagnostic::error(format!("cannot write `{}`: {error}", path.display()))
    };
    std::fs::create_dir_all(docs_dir).map_err(|error| fail(docs_dir, &error))?;
    for (name, contents) in FILES {
        let path = docs_dir.join(name);
        std::fs::write(&path, contents).map_err(|error| fail(&path, &error))?;
    }
    let data = site_data(session, manifest, ingested, catalog, lineage, artifacts);
    let text = serde_json::to_string(&data).map_err(|error| fail(docs_dir, &error))?;
    let path = docs_dir.join("data.js");
    std::fs::write(&path, format!("window.DVT_DATA = {text};\n")).map_err(|error| fail(&path, &error))?;
    // The SQL of every node is most of the bytes; it loads when a node is first
    // opened, so that a large project's first paint parses only the graph.
    let sql = sql_data(manifest);
    let text = serde_json::to_string(&sql).map_err(|error| fail(docs_dir, &error))?;
    let path = docs_dir.join("sql.js");
    std::fs::write(&path, format!("window.DVT_SQL = {text};\n")).map_err(|error| fail(&path, &error))
}

/// The artifacts of earlier commands that the site shows, each when present:
/// the last run's `run_results.json` (statuses and the timeline) and the last
/// ingest's `ingest_results.json` (lag and freshness of the fed sources).
#[derive(Debug, Default)]
pub struct Artifacts {
    pub run_results: Option<Value>,
    pub ingest_results: Option<Value>,
}

impl Artifacts {
    /// Reads them from `target_dir`; one that is missing or unreadable is left out.
    pub fn read(target_dir: &Path) -> Self {
        let read = |name: &str| {
            std::fs::read_to_string(target_dir.join(name))
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        };
        Artifacts {
            run_results: read("run_results.json"),
            ingest_results: read("ingest_results.json"),
        }
    }
}

/// Raw and compiled SQL by unique id, as `[raw, compiled]`.
pub fn sql_data(manifest: &Manifest) -> Value {
    let entries: Map<String, Value> = manifest
        .nodes
        .values()
        .filter(|node| !node.raw_code.is_empty() || node.compiled_code.is_some())
        .map(|node| (node.unique_id.clone(), json!([node.raw_code, node.compiled_code])))
        .collect();
    Value::Object(entries)
}

/// Everything the site shows, as one JSON value.
pub fn site_data(
    session: &Session,
    manifest: &Manifest,
    ingested: &IngestSpecs,
    catalog: &Catalog,
    lineage: &BTreeMap<String, NodeLineage>,
    artifacts: &Artifacts,
) -> Value {
    let run_results = artifacts.run_results.as_ref();
    let mut ingests = artifacts
        .ingest_results
        .as_ref()
        .map(super::streaming::from_ingest_results)
        .unwrap_or_default();
    let mut statuses: BTreeMap<String, (String, String)> = BTreeMap::new();
    if let Some(results) = run_results.and_then(|results| results["results"].as_array()) {
        for result in results {
            if let Some(unique_id) = result["unique_id"].as_str() {
                let status = result["status"].as_str().unwrap_or_default().to_string();
                let message = result["message"].as_str().unwrap_or_default().to_string();
                statuses.insert(unique_id.to_string(), (status, message));
            }
        }
    }
    let status_of = |unique_id: &str| -> (Value, Value) {
        match statuses.get(unique_id) {
            Some((status, message)) => (json!(status), json!(message)),
            None => (Value::Null, Value::Null),
        }
    };

    let mut nodes = Vec::new();
    let mut tests = Vec::new();
    for node in manifest.nodes.values() {
        let (status, message) = status_of(&node.unique_id);
        if node.resource_type == ResourceType::Test {
            let attached: Vec<&String> = match &node.attached_node {
                Some(attached) => vec![attached],
                None => node.depends_on_nodes.iter().collect(),
            };
            tests.push(json!({
                "id": node.unique_id,
                "name": node.name,
                "attached": attached,
                "column": node.column_name,
                "kind": if node.test_metadata.is_some() { "generic" } else { "singular" },
                "status": status,
                "message": message,
            }));
            continue;
        }
        let traced = lineage.get(&node.unique_id);
        let relation = catalog.nodes.get(&node.unique_id);
        let mut entry = json!({
            "id": node.unique_id,
            "name": node.name,
            "type": node.resource_type.as_str(),
            "package": node.package_name,
            "path": node.original_file_path,
            "fqn": node.fqn,
            "materialized": if node.resource_type == ResourceType::Model { json!(node.materialized()) } else { Value::Null },
            "tags": node.tags(),
            "description": node.description,
            "relation": if node.is_ephemeral() { Value::Null } else { json!(node.relation.quoted()) },
            "columns": columns(&node.columns, relation, traced),
            "parents": node.depends_on_nodes,
            "owner": node.meta.get("owner").or_else(|| node.config.get("meta").and_then(|meta| meta.get("owner"))),
            "status": status,
            "message": message,
        });
        add_lineage_and_stats(&mut entry, relation, traced);
        nodes.push(entry);
    }
    // Kafka topics feed the source tables with an `ingest:` block, so the
    // lineage starts at the topic.
    let mut topics: BTreeMap<&str, Vec<&crate::manifest::SourceTable>> = BTreeMap::new();
    for source in manifest.sources.values() {
        for topic in ingested.get(&source.unique_id).iter().flat_map(|spec| &spec.topics) {
            topics.entry(topic).or_default().push(source);
        }
    }
    for (topic, fed) in &topics {
        let fed_ids: Vec<&str> = fed.iter().map(|source| source.unique_id.as_str()).collect();
        nodes.push(json!({
            "id": topic_id(topic),
            "name": topic,
            "type": "topic",
            "package": fed[0].package_name,
            "path": ingested.get(&fed[0].unique_id).map_or(&fed[0].original_file_path, |spec| &spec.file),
            "fqn": [topic],
            "tags": [],
            "description": format!("Kafka topic, loaded by `dvt ingest` into {}", fed_ids.join(", ")),
            "columns": [],
            "parents": [],
        }));
    }
    for source in manifest.sources.values() {
        let relation = catalog.sources.get(&source.unique_id);
        let parents: Vec<String> = ingested
            .get(&source.unique_id)
            .iter()
            .flat_map(|spec| &spec.topics)
            .map(|topic| topic_id(topic))
            .collect();
        let mut entry = json!({
            "id": source.unique_id,
            "name": format!("{}.{}", source.source_name, source.name),
            "type": "source",
            "package": source.package_name,
            "path": source.original_file_path,
            "fqn": source.fqn,
            "tags": source.tags,
            "description": if source.description.is_empty() { &source.source_description } else { &source.description },
            "relation": source.relation.quoted(),
            "columns": columns(&source.columns, relation, None),
            "parents": parents,
            "owner": source.meta.get("owner"),
            "loader": source.loader,
            "ingest": ingests.remove(&source.unique_id),
        });
        add_lineage_and_stats(&mut entry, relation, None);
        nodes.push(entry);
    }
    for exposure in manifest.exposures.values() {
        nodes.push(json!({
            "id": exposure.unique_id,
            "name": exposure.label.clone().unwrap_or_else(|| exposure.name.clone()),
            "type": "exposure",
            "package": exposure.package_name,
            "path": exposure.original_file_path,
            "fqn": exposure.fqn,
            "tags": exposure.tags,
            "description": exposure.description,
            "columns": [],
            "parents": exposure.depends_on_nodes,
            "owner": exposure.owner,
            "maturity": exposure.maturity,
            "url": exposure.url,
            "exposure_type": exposure.exposure_type,
        }));
    }
    let lineage_json: Map<String, Value> = lineage
        .iter()
        .filter(|(_, traced)| !traced.lineage.columns.is_empty())
        .map(|(unique_id, traced)| {
            let columns: Map<String, Value> = traced
                .lineage
                .columns
                .iter()
                .map(|column| {
                    let sources: Vec<Value> = column
                        .sources
                        .iter()
                        .map(|source| json!([source.relation, source.column]))
                        .collect();
                    (column.name.clone(), json!({ "kind": column.kind, "sources": sources }))
                })
                .collect();
            (unique_id.clone(), Value::Object(columns))
        })
        .collect();
    json!({
        "project": manifest.project_name,
        "target": session.target.name,
        "generated_at": super::catalog::now(),
        "has_catalog": !catalog.nodes.is_empty() || !catalog.sources.is_empty(),
        "has_run_results": run_results.is_some(),
        "timeline": run_results.map_or(Value::Null, super::timeline::from_run_results),
        "nodes": nodes,
        "tests": tests,
        "lineage": lineage_json,
    })
}

/// The lineage node of a Kafka topic.
fn topic_id(topic: &str) -> String {
    format!("topic.{topic}")
}

fn add_lineage_and_stats(entry: &mut Value, relation: Option<&CatalogRelation>, traced: Option<&NodeLineage>) {
    let Some(object) = entry.as_object_mut() else { return };
    if let Some(relation) = relation {
        object.insert(
            "stats".into(),
            json!({ "type": relation.relation_type, "rows": relation.row_count, "bytes": relation.bytes, "owner": relation.owner }),
        );
    }
    if let Some(traced) = traced {
        let mut notes: Vec<&String> = traced.lineage.notes.iter().collect();
        if let Some(error) = &traced.error {
            notes.insert(0, error);
        }
        if !notes.is_empty() {
            object.insert("lineage_notes".into(), json!(notes));
        }
    }
}

/// A node's columns: the warehouse's order and types, the YAML's
/// descriptions, and the traced columns when the warehouse has none.
fn columns(
    declared: &BTreeMap<String, Column>,
    relation: Option<&CatalogRelation>,
    traced: Option<&NodeLineage>,
) -> Vec<Value> {
    let mut names: Vec<String> = Vec::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    if let Some(relation) = relation {
        for column in &relation.columns {
            names.push(column.name.clone());
            types.insert(column.name.clone(), column.data_type.clone());
        }
    } else if let Some(traced) = traced {
        names.extend(traced.lineage.columns.iter().map(|column| column.name.clone()));
    }
    let mut seen: BTreeSet<String> = names.iter().cloned().collect();
    for name in declared.keys() {
        let key = name.to_lowercase();
        if seen.insert(key.clone()) {
            names.push(key);
        }
    }
    let declared_by_key: BTreeMap<String, &Column> = declared
        .values()
        .map(|column| (column.name.to_lowercase(), column))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let declared = declared_by_key.get(&name);
            json!({
                "name": name,
                "type": types.get(&name).cloned().or_else(|| declared.and_then(|column| column.data_type.clone())),
                "description": declared.map(|column| column.description.as_str()).unwrap_or_default(),
            })
        })
        .collect()
}
