//! The warehouse catalog: for every relation of the project, its columns and
//! types, its row count and its size, read from PostgreSQL's catalog, and
//! written as dbt's `catalog.json`.
//!
//! This module only reads. A relation that does not exist in the warehouse
//! is simply absent.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifest, Relation};
use crate::profile::Target;
use crate::settings::Session;

/// One column as the warehouse describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    pub name: String,
    pub data_type: String,
    pub index: usize,
    pub comment: Option<String>,
}

/// One relation as the warehouse describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogRelation {
    pub database: String,
    pub schema: String,
    pub name: String,
    /// `BASE TABLE`, `VIEW` or `MATERIALIZED VIEW`.
    pub relation_type: String,
    pub owner: String,
    pub comment: Option<String>,
    pub columns: Vec<CatalogColumn>,
    /// `None` when unknown, for example for a view or a table never analyzed.
    pub row_count: Option<i64>,
    pub bytes: Option<i64>,
}

/// Relations by the unique id of the node or source they belong to.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub nodes: BTreeMap<String, CatalogRelation>,
    pub sources: BTreeMap<String, CatalogRelation>,
}

/// The current time as artifacts write it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Above this many tables whose statistics are missing, row counts are left
/// unknown rather than counted, so that a large project does not scan everything.
const MAX_COUNTED_TABLES: usize = 200;

/// Connects to the target and reads the catalog of every relation the manifest names.
pub fn read(target: &Target, manifest: &Manifest) -> Result<Catalog, Diagnostic> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Diagnostic::error(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(read_async(target, manifest))
}

async fn read_async(target: &Target, manifest: &Manifest) -> Result<Catalog, Diagnostic> {
    let adapter = crate::adapter::connect(target, 1).await?;
    let result = query_catalog(adapter.as_ref(), manifest).await;
    adapter.close().await;
    result
}

async fn query_catalog(adapter: &dyn crate::adapter::Adapter, manifest: &Manifest) -> Result<Catalog, Diagnostic> {
    let database_error = |error: crate::adapter::AdapterError| Diagnostic::error(error.to_string());
    let relations: Vec<(&str, &Relation, bool)> = manifest
        .nodes
        .values()
        .filter(|node| node.is_relational() && !node.is_ephemeral())
        .map(|node| (node.unique_id.as_str(), &node.relation, false))
        .chain(
            manifest
                .sources
                .values()
                .map(|source| (source.unique_id.as_str(), &source.relation, true)),
        )
        .collect();
    let schemas: BTreeSet<&str> = relations
        .iter()
        .map(|(_, relation, _)| relation.schema.as_str())
        .collect();
    if schemas.is_empty() {
        return Ok(Catalog::default());
    }
    let schemas: Vec<&str> = schemas.into_iter().collect();
    let rows = adapter.catalog(&schemas).await.map_err(database_error)?;
    let mut connection = adapter.connection().await.map_err(database_error)?;

    let mut found: BTreeMap<(String, String), CatalogRelation> = BTreeMap::new();
    for row in rows.rows {
        let text = |index: usize| row.get(index).cloned().flatten().unwrap_or_default();
        let number = |index: usize| text(index).parse::<i64>().ok();
        let key = (text(0), text(1));
        let relation = found.entry(key).or_insert_with(|| CatalogRelation {
            database: String::new(),
            schema: text(0),
            name: text(1),
            relation_type: match text(2).as_str() {
                "v" => "VIEW".into(),
                "m" => "MATERIALIZED VIEW".into(),
                _ => "BASE TABLE".into(),
            },
            owner: text(3),
            comment: row.get(4).cloned().flatten(),
            columns: Vec::new(),
            row_count: number(5).filter(|count| *count >= 0),
            bytes: number(6),
        });
        relation.columns.push(CatalogColumn {
            name: text(7),
            data_type: text(8),
            index: number(9)
                .and_then(|index| usize::try_from(index).ok())
                .unwrap_or_default(),
            comment: row.get(10).cloned().flatten(),
        });
    }

    // A table that was never analyzed has no estimate; count the small number of them.
    let uncounted: Vec<(String, String)> = found
        .iter()
        .filter(|(_, relation)| relation.row_count.is_none() && relation.relation_type == "BASE TABLE")
        .map(|(key, _)| key.clone())
        .collect();
    if uncounted.len() <= MAX_COUNTED_TABLES {
        for key in uncounted {
            let relation = Relation {
                database: String::new(),
                schema: key.0.clone(),
                identifier: key.1.clone(),
            };
            let sql = include_str!("../../templates/docs/row_count.sql").replace("{{ relation }}", &relation.quoted());
            if let Ok(result) = connection.query(&sql, Some(1)).await {
                let count = result.rows.first().and_then(|row| row.first().cloned().flatten());
                if let Some(relation) = found.get_mut(&key) {
                    relation.row_count = count.and_then(|count| count.parse().ok());
                }
            }
        }
    }

    let mut catalog = Catalog::default();
    for (unique_id, relation, is_source) in relations {
        let Some(entry) = found.get(&(relation.schema.clone(), relation.identifier.clone())) else {
            continue;
        };
        let mut entry = entry.clone();
        entry.database = relation.database.clone();
        let map = if is_source {
            &mut catalog.sources
        } else {
            &mut catalog.nodes
        };
        map.insert(unique_id.to_string(), entry);
    }
    Ok(catalog)
}

impl CatalogRelation {
    /// dbt's catalog entry for the relation.
    fn to_json(&self, unique_id: &str) -> Value {
        let mut columns = Map::new();
        for column in &self.columns {
            columns.insert(
                column.name.clone(),
                json!({ "type": column.data_type, "index": column.index, "name": column.name, "comment": column.comment }),
            );
        }
        let stat = |id: &str, label: &str, value: Value, include: bool, description: &str| json!({ "id": id, "label": label, "value": value, "include": include, "description": description });
        let mut stats = Map::new();
        let has_stats = self.row_count.is_some() || self.bytes.is_some();
        stats.insert(
            "has_stats".into(),
            stat(
                "has_stats",
                "Has Stats?",
                json!(has_stats),
                false,
                "Indicates whether there are statistics for this table",
            ),
        );
        if let Some(rows) = self.row_count {
            stats.insert(
                "num_rows".into(),
                stat(
                    "num_rows",
                    "# Rows",
                    json!(rows),
                    true,
                    "Approximate count of rows in this table",
                ),
            );
        }
        if let Some(bytes) = self.bytes {
            stats.insert(
                "bytes".into(),
                stat(
                    "bytes",
                    "Approximate Size",
                    json!(bytes),
                    true,
                    "Total size of the table, with its indexes and TOAST",
                ),
            );
        }
        json!({
            "metadata": {
                "type": self.relation_type,
                "schema": self.schema,
                "name": self.name,
                "database": self.database,
                "comment": self.comment,
                "owner": self.owner,
            },
            "columns": columns,
            "stats": stats,
            "unique_id": unique_id,
        })
    }
}

impl Catalog {
    /// dbt's `catalog.json`.
    pub fn to_json(&self, session: &Session) -> Value {
        let entries = |relations: &BTreeMap<String, CatalogRelation>| -> Map<String, Value> {
            relations
                .iter()
                .map(|(unique_id, relation)| (unique_id.clone(), relation.to_json(unique_id)))
                .collect()
        };
        json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
                "dbt_version": env!("CARGO_PKG_VERSION"),
                "generated_at": now(),
                "invocation_id": session.options.invocation_id,
                "env": {},
            },
            "nodes": entries(&self.nodes),
            "sources": entries(&self.sources),
            "errors": null,
        })
    }
}
