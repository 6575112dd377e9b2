//! Model versions, as dbt-core 1.5+ has them: a model entry's `versions:`
//! in schema YAML (`v`, `latest_version`, `defined_in`, per-version
//! `columns` with `include`/`exclude`, `config`, `deprecation_date`).
//!
//! Each version is a node of its own, `model.<package>.<name>.v<v>`, named
//! like the model, built from `<name>_v<v>.sql` (or the file `defined_in`
//! names; the latest version may also live in `<name>.sql`) into the
//! relation `<name>_v<v>` unless an `alias` says otherwise. This module turns
//! a model's YAML entry into one patch per version ([`expand`]), finds the
//! version a `ref()` means, and warns about deprecated versions as dbt does.
//! Selection by version is in [`crate::select`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{Patch, Properties, TestSpec};
use crate::diagnostic::{Diagnostic, Location};
use crate::manifest::{Column, Manifest, ModelVersion, ResourceType};
use crate::project::Project;

/// A model entry's `versions:` and `latest_version`.
#[derive(Debug, Clone, Default)]
pub struct Versions {
    /// `latest_version`, else the greatest `v`, as dbt picks it.
    pub latest: Value,
    pub specs: Vec<VersionSpec>,
}

/// Which of the model's columns a version keeps.
#[derive(Debug, Clone, Default)]
pub struct IncludeExclude {
    /// `None` is `all` or `*`.
    pub include: Option<Vec<String>>,
    pub exclude: Vec<String>,
}

impl IncludeExclude {
    fn includes(&self, column: &str) -> bool {
        let included = self
            .include
            .as_ref()
            .is_none_or(|names| names.iter().any(|name| name == column));
        included && !self.exclude.iter().any(|name| name == column)
    }
}

/// One entry of `versions:`.
#[derive(Debug, Clone, Default)]
pub struct VersionSpec {
    /// `v`, a number or a string.
    pub version: Value,
    /// The line of `- v:` in the schema file.
    pub line: usize,
    pub defined_in: Option<String>,
    pub description: Option<String>,
    pub config: Map<String, Value>,
    pub columns: IncludeExclude,
    /// The version's own columns, after the included ones.
    pub own_columns: BTreeMap<String, Column>,
    /// The version's own column tests.
    pub column_tests: Vec<TestSpec>,
    /// The version's `data_tests`, which replace the model's when given.
    pub model_tests: Option<Vec<TestSpec>>,
    /// As dbt writes it: `2020-01-01T00:00:00+00:00`.
    pub deprecation_date: Option<String>,
}

/// `v` as dbt formats it into names: `2`, `1.5`, `beta`.
pub fn label(version: &Value) -> String {
    match version {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A YAML date or datetime as dbt normalizes `deprecation_date`: an ISO
/// datetime with its offset, UTC when none is given.
pub fn normalize_date(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(format!("{}T00:00:00+00:00", date.format("%Y-%m-%d")));
    }
    if let Ok(datetime) = chrono::DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1)) {
        return Some(datetime.format("%Y-%m-%dT%H:%M:%S%:z").to_string());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(datetime) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(datetime.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
        }
    }
    None
}

fn is_past(date: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(date).is_ok_and(|date| date < chrono::Utc::now())
}

/// Splits a version's `columns:` into its include/exclude element and its
/// own columns, as dbt's `UnparsedVersion` does.
pub fn split_columns(items: &[Value]) -> (IncludeExclude, Vec<Value>) {
    let mut selection = IncludeExclude::default();
    let mut own = Vec::new();
    for item in items {
        let is_selection = item.get("include").is_some() || item.get("exclude").is_some();
        if !is_selection {
            own.push(item.clone());
            continue;
        }
        let names = |value: Option<&Value>| -> Option<Vec<String>> {
            match value {
                Some(Value::String(text)) if text == "all" || text == "*" => None,
                Some(value) => Some(crate::manifest::string_list(Some(value))),
                None => None,
            }
        };
        selection.include = names(item.get("include"));
        selection.exclude = names(item.get("exclude")).unwrap_or_default();
    }
    (selection, own)
}

