//! Schema YAML (version 2): the properties of models, seeds and analyses, the
//! declared sources, exposures, and the generic tests attached to all of them.
//!
//! This module turns YAML documents into typed specs with the file and line of
//! each entry. It does not create nodes or resolve refs; [`super`] does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Location};
use crate::manifest::Column;
use crate::project::SourceFile;
use crate::yaml;

/// Config keys a test may carry next to its arguments (dbt's legacy style).
const TEST_CONFIG_KEYS: &[&str] = &[
    "severity",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "tags",
    "meta",
    "enabled",
    "database",
    "schema",
    "alias",
];

const TOP_LEVEL_KEYS: &[&str] = &[
    "version",
    "models",
    "seeds",
    "sources",
    "exposures",
    "analyses",
    "macros",
    "snapshots",
    "metrics",
    "semantic_models",
    "saved_queries",
    "groups",
    "unit_tests",
    "data_tests",
];

/// One generic test as declared in YAML.
#[derive(Debug, Clone)]
pub struct TestSpec {
    /// The test's name without namespace: `not_null`, `relationships`.
    pub test_name: String,
    pub namespace: Option<String>,
    /// A `name:` given to the test instance.
    pub custom_name: Option<String>,
    pub description: Option<String>,
    pub arguments: Map<String, Value>,
    pub config: Map<String, Value>,
    pub column_name: Option<String>,
    pub file: String,
    pub line: usize,
}

/// Properties of a model, seed or analysis.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub description: String,
    pub config: Map<String, Value>,
    pub columns: BTreeMap<String, Column>,
    pub tests: Vec<TestSpec>,
    pub meta: Map<String, Value>,
    /// A model's `versions:` (`super::versions`).
    pub versions: Option<super::versions::Versions>,
    /// The version a versioned model's patch is for.
    pub version: Option<crate::manifest::ModelVersion>,
    /// A dbt 1.9 YAML snapshot's `relation:` (`ref('x')` or `source('a', 'b')`).
    pub relation: Option<String>,
    /// Model-level `constraints`, normalized (`crate::contract::constraints`).
    pub constraints: Vec<Value>,
    /// A model's `time_spine:` (MetricFlow's), as dbt writes it.
    pub time_spine: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct SourceTableSpec {
    pub name: String,
    pub identifier: Option<String>,
    pub description: String,
    pub columns: BTreeMap<String, Column>,
    pub tests: Vec<TestSpec>,
    pub loaded_at_field: Option<String>,
    /// Whether the entry has `loaded_at_field`, even as `null`.
    pub loaded_at_field_present: bool,
    pub loaded_at_query: Option<String>,
    pub freshness: Option<Value>,
    pub meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub config: Map<String, Value>,
    pub external: Value,
    /// The table's `ingest:` block, Jinja rendered, when it has one.
    pub ingest: Option<Value>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    /// `overrides: <package>`: this entry patches that package's source of
    /// the same name instead of declaring one.
    pub overrides: Option<String>,
    pub file: String,
    pub line: usize,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub description: String,
    pub loader: String,
    pub loaded_at_field: Option<String>,
    pub loaded_at_query: Option<String>,
    pub freshness: Option<Value>,
    pub meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub config: Map<String, Value>,
    pub tables: Vec<SourceTableSpec>,
}

#[derive(Debug, Clone)]
pub struct ExposureSpec {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub label: Option<String>,
    pub exposure_type: String,
    pub maturity: Option<String>,
    pub url: Option<String>,
    pub description: String,
    pub owner: Value,
    pub depends_on: Vec<(String, usize)>,
    pub tags: Vec<String>,
    pub meta: Map<String, Value>,
    pub config: Map<String, Value>,
}

/// Everything the schema files declare.
#[derive(Debug, Default)]
pub struct Properties {
    pub models: BTreeMap<String, Patch>,
    pub seeds: BTreeMap<String, Patch>,
    pub analyses: BTreeMap<String, Patch>,
    /// `snapshots:` entries: YAML snapshots (with `relation:`) and the
    /// properties of `{% snapshot %}` blocks.
    pub snapshots: BTreeMap<String, Patch>,
    pub sources: Vec<SourceSpec>,
    pub exposures: Vec<ExposureSpec>,
    /// The patch of each model version, by the stem of its file (`super::versions::expand`).
    pub versioned: BTreeMap<String, Patch>,
}

