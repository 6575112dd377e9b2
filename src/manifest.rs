//! The manifest: every node of the project after rendering, with its resolved
//! config, relation, dependencies and (after compile) compiled SQL.
//!
//! Field names follow dbt's manifest (v12) so that tools reading dbt manifests can
//! read ours. Everything is kept in BTree maps so the same project always
//! serialises to byte-identical JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    Model,
    Seed,
    Test,
    Analysis,
    Source,
    Exposure,
    /// A model's export to the lake, run after the model and its tests.
    Export,
    /// A dbt unit test of one model, its definition in [`Manifest::unit_tests`].
    UnitTest,
    /// An SCD type 2 history table (`dvt snapshot`, [`crate::snapshot`]).
    Snapshot,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Test => "test",
            ResourceType::Analysis => "analysis",
            ResourceType::Source => "source",
            ResourceType::Exposure => "exposure",
            ResourceType::Export => "export",
            ResourceType::UnitTest => "unit_test",
            ResourceType::Snapshot => "snapshot",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "model" => ResourceType::Model,
            "seed" => ResourceType::Seed,
            "test" => ResourceType::Test,
            "analysis" => ResourceType::Analysis,
            "source" => ResourceType::Source,
            "exposure" => ResourceType::Exposure,
            "export" => ResourceType::Export,
            "unit_test" => ResourceType::UnitTest,
            "snapshot" => ResourceType::Snapshot,
            _ => return None,
        })
    }
}

/// A relation in the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    pub database: String,
    pub schema: String,
    pub identifier: String,
}

impl Relation {
    /// `"schema"."identifier"`, each part quoted with embedded quotes doubled.
    pub fn quoted(&self) -> String {
        format!(
            "{}.{}",
            quote_identifier(&self.schema),
            quote_identifier(&self.identifier)
        )
    }
}

impl std::fmt::Display for Relation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.quoted())
    }
}

pub fn quote_identifier(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[derive(Debug, Clone, Default)]
pub struct Column {
    pub name: String,
    pub description: String,
    pub data_type: Option<String>,
    pub meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub quote: Option<bool>,
    /// Column-level `constraints`, in dbt's manifest shape (`crate::contract::constraints`).
    pub constraints: Vec<Value>,
    /// The column's place in its YAML `columns:` list, for contract DDL.
    pub position: usize,
}

/// A `ref()` call as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
    /// `v=` or `version=`, as dbt formats it (`2`).
    pub version: Option<String>,
}

/// Where a versioned model's node sits among its model's versions.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// `v` as written: a number or a string.
    pub version: Value,
    pub latest_version: Value,
    /// As dbt writes it: `2020-01-01T00:00:00+00:00`.
    pub deprecation_date: Option<String>,
}

/// The generic test a test node instantiates.
#[derive(Debug, Clone)]
pub struct TestMetadata {
    pub name: String,
    pub namespace: Option<String>,
    pub kwargs: Map<String, Value>,
}

/// A model, seed, test or analysis.
#[derive(Debug, Clone)]
pub struct Node {
    pub unique_id: String,
    pub resource_type: ResourceType,
    pub package_name: String,
    pub name: String,
    /// Path below the resource root, such as `staging/stg_customer.sql`.
    pub path: String,
    pub original_file_path: String,
    /// The folder of the package the node is from, relative to the project
    /// with a trailing slash (`dbt_packages/dbt_utils/`), or empty for the
    /// root project: the manifest and `target/compiled/` give a package's
    /// file paths relative to the package, as dbt does.
    pub package_dir: String,
    pub patch_path: Option<String>,
    pub fqn: Vec<String>,
    pub raw_code: String,
    pub compiled_code: Option<String>,
    pub checksum: String,
    pub config: Map<String, Value>,
    pub description: String,
    pub columns: BTreeMap<String, Column>,
    pub meta: Map<String, Value>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub depends_on_nodes: BTreeSet<String>,
    pub depends_on_macros: BTreeSet<String>,
    pub relation: Relation,
    pub test_metadata: Option<TestMetadata>,
    pub column_name: Option<String>,
    pub attached_node: Option<String>,
    /// For a version of a versioned model (`render::versions`).
    pub version: Option<ModelVersion>,
    /// Model-level `constraints`, in dbt's manifest shape (`crate::contract::constraints`).
    pub constraints: Vec<Value>,
    /// A model's MetricFlow `time_spine:`, or `None`.
    pub time_spine: Option<Value>,
}