/// The patch of each version of every versioned model, keyed by the stem
/// of the file that defines it, and a warning for each version whose file
/// does not exist (dbt's "Did not find matching node for patch").
pub fn expand(properties: &mut Properties, project: &Project) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let stems: Vec<String> = project
        .files
        .models
        .iter()
        .chain(project.packages.iter().flat_map(|package| package.files.models.iter()))
        .map(|file| file.stem())
        .collect();
    let mut versioned = BTreeMap::new();
    for patch in properties.models.values() {
        let Some(versions) = &patch.versions else { continue };
        for spec in &versions.specs {
            let version = label(&spec.version);
            let mut stem = spec
                .defined_in
                .clone()
                .unwrap_or_else(|| format!("{}_v{version}", patch.name));
            if !stems.contains(&stem) && spec.defined_in.is_none() && spec.version == versions.latest {
                // The latest version may define itself in the unsuffixed file.
                stem = patch.name.clone();
            }
            if !stems.contains(&stem) {
                let source = project.schema_source(&patch.file);
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "version {version} of model `{}` is defined in `{stem}`, but no model file is named `{stem}.sql`",
                        patch.name
                    ))
                    .at(Location::at(&patch.file, spec.line, 1, 1), source)
                    .hint(format!(
                        "add models/{stem}.sql, or point `defined_in:` at the file that defines version {version}"
                    )),
                );
                continue;
            }
            versioned.insert(stem, version_patch(patch, versions, spec));
        }
    }
    properties.versioned = versioned;
    diagnostics
}

/// One version's patch: the model's with the version's config merged over
/// it, its columns chosen by include/exclude, and the tests that go with them.
fn version_patch(model: &Patch, versions: &Versions, spec: &VersionSpec) -> Patch {
    let mut config = model.config.clone();
    super::config::merge(&mut config, &spec.config);
    let mut columns: BTreeMap<String, Column> = model
        .columns
        .iter()
        .filter(|(name, _)| spec.columns.includes(name))
        .map(|(name, column)| (name.clone(), column.clone()))
        .collect();
    columns.extend(spec.own_columns.clone());
    let model_tests: Vec<TestSpec> = match &spec.model_tests {
        Some(tests) => tests.clone(),
        None => model
            .tests
            .iter()
            .filter(|test| test.column_name.is_none())
            .cloned()
            .collect(),
    };
    let column_tests = model.tests.iter().filter(|test| {
        test.column_name
            .as_deref()
            .is_some_and(|column| spec.columns.includes(column))
    });
    let tests = model_tests
        .into_iter()
        .chain(column_tests.cloned())
        .chain(spec.column_tests.iter().cloned())
        .collect();
    Patch {
        description: spec.description.clone().unwrap_or_else(|| model.description.clone()),
        config,
        columns,
        tests,
        // Problems with this version point at its `- v:` entry.
        line: spec.line,
        versions: None,
        version: Some(ModelVersion {
            version: spec.version.clone(),
            latest_version: versions.latest.clone(),
            deprecation_date: spec.deprecation_date.clone(),
        }),
        ..model.clone()
    }
}

impl Properties {
    /// The patch of the model file with this stem: its version's, or the
    /// model's when it has no versions.
    pub fn model_patch(&self, stem: &str) -> Option<&Patch> {
        self.versioned
            .get(stem)
            .or_else(|| self.models.get(stem).filter(|patch| patch.versions.is_none()))
    }

    /// The patch a model node was built with.
    pub fn node_patch(&self, name: &str, version: Option<&ModelVersion>) -> Option<&Patch> {
        match version {
            Some(version) => self.versioned.values().find(|patch| {
                patch.name == name && patch.version.as_ref().is_some_and(|own| own.version == version.version)
            }),
            None => self.models.get(name).filter(|patch| patch.versions.is_none()),
        }
    }
}

/// A versioned draft's name and fqn: named like its model,
/// with `v<v>` after the name in its fqn, as dbt renames it.
pub fn rename(name: &mut String, fqn: &mut Vec<String>, patch: Option<&Patch>) {
    let Some((patch, version)) = patch.and_then(|patch| Some((patch, patch.version.as_ref()?))) else {
        return;
    };
    name.clone_from(&patch.name);
    if let Some(last) = fqn.last_mut() {
        last.clone_from(&patch.name);
    }
    fqn.push(format!("v{}", label(&version.version)));
}

/// dbt's default alias of a version: `<name>_v<v>`, dots as underscores.
pub fn default_alias(name: &str, version: &ModelVersion) -> String {
    format!("{name}_v{}", label(&version.version).replace('.', "_"))
}

