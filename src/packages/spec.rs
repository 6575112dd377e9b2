//! `packages.yml` (or `dependencies.yml`): the packages a project asks for.
//!
//! It owns reading the file, rendering `env_var()` and `var()` in its values as
//! dbt's package renderer does, checking each entry's keys (an error points at
//! the entry's line), and each entry as dbt serialises it for the lock file's
//! `sha1_hash`. It does not fetch anything (that is [`super::fetch`]).

use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::yaml;

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A folder, relative to the root project.
    Local { path: String },
    Git {
        url: String,
        /// The URL as written, before `env_var()` is rendered: the lock file
        /// keeps this one, so that secrets in the URL stay out of it.
        url_unrendered: String,
        /// A branch, tag or commit; `None` is the default branch.
        revision: Option<String>,
        warn_unpinned: bool,
        subdirectory: Option<String>,
    },
    Tarball {
        url: String,
        url_unrendered: String,
        name: String,
    },
    /// dbt Hub: `package: dbt-labs/dbt_utils`.
    Hub {
        package: String,
        versions: Vec<String>,
        install_prerelease: bool,
    },
}

/// One entry of the file.
#[derive(Debug, Clone)]
pub struct Entry {
    pub source: Source,
    /// 1-based line of the entry's `-`.
    pub line: usize,
    /// The entry as dbt serialises it for `sha1_hash` (rendered values plus
    /// `unrendered`, the entry as written).
    pub contract: Value,
}

impl Entry {
    /// The name a user would write before a macro (`dbt_utils` for
    /// `dbt-labs/dbt_utils`), as far as the entry tells it without fetching.
    pub fn likely_name(&self) -> String {
        let last = |text: &str| {
            text.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(text)
                .trim_end_matches(".git")
                .to_string()
        };
        match &self.source {
            Source::Local { path } => last(path),
            Source::Git {
                url,
                subdirectory: None,
                ..
            } => last(url),
            Source::Git {
                subdirectory: Some(subdirectory),
                ..
            } => last(subdirectory),
            Source::Tarball { name, .. } => name.clone(),
            Source::Hub { package, .. } => last(package),
        }
        .replace('-', "_")
    }
}

/// The packages file of a project.
#[derive(Debug, Clone)]
pub struct PackagesFile {
    /// `packages.yml` or `dependencies.yml`.
    pub file: String,
    pub entries: Vec<Entry>,
}