impl Node {
    /// A model's access (`public`, `protected`, `private`): `protected`
    /// unless configured, as in dbt.
    pub fn access(&self) -> &str {
        self.config.get("access").and_then(Value::as_str).unwrap_or("protected")
    }

    /// The config as dbt writes it into the manifest: with the defaults dbt
    /// fills in that a template reading `graph` may compare with
    /// (`on_schema_change`, a model's `access`, `group`).
    fn config_with_defaults(&self) -> Map<String, Value> {
        let mut config = self.config.clone();
        if matches!(
            self.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            config
                .entry("on_schema_change")
                .or_insert_with(|| Value::from("ignore"));
        }
        if self.resource_type == ResourceType::Model {
            config.entry("access").or_insert_with(|| Value::from("protected"));
        }
        config.entry("group").or_insert(Value::Null);
        config
    }

    pub fn materialized(&self) -> &str {
        self.config
            .get("materialized")
            .and_then(Value::as_str)
            .unwrap_or(match self.resource_type {
                ResourceType::Seed => "seed",
                ResourceType::Test => "test",
                ResourceType::Export => "export",
                ResourceType::UnitTest => "unit",
                ResourceType::Snapshot => "snapshot",
                _ => "view",
            })
    }

    pub fn is_ephemeral(&self) -> bool {
        self.materialized() == "ephemeral"
    }

    pub fn tags(&self) -> Vec<String> {
        string_list(self.config.get("tags"))
    }

    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config.get(key).and_then(Value::as_str)
    }

    /// Whether the node builds a relation that others can select from.
    pub fn is_relational(&self) -> bool {
        matches!(
            self.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) && !self.is_ephemeral()
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Where `dvt compile` writes this node's SQL, relative to the target path.
    pub fn compiled_path(&self) -> String {
        let file = self.package_file_path(&self.original_file_path);
        match self.resource_type {
            // As dbt does: under a folder named after the schema file.
            ResourceType::Test if self.test_metadata.is_some() => {
                format!("compiled/{}/{file}/{}.sql", self.package_name, self.name)
            }
            // As dbt does: under the schema file, then the test's pseudo path.
            ResourceType::UnitTest => format!("compiled/{}/{file}/{}", self.package_name, self.path),
            _ => format!("compiled/{}/{file}", self.package_name),
        }
    }

    /// A project-relative `path` of this node's package, relative to the package.
    pub fn package_file_path<'a>(&self, path: &'a str) -> &'a str {
        path.strip_prefix(self.package_dir.as_str()).unwrap_or(path)
    }
}

impl serde::Serialize for Column {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("description", &self.description)?;
        map.serialize_entry("data_type", &self.data_type)?;
        map.serialize_entry("meta", &self.meta)?;
        map.serialize_entry("tags", &self.tags)?;
        map.serialize_entry("quote", &self.quote)?;
        map.serialize_entry("constraints", &self.constraints)?;
        map.end()
    }
}

