//! Snapshot nodes in the render phase: every `{% snapshot %}` block of the
//! snapshot paths (root project and packages) and every dbt 1.9 YAML
//! snapshot (a `snapshots:` entry with `relation:`) becomes a draft that is
//! parse-rendered like a model, then a node of resource type `snapshot`.
//!
//! Names and paths are dbt's: a block's fqn holds its file's name
//! (`[project, folders..., file, snapshot]`) and a YAML snapshot's is
//! `[project, folders..., snapshot]` with the path
//! `<file>.yml/<snapshot>.sql`. The schema follows dbt 1.9: the legacy
//! `target_schema` / `target_database`, when set, are used as written;
//! otherwise `schema` / `database` go through `generate_schema_name` and
//! `generate_database_name` as for a model. The config is checked by
//! [`crate::snapshot::config`], each problem at the line that set it.

use serde_json::{json, Value};

use super::builder::{Builder, Draft};
use super::config;
use super::schema::{Patch, Properties};
use crate::diagnostic::{Diagnostic, Location};
use crate::manifest::{Node, ResourceType};
use crate::project::{Project, SourceFile};

/// Where a snapshot is defined, before it is rendered.
pub(super) struct SnapshotSource<'p> {
    package: &'p Project,
    /// What is rendered: a block's file with everything but its body
    /// blanked, or a YAML snapshot's `select * from {{ relation }}`.
    file: SourceFile,
    name: String,
    fqn: Vec<String>,
    raw_code: String,
    /// The manifest's `path`.
    path: String,
    patch: Option<&'p Patch>,
    /// The line of the block's opening tag, or of the YAML entry.
    line: usize,
    /// The text of the file the snapshot is written in, for diagnostics.
    text: String,
}

/// Every snapshot of the project and its packages. A block that is never
/// closed is a diagnostic.
pub(super) fn sources<'p>(
    builder: &Builder<'p>,
    properties: &'p Properties,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<SnapshotSource<'p>> {
    let project: &'p Project = builder.project;
    let mut found = Vec::new();
    for package in std::iter::once(project).chain(project.packages.iter()) {
        for file in &package.files.snapshots {
            let blocks = match crate::snapshot::blocks::find(&file.path, &file.contents) {
                Ok(blocks) => blocks,
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    continue;
                }
            };
            for block in blocks {
                let mut fqn = vec![package.name.clone()];
                fqn.extend(file.folders());
                fqn.push(file.stem());
                fqn.push(block.name.clone());
                let path = file
                    .path
                    .strip_prefix(&file.root)
                    .unwrap_or(&file.path)
                    .trim_start_matches('/')
                    .to_string();
                found.push(SnapshotSource {
                    package,
                    file: SourceFile {
                        path: file.path.clone(),
                        root: file.root.clone(),
                        contents: block.in_place,
                    },
                    patch: properties
                        .snapshots
                        .get(&block.name)
                        .filter(|patch| patch.relation.is_none()),
                    name: block.name,
                    fqn,
                    raw_code: block.body,
                    path,
                    line: block.line,
                    text: file.contents.clone(),
                });
            }
        }
    }
    for patch in properties.snapshots.values() {
        let Some(relation) = &patch.relation else { continue };
        let (package, file) = builder.schema_owner(&patch.file);
        let mut fqn = vec![package.name.clone()];
        fqn.extend(file.folders());
        fqn.push(patch.name.clone());
        let below_root = file
            .path
            .strip_prefix(&file.root)
            .unwrap_or(&file.path)
            .trim_start_matches('/')
            .to_string();
        // As dbt writes it (`_parse_yaml_snapshot`).
        let raw_code = format!("select * from {{{{ {relation} }}}}");
        found.push(SnapshotSource {
            package,
            file: SourceFile {
                path: file.path.clone(),
                root: file.root.clone(),
                contents: raw_code.clone(),
            },
            name: patch.name.clone(),
            fqn,
            raw_code,
            path: format!("{below_root}/{}.sql", patch.name),
            patch: Some(patch),
            line: patch.line,
            text: project.schema_source(&patch.file).unwrap_or_default().to_string(),
        });
    }
    found
}