/// Reads `packages.yml` or `dependencies.yml` in `dir`; `None` when neither
/// lists packages. `render` renders a Jinja string (`env_var()`, `var()`).
pub fn read(
    dir: &Path,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Option<PackagesFile>, Diagnostics> {
    let mut found = Vec::new();
    for file in ["packages.yml", "dependencies.yml"] {
        let path = dir.join(file);
        if !path.is_file() {
            continue;
        }
        let source = std::fs::read_to_string(&path)
            .map_err(|error| Diagnostic::error(format!("cannot read `{file}`: {error}")).in_file(file))?;
        let document = yaml::parse(file, &source)?;
        if document.get("packages").is_some() {
            found.push((file, source, document));
        }
    }
    if found.len() > 1 {
        return Err(
            Diagnostic::error("both `packages.yml` and `dependencies.yml` have a `packages:` key")
                .in_file("dependencies.yml")
                .hint("keep the packages in one of the two files")
                .into(),
        );
    }
    let Some((file, source, document)) = found.pop() else {
        return Ok(None);
    };
    parse(file, &source, &document, render).map(Some)
}

/// Parses a packages file already read as YAML.
pub fn parse(
    file: &str,
    source: &str,
    document: &Value,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<PackagesFile, Diagnostics> {
    let items = match document.get("packages") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(Value::Null) | None => &[],
        Some(_) => {
            let line = yaml::find_text_line(source, "packages:", 1).unwrap_or((1, 1));
            return Err(Diagnostic::error("`packages` must be a list of packages")
                .at(Location::at(file, line.0, line.1, 8), Some(source))
                .hint("write each package as a list item: `- package: dbt-labs/dbt_utils`")
                .into());
        }
    };
    let lines = entry_lines(source);
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let line = lines.get(index).copied().unwrap_or(1);
        match entry(file, source, line, item, render) {
            Ok(entry) => entries.push(entry),
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(PackagesFile {
        file: file.to_string(),
        entries,
    })
}

/// 1-based lines of the items of the top-level `packages:` list.
fn entry_lines(source: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut in_packages = false;
    let mut indent = None;
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = line.len() - trimmed.len();
        if depth == 0 && !trimmed.starts_with('-') {
            in_packages = trimmed.starts_with("packages:");
            continue;
        }
        if !in_packages || !trimmed.starts_with('-') {
            continue;
        }
        match indent {
            None => {
                indent = Some(depth);
                lines.push(index + 1);
            }
            Some(indent) if indent == depth => lines.push(index + 1),
            _ => {}
        }
    }
    lines
}

const KEYS: &[(&str, &[&str])] = &[
    ("local", &["local", "name"]),
    ("git", &["git", "revision", "warn-unpinned", "subdirectory", "name"]),
    ("tarball", &["tarball", "name"]),
    (
        "package",
        &["package", "version", "install-prerelease", "install_prerelease", "name"],
    ),
];

fn entry(
    file: &str,
    source: &str,
    line: usize,
    item: &Value,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Entry, Diagnostic> {
    let here = |length: usize| {
        let column = source
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|text| text.find('-'))
            .map_or(1, |offset| offset + 3);
        Location::at(file, line, column, length.max(1))
    };
    let Value::Object(raw) = item else {
        return Err(
            Diagnostic::error("each package must be a mapping such as `- package: dbt-labs/dbt_utils`")
                .at(here(1), Some(source)),
        );
    };
    if raw.contains_key("private") {
        return Err(
            Diagnostic::error("`private:` packages need a git provider integration that dvt does not have")
                .at(here(7), Some(source))
                .hint("use a `git:` package with the repository's URL instead"),
        );
    }
    let Some((kind, allowed)) = KEYS.iter().find(|(kind, _)| raw.contains_key(*kind)) else {
        return Err(
            Diagnostic::error("a package needs one of `local:`, `git:`, `tarball:` or `package:`")
                .at(here(1), Some(source))
                .hint("for dbt Hub write `- package: dbt-labs/dbt_utils` with `version: [\">=1.0.0\", \"<2.0.0\"]`"),
        );
    };
    for key in raw.keys() {
        if !allowed.contains(&key.as_str()) {
            let (key_line, column) = yaml::find_text_line(source, &format!("{key}:"), line).unwrap_or((line, 1));
            let mut diagnostic = Diagnostic::error(format!("unknown key `{key}` in a `{kind}:` package"))
                .at(Location::at(file, key_line, column, key.len()), Some(source));
            diagnostic = match crate::diagnostic::did_you_mean(key, allowed.iter().copied()) {
                Some(suggestion) => diagnostic.label(format!("did you mean `{suggestion}`?")),
                None => diagnostic.hint(format!("a `{kind}:` package takes {}", allowed.join(", "))),
            };
            return Err(diagnostic);
        }
    }
    let mut rendered = item.clone();
    render_strings(&mut rendered, &mut |text| render(file, text))?;
    let Value::Object(values) = &rendered else {
        return Err(Diagnostic::error("each package must be a mapping").at(here(1), Some(source)));
    };
    let text = |key: &str| -> Result<Option<String>, Diagnostic> {
        match values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(Diagnostic::error(format!("`{key}` must be a string")).at(here(key.len()), Some(source))),
        }
    };
    let required = |key: &str| -> Result<String, Diagnostic> {
        match text(key)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(Diagnostic::error(format!("a `{kind}:` package is missing its `{key}`"))
                .at(here(key.len()), Some(source))),
        }
    };
    let unrendered_text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
    let name = text("name")?;
    let mut contract = Map::new();
    let source_value = match *kind {
        "local" => Source::Local {
            path: required("local")?,
        },
        "git" => {
            let warn_unpinned = match values.get("warn-unpinned") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(flag)) => Some(*flag),
                Some(_) => {
                    return Err(Diagnostic::error("`warn-unpinned` must be true or false").at(here(13), Some(source)))
                }
            };
            let url = required("git")?;
            Source::Git {
                url_unrendered: unrendered_text("git").unwrap_or_else(|| url.clone()),
                url,
                revision: text("revision")?,
                warn_unpinned: warn_unpinned != Some(false),
                subdirectory: text("subdirectory")?,
            }
        }
        "tarball" => {
            let url = required("tarball")?;
            Source::Tarball {
                url_unrendered: unrendered_text("tarball").unwrap_or_else(|| url.clone()),
                url,
                name: required("name")?,
            }
        }
        _ => {
            let package = required("package")?;
            if !package.contains('/') {
                return Err(Diagnostic::error(format!(
                    "`{package}` is not a dbt Hub package name: Hub packages have a namespace"
                ))
                .at(here(package.len()), Some(source))
                .hint("write it as `namespace/name`, such as `dbt-labs/dbt_utils`"));
            }
            let versions: Vec<String> = match values.get("version") {
                Some(Value::Array(items)) => items.iter().map(version_text).collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(single) => vec![version_text(single)],
            };
            if versions.is_empty() || versions.iter().all(String::is_empty) {
                return Err(Diagnostic::error(format!("`{package}` is missing its `version`"))
                    .at(here(package.len()), Some(source))
                    .hint("a Hub package needs a version or range, such as `version: [\">=1.0.0\", \"<2.0.0\"]`"));
            }
            for version in &versions {
                if let Err(error) = super::version::Specifier::parse(version) {
                    let (version_line, column) = yaml::find_text_line(source, version, line).unwrap_or((line, 1));
                    return Err(Diagnostic::error(format!("`{package}`: {error}"))
                        .at(Location::at(file, version_line, column, version.len()), Some(source))
                        .hint("write versions as `1.2.3`, or ranges such as `\">=1.0.0\"` and `\"<2.0.0\"`, one per list item"));
                }
            }
            let install_prerelease = values
                .get("install_prerelease")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            contract.insert("install_prerelease".into(), Value::Bool(install_prerelease));
            Source::Hub {
                package,
                versions,
                install_prerelease,
            }
        }
    };
    for (key, value) in values {
        if key != "install_prerelease" && !value.is_null() {
            contract.insert(key.clone(), value.clone());
        }
    }
    if name.is_none() {
        contract.remove("name");
    }
    contract.insert("unrendered".into(), item.clone());
    Ok(Entry {
        source: source_value,
        line,
        contract: Value::Object(contract),
    })
}