/// Nodes serialise straight to the writer, field by field in dbt's names: a
/// 10,000-model manifest never exists as a tree of JSON values.
impl serde::Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(serde::Serialize)]
        struct Checksum<'a> {
            name: &'static str,
            checksum: &'a str,
        }
        #[derive(serde::Serialize)]
        struct Docs {
            show: bool,
            node_color: Option<String>,
        }
        #[derive(serde::Serialize)]
        struct RefEntry<'a> {
            name: &'a str,
            package: &'a Option<String>,
            version: Option<Value>,
        }
        #[derive(serde::Serialize)]
        struct DependsOn<'a> {
            macros: &'a BTreeSet<String>,
            nodes: &'a BTreeSet<String>,
        }
        #[derive(serde::Serialize)]
        struct Metadata<'a> {
            name: &'a str,
            kwargs: &'a Map<String, Value>,
            namespace: &'a Option<String>,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("database", &self.relation.database)?;
        map.serialize_entry("schema", &self.relation.schema)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("resource_type", self.resource_type.as_str())?;
        map.serialize_entry("package_name", &self.package_name)?;
        map.serialize_entry("path", &self.path)?;
        map.serialize_entry("original_file_path", self.package_file_path(&self.original_file_path))?;
        map.serialize_entry("unique_id", &self.unique_id)?;
        map.serialize_entry("fqn", &self.fqn)?;
        map.serialize_entry("alias", &self.relation.identifier)?;
        map.serialize_entry(
            "checksum",
            &Checksum {
                name: "sha256",
                checksum: &self.checksum,
            },
        )?;
        map.serialize_entry("config", &self.config_with_defaults())?;
        map.serialize_entry("tags", &self.tags())?;
        map.serialize_entry("description", &self.description)?;
        map.serialize_entry("columns", &self.columns)?;
        map.serialize_entry("meta", &self.meta)?;
        map.serialize_entry(
            "docs",
            &Docs {
                show: true,
                node_color: None,
            },
        )?;
        let patch_path = self.patch_path.as_ref().map(|patch| match patch.split_once("://") {
            Some((package, file)) => format!("{package}://{}", self.package_file_path(file)),
            None => patch.clone(),
        });
        map.serialize_entry("patch_path", &patch_path)?;
        map.serialize_entry("language", "sql")?;
        map.serialize_entry("raw_code", &self.raw_code)?;
        if self.resource_type != ResourceType::Seed {
            let refs: Vec<RefEntry> = self
                .refs
                .iter()
                .map(|call| RefEntry {
                    name: &call.name,
                    package: &call.package,
                    // dbt keeps `v=2` a number.
                    version: call.version.as_ref().map(|version| match version.parse::<i64>() {
                        Ok(number) => json!(number),
                        Err(_) => json!(version),
                    }),
                })
                .collect();
            map.serialize_entry("refs", &refs)?;
            let sources: Vec<[&str; 2]> = self
                .sources
                .iter()
                .map(|(source, table)| [source.as_str(), table.as_str()])
                .collect();
            map.serialize_entry("sources", &sources)?;
        }
        map.serialize_entry(
            "depends_on",
            &DependsOn {
                macros: &self.depends_on_macros,
                nodes: &self.depends_on_nodes,
            },
        )?;
        if self.resource_type != ResourceType::Seed {
            map.serialize_entry(
                "compiled_path",
                &self.compiled_code.as_ref().map(|_| self.compiled_path()),
            )?;
            map.serialize_entry("compiled", &self.compiled_code.is_some())?;
            map.serialize_entry("compiled_code", &self.compiled_code)?;
        }
        map.serialize_entry("relation_name", &self.is_relational().then(|| self.relation.quoted()))?;
        // dbt's node-level `group`, and a model's `access` and `time_spine`,
        // which packages reading `graph` filter on (dbt-project-evaluator's
        // `rejectattr("time_spine", "none")`, its public-model checks).
        map.serialize_entry("group", &self.config.get("group").unwrap_or(&Value::Null))?;
        if self.resource_type == ResourceType::Model {
            map.serialize_entry("access", &self.access())?;
            map.serialize_entry("time_spine", &self.time_spine)?;
            let version = self.version.as_ref();
            map.serialize_entry("version", &version.map(|version| &version.version))?;
            map.serialize_entry("latest_version", &version.map(|version| &version.latest_version))?;
            map.serialize_entry(
                "deprecation_date",
                &version.and_then(|version| version.deprecation_date.as_ref()),
            )?;
            let enforced = crate::contract::is_enforced(self);
            map.serialize_entry(
                "contract",
                &json!({"enforced": enforced, "alias_types": true, "checksum": crate::contract::checksum(self)}),
            )?;
            map.serialize_entry("constraints", &self.constraints)?;
        }
        if let Some(metadata) = &self.test_metadata {
            map.serialize_entry(
                "test_metadata",
                &Metadata {
                    name: &metadata.name,
                    kwargs: &metadata.kwargs,
                    namespace: &metadata.namespace,
                },
            )?;
            map.serialize_entry("column_name", &self.column_name)?;
            map.serialize_entry("attached_node", &self.attached_node)?;
        }
        map.end()
    }
}

