//! Phase 2, `render`: turns the loaded project into a [`Manifest`].
//!
//! 1. Docs blocks and macros are read, and the Jinja environment is built.
//! 2. Schema YAML is read into properties (descriptions, columns, tests, sources).
//! 3. Every model, analysis and singular test is rendered in *parse* mode, in
//!    parallel, capturing its `ref()`, `source()` and `config()` calls.
//! 4. Config is resolved (project tree, then YAML, then `config()`), relation
//!    names are generated, and generic tests become test nodes.
//! 5. Refs and sources are checked; every problem is reported with its line.
//! 6. With `compile`, every node is rendered again in *compile* mode with refs
//!    resolved to relations, and ephemeral models are inlined as CTEs.
//!
//! The DAG is built from the manifest by [`crate::graph`].

mod builder;
mod compile;
pub mod config;
pub mod context;
pub mod inline;
pub mod jinja;
pub mod materialization;
pub mod namespace;
pub mod narrow;
pub mod operation;
mod overrides;
pub mod schema;
mod snapshot;
mod test_name;
pub mod versions;

pub use builder::locate_call;
use builder::{Builder, Draft, RefLookup};
#[cfg(test)]
use compile::leading_with;
pub(crate) use compile::node_context;
pub use compile::{compile_batch, compile_node, compile_node_raw, compile_selected, inject_ephemerals, render_hook};
#[cfg(test)]
use serde_json::json;
pub use test_name::test_name;
#[cfg(test)]
use test_name::{test_hash, test_names};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use minijinja::value::Value;
use rayon::prelude::*;
use serde_json::Map;

use crate::diagnostic::{did_you_mean, Diagnostic, Diagnostics, Location};
use crate::manifest::{Doc, Macro, Manifest, Relation, ResourceType};
use crate::profile::Target;
use crate::project::{Project, SourceFile};
use jinja::{Globals, Jinja, Mode, Resolved, Resolver, Scope};

/// Settings of one invocation that reach the templates.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cli_vars: Map<String, serde_json::Value>,
    pub full_refresh: bool,
    pub command: String,
    pub invocation_id: String,
    pub run_started_at: String,
    /// Render every node in compile mode too.
    pub compile: bool,
    /// `--store-failures` and `--fail-fast`, for `flags` and `should_store_failures()`.
    pub store_failures: bool,
    pub fail_fast: bool,
    /// `--empty`: refs and sources read zero rows ([`narrow`]).
    pub empty: bool,
}

/// The result of rendering: the manifest, and what later phases need to render
/// nodes again (at run time `is_incremental()` depends on the warehouse).
/// A node's compiled SQL and the ephemeral models it refers to directly.
pub type CompiledBody = (String, BTreeSet<String>);

pub struct Rendered {
    pub manifest: Manifest,
    pub warnings: Vec<Diagnostic>,
    pub jinja: Jinja,
    pub resolver: Arc<Resolver>,
    pub target_schema: String,
    pub target_database: String,
    /// The line of each generic test's entry in its schema file, by unique
    /// id, so that problems found after rendering can point at it.
    pub test_lines: BTreeMap<String, usize>,
}

/// The macros of the installed packages, for the Jinja environment.
fn package_macros(project: &Project) -> jinja::PackageMacros {
    jinja::PackageMacros {
        files: project
            .packages
            .iter()
            .flat_map(|package| {
                package
                    .files
                    .macros
                    .iter()
                    .map(|file| (package.name.clone(), file.path.clone(), file.contents.clone()))
            })
            .collect(),
        dispatch: project.dispatch.clone(),
        missing: project.missing_packages.clone(),
        vars: project
            .packages
            .iter()
            .map(|package| (package.name.clone(), package.vars.clone()))
            .collect(),
        packages_file: project.packages_file.clone(),
    }
}