fn version_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn render_strings(
    value: &mut Value,
    render: &mut dyn FnMut(&str) -> Result<String, Diagnostic>,
) -> Result<(), Diagnostic> {
    match value {
        Value::String(text) if text.contains("{{") || text.contains("{%") => *text = render(text)?,
        Value::Array(items) => {
            for item in items {
                render_strings(item, render)?;
            }
        }
        Value::Object(object) => {
            for item in object.values_mut() {
                render_strings(item, render)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The entry lists' `sha1_hash`, as dbt computes it: each entry as JSON with
/// sorted keys (Python's `json.dumps`), the lines sorted, joined by newlines.
pub fn sha1_hash(entries: &[Entry]) -> String {
    use sha1::Digest;
    let mut lines: Vec<String> = entries
        .iter()
        .map(|entry| crate::python_json::python_json(&entry.contract, true))
        .collect();
    lines.sort();
    let digest = sha1::Sha1::digest(lines.join("\n").as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_render(_: &str, text: &str) -> Result<String, Diagnostic> {
        Ok(text.replace("{{ env_var('SUBDIR', '../sub') }}", "../sub"))
    }

    fn parse_text(source: &str) -> Result<PackagesFile, Diagnostics> {
        let document = yaml::parse("packages.yml", source).map_err(Diagnostics::from)?;
        parse("packages.yml", source, &document, &no_render)
    }

    #[test]
    fn sha1_hash_matches_dbt() {
        // `dbt deps` 1.10 wrote sha1_hash 8384c32c... for this file.
        let file = parse_text("packages:\n  - local: \"{{ env_var('SUBDIR', '../sub') }}\"\n").unwrap();
        assert_eq!(file.entries[0].source, Source::Local { path: "../sub".into() });
        assert_eq!(sha1_hash(&file.entries), "8384c32c31b241cb1835a41fdda3a097477ae8ad");
    }

    #[test]
    fn contracts_are_serialised_as_dbt_does() {
        let source = "packages:\n  - git: file:///x/y.git\n    revision: 1.0\n    warn-unpinned: false\n    subdirectory: s\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - tarball: file:///a.tgz\n    name: t\n";
        let file = parse_text(source).unwrap();
        let lines: Vec<String> = file
            .entries
            .iter()
            .map(|entry| crate::python_json::python_json(&entry.contract, true))
            .collect();
        // What dbt-core 1.10's PackageSpec.to_dict() gives for the same entries.
        assert_eq!(
            lines[0],
            r#"{"git": "file:///x/y.git", "revision": 1.0, "subdirectory": "s", "unrendered": {"git": "file:///x/y.git", "revision": 1.0, "subdirectory": "s", "warn-unpinned": false}, "warn-unpinned": false}"#
        );
        assert_eq!(
            lines[1],
            r#"{"install_prerelease": false, "package": "dbt-labs/dbt_utils", "unrendered": {"package": "dbt-labs/dbt_utils", "version": [">=1.0.0", "<2.0.0"]}, "version": [">=1.0.0", "<2.0.0"]}"#
        );
        assert_eq!(
            lines[2],
            r#"{"name": "t", "tarball": "file:///a.tgz", "unrendered": {"name": "t", "tarball": "file:///a.tgz"}}"#
        );
        assert_eq!(
            file.entries.iter().map(|entry| entry.line).collect::<Vec<_>>(),
            [2, 6, 8]
        );
        assert_eq!(file.entries[1].likely_name(), "dbt_utils");
    }

    #[test]
    fn bad_entries_point_at_their_line() {
        let source = "packages:\n  - local: ../a\n  - package: dbt-labs/dbt_utils\n    versoin: 1.0.0\n";
        let error = parse_text(source).unwrap_err();
        let diagnostic = &error.0[0];
        assert!(diagnostic.to_string().contains("unknown key `versoin`"), "{diagnostic}");
        assert_eq!(diagnostic.location_text().as_deref(), Some("packages.yml:4:5"));
        let error = parse_text("packages:\n  - package: dbt_utils\n    version: 1.0.0\n").unwrap_err();
        assert_eq!(error.0[0].location_text().as_deref(), Some("packages.yml:2:5"));
    }
}