/// A table of a declared source.
#[derive(Debug, Clone)]
pub struct SourceTable {
    pub unique_id: String,
    pub package_name: String,
    pub source_name: String,
    pub name: String,
    pub original_file_path: String,
    pub fqn: Vec<String>,
    pub relation: Relation,
    pub description: String,
    pub source_description: String,
    pub loader: String,
    pub loaded_at_field: Option<String>,
    /// dbt 1.10's `loaded_at_query`: SQL returning the time of the last load.
    pub loaded_at_query: Option<String>,
    /// The resolved criteria (`crate::freshness::criteria`), or `null`.
    pub freshness: Value,
    pub columns: BTreeMap<String, Column>,
    pub meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub config: Map<String, Value>,
    pub external: Value,
    /// How the table is fed from Kafka or the lake: its `ingest:` block as
    /// declared, which `ingest` reads after rendering. The manifest shows it
    /// in `meta.ingest`.
    pub ingest: Option<IngestBlock>,
}

/// A source table's `ingest:` block, with its Jinja rendered, and where it
/// is declared.
#[derive(Debug, Clone)]
pub struct IngestBlock {
    pub declared: Value,
    /// The schema file declaring the table.
    pub file: String,
    /// The line of the table's `name:` in it.
    pub table_line: usize,
}