/// The draft of a snapshot: its config from the `snapshots:` trees (the
/// package's own, then the root project's) and its YAML properties.
pub(super) fn draft<'a>(builder: &Builder<'a>, source: &'a SnapshotSource<'a>) -> Draft<'a> {
    let mut base_config = serde_json::Map::new();
    base_config.insert("materialized".into(), json!("snapshot"));
    let root = builder.project;
    let trees: Vec<&Value> = if std::ptr::eq(source.package, root) {
        vec![&root.snapshot_tree]
    } else {
        vec![&source.package.snapshot_tree, &root.snapshot_tree]
    };
    for tree in trees {
        config::merge(&mut base_config, &config::from_tree(tree, &source.fqn));
    }
    if let Some(patch) = source.patch {
        config::merge(&mut base_config, &patch.config);
    }
    Draft {
        package: source.package.name.clone(),
        file: &source.file,
        resource_type: ResourceType::Snapshot,
        name: source.name.clone(),
        fqn: source.fqn.clone(),
        base_config,
        patch: source.patch,
    }
}

/// Finishes a snapshot's node: dbt's raw code, path and relation, and its
/// config checked. Returns the problem with the config, if any.
pub(super) fn finish(node: &mut Node, sources: &[SnapshotSource]) -> Option<Diagnostic> {
    let source = sources
        .iter()
        .find(|source| source.file.path == node.original_file_path && source.name == node.name)?;
    node.raw_code = source.raw_code.clone();
    node.checksum = crate::project::text_checksum(&source.raw_code);
    node.path = source.path.clone();
    let legacy = |config: &serde_json::Map<String, Value>, key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    if let Some(schema) = legacy(&node.config, "target_schema") {
        node.relation.schema = schema;
    }
    if let Some(database) = legacy(&node.config, "target_database") {
        node.relation.database = database;
    }
    let problem = crate::snapshot::config::read(&node.config).err()?;
    Some(config_diagnostic(node, source, &problem))
}

/// A config problem at the line that set the key: the `config()` call of a
/// block, the YAML entry, or the project file; a missing key at the
/// snapshot's own line.
fn config_diagnostic(node: &Node, source: &SnapshotSource, problem: &crate::snapshot::config::Problem) -> Diagnostic {
    let diagnostic = Diagnostic::error(format!("snapshot `{}`: {}", node.name, problem.message)).hint(&problem.hint);
    let file = &source.file.path;
    let found = problem.key.and_then(|key| {
        let in_file = [format!("{key}="), format!("{key}:"), format!("{key} =")]
            .iter()
            .find_map(|needle| crate::yaml::find_text_line(&source.text, needle, source.line))
            .map(|(line, column)| (file.as_str(), source.text.as_str(), line, column));
        let in_patch = source.patch.and_then(|patch| {
            let text = source.package.schema_source(&patch.file)?;
            crate::yaml::find_text_line(text, &format!("{key}:"), patch.line)
                .map(|(line, column)| (patch.file.as_str(), text, line, column))
        });
        let project = source.package;
        let in_project =
            crate::yaml::find_text_line(&project.config_source, &format!("{key}:"), 1).map(|(line, column)| {
                (
                    project.config_file.as_str(),
                    project.config_source.as_str(),
                    line,
                    column,
                )
            });
        in_file
            .or(in_patch)
            .or(in_project)
            .map(|(file, text, line, column)| (file, text, line, column, key.len()))
    });
    match found {
        Some((file, text, line, column, length)) => diagnostic.at(Location::at(file, line, column, length), Some(text)),
        None => {
            let length = source
                .text
                .lines()
                .nth(source.line.saturating_sub(1))
                .map_or(1, str::len);
            diagnostic.at(Location::at(file, source.line, 1, length.max(1)), Some(&source.text))
        }
    }
}
