//! The node builder: a file becomes a draft node, its config is merged from
//! the project tree, the YAML and `config()` (see [`super::config`]), its
//! relation is named, refs and sources are resolved, and generic tests
//! become test nodes named as dbt names them ([`super::test_name`]).

use std::collections::{BTreeMap, BTreeSet};

use minijinja::value::Value;
use rayon::prelude::*;
use serde_json::{json, Map};

use super::compile::is_relation_expression;
use super::jinja::{Jinja, Mode, Resolved, Resolver, Scope};
use super::schema::{Patch, Properties, TestSpec};
use super::test_name::{test_hash, test_names};
use super::{config, jinja, schema};
use crate::diagnostic::{did_you_mean, Diagnostic, Location};
use crate::manifest::{Exposure, Manifest, Node, RefCall, Relation, ResourceType, SourceTable, TestMetadata};
use crate::profile::Target;
use crate::project::{Project, SourceFile};

/// A node before rendering.
pub(super) struct Draft<'a> {
    /// The project the file belongs to: the root project or a package.
    pub(super) package: String,
    pub(super) file: &'a SourceFile,
    pub(super) resource_type: ResourceType,
    pub(super) name: String,
    pub(super) fqn: Vec<String>,
    /// Project tree config merged with YAML config.
    pub(super) base_config: Map<String, serde_json::Value>,
    pub(super) patch: Option<&'a Patch>,
}

impl Draft<'_> {
    /// `v2` for a model version's draft (`super::versions`).
    pub(super) fn version_suffix(&self) -> Option<String> {
        let version = self.patch?.version.as_ref()?;
        Some(format!("v{}", super::versions::label(&version.version)))
    }
}

pub(super) struct Builder<'a> {
    pub(super) project: &'a Project,
    pub(super) target: &'a Target,
    pub(super) jinja: &'a Jinja,
    pub(super) properties: &'a Properties,
}

/// Finds what a `ref()` or `source()` names.
pub(super) struct RefLookup {
    pub(super) by_name: BTreeMap<String, (String, bool)>,
    pub(super) sources: BTreeMap<(String, String), String>,
    /// Packages' sources that the root project does not declare too, by
    /// package, source and table: a package's node finds its own first.
    pub(super) package_sources: BTreeMap<(String, String, String), String>,
}

impl RefLookup {
    pub(super) fn new(manifest: &Manifest) -> Self {
        let mut by_name = BTreeMap::new();
        for node in manifest.nodes.values() {
            if matches!(
                node.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) {
                let entry = (node.unique_id.clone(), node.is_ephemeral());
                match &node.version {
                    // A versioned model is found by `name.v<v>`, and by its
                    // name alone as its latest version, as dbt resolves it.
                    Some(version) => {
                        let label = super::versions::label(&version.version);
                        if version.version == version.latest_version {
                            by_name.insert(node.name.clone(), entry.clone());
                        }
                        by_name.insert(format!("{}.v{label}", node.name), entry);
                    }
                    None => {
                        by_name.insert(node.name.clone(), entry);
                    }
                }
            }
        }
        // dbt finds a source by its source and table names in any package,
        // the root project's first.
        let mut sources = BTreeMap::new();
        let mut package_sources = BTreeMap::new();
        for source in manifest.sources.values() {
            let key = (source.source_name.clone(), source.name.clone());
            if source.package_name == manifest.project_name || !sources.contains_key(&key) {
                sources.insert(key, source.unique_id.clone());
            }
        }
        for source in manifest.sources.values() {
            let key = (source.source_name.clone(), source.name.clone());
            let root_declares = sources
                .get(&key)
                .and_then(|id| manifest.sources.get(id))
                .is_some_and(|found| found.package_name == manifest.project_name);
            if source.package_name != manifest.project_name && !root_declares {
                package_sources.insert((source.package_name.clone(), key.0, key.1), source.unique_id.clone());
            }
        }
        RefLookup {
            by_name,
            sources,
            package_sources,
        }
    }