impl SourceTable {
    pub fn to_json(&self) -> Value {
        let columns: Map<String, Value> = self
            .columns
            .iter()
            .map(|(name, column)| (name.clone(), serde_json::to_value(column).unwrap_or(Value::Null)))
            .collect();
        json!({
            "database": self.relation.database,
            "schema": self.relation.schema,
            "name": self.name,
            "resource_type": "source",
            "package_name": self.package_name,
            "path": self.original_file_path,
            "original_file_path": self.original_file_path,
            "unique_id": self.unique_id,
            "fqn": self.fqn,
            "source_name": self.source_name,
            "source_description": self.source_description,
            "loader": self.loader,
            "identifier": self.relation.identifier,
            "quoting": {},
            "loaded_at_field": self.loaded_at_field,
            "loaded_at_query": self.loaded_at_query,
            "freshness": self.freshness,
            "external": self.external,
            "description": self.description,
            "columns": columns,
            "meta": self.meta,
            "source_meta": {},
            "tags": self.tags,
            "config": self.config,
            "relation_name": self.relation.quoted(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Exposure {
    pub unique_id: String,
    pub package_name: String,
    pub name: String,
    pub label: Option<String>,
    pub exposure_type: String,
    pub maturity: Option<String>,
    pub url: Option<String>,
    pub description: String,
    pub owner: Value,
    pub original_file_path: String,
    pub fqn: Vec<String>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub depends_on_nodes: BTreeSet<String>,
    pub tags: Vec<String>,
    pub meta: Map<String, Value>,
    pub config: Map<String, Value>,
}

impl Exposure {
    pub fn to_json(&self) -> Value {
        let refs: Vec<Value> = self
            .refs
            .iter()
            .map(|call| json!({"name": call.name, "package": call.package, "version": null}))
            .collect();
        let sources: Vec<Value> = self
            .sources
            .iter()
            .map(|(source, table)| json!([source, table]))
            .collect();
        json!({
            "name": self.name,
            "resource_type": "exposure",
            "package_name": self.package_name,
            "path": self.original_file_path,
            "original_file_path": self.original_file_path,
            "unique_id": self.unique_id,
            "fqn": self.fqn,
            "type": self.exposure_type,
            "owner": self.owner,
            "description": self.description,
            "label": self.label,
            "maturity": self.maturity,
            "meta": self.meta,
            "tags": self.tags,
            "config": self.config,
            "url": self.url,
            "depends_on": {"macros": [], "nodes": self.depends_on_nodes},
            "refs": refs,
            "sources": sources,
            "metrics": [],
        })
    }
}

#[derive(Debug, Clone)]
pub struct Macro {
    pub unique_id: String,
    pub package_name: String,
    pub name: String,
    pub original_file_path: String,
    pub macro_sql: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Doc {
    pub unique_id: String,
    pub package_name: String,
    pub name: String,
    pub original_file_path: String,
    pub block_contents: String,
}

/// Every resource of a project, keyed by unique id.
#[derive(Debug, Default, Clone)]
pub struct Manifest {
    pub project_name: String,
    pub adapter_type: String,
    pub nodes: BTreeMap<String, Node>,
    pub sources: BTreeMap<String, SourceTable>,
    pub exposures: BTreeMap<String, Exposure>,
    pub macros: BTreeMap<String, Macro>,
    pub docs: BTreeMap<String, Doc>,
    /// Where each installed package is, relative to the project, with a
    /// trailing slash (`dbt_packages/dbt_utils/`): the manifest gives a
    /// package's file paths relative to the package, as dbt does.
    pub package_dirs: BTreeMap<String, String>,
    /// What each unit test node (by unique id) gives and expects.
    pub unit_tests: BTreeMap<String, crate::unit_test::Definition>,
}

impl Manifest {
    /// Parents of every resource, from `depends_on`.
    pub fn parent_map(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, node) in &self.nodes {
            parents.insert(id.clone(), node.depends_on_nodes.clone());
        }
        for id in self.sources.keys() {
            parents.insert(id.clone(), BTreeSet::new());
        }
        for (id, exposure) in &self.exposures {
            parents.insert(id.clone(), exposure.depends_on_nodes.clone());
        }
        parents
    }

    pub fn child_map(&self) -> BTreeMap<String, BTreeSet<String>> {
        Self::children_of(&self.parent_map())
    }

    fn children_of(parents: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
        let mut children: BTreeMap<String, BTreeSet<String>> =
            parents.keys().map(|id| (id.clone(), BTreeSet::new())).collect();
        for (id, node_parents) in parents {
            for parent in node_parents {
                children.entry(parent.clone()).or_default().insert(id.clone());
            }
        }
        children
    }

    /// The folder of `package` to strip from its file paths; empty for the root project.
    fn package_dir(&self, package: &str) -> &str {
        self.package_dirs.get(package).map_or("", String::as_str)
    }

    /// `path` relative to its package's folder.
    fn relative<'a>(&self, package: &str, path: &'a str) -> &'a str {
        path.strip_prefix(self.package_dir(package)).unwrap_or(path)
    }

    /// Writes the manifest as JSON, streaming node by node.
    pub fn write_json(&self, writer: impl std::io::Write) -> serde_json::Result<()> {
        use serde::ser::{SerializeMap, Serializer};
        let Value::Object(fields) = self.to_json_without_nodes() else {
            return Ok(());
        };
        let parents = self.parent_map();
        let children = Self::children_of(&parents);
        let mut writer = std::io::BufWriter::with_capacity(1 << 20, writer);
        let mut serializer = serde_json::Serializer::new(&mut writer);
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (key, value) in &fields {
            if key == "nodes" {
                map.serialize_entry(key, &NodesWithoutUnitTests(&self.nodes))?;
            } else if key == "parent_map" {
                map.serialize_entry(key, &parents)?;
            } else if key == "child_map" {
                map.serialize_entry(key, &children)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()?;
        std::io::Write::flush(&mut writer).map_err(serde_json::Error::io)
    }

    pub fn to_json(&self) -> Value {
        let mut json = self.to_json_without_nodes();
        if let Some(object) = json.as_object_mut() {
            let parents = self.parent_map();
            let as_lists = |map: &BTreeMap<String, BTreeSet<String>>| -> Value { json!(map) };
            object.insert("child_map".into(), as_lists(&Self::children_of(&parents)));
            object.insert("parent_map".into(), as_lists(&parents));
            let nodes: Map<String, Value> = self
                .nodes
                .iter()
                .filter(|(_, node)| node.resource_type != ResourceType::UnitTest)
                .map(|(id, node)| (id.clone(), node.to_json()))
                .collect();
            object.insert("nodes".into(), Value::Object(nodes));
        }
        json
    }

    /// Everything but the nodes, with `nodes` as an empty placeholder in its place.
    fn to_json_without_nodes(&self) -> Value {
        let sources: Map<String, Value> = self
            .sources
            .iter()
            .map(|(id, source)| {
                let mut json = source.to_json();
                let path = self.relative(&source.package_name, &source.original_file_path);
                json["path"] = json!(path);
                json["original_file_path"] = json!(path);
                (id.clone(), json)
            })
            .collect();
        let exposures: Map<String, Value> = self
            .exposures
            .iter()
            .map(|(id, exposure)| {
                let mut json = exposure.to_json();
                let path = self.relative(&exposure.package_name, &exposure.original_file_path);
                json["path"] = json!(path);
                json["original_file_path"] = json!(path);
                (id.clone(), json)
            })
            .collect();
        let macros: Map<String, Value> = self
            .macros
            .iter()
            .map(|(id, item)| {
                (
                    id.clone(),
                    json!({
                        "name": item.name,
                        "resource_type": "macro",
                        "package_name": item.package_name,
                        "path": self.relative(&item.package_name, &item.original_file_path),
                        "original_file_path": self.relative(&item.package_name, &item.original_file_path),
                        "unique_id": item.unique_id,
                        "macro_sql": item.macro_sql,
                        "depends_on": {"macros": []},
                        "description": item.description,
                        "meta": {},
                        "docs": {"show": true, "node_color": null},
                        "patch_path": null,
                        "arguments": [],
                    }),
                )
            })
            .collect();
        let docs: Map<String, Value> = self
            .docs
            .iter()
            .map(|(id, doc)| {
                (
                    id.clone(),
                    json!({
                        "name": doc.name,
                        "resource_type": "doc",
                        "package_name": doc.package_name,
                        "path": self.relative(&doc.package_name, &doc.original_file_path),
                        "original_file_path": self.relative(&doc.package_name, &doc.original_file_path),
                        "unique_id": doc.unique_id,
                        "block_contents": doc.block_contents,
                    }),
                )
            })
            .collect();
        json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                "dbt_version": concat!("dvt-", env!("CARGO_PKG_VERSION")),
                "project_name": self.project_name,
                "adapter_type": self.adapter_type,
                "env": {},
            },
            "nodes": {},
            "sources": sources,
            "macros": macros,
            "docs": docs,
            "exposures": exposures,
            "metrics": {},
            "groups": {},
            "selectors": {},
            "disabled": {},
            "parent_map": {},
            "child_map": {},
            "group_map": {},
            "saved_queries": {},
            "semantic_models": {},
            "unit_tests": crate::unit_test::manifest_json(self),
        })
    }
}

/// The manifest's `nodes`: unit tests are listed under `unit_tests`, as in dbt.
struct NodesWithoutUnitTests<'a>(&'a BTreeMap<String, Node>);

impl serde::Serialize for NodesWithoutUnitTests<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .iter()
                .filter(|(_, node)| node.resource_type != ResourceType::UnitTest),
        )
    }
}

pub fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}