/// Renders the project. Errors from every file are collected and returned
/// together.
pub fn render_all(project: &Project, target: &Target, options: &Options) -> Result<Rendered, Diagnostics> {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();

    // 1. Docs blocks and macros.
    let mut docs = BTreeMap::new();
    let mut doc_nodes = BTreeMap::new();
    // Packages' docs blocks first, so that the root project's of the same name win.
    let docs_files = project
        .packages
        .iter()
        .flat_map(|package| package.files.docs.iter().map(move |file| (package.name.as_str(), file)))
        .chain(project.files.docs.iter().map(|file| (project.name.as_str(), file)));
    for (package_name, file) in docs_files {
        match schema::docs_blocks(file) {
            Ok(blocks) => {
                for (name, body, _line) in blocks {
                    let unique_id = format!("doc.{package_name}.{name}");
                    docs.insert(name.clone(), body.clone());
                    doc_nodes.insert(
                        unique_id.clone(),
                        Doc {
                            unique_id,
                            package_name: package_name.to_string(),
                            name,
                            original_file_path: file.path.clone(),
                            block_contents: body,
                        },
                    );
                }
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    let globals = Globals {
        project_name: project.name.clone(),
        target: target.context(),
        adapter_type: target.adapter_type.clone(),
        vars: project.vars.clone(),
        cli_vars: options.cli_vars.clone(),
        docs,
        invocation_id: options.invocation_id.clone(),
        run_started_at: options.run_started_at.clone(),
        full_refresh: options.full_refresh,
        store_failures: options.store_failures,
        fail_fast: options.fail_fast,
        command: options.command.clone(),
    };
    let macro_files: Vec<(String, String)> = project
        .files
        .macros
        .iter()
        .map(|file| (file.path.clone(), file.contents.clone()))
        .collect();
    let jinja = match Jinja::with_packages(globals, &macro_files, &package_macros(project)) {
        Ok(jinja) => jinja,
        Err(errors) => {
            diagnostics.extend(errors);
            return Err(Diagnostics(diagnostics));
        }
    };

    // 2. Schema YAML.
    let render_yaml = |file: &str, text: &str| -> Result<String, Diagnostic> {
        jinja.render_str(text, Value::from(())).map_err(|error| {
            let source = project
                .files
                .schemas
                .iter()
                .find(|schema_file| schema_file.path == file)
                .map(|schema_file| schema_file.contents.as_str())
                .unwrap_or_default();
            let location = crate::yaml::find_text_line(source, text.lines().next().unwrap_or(text), 1);
            let detail = error
                .detail()
                .map(str::to_owned)
                .unwrap_or_else(|| error.kind().to_string());
            let diagnostic = Diagnostic::error(format!("cannot render `{}`: {detail}", text.trim()));
            match location {
                Some((line, column)) => {
                    diagnostic.at(Location::at(file, line, column, text.trim().len()), Some(source))
                }
                None => diagnostic.in_file(file),
            }
        })
    };
    let schema_files: Vec<SourceFile> = project
        .files
        .schemas
        .iter()
        .chain(project.packages.iter().flat_map(|package| package.files.schemas.iter()))
        .cloned()
        .collect();
    let (mut properties, schema_diagnostics) = schema::read_all(&schema_files, &render_yaml);
    diagnostics.extend(schema_diagnostics);
    let package_of = |file: &str| {
        project
            .packages
            .iter()
            .find(|package| package.files.schemas.iter().any(|schema| schema.path == file))
            .map(|package| package.name.clone())
    };
    diagnostics.extend(overrides::apply(&mut properties.sources, &package_of));
    diagnostics.extend(versions::expand(&mut properties, project));

    let context = Builder {
        project,
        target,
        jinja: &jinja,
        properties: &properties,
    };

    // 3. Parse-render models, analyses, singular tests and snapshots in parallel.
    let snapshot_sources = snapshot::sources(&context, &properties, &mut diagnostics);
    let mut drafts: Vec<Draft> = Vec::new();
    for file in &project.files.models {
        drafts.push(context.draft(
            file,
            ResourceType::Model,
            &project.model_tree,
            properties.model_patch(&file.stem()),
        ));
    }
    // Installed packages' models: their own config tree, then the root
    // project's (`models: <package>: ...`), which wins, as in dbt.
    for package in &project.packages {
        for file in &package.files.models {
            drafts.push(context.draft_in(
                package,
                file,
                ResourceType::Model,
                &[&package.model_tree, &project.model_tree],
                properties.model_patch(&file.stem()),
            ));
        }
    }
    for file in &project.files.analyses {
        drafts.push(context.draft(
            file,
            ResourceType::Analysis,
            &serde_json::Value::Null, // analyses take no config from the project file
            properties.analyses.get(&file.stem()),
        ));
    }
    for file in &project.files.singular_tests {
        drafts.push(context.draft(file, ResourceType::Test, &project.test_tree, None));
    }
    // Packages' analyses and singular tests are theirs too, as in dbt.
    for package in &project.packages {
        for file in &package.files.analyses {
            drafts.push(context.draft_in(
                package,
                file,
                ResourceType::Analysis,
                &[&serde_json::Value::Null],
                properties.analyses.get(&file.stem()),
            ));
        }
        for file in &package.files.singular_tests {
            drafts.push(context.draft_in(
                package,
                file,
                ResourceType::Test,
                &[&package.test_tree, &project.test_tree],
                None,
            ));
        }
    }
    for source in &snapshot_sources {
        drafts.push(snapshot::draft(&context, source));
    }
    let parsed: Vec<Result<Scope, Diagnostic>> = drafts.par_iter().map(|draft| context.parse(draft)).collect();

    // 4. Nodes with resolved config and relation names.
    let mut manifest = Manifest {
        project_name: project.name.clone(),
        adapter_type: target.adapter_type.clone(),
        package_dirs: project
            .packages
            .iter()
            .map(|package| {
                let dir = crate::diagnostic::display_path(&project.dir, &package.dir);
                (package.name.clone(), format!("{dir}/"))
            })
            .collect(),
        ..Manifest::default()
    };
    let mut names: BTreeMap<(ResourceType, String), String> = BTreeMap::new();
    for (draft, result) in drafts.iter().zip(parsed) {
        let scope = match result {
            Ok(scope) => scope,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let mut config = draft.base_config.clone();
        config::merge(&mut config, &scope.config_calls);
        diagnostics.extend(context.check_config_keys(
            &scope.config_calls,
            &draft.file.path,
            &draft.file.contents,
            true,
        ));
        if config.get("enabled") == Some(&serde_json::Value::Bool(false)) {
            continue;
        }
        let mut unique_id = format!("{}.{}.{}", draft.resource_type.as_str(), draft.package, draft.name);
        let mut key_name = draft.name.clone();
        if let Some(suffix) = draft.version_suffix() {
            unique_id = format!("{unique_id}.{suffix}");
            key_name = format!("{key_name}.{suffix}");
        }
        if let Some(previous) = names.insert((draft.resource_type, key_name), draft.file.path.clone()) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "two {}s are named `{}`",
                    draft.resource_type.as_str(),
                    draft.name
                ))
                // A node's name is its file name, so the whole file is the culprit:
                // point at its first line.
                .at(
                    Location::at(&draft.file.path, 1, 1, draft.file.contents.lines().next().map_or(1, str::len)),
                    Some(&draft.file.contents),
                )
                .label(format!("`{}` is also the name of `{previous}`", draft.name))
                .hint("rename one of the files: a name is its file name, and ref() needs it unique across folders (an `alias` config can keep the relation's name)"),
            );
            continue;
        }
        let mut node = context.node(draft, unique_id, config, scope);
        if draft.resource_type == ResourceType::Snapshot {
            diagnostics.extend(snapshot::finish(&mut node, &snapshot_sources));
        }
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
    let package_seeds = project
        .packages
        .iter()
        .flat_map(|package| package.files.seeds.iter().map(move |seed| (package, seed)));
    for (package, seed) in project
        .files
        .seeds
        .iter()
        .map(|seed| (project, seed))
        .chain(package_seeds)
    {
        let file = seed.as_source();
        let trees: Vec<&serde_json::Value> = if std::ptr::eq(package, project) {
            vec![&project.seed_tree]
        } else {
            vec![&package.seed_tree, &project.seed_tree]
        };
        let draft = context.draft_in(
            package,
            &file,
            ResourceType::Seed,
            &trees,
            properties.seeds.get(&file.stem()),
        );
        if draft.base_config.get("enabled") == Some(&serde_json::Value::Bool(false)) {
            continue;
        }
        let unique_id = format!("seed.{}.{}", draft.package, draft.name);
        if let Some(previous) = names.insert((ResourceType::Seed, draft.name.clone()), file.path.clone()) {
            diagnostics.push(
                Diagnostic::error(format!("two seeds are named `{}`", draft.name))
                    .in_file(&file.path)
                    .note(format!("the other is `{previous}`")),
            );
            continue;
        }
        let mut node = context.node(
            &draft,
            unique_id,
            draft.base_config.clone(),
            Scope::new(Mode::Parse, &target.schema, &target.database),
        );
        node.checksum = seed.checksum.clone();
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
    for ((resource_type, name), path) in &names {
        if *resource_type == ResourceType::Seed {
            if let Some(model_path) = names.get(&(ResourceType::Model, name.clone())) {
                diagnostics.push(
                    Diagnostic::error(format!("a model and a seed are both named `{name}`"))
                        .in_file(model_path)
                        .note(format!("the seed is `{path}`"))
                        .hint("`ref()` could not tell them apart: rename one"),
                );
            }
        }
    }
    for (name, patch) in properties.models.iter().chain(properties.seeds.iter()) {
        if patch.versions.is_some() {
            // `versions::expand` warned about each version without a file.
            continue;
        }
        let known = names.contains_key(&(ResourceType::Model, name.clone()))
            || names.contains_key(&(ResourceType::Seed, name.clone()));
        if !known {
            let candidates: Vec<&str> = names.keys().map(|(_, name)| name.as_str()).collect();
            let mut warning = Diagnostic::warning(format!(
                "`{name}` is described in `{}` but no such model or seed exists",
                patch.file
            ))
            .at(
                Location::at(&patch.file, patch.line, 1, 1),
                project.schema_source(&patch.file),
            );
            if let Some(suggestion) = did_you_mean(name, candidates.iter().copied()) {
                warning = warning.hint(format!("did you mean `{suggestion}`?"));
            }
            diagnostics.push(warning);
        }
    }

    for source in &properties.sources {
        for table in &source.tables {
            let table_node = context.source_table(source, table);
            if table_node.config.get("enabled") == Some(&serde_json::Value::Bool(false)) {
                continue;
            }
            manifest.sources.insert(table_node.unique_id.clone(), table_node);
        }
    }
    diagnostics.extend(context.check_relation_collisions(&manifest));
    diagnostics.extend(crate::contract::parse_problems(&manifest));

    // 5. Refs, sources, generic tests and exposures.
    let lookup = RefLookup::new(&manifest);
    let node_ids: Vec<String> = manifest.nodes.keys().cloned().collect();
    for id in node_ids {
        let Some(node) = manifest.nodes.get(&id) else { continue };
        let (depends, problems) = context.resolve_dependencies(node, &lookup, &manifest);
        diagnostics.extend(problems);
        if let Some(node) = manifest.nodes.get_mut(&id) {
            node.depends_on_nodes.extend(depends);
        }
    }
    diagnostics.extend(versions::deprecation_warnings(&manifest, &properties, project));
    let tests = context.generic_tests(&manifest, &lookup, &mut diagnostics);
    let mut test_lines = BTreeMap::new();
    for (test, line) in tests {
        // A test disabled by its YAML, the project or its macro's config().
        let disabled = test.config.get("enabled") == Some(&serde_json::Value::Bool(false));
        if disabled || manifest.nodes.contains_key(&test.unique_id) {
            continue;
        }
        test_lines.insert(test.unique_id.clone(), line);
        manifest.nodes.insert(test.unique_id.clone(), test);
    }
    for spec in &properties.exposures {
        if let Some(exposure) = context.exposure(spec, &lookup, &mut diagnostics) {
            manifest.exposures.insert(exposure.unique_id.clone(), exposure);
        }
    }
    diagnostics.extend(crate::unit_test::add_nodes(project, &mut manifest));
    let package_definitions = jinja.package_macros.values().flat_map(BTreeMap::values);
    for definition in jinja
        .macros
        .values()
        .filter(|definition| definition.package != "dvt")
        .chain(package_definitions)
    {
        let unique_id = format!("macro.{}.{}", definition.package, definition.name);
        manifest.macros.insert(
            unique_id.clone(),
            Macro {
                unique_id,
                package_name: definition.package.clone(),
                name: definition.name.clone(),
                original_file_path: definition.template.clone(),
                macro_sql: definition.source.clone(),
                description: String::new(),
            },
        );
    }
    manifest.docs = doc_nodes;
    diagnostics.extend(context.check_tree_paths(&manifest));

    let (errors, mut warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diagnostics.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    warnings.sort_by(|left, right| left.location.cmp(&right.location));

    let mut resolver = lookup.resolver(&manifest);
    resolver.narrowing = narrow::Narrowing::new(options.empty, &target.adapter_type);
    resolver.event_times = narrow::event_times(&manifest);
    let resolver = Arc::new(resolver);
    // Packages' macros too: dbt-codegen's `get_models` reads `graph`.
    let macro_sources = jinja
        .macros
        .values()
        .chain(jinja.package_macros.values().flat_map(BTreeMap::values))
        .map(|definition| definition.source.as_str());
    let node_sources = manifest.nodes.values().map(|node| node.raw_code.as_str());
    if context::graph::mentions_graph(macro_sources.chain(node_sources)) {
        jinja.graph.set(&manifest.to_json());
    }
    let mut rendered = Rendered {
        manifest,
        warnings,
        jinja,
        resolver,
        target_schema: target.schema.clone(),
        target_database: target.database.clone(),
        test_lines,
    };
    if options.compile {
        let all: BTreeSet<String> = rendered.manifest.nodes.keys().cloned().collect();
        compile_selected(&mut rendered, project, &all)?;
    }
    Ok(rendered)
}

/// Points the refs to the nodes in `deferred` (by unique id) at the given
/// relations instead of their own, for `--defer` (see [`crate::state::defer`]).
/// Call it after planning and before compiling.
pub fn defer_refs(rendered: &mut Rendered, deferred: &BTreeMap<String, Relation>) {
    if deferred.is_empty() {
        return;
    }
    let mut refs = rendered.resolver.refs.clone();
    for (id, relation) in deferred {
        let Some(node) = rendered.manifest.nodes.get(id) else {
            continue;
        };
        let resolved = Resolved::Relation(relation.clone());
        refs.insert(
            format!("{}.{}", rendered.manifest.project_name, node.name),
            resolved.clone(),
        );
        refs.insert(node.name.clone(), resolved);
    }
    rendered.resolver = Arc::new(Resolver {
        refs,
        ..Resolver::clone(&rendered.resolver)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_follow_dbt() {
        let arguments = json!({"values": ["placed", "shipped"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("accepted_values", "orders", false, Some("status"), &arguments),
            "accepted_values_orders_status__placed__shipped"
        );
        let relationships = json!({"field": "customer_id", "to": "ref('customers')"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("relationships", "orders", false, Some("customer_id"), &relationships),
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        // dbt sorts the arguments by name, whatever order the YAML gives them in.
        let written_to_first = json!({"to": "ref('customers')", "field": "customer_id"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("relationships", "orders", false, Some("customer_id"), &written_to_first),
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        assert_eq!(
            test_name("not_null", "orders", false, Some("id"), &Map::new()),
            "not_null_orders_id"
        );
        // Source tests carry a `source_` prefix, and values print as Python's str().
        assert_eq!(
            test_name("not_null", "raw_events", true, Some("kind"), &Map::new()),
            "source_not_null_raw_events_kind"
        );
        let unquoted = json!({"quote": false, "values": [1, 2, 3]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name("accepted_values", "people", false, Some("id"), &unquoted),
            "accepted_values_people_id__False__1__2__3"
        );
        // 64 characters or more: the first 30 of `test_target`, then an md5 of the full name.
        let segments = json!({"values": ["champions", "loyal", "potential", "at_risk", "hibernating"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            test_name(
                "accepted_values",
                "kpi_customer_rfm",
                false,
                Some("rfm_segment"),
                &segments
            ),
            "accepted_values_kpi_customer_r_da804acd82cae37da63d391ef3ec8260"
        );
    }

    #[test]
    fn test_unique_ids_hash_as_dbt_does() {
        // The unique ids dbt-core 1.10 gave these tests of a model `orders`.
        let model = json!("{{ get_where_subquery(ref('orders')) }}");
        let kwargs = |extra: serde_json::Value| -> Map<String, serde_json::Value> {
            let mut kwargs = extra.as_object().cloned().unwrap_or_default();
            kwargs.insert("model".into(), model.clone());
            kwargs
        };
        assert_eq!(
            test_hash(
                "not_null_orders_id",
                None,
                "not_null",
                &kwargs(json!({"column_name": "id"}))
            ),
            "84ef11d8fe"
        );
        assert_eq!(
            test_hash(
                "sub_pkg_at_most_orders_id__10",
                Some("sub_pkg"),
                "at_most",
                &kwargs(json!({"value": 10, "column_name": "id"}))
            ),
            "007ef1146c"
        );
        assert_eq!(
            test_hash(
                "accepted_values_orders_id__1__2__it_s",
                None,
                "accepted_values",
                &kwargs(json!({"values": [1, 2, "it's"], "column_name": "id"}))
            ),
            "6e782ab0f0"
        );
        let values = json!({"values": ["placed", "shipped", "completed", "returned", "return_pending", "lost"], "column_name": "status"});
        let (short, full) = test_names(
            None,
            "accepted_values",
            "orders",
            false,
            Some("status"),
            values.as_object().unwrap_or(&Map::new()),
        );
        assert_eq!(short, "accepted_values_orders_059ad68d99de97a6180f2c6a99a01082");
        assert_eq!(
            full,
            "accepted_values_orders_status__placed__shipped__completed__returned__return_pending__lost"
        );
        assert_eq!(test_hash(&full, None, "accepted_values", &kwargs(values)), "19acf3591c");
        let (short, _) = test_names(
            Some("sub_pkg"),
            "at_most",
            "orders",
            false,
            Some("id"),
            &kwargs(json!({"value": 10})),
        );
        assert_eq!(short, "sub_pkg_at_most_orders_id__10");
    }

    #[test]
    fn ephemerals_are_injected_after_existing_with() {
        assert_eq!(leading_with("-- note\nwith a as (select 1) select * from a"), Some(12));
        assert_eq!(leading_with("select 1"), None);
        assert_eq!(leading_with("WITH RECURSIVE t as (select 1) select 1"), Some(14));
    }

    #[test]
    fn locates_ref_calls() {
        let source = "select * from {{ ref('a') }} join {{ ref(\"b\") }}";
        assert_eq!(locate_call(source, "ref", &["b".to_string()]), Some((37, 8)));
        assert_eq!(locate_call(source, "ref", &["c".to_string()]), None);
    }
}