    pub(super) fn resolver(&self, manifest: &Manifest) -> Resolver {
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
        for (key, id) in &self.package_sources {
            if let Some(source_table) = manifest.sources.get(id) {
                resolver
                    .package_sources
                    .insert(key.clone(), source_table.relation.clone());
            }
        }
        resolver
    }
}

impl<'a> Builder<'a> {
    pub(super) fn draft(
        &self,
        file: &'a SourceFile,
        resource_type: ResourceType,
        tree: &serde_json::Value,
        patch: Option<&'a Patch>,
    ) -> Draft<'a> {
        self.draft_in(self.project, file, resource_type, &[tree], patch)
    }

    /// A draft of a file of `package` (the root project or an installed
    /// package). `trees` are the config trees that apply, later ones winning:
    /// a package's own `models:` tree, then the root project's.
    pub(super) fn draft_in(
        &self,
        package: &Project,
        file: &'a SourceFile,
        resource_type: ResourceType,
        trees: &[&serde_json::Value],
        patch: Option<&'a Patch>,
    ) -> Draft<'a> {
        let name = file.stem();
        let mut fqn = vec![package.name.clone()];
        // dbt files analyses under an `analysis` folder of their own.
        if resource_type == ResourceType::Analysis {
            fqn.push("analysis".to_string());
        }
        fqn.extend(file.folders());
        fqn.push(name.clone());
        let mut base_config = Map::new();
        for tree in trees {
            config::merge(&mut base_config, &config::from_tree(tree, &fqn));
        }
        if let Some(patch) = patch {
            config::merge(&mut base_config, &patch.config);
        }
        let mut name = name;
        super::versions::rename(&mut name, &mut fqn, patch);
        Draft {
            package: package.name.clone(),
            file,
            resource_type,
            name,
            fqn,
            base_config,
            patch,
        }
    }

    pub(super) fn parse(&self, draft: &Draft) -> Result<Scope, Diagnostic> {
        let mut scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
        scope.config_view = draft.base_config.clone();
        scope.package = (draft.package != self.project.name).then(|| draft.package.clone());
        let this = jinja::relation_value(Relation {
            database: self.target.database.clone(),
            schema: self.target.schema.clone(),
            identifier: draft.name.clone(),
        });
        let context = minijinja::context! { this => this, execute => false, model => minijinja::context! { name => draft.name.clone() } };
        let context = self.jinja.with_local_namespace(scope.package.as_deref(), context);
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

    pub(super) fn node(
        &self,
        draft: &Draft,
        unique_id: String,
        mut config: Map<String, serde_json::Value>,
        scope: Scope,
    ) -> Node {
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
        let mut relation = self.relation_for(draft.resource_type, &draft.name, &config, &draft.fqn, &draft.file.path);
        if let Some(version) = draft.patch.and_then(|patch| patch.version.as_ref()) {
            // dbt's default alias of a version, `<name>_v<v>`.
            if !config.contains_key("alias") && relation.identifier == draft.name {
                relation.identifier = super::versions::default_alias(&draft.name, version);
            }
        }
        let (description, columns, meta, patch_path) = match draft.patch {
            Some(patch) => (
                patch.description.clone(),
                patch.columns.clone(),
                patch.meta.clone(),
                Some(format!("{}://{}", draft.package, patch.file)),
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
        let path = match draft.resource_type {
            ResourceType::Analysis => format!("analysis/{path}"),
            _ => path,
        };
        let constraints = draft.patch.map(|patch| patch.constraints.clone()).unwrap_or_default();
        let mut refs = scope.refs;
        let mut sources = scope.sources;
        // A foreign key's `to:` is a dependency, as dbt parses it.
        let column_constraints = columns.values().flat_map(|column| column.constraints.iter());
        for target in crate::contract::constraints::targets(constraints.iter().chain(column_constraints)) {
            match target {
                crate::contract::constraints::Target::Ref(call) => refs.push(call),
                crate::contract::constraints::Target::Source(source, table) => sources.push((source, table)),
            }
        }
        refs.sort();
        refs.dedup();
        sources.sort();
        sources.dedup();
        Node {
            unique_id,
            resource_type: draft.resource_type,
            package_name: draft.package.clone(),
            name: draft.name.clone(),
            path,
            original_file_path: draft.file.path.clone(),
            package_dir: self.package_dir(&draft.package),
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
            version: draft.patch.and_then(|patch| patch.version.clone()),
            constraints,
            time_spine: draft.patch.and_then(|patch| patch.time_spine.clone()),
        }
    }

    pub(super) fn macro_id(&self, name: &str) -> Option<String> {
        if let Some((package, macro_name)) = name
            .split_once('.')
            .filter(|(package, _)| *package != super::namespace::INTERNAL)
        {
            return self
                .jinja
                .package_macros
                .get(package)
                .filter(|macros| macros.contains_key(macro_name))
                .map(|_| format!("macro.{package}.{macro_name}"));
        }
        let found = match name.strip_prefix("dbt.") {
            Some(name) => self.jinja.internal_macros.get(name),
            None => self.jinja.macros.get(name),
        };
        // dvt's built-ins stand for dbt's internal package, and are named as
        // dbt names them (`macro.dbt.test_unique`), which packages reading
        // `graph` look for (dbt-project-evaluator's primary-key checks).
        found.map(|definition| {
            let package = if definition.package == "dvt" {
                super::namespace::INTERNAL
            } else {
                definition.package.as_str()
            };
            format!("macro.{package}.{}", definition.name)
        })
    }

    /// Database, schema and identifier of a node, through `generate_*_name`
    /// (dbt's defaults unless the project overrides them).
    pub(super) fn relation_for(
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
    pub(super) fn generate(
        &self,
        macro_name: &str,
        custom: Option<String>,
        node: &serde_json::Value,
    ) -> Option<String> {
        let definition = self.jinja.macros.get(macro_name)?;
        if definition.package == "dvt" {
            return None;
        }
        let scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
        let arguments = [custom.map_or(Value::from(()), Value::from), Value::from_serialize(node)];
        let (result, _) = self.jinja.call(macro_name, &arguments, scope, Value::from(()));
        result.ok().map(|text| text.trim().to_string())
    }

    pub(super) fn source_table(&self, source: &schema::SourceSpec, table: &schema::SourceTableSpec) -> SourceTable {
        let mut tags = source.tags.clone();
        tags.extend(table.tags.iter().cloned());
        tags.sort();
        tags.dedup();
        let mut meta = source.meta.clone();
        meta.extend(table.meta.clone());
        // dbt's source schema has no `ingest` property; tools reading the
        // manifest find the block in `meta`, wherever it was declared.
        if let Some(ingest) = &table.ingest {
            meta.insert("ingest".to_string(), ingest.clone());
        }
        // A source declared in a package's schema YAML belongs to that package,
        // and the root project's `sources:` tree can configure it, as in dbt.
        let (owner, file) = self.schema_owner(&source.file);
        let mut fqn = vec![owner.name.clone()];
        fqn.extend(file.folders());
        fqn.push(source.name.clone());
        fqn.push(table.name.clone());
        let mut config = config::from_tree(&owner.source_tree, &fqn);
        if !std::ptr::eq(owner, self.project) {
            config::merge(&mut config, &config::from_tree(&self.project.source_tree, &fqn));
        }
        let project_freshness = config.get("freshness").cloned();
        config::merge(&mut config, &source.config);
        config::merge(&mut config, &table.config);
        config.entry("enabled").or_insert(json!(true));
        let freshness = crate::freshness::criteria::resolve(&crate::freshness::criteria::Layers {
            source: source.freshness.as_ref(),
            source_config: source.config.get("freshness"),
            table: table.freshness.as_ref(),
            table_config: table.config.get("freshness"),
            project: project_freshness.as_ref(),
        });
        let (loaded_at_field, loaded_at_query) = crate::freshness::criteria::loaded_at(
            &crate::freshness::criteria::LoadedAt {
                field: source.loaded_at_field.as_deref(),
                field_present: false,
                query: source.loaded_at_query.as_deref(),
                config: &source.config,
            },
            &crate::freshness::criteria::LoadedAt {
                field: table.loaded_at_field.as_deref(),
                field_present: table.loaded_at_field_present,
                query: table.loaded_at_query.as_deref(),
                config: &table.config,
            },
        );
        // As dbt's source config: the resolved values, also under `config`.
        config.insert("freshness".into(), freshness.clone());
        config.insert("loaded_at_field".into(), json!(loaded_at_field));
        config.insert("loaded_at_query".into(), json!(loaded_at_query));
        SourceTable {
            unique_id: format!("source.{}.{}.{}", owner.name, source.name, table.name),
            package_name: owner.name.clone(),
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
            loaded_at_field,
            loaded_at_query,
            freshness,
            columns: table.columns.clone(),
            meta,
            tags,
            config,
            external: table.external.clone(),
            ingest: table.ingest.clone().map(|declared| crate::manifest::IngestBlock {
                declared,
                file: source.file.clone(),
                table_line: table.line,
            }),
        }
    }

    /// The folder of an installed package, relative to the project, with a
    /// trailing slash; empty for the root project.
    pub(super) fn package_dir(&self, package_name: &str) -> String {
        self.project
            .packages
            .iter()
            .find(|package| package.name == package_name)
            .map(|package| format!("{}/", crate::diagnostic::display_path(&self.project.dir, &package.dir)))
            .unwrap_or_default()
    }

    /// The project (root or package) whose schema file `path` is, and the file
    /// with its configured root, for fqns.
    pub(super) fn schema_owner(&self, path: &str) -> (&'a Project, SourceFile) {
        let project: &'a Project = self.project;
        let owner = project
            .packages
            .iter()
            .find(|package| package.files.schemas.iter().any(|schema| schema.path == path))
            .unwrap_or(project);
        let root = owner
            .files
            .schemas
            .iter()
            .find(|schema| schema.path == path)
            .map_or_else(
                || path.split('/').next().unwrap_or_default().to_string(),
                |schema| schema.root.clone(),
            );
        let file = SourceFile {
            path: path.to_string(),
            root,
            contents: String::new(),
        };
        (owner, file)
    }

    /// Warnings for config keys dvt does not know.
    pub(super) fn check_config_keys(
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
    pub(super) fn check_tree_paths(&self, manifest: &Manifest) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        let source = &self.project.config_source;
        let file = &self.project.config_file;
        for (key, tree, resource_type) in [
            ("models", &self.project.model_tree, ResourceType::Model),
            ("seeds", &self.project.seed_tree, ResourceType::Seed),
            ("snapshots", &self.project.snapshot_tree, ResourceType::Snapshot),
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
        let patches = self.properties.models.values().chain(self.properties.seeds.values());
        for patch in patches.chain(self.properties.snapshots.values()) {
            let source = self.project.schema_source(&patch.file).unwrap_or_default();
            warnings.extend(self.check_config_keys(&patch.config, &patch.file, source, false));
        }
        warnings
    }

    /// Two nodes that would build the same relation.
    pub(super) fn check_relation_collisions(&self, manifest: &Manifest) -> Vec<Diagnostic> {
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
    pub(super) fn resolve_dependencies(
        &self,
        node: &Node,
        lookup: &RefLookup,
        manifest: &Manifest,
    ) -> (BTreeSet<String>, Vec<Diagnostic>) {
        let mut depends = BTreeSet::new();
        let mut problems = Vec::new();
        for call in &node.refs {
            if call.package.as_ref().is_some_and(|package| {
                package != &self.project.name
                    && !self.project.packages.iter().any(|installed| &installed.name == package)
            }) {
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
            let key = match &call.version {
                Some(version) => format!("{}.v{version}", call.name),
                None => call.name.clone(),
            };
            match lookup.by_name.get(&key) {
                Some((id, _)) => {
                    depends.insert(id.clone());
                }
                None if call.version.is_some()
                    && lookup
                        .by_name
                        .keys()
                        .any(|known| known.starts_with(&format!("{}.v", call.name))) =>
                {
                    problems.push(super::versions::unknown_version(self, node, call, lookup));
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
            let own = lookup
                .package_sources
                .get(&(node.package_name.clone(), source.clone(), table.clone()));
            match own.or_else(|| lookup.sources.get(&(source.clone(), table.clone()))) {
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

    pub(super) fn unknown(
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

    /// The error for a generic test of a package that packages.yml lists but
    /// that is not installed.
    pub(super) fn missing_test_package(&self, spec: &TestSpec, namespace: &str, source: &str) -> Option<Diagnostic> {
        if !self.project.missing_packages.iter().any(|missing| missing == namespace) {
            return None;
        }
        let written = format!("{namespace}.{}", spec.test_name);
        let diagnostic = Diagnostic::error(format!(
            "generic test `{written}` is from the package `{namespace}`, which is not installed"
        ));
        let diagnostic = match crate::yaml::find_text_line(source, &written, spec.line) {
            Some((line, column)) => diagnostic.at(Location::at(&spec.file, line, column, written.len()), Some(source)),
            None => diagnostic.in_file(&spec.file),
        };
        Some(diagnostic.hint("run `dvt deps` to install the packages of packages.yml"))
    }

    /// Test nodes for every generic test declared in YAML, each with the line
    /// of its entry.
    pub(super) fn generic_tests(
        &self,
        manifest: &Manifest,
        lookup: &RefLookup,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Vec<(Node, usize)> {
        // (specs, attached unique id, name used in test names, Jinja expression of the tested relation)
        let mut jobs: Vec<(&[TestSpec], String, String, String)> = Vec::new();
        for node in manifest.nodes.values() {
            let patch = match node.resource_type {
                ResourceType::Model => self.properties.node_patch(&node.name, node.version.as_ref()),
                ResourceType::Seed => self.properties.seeds.get(&node.name),
                ResourceType::Snapshot => self.properties.snapshots.get(&node.name),
                _ => None,
            };
            if let Some(patch) = patch {
                // A version's tests are named after `<name>_v<v>` and ref it
                // with `version=`, as dbt names and compiles them.
                let (attached_name, expression) = match &node.version {
                    Some(version) => {
                        let label = super::versions::label(&version.version);
                        (
                            format!("{}_v{label}", node.name),
                            format!("ref('{}', version='{label}')", node.name),
                        )
                    }
                    None => (node.name.clone(), format!("ref('{}')", node.name)),
                };
                jobs.push((&patch.tests, node.unique_id.clone(), attached_name, expression));
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

    pub(super) fn generic_test(
        &self,
        spec: &TestSpec,
        attached_id: &str,
        attached_name: &str,
        model_expression: &str,
        lookup: &RefLookup,
    ) -> Result<Node, Diagnostic> {
        let source = self.project.schema_source(&spec.file).unwrap_or_default();
        if let Some(namespace) = &spec.namespace {
            if let Some(diagnostic) = self.missing_test_package(spec, namespace, source) {
                return Err(diagnostic);
            }
        }
        let found = self.jinja.test_macro(spec.namespace.as_deref(), &spec.test_name);
        let macro_name = found.clone().unwrap_or_else(|| format!("test_{}", spec.test_name));
        if found.is_none() {
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
        let (short_name, name) = match &spec.custom_name {
            Some(custom) => (custom.clone(), custom.clone()),
            None => test_names(
                spec.namespace.as_deref(),
                &spec.test_name,
                attached_name,
                attached_id.starts_with("source."),
                spec.column_name.as_deref(),
                &spec.arguments,
            ),
        };
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
        // A test declared in a package's schema YAML belongs to that package.
        let (owner, file) = self.schema_owner(&spec.file);
        let mut fqn = vec![owner.name.clone()];
        fqn.extend(file.folders());
        fqn.push(name.clone());
        // The project trees, then the test macro's own `config()` calls, then
        // the test's YAML.
        let test_config = |macro_calls: &Map<String, serde_json::Value>| {
            let mut config = config::from_tree(&owner.test_tree, &fqn);
            if !std::ptr::eq(owner, self.project) {
                config::merge(&mut config, &config::from_tree(&self.project.test_tree, &fqn));
            }
            config::merge(&mut config, macro_calls);
            config::merge(&mut config, &spec.config);
            // As dbt does, a name too long for a relation keeps its hashed short form as the alias.
            if short_name != name {
                config.entry("alias").or_insert(json!(short_name));
            }
            config.entry("materialized").or_insert(json!("test"));
            config.entry("enabled").or_insert(json!(true));
            config.entry("tags").or_insert(json!([]));
            set_test_defaults(&mut config);
            config
        };
        let config = test_config(&Map::new());
        let mut metadata_kwargs = kwargs.clone();
        metadata_kwargs.insert("model".into(), json!(model_expression));
        let hash = &test_hash(&name, spec.namespace.as_deref(), &spec.test_name, &kwargs);
        let test_relation = |config: &Map<String, serde_json::Value>| {
            let schema = config
                .get("schema")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("dbt_test__audit");
            Relation {
                database: self.target.database.clone(),
                schema: format!("{}_{}", self.target.schema, schema),
                identifier: config
                    .get("alias")
                    .and_then(serde_json::Value::as_str)
                    .map_or_else(|| name.clone(), str::to_owned),
            }
        };
        let relation = test_relation(&config);
        let mut node = Node {
            unique_id: format!("test.{}.{}.{}", owner.name, name, hash),
            resource_type: ResourceType::Test,
            package_name: owner.name.clone(),
            name: name.clone(),
            path: format!("{short_name}.sql"),
            original_file_path: spec.file.clone(),
            package_dir: self.package_dir(&owner.name),
            patch_path: None,
            fqn: fqn.clone(),
            raw_code: match &spec.namespace {
                Some(namespace) => format!(
                    "{{{{ {namespace}.test_{}(**_dbt_generic_test_kwargs) }}}}",
                    spec.test_name
                ),
                None => format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}", spec.test_name),
            },
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
            version: None,
            constraints: Vec::new(),
            time_spine: None,
        };
        // dvt's own test macros call no `config()`; rendering them for it
        // would only slow the parse of a large project.
        let builtin = self
            .jinja
            .definition(&macro_name)
            .is_some_and(|definition| definition.package == "dvt");
        if !builtin {
            let mut scope = Scope::new(Mode::Parse, &self.target.schema, &self.target.database);
            scope.package = (owner.name != self.project.name).then(|| owner.name.clone());
            let macro_calls = super::compile::test_macro_config(self.jinja, &node, &macro_name, scope);
            if !macro_calls.is_empty() {
                node.config = test_config(&macro_calls);
                node.relation = test_relation(&node.config);
            }
        }
        Ok(node)
    }

    pub(super) fn exposure(
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
        // An exposure belongs to the project whose schema file declares it,
        // a package's included, as in dbt.
        let (owner, file) = self.schema_owner(&spec.file);
        let mut fqn = vec![owner.name.clone()];
        fqn.extend(file.folders());
        fqn.push(spec.name.clone());
        Some(Exposure {
            unique_id: format!("exposure.{}.{}", owner.name, spec.name),
            package_name: owner.name.clone(),
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

pub(super) fn collect_prefixed_keys(tree: &serde_json::Value, found: &mut Map<String, serde_json::Value>) {
    let serde_json::Value::Object(level) = tree else { return };
    for (key, value) in level {
        if key.starts_with('+') {
            found.insert(key.trim_start_matches('+').to_string(), serde_json::Value::Null);
        } else {
            collect_prefixed_keys(value, found);
        }
    }
}

pub(super) fn set_test_defaults(config: &mut Map<String, serde_json::Value>) {
    config.entry("severity").or_insert(json!("ERROR"));
    config.entry("warn_if").or_insert(json!("!= 0"));
    config.entry("error_if").or_insert(json!("!= 0"));
    config.entry("fail_calc").or_insert(json!("count(*)"));
    config.entry("store_failures").or_insert(serde_json::Value::Null);
    config.entry("where").or_insert(serde_json::Value::Null);
    config.entry("limit").or_insert(serde_json::Value::Null);
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