/// dbt's warnings about deprecated versions: a model past its
/// `deprecation_date`, and each model that refers to a deprecated one.
pub fn deprecation_warnings(manifest: &Manifest, properties: &Properties, project: &Project) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    let children = manifest.child_map();
    for node in manifest.nodes.values() {
        let Some(version) = &node.version else { continue };
        let Some(date) = &version.deprecation_date else {
            continue;
        };
        let label = label(&version.version);
        let past = is_past(date);
        let patch = properties.node_patch(&node.name, Some(version));
        let at = |diagnostic: Diagnostic| match patch {
            Some(patch) => diagnostic.at(
                Location::at(&patch.file, patch.line, 1, 1),
                project.schema_source(&patch.file),
            ),
            None => diagnostic.in_file(&node.original_file_path),
        };
        if past {
            warnings.push(at(Diagnostic::warning(format!(
                "Model {}.v{label} has passed its deprecation date of {date}. This model should be disabled or removed.",
                node.name
            ))));
        }
        for child_id in children.get(&node.unique_id).into_iter().flatten() {
            let Some(child) = manifest.nodes.get(child_id) else {
                continue;
            };
            if child.resource_type != ResourceType::Model {
                continue;
            }
            let latest = self::label(&version.latest_version);
            let mut message = format!(
                "While compiling '{}': Found a reference to {}.v{label}, which {} '{date}'. ",
                child.name,
                node.name,
                if past {
                    "was deprecated on"
                } else {
                    "is slated for deprecation on"
                }
            );
            if label != latest {
                message.push_str(&format!(
                    "A new version of '{}' is available. {}: {{{{ ref('{}', '{}', v='{latest}') }}}}.",
                    node.name,
                    if past { "Migrate now" } else { "Try it out" },
                    node.package_name,
                    node.name
                ));
            }
            let mut warning = Diagnostic::warning(message.trim_end().to_string());
            warning = match super::locate_call(&child.raw_code, "ref", std::slice::from_ref(&node.name)) {
                Some((offset, length)) => warning.at(
                    Location::from_offset(&child.original_file_path, &child.raw_code, offset, length),
                    Some(&child.raw_code),
                ),
                None => warning.in_file(&child.original_file_path),
            };
            warnings.push(warning);
        }
    }
    warnings
}

/// The error for `ref('m', v=9)` when `m` has no version 9: at the call,
/// with the versions there are and where the YAML declares them.
pub(super) fn unknown_version(
    builder: &super::builder::Builder,
    node: &crate::manifest::Node,
    call: &crate::manifest::RefCall,
    lookup: &super::builder::RefLookup,
) -> Diagnostic {
    let prefix = format!("{}.v", call.name);
    let known: Vec<&str> = lookup
        .by_name
        .keys()
        .filter_map(|key| key.strip_prefix(&prefix))
        .collect();
    let version = call.version.clone().unwrap_or_default();
    let mut diagnostic = builder.unknown(
        node,
        "ref",
        std::slice::from_ref(&call.name),
        format!(
            "{} `{}` refers to version {version} of model `{}`, which has no such version",
            node.resource_type.as_str(),
            node.name,
            call.name
        ),
        None,
    );
    diagnostic.hints.clear();
    if let Some(patch) = builder.properties.models.get(&call.name) {
        diagnostic = diagnostic.note(format!(
            "the versions of `{}` ({}) are declared in {}:{}",
            call.name,
            known.join(", "),
            patch.file,
            patch.line
        ));
    }
    diagnostic.hint(format!(
        "pin one of its versions, `ref('{}', v={})`, or add version {version} under `versions:`",
        call.name,
        known.last().copied().unwrap_or("1")
    ))
}

/// Where a version stands against its model's latest one, for `version:`:
/// compared as numbers when both are, else as text, as dbt compares them.
pub fn rank(version: &ModelVersion) -> crate::select::VersionRank {
    use crate::select::VersionRank;
    let ordering = match (version.version.as_f64(), version.latest_version.as_f64()) {
        (Some(own), Some(latest)) => own.total_cmp(&latest),
        _ => label(&version.version).cmp(&label(&version.latest_version)),
    };
    match ordering {
        std::cmp::Ordering::Equal => VersionRank::Latest,
        std::cmp::Ordering::Greater => VersionRank::Prerelease,
        std::cmp::Ordering::Less => VersionRank::Old,
    }
}