/// Reads every schema file. `render` renders a string holding Jinja.
pub fn read_all(
    files: &[SourceFile],
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> (Properties, Vec<Diagnostic>) {
    let mut properties = Properties::default();
    let mut diagnostics = Vec::new();
    // Parsing YAML is the costly part, and files are independent.
    let documents: Vec<Result<Value, Diagnostic>> = {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|file| yaml::parse(&file.path, &file.contents))
            .collect()
    };
    for (file, document) in files.iter().zip(documents) {
        let document = match document {
            Ok(Value::Null) => continue,
            Ok(document) => document,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let Value::Object(mut document) = document else {
            diagnostics.push(
                Diagnostic::error("a schema file must be a mapping with `version: 2` and lists such as `models:`")
                    .at_key(&file.path, &file.contents, &[])
                    .hint("start the file with `version: 2` and list its entries under keys such as `models:`"),
            );
            continue;
        };
        let lines = yaml::LineIndex::new(&file.contents);
        let mut reader = Reader {
            file,
            lines: &lines,
            diagnostics: &mut diagnostics,
            render,
        };
        for key in document.keys() {
            if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
                let mut warning = Diagnostic::warning(format!("unknown key `{key}` is ignored"));
                if let Some((line, column)) = yaml::find_text_line(&file.contents, &format!("{key}:"), 1) {
                    warning = warning.at(Location::at(&file.path, line, column, key.len()), Some(&file.contents));
                }
                if let Some(suggestion) = crate::diagnostic::did_you_mean(key, TOP_LEVEL_KEYS.iter().copied()) {
                    warning = warning.label(format!("did you mean `{suggestion}`?"));
                }
                // dbt 1.10 ignores it without a word; dvt says so, and goes on.
                warning = warning.hint(format!(
                    "a schema file's top-level keys are {}; remove this one or fix its spelling",
                    TOP_LEVEL_KEYS
                        .iter()
                        .map(|key| format!("`{key}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                reader.diagnostics.push(warning);
            }
        }
        for (kind, target) in [
            ("models", &mut properties.models),
            ("seeds", &mut properties.seeds),
            ("analyses", &mut properties.analyses),
            ("snapshots", &mut properties.snapshots),
        ] {
            for (entry, line) in reader.entries(&mut document, kind) {
                if let Some(patch) = reader.patch(&entry, line) {
                    if let Some(previous) = target.get(&patch.name) {
                        let diagnostic =
                            Diagnostic::error(format!("`{}` is described twice in schema files", patch.name))
                                .at(Location::at(&file.path, line, 1, 1), Some(&file.contents))
                                .note(format!("first described in {}:{}", previous.file, previous.line))
                                .hint("keep one entry per resource");
                        reader.diagnostics.push(diagnostic);
                        continue;
                    }
                    target.insert(patch.name.clone(), patch);
                }
            }
        }
        for (entry, line) in reader.entries(&mut document, "sources") {
            if let Some(source) = reader.source(&entry, line) {
                properties.sources.push(source);
            }
        }
        for (entry, line) in reader.entries(&mut document, "exposures") {
            if let Some(exposure) = reader.exposure(&entry, line) {
                properties.exposures.push(exposure);
            }
        }
    }
    (properties, diagnostics)
}

struct Reader<'a> {
    file: &'a SourceFile,
    lines: &'a yaml::LineIndex,
    diagnostics: &'a mut Vec<Diagnostic>,
    render: &'a dyn Fn(&str, &str) -> Result<String, Diagnostic>,
}

impl Reader<'_> {
    fn error_at(&mut self, line: usize, message: String, hint: &str) {
        let mut diagnostic =
            Diagnostic::error(message).at(Location::at(&self.file.path, line, 1, 1), Some(&self.file.contents));
        if line > 0 {
            // Underline the whole trimmed line.
            let text = self.file.contents.lines().nth(line - 1).unwrap_or_default();
            let start = text.len() - text.trim_start().len();
            diagnostic = diagnostic.at(
                Location::at(&self.file.path, line, start + 1, text.trim().len()),
                Some(&self.file.contents),
            );
        }
        if !hint.is_empty() {
            diagnostic = diagnostic.hint(hint);
        }
        self.diagnostics.push(diagnostic);
    }

    /// The entries of a top-level list, each with its line.
    fn entries(&mut self, document: &mut Map<String, Value>, key: &str) -> Vec<(Map<String, Value>, usize)> {
        let Some(value) = document.remove(key) else {
            return Vec::new();
        };
        let key_line = self
            .lines
            .find_text_line(&self.file.contents, &format!("{key}:"), 1)
            .map_or(1, |(line, _)| line);
        let items = match value {
            Value::Null => return Vec::new(),
            Value::Array(items) => items,
            _ => {
                self.error_at(
                    key_line,
                    format!("`{key}` must be a list of entries"),
                    "start each entry with `- name: ...`",
                );
                return Vec::new();
            }
        };
        let mut entries = Vec::new();
        let mut search_from = key_line;
        for item in items {
            let Value::Object(entry) = item else {
                self.error_at(
                    key_line,
                    format!("each entry of `{key}` must be a mapping with a `name`"),
                    "start each entry with `- name: ...`",
                );
                continue;
            };
            let Some(name) = entry.get("name").and_then(Value::as_str).map(str::to_owned) else {
                self.error_at(
                    key_line,
                    format!("an entry of `{key}` has no `name`"),
                    "add `name: <resource name>`",
                );
                continue;
            };
            let line = self
                .lines
                .find_key_line(&self.file.contents, "name", &name, search_from)
                .map_or(search_from, |(line, _)| line);
            search_from = line + 1;
            entries.push((entry, line));
        }
        entries
    }

    fn render_value(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) if text.contains("{{") || text.contains("{%") => {
                match (self.render)(&self.file.path, text) {
                    Ok(rendered) => Value::String(rendered),
                    Err(diagnostic) => {
                        self.diagnostics.push(diagnostic);
                        value.clone()
                    }
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|item| self.render_value(item)).collect()),
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(key, item)| {
                        let keep_raw = matches!(
                            key.trim_start_matches('+'),
                            "pre-hook" | "post-hook" | "pre_hook" | "post_hook"
                        );
                        (
                            key.clone(),
                            if keep_raw {
                                item.clone()
                            } else {
                                self.render_value(item)
                            },
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn string(&mut self, entry: &Map<String, Value>, key: &str) -> Option<String> {
        match entry.get(key).map(|value| self.render_value(value)) {
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::Bool(flag)) => Some(flag.to_string()),
            _ => None,
        }
    }

    /// A config value rendered as dbt renders YAML: natively, so a string
    /// that renders to `True`, `None` or `5` is that value
    /// (`enabled: "{{ target.type != 'bigquery' }}"`).
    fn render_config(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) if text.contains("{{") || text.contains("{%") => match self.render_value(value) {
                Value::String(rendered) => native_literal(rendered),
                other => other,
            },
            Value::Array(items) => Value::Array(items.iter().map(|item| self.render_config(item)).collect()),
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(key, item)| {
                        let hook = matches!(
                            key.trim_start_matches('+'),
                            "pre-hook" | "post-hook" | "pre_hook" | "post_hook"
                        );
                        (key.clone(), if hook { item.clone() } else { self.render_config(item) })
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn mapping(&mut self, entry: &Map<String, Value>, key: &str, line: usize) -> Map<String, Value> {
        let rendered = match key {
            "config" => entry.get(key).map(|value| self.render_config(value)),
            _ => entry.get(key).map(|value| self.render_value(value)),
        };
        match rendered {
            Some(Value::Object(object)) => object,
            Some(Value::Null) | None => Map::new(),
            Some(_) => {
                self.error_at(line, format!("`{key}` must be a mapping"), "");
                Map::new()
            }
        }
    }

    fn columns(&mut self, entry: &Map<String, Value>, owner_line: usize) -> (BTreeMap<String, Column>, Vec<TestSpec>) {
        let mut columns = BTreeMap::new();
        let mut tests = Vec::new();
        let items = match entry.get("columns") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => return (columns, tests),
            // dbt 1.10: "at path ['columns']: ... is not of type 'array'".
            Some(_) => {
                let line = self
                    .lines
                    .find_text_line(&self.file.contents, "columns:", owner_line)
                    .map_or(owner_line, |(line, _)| line);
                self.error_at(
                    line,
                    "`columns` must be a list of columns".into(),
                    "write each column as an item: `- name: id` with its `description:` below it",
                );
                return (columns, tests);
            }
        };
        let mut search_from = owner_line;
        for item in items {
            let Some(name) = item.get("name").and_then(Value::as_str).map(str::to_owned) else {
                self.error_at(
                    owner_line,
                    "a column has no `name`".into(),
                    "add `- name: <column>` to each column",
                );
                continue;
            };
            let item = item.as_object().cloned().unwrap_or_default();
            let line = self
                .lines
                .find_key_line(&self.file.contents, "name", &name, search_from)
                .map_or(search_from, |(line, _)| line);
            search_from = line + 1;
            let column = Column {
                name: name.clone(),
                description: self.string(&item, "description").unwrap_or_default(),
                data_type: self.string(&item, "data_type"),
                meta: self.mapping(&item, "meta", line),
                tags: crate::manifest::string_list(item.get("tags")),
                quote: item.get("quote").and_then(Value::as_bool),
                constraints: crate::contract::constraints::read(item.get("constraints"), false),
                position: columns.len(),
            };
            tests.extend(self.tests(&item, Some(&name), line));
            columns.insert(name, column);
        }
        (columns, tests)
    }

    fn tests(&mut self, entry: &Map<String, Value>, column: Option<&str>, line: usize) -> Vec<TestSpec> {
        let mut specs = Vec::new();
        for key in ["data_tests", "tests"] {
            let Some(value) = entry.get(key) else { continue };
            let Value::Array(items) = value else {
                if !value.is_null() {
                    self.error_at(
                        line,
                        format!("`{key}` must be a list"),
                        "write each test as `- not_null` or `- relationships: {...}`",
                    );
                }
                continue;
            };
            // Searches resume just after the last test found, so that two tests
            // of the same name (`- not_null:` twice, with different configs)
            // get lines of their own, and `tests: [unique, not_null]` one line.
            let mut search_from = (line, 0);
            for item in items {
                let (test_text, spec) = self.test(item, column, line);
                let found = self.find_after(&test_text, search_from);
                let test_line = found.map_or(line, |(found, _)| found);
                if let Some(found) = found {
                    search_from = (found.0, found.1 + test_text.chars().count());
                }
                if let Some(mut spec) = spec {
                    spec.line = test_line;
                    specs.push(spec);
                }
            }
        }
        specs
    }

    /// The line and 1-based column of `needle` after column `after` of line
    /// `line` (0: the whole line), or on a later line.
    fn find_after(&self, needle: &str, (line, after): (usize, usize)) -> Option<(usize, usize)> {
        if needle.is_empty() {
            return None;
        }
        let text = self.lines.line(&self.file.contents, line);
        let skip: usize = text.chars().take(after).map(char::len_utf8).sum();
        if let Some(offset) = text.get(skip..).and_then(|rest| rest.find(needle)) {
            return Some((line, text[..skip + offset].chars().count() + 1));
        }
        self.lines.find_text_line(&self.file.contents, needle, line + 1)
    }

    /// One test entry; returns the text to search for its line, and the spec.
    fn test(&mut self, item: &Value, column: Option<&str>, line: usize) -> (String, Option<TestSpec>) {
        let mut spec = TestSpec {
            test_name: String::new(),
            namespace: None,
            custom_name: None,
            description: None,
            arguments: Map::new(),
            config: Map::new(),
            column_name: column.map(str::to_owned),
            file: self.file.path.clone(),
            line,
        };
        let body: Map<String, Value> = match item {
            Value::String(name) => {
                spec.test_name = name.clone();
                Map::new()
            }
            Value::Object(object) if object.contains_key("test_name") => {
                spec.test_name = object
                    .get("test_name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                object
                    .iter()
                    .filter(|(key, _)| key.as_str() != "test_name")
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect()
            }
            Value::Object(object) if object.len() == 1 => {
                let (name, body) = object
                    .iter()
                    .next()
                    .map(|(name, body)| (name.clone(), body.clone()))
                    .unwrap_or_default();
                spec.test_name = name;
                match body {
                    Value::Object(body) => body,
                    Value::Null => Map::new(),
                    _ => {
                        self.error_at(
                            line,
                            format!("the arguments of test `{}` must be a mapping", spec.test_name),
                            "write `- accepted_values: {values: [a, b]}`",
                        );
                        return (spec.test_name.clone(), None);
                    }
                }
            }
            _ => {
                self.error_at(
                    line,
                    "a test must be a name or a mapping of one test name to its arguments".into(),
                    "write `- unique` or `- relationships: {to: ref('x'), field: id}`",
                );
                return (String::new(), None);
            }
        };
        if let Some((namespace, name)) = spec.test_name.clone().split_once('.') {
            spec.namespace = Some(namespace.to_string());
            spec.test_name = name.to_string();
        }
        for (key, value) in body {
            match key.as_str() {
                "config" => {
                    if let Value::Object(config) = self.render_config(&value) {
                        super::config::merge(&mut spec.config, &config);
                    }
                }
                "arguments" => {
                    if let Value::Object(arguments) = value {
                        spec.arguments.extend(arguments);
                    }
                }
                "name" => spec.custom_name = value.as_str().map(str::to_owned),
                "description" => spec.description = value.as_str().map(str::to_owned),
                "column_name" => spec.column_name = value.as_str().map(str::to_owned),
                key if TEST_CONFIG_KEYS.contains(&key) => {
                    let mut layer = Map::new();
                    layer.insert(key.to_string(), self.render_config(&value));
                    super::config::merge(&mut spec.config, &layer);
                }
                _ => {
                    spec.arguments.insert(key, value);
                }
            }
        }
        let search = if spec.namespace.is_some() {
            format!("{}.{}", spec.namespace.clone().unwrap_or_default(), spec.test_name)
        } else {
            spec.test_name.clone()
        };
        (search, Some(spec))
    }

    fn patch(&mut self, entry: &Map<String, Value>, line: usize) -> Option<Patch> {
        let name = entry.get("name")?.as_str()?.to_string();
        let (columns, mut tests) = self.columns(entry, line);
        let mut model_tests = self.tests(entry, None, line);
        model_tests.append(&mut tests);
        let mut config = self.mapping(entry, "config", line);
        // Legacy: some configs may sit at the top of an entry.
        for key in ["docs", "tags"] {
            if let Some(value) = entry.get(key) {
                let mut layer = Map::new();
                layer.insert(key.to_string(), value.clone());
                super::config::merge(&mut config, &layer);
            }
        }
        Some(Patch {
            name,
            file: self.file.path.clone(),
            line,
            description: self.string(entry, "description").unwrap_or_default(),
            config,
            columns,
            tests: model_tests,
            meta: self.mapping(entry, "meta", line),
            versions: self.versions(entry, line),
            version: None,
            relation: self.string(entry, "relation"),
            constraints: crate::contract::constraints::read(entry.get("constraints"), true),
            time_spine: time_spine(entry.get("time_spine")),
        })
    }

    /// A model's `versions:` and `latest_version`, each version with the
    /// line of its `- v:` (`super::versions`).
    fn versions(&mut self, entry: &Map<String, Value>, line: usize) -> Option<super::versions::Versions> {
        use super::versions::{label, normalize_date, split_columns, VersionSpec, Versions};
        let items = match entry.get("versions") {
            Some(Value::Array(items)) if !items.is_empty() => items,
            Some(Value::Array(_)) | Some(Value::Null) | None => return None,
            Some(_) => {
                self.error_at(
                    line,
                    "`versions` must be a list".into(),
                    "write each version as `- v: 2`",
                );
                return None;
            }
        };
        let mut specs: Vec<VersionSpec> = Vec::new();
        let mut search_from = line;
        for item in items {
            let Some(version) = item.get("v").filter(|value| value.is_number() || value.is_string()) else {
                self.error_at(
                    line,
                    "a version has no `v`".into(),
                    "give each version a number: `- v: 2`",
                );
                continue;
            };
            let version_line = self
                .lines
                .find_key_line(&self.file.contents, "v", &label(version), search_from)
                .map_or(search_from, |(found, _)| found);
            search_from = version_line + 1;
            if specs.iter().any(|spec| label(&spec.version) == label(version)) {
                self.error_at(
                    version_line,
                    format!(
                        "Found duplicate version: '{}' in versions list of model '{}'",
                        label(version),
                        entry.get("name").and_then(Value::as_str).unwrap_or_default()
                    ),
                    "give each version its own `v`",
                );
                continue;
            }
            let entry = item.as_object().cloned().unwrap_or_default();
            let (columns, own) = split_columns(
                entry
                    .get("columns")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice),
            );
            let mut own_entry = Map::new();
            own_entry.insert("columns".into(), Value::Array(own));
            let (own_columns, column_tests) = self.columns(&own_entry, version_line);
            let model_tests = (entry.contains_key("data_tests") || entry.contains_key("tests"))
                .then(|| self.tests(&entry, None, version_line));
            let deprecation_date = self.string(&entry, "deprecation_date");
            let normalized = deprecation_date.as_deref().and_then(normalize_date);
            if deprecation_date.is_some() && normalized.is_none() {
                self.error_at(
                    version_line,
                    "`deprecation_date` is not a date".into(),
                    "write it as `2025-01-31` or `2025-01-31T00:00:00+00:00`",
                );
            }
            specs.push(VersionSpec {
                version: version.clone(),
                line: version_line,
                defined_in: self.string(&entry, "defined_in"),
                description: self.string(&entry, "description"),
                config: self.mapping(&entry, "config", version_line),
                columns,
                own_columns,
                column_tests,
                model_tests,
                deprecation_date: normalized,
            });
        }
        let greatest = specs
            .iter()
            .map(|spec| &spec.version)
            .max_by(|left, right| match (left.as_f64(), right.as_f64()) {
                (Some(left), Some(right)) => left.total_cmp(&right),
                _ => label(left).cmp(&label(right)),
            })
            .cloned()
            .unwrap_or(Value::Null);
        let latest = match entry.get("latest_version") {
            Some(latest) if !latest.is_null() => {
                if !specs.iter().any(|spec| label(&spec.version) == label(latest)) {
                    let known: Vec<String> = specs.iter().map(|spec| label(&spec.version)).collect();
                    let latest_line = self
                        .lines
                        .find_text_line(&self.file.contents, "latest_version:", line)
                        .map_or(line, |(found, _)| found);
                    self.error_at(
                        latest_line,
                        format!(
                            "latest_version: {} is not one of model '{}' versions: [{}]",
                            label(latest),
                            entry.get("name").and_then(Value::as_str).unwrap_or_default(),
                            known.join(", ")
                        ),
                        "set `latest_version` to one of the `v` values under `versions:`",
                    );
                }
                // The version's own value, so that `2` and `'2'` compare equal.
                specs
                    .iter()
                    .find(|spec| label(&spec.version) == label(latest))
                    .map_or_else(|| latest.clone(), |spec| spec.version.clone())
            }
            _ => greatest,
        };
        Some(Versions { latest, specs })
    }

    fn source(&mut self, entry: &Map<String, Value>, line: usize) -> Option<SourceSpec> {
        let name = entry.get("name")?.as_str()?.to_string();
        let mut tables = Vec::new();
        match entry.get("tables") {
            Some(Value::Array(items)) => {
                let mut search_from = line + 1;
                for item in items {
                    let Some(table) = item.as_object() else { continue };
                    let Some(table_name) = table.get("name").and_then(Value::as_str).map(str::to_owned) else {
                        self.error_at(
                            line,
                            format!("a table of source `{name}` has no `name`"),
                            "add `- name: <table>`",
                        );
                        continue;
                    };
                    let table_line = self
                        .lines
                        .find_key_line(&self.file.contents, "name", &table_name, search_from)
                        .map_or(search_from, |(found, _)| found);
                    search_from = table_line + 1;
                    let (columns, mut column_tests) = self.columns(table, table_line);
                    let mut tests = self.tests(table, None, table_line);
                    tests.append(&mut column_tests);
                    let freshness = table.get("freshness").cloned();
                    let ingest = self.ingest(table, table_line);
                    tables.push(SourceTableSpec {
                        name: table_name,
                        identifier: self.string(table, "identifier"),
                        description: self.string(table, "description").unwrap_or_default(),
                        columns,
                        tests,
                        loaded_at_field: self.string(table, "loaded_at_field"),
                        loaded_at_field_present: table.contains_key("loaded_at_field"),
                        loaded_at_query: self.string(table, "loaded_at_query"),
                        freshness,
                        meta: self.mapping(table, "meta", table_line),
                        tags: crate::manifest::string_list(table.get("tags")),
                        config: self.mapping(table, "config", table_line),
                        external: table.get("external").cloned().unwrap_or(Value::Null),
                        ingest,
                        line: table_line,
                    });
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => self.error_at(
                line,
                format!("`tables` of source `{name}` must be a list"),
                "write `tables:` then `- name: <table>` entries",
            ),
        }
        Some(SourceSpec {
            database: self.string(entry, "database"),
            schema: self.string(entry, "schema"),
            description: self.string(entry, "description").unwrap_or_default(),
            loader: self.string(entry, "loader").unwrap_or_default(),
            loaded_at_field: self.string(entry, "loaded_at_field"),
            loaded_at_query: self.string(entry, "loaded_at_query"),
            freshness: entry.get("freshness").cloned(),
            meta: self.mapping(entry, "meta", line),
            tags: crate::manifest::string_list(entry.get("tags")),
            config: self.mapping(entry, "config", line),
            overrides: self.string(entry, "overrides"),
            name,
            file: self.file.path.clone(),
            line,
            tables,
        })
    }

    /// The table's `ingest:` block (or `meta.ingest`, `config.ingest`),
    /// with its Jinja rendered; `ingest` reads it after rendering.
    fn ingest(&mut self, table: &Map<String, Value>, table_line: usize) -> Option<Value> {
        let (source_file, lines) = (self.file, self.lines);
        match declared_ingest_block(table, &source_file.path, &source_file.contents, lines, table_line) {
            Ok(Some((_, block))) => Some(self.render_value(block)),
            Ok(None) => None,
            Err(diagnostic) => {
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    fn exposure(&mut self, entry: &Map<String, Value>, line: usize) -> Option<ExposureSpec> {
        let name = entry.get("name")?.as_str()?.to_string();
        let Some(exposure_type) = self.string(entry, "type") else {
            self.error_at(
                line,
                format!("exposure `{name}` has no `type`"),
                "add `type: dashboard` (or notebook, analysis, ml, application)",
            );
            return None;
        };
        let mut depends_on = Vec::new();
        if let Some(Value::Array(items)) = entry.get("depends_on") {
            for item in items.iter().filter_map(Value::as_str) {
                let item_line = self
                    .lines
                    .find_text_line(&self.file.contents, item, line)
                    .map_or(line, |(found, _)| found);
                depends_on.push((item.to_string(), item_line));
            }
        }
        Some(ExposureSpec {
            label: self.string(entry, "label"),
            maturity: self.string(entry, "maturity"),
            url: self.string(entry, "url"),
            description: self.string(entry, "description").unwrap_or_default(),
            owner: entry
                .get("owner")
                .map(|owner| self.render_value(owner))
                .unwrap_or(Value::Null),
            tags: crate::manifest::string_list(entry.get("tags")),
            meta: self.mapping(entry, "meta", line),
            config: self.mapping(entry, "config", line),
            exposure_type,
            name,
            file: self.file.path.clone(),
            line,
            depends_on,
        })
    }
}

/// `{% docs name %}...{% enddocs %}` blocks of a Markdown file, with their lines.
pub fn docs_blocks(file: &SourceFile) -> Result<Vec<(String, String, usize)>, Diagnostic> {
    let mut blocks = Vec::new();
    let mut rest = file.contents.as_str();
    let mut consumed = 0;
    while let Some(start) = find_tag(rest, "docs") {
        let tag_end = rest[start..]
            .find("%}")
            .map(|offset| start + offset + 2)
            .unwrap_or(rest.len());
        let tag = &rest[start..tag_end];
        let name = tag
            .trim_start_matches("{%")
            .trim_end_matches("%}")
            .trim_matches(|character: char| character == '-' || character.is_whitespace());
        let name = name.trim_start_matches("docs").trim().to_string();
        let line = crate::diagnostic::line_column(&file.contents, consumed + start).0;
        let Some(end) = find_tag(&rest[tag_end..], "enddocs") else {
            return Err(Diagnostic::error(format!("docs block `{name}` is never closed"))
                .at(Location::at(&file.path, line, 1, tag.len()), Some(&file.contents))
                .hint("end it with `{% enddocs %}`"));
        };
        let body = rest[tag_end..tag_end + end].trim().to_string();
        blocks.push((name, body, line));
        let close_end = rest[tag_end + end..]
            .find("%}")
            .map(|offset| tag_end + end + offset + 2)
            .unwrap_or(rest.len());
        consumed += close_end;
        rest = &rest[close_end..];
    }
    Ok(blocks)
}

/// Byte offset of the next `{% <word> ...` tag.
fn find_tag(text: &str, word: &str) -> Option<usize> {
    let mut offset = 0;
    while let Some(found) = text[offset..].find("{%") {
        let start = offset + found;
        let inner = text[start + 2..].trim_start_matches(['-', '+']).trim_start();
        if inner.starts_with(word)
            && inner[word.len()..]
                .starts_with(|character: char| character.is_whitespace() || character == '-' || character == '%')
        {
            return Some(start);
        }
        offset = start + 2;
    }
    None
}

/// Where a source table's `ingest:` block may be declared, for messages.
const INGEST_PLACES: &[(&[&str], &str)] = &[
    (&["ingest"], "ingest"),
    (&["meta", "ingest"], "meta.ingest"),
    (&["config", "ingest"], "config.ingest"),
    (&["config", "meta", "ingest"], "config.meta.ingest"),
];

/// The `ingest:` block of a source table's entry and where it sits, or
/// `None` when the table is not ingested. Two blocks are an error.
pub fn declared_ingest_block<'v>(
    table: &'v Map<String, Value>,
    path: &str,
    contents: &str,
    lines: &yaml::LineIndex,
    table_line: usize,
) -> Result<Option<(&'static str, &'v Value)>, Diagnostic> {
    let mut found: Vec<(&'static str, &'v Value)> = Vec::new();
    for (keys, place) in INGEST_PLACES {
        let mut value = None;
        let mut current = table;
        for (index, key) in keys.iter().enumerate() {
            match current.get(*key) {
                Some(next) if index + 1 == keys.len() => value = Some(next),
                Some(Value::Object(next)) => current = next,
                _ => break,
            }
        }
        if let Some(value) = value.filter(|value| !value.is_null()) {
            found.push((place, value));
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        [first, second, ..] => {
            let line = lines
                .find_text_line(contents, "ingest:", table_line)
                .map_or(table_line, |(line, _)| line);
            let text = lines.line(contents, line);
            let (column, length) = match text.find("ingest") {
                Some(offset) => (text[..offset].chars().count() + 1, "ingest".len()),
                None => {
                    let start = text.len() - text.trim_start().len();
                    (start + 1, text.trim().chars().count())
                }
            };
            Err(Diagnostic::error(format!(
                "the table has two ingest blocks, `{}` and `{}`",
                first.0, second.0
            ))
            .at(Location::at(path, line, column, length), Some(contents))
            .hint("keep one `ingest:` block per source table"))
        }
    }
}

/// What a rendered config string stands for, as dbt's native rendering reads
/// it: `True` / `False`, `None`, a number, or else the text itself.
fn native_literal(rendered: String) -> Value {
    match rendered.trim() {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "None" => Value::Null,
        text => match text.parse::<i64>() {
            Ok(number) => Value::from(number),
            Err(_) => Value::String(rendered),
        },
    }
}

/// A model's `time_spine:` as dbt's manifest has it: its standard
/// granularity column and its custom granularities (none unless given).
fn time_spine(declared: Option<&Value>) -> Option<Value> {
    let declared = declared?.as_object()?;
    let mut spine = declared.clone();
    spine
        .entry("custom_granularities")
        .or_insert_with(|| Value::Array(Vec::new()));
    Some(Value::Object(spine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_of_the_same_name_get_their_own_lines() {
        let contents = "version: 2\nmodels:\n  - name: rentals\n    columns:\n      - name: id\n        tests: [unique, not_null]\n      - name: returned_at\n        tests:\n          - not_null:\n              config:\n                where: \"rented_at < '2006-01-01'\"\n          - not_null:\n              name: returned_at_warn\n";
        let file = SourceFile {
            path: "models/schema.yml".into(),
            root: "models".into(),
            contents: contents.into(),
        };
        let render = |_: &str, text: &str| -> Result<String, Diagnostic> { Ok(text.to_string()) };
        let (properties, diagnostics) = read_all(&[file], &render);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let lines: Vec<(String, Option<String>, usize)> = properties.models["rentals"]
            .tests
            .iter()
            .map(|spec| (spec.test_name.clone(), spec.custom_name.clone(), spec.line))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("unique".into(), None, 6),
                ("not_null".into(), None, 6),
                ("not_null".into(), None, 9),
                ("not_null".into(), Some("returned_at_warn".into()), 12),
            ]
        );
    }
}
