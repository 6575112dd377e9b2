//! `unit_tests:` entries of the schema files of the root project and of
//! every installed package, read into [`Definition`]s and `unit_test`
//! nodes, as dbt's unit test parser does: the tested model (of the same
//! package) and each input resolved, rows normalized from their format
//! (`dict`, `csv`, `sql`, or a fixture file in a test path's `fixtures/`
//! folder), the config merged from the project files' `unit_tests:` trees,
//! and every problem reported at its file and line.
//!
//! A package's unit tests are nodes of that package and run by default, as
//! dbt runs them; the root project's `unit_tests: <package>:` tree can
//! disable them.

use serde_json::{json, Map, Value};

use super::{Definition, Expect, Format, Given, InputTarget, Overrides, Rows};
use crate::diagnostic::{did_you_mean, Diagnostic, Location};
use crate::manifest::{Manifest, Node, Relation, ResourceType};
use crate::project::{Project, SourceFile};
use crate::yaml;

/// Adds a `unit_test` node and its definition for every enabled unit test
/// of the root project and its packages, and returns the problems found.
pub fn add_nodes(root: &Project, manifest: &mut Manifest) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut found: Vec<(Node, Definition)> = Vec::new();
    let schema_files = std::iter::once(root).chain(&root.packages).flat_map(|project| {
        project
            .files
            .schemas
            .iter()
            .filter(|file| file.contents.contains("unit_tests"))
            .map(move |file| (project, file))
    });
    for (project, file) in schema_files {
        // A file that does not parse is reported by the schema reader.
        let Ok(Value::Object(mut document)) = yaml::parse(&file.path, &file.contents) else {
            continue;
        };
        let Some(entries) = document.remove("unit_tests") else {
            continue;
        };
        let lines = yaml::LineIndex::new(&file.contents);
        let mut reader = Reader {
            root,
            project,
            manifest,
            file,
            lines: &lines,
            diagnostics: &mut diagnostics,
        };
        let key_line = reader.line_of("unit_tests:", 1);
        let items = match entries {
            Value::Null => continue,
            Value::Array(items) => items,
            _ => {
                reader.error(
                    key_line,
                    "`unit_tests` must be a list of unit tests".into(),
                    "start each unit test with `- name: ...`",
                );
                continue;
            }
        };
        let mut search_from = key_line;
        for item in items {
            let Value::Object(entry) = item else {
                reader.error(
                    key_line,
                    "each entry of `unit_tests` must be a mapping with `name`, `model`, `given` and `expect`".into(),
                    "start each unit test with `- name: ...`",
                );
                continue;
            };
            let Some(name) = entry.get("name").and_then(Value::as_str).map(str::to_owned) else {
                reader.error(key_line, "a unit test has no `name`".into(), "add `name: <test name>`");
                continue;
            };
            let line = lines
                .find_key_line(&file.contents, "name", &name, search_from)
                .map_or(search_from, |(line, _)| line);
            search_from = line + 1;
            if let Some(pair) = reader.unit_test(&entry, &name, line) {
                found.push(pair);
            }
        }
    }
    for (node, definition) in found {
        if let Some(previous) = manifest.nodes.get(&node.unique_id) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "model `{}` has two unit tests named `{}`",
                    definition.model, node.name
                ))
                .at(
                    Location::at(&node.original_file_path, definition.line, 1, 1),
                    root.schema_source(&node.original_file_path),
                )
                .note(format!("the other is in {}", previous.original_file_path))
                .hint("give each unit test of a model its own name"),
            );
            continue;
        }
        manifest.unit_tests.insert(node.unique_id.clone(), definition);
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
    diagnostics
}

struct Reader<'a> {
    root: &'a Project,
    /// The project (root or package) whose schema file is read.
    project: &'a Project,
    manifest: &'a Manifest,
    file: &'a SourceFile,
    lines: &'a yaml::LineIndex,
    diagnostics: &'a mut Vec<Diagnostic>,
}

/// Which side of the test a fixture is on, for messages as dbt words them.
#[derive(Clone, Copy)]
enum Side<'a> {
    Input(&'a Given),
    Expected,
}

impl Side<'_> {
    fn word(self) -> &'static str {
        match self {
            Side::Input(_) => "input",
            Side::Expected => "expected",
        }
    }
}

impl Reader<'_> {
    fn line_of(&self, needle: &str, after: usize) -> usize {
        self.lines
            .find_text_line(&self.file.contents, needle, after)
            .map_or(after, |(line, _)| line)
    }

    fn error(&mut self, line: usize, message: String, hint: &str) {
        let text = self.lines.line(&self.file.contents, line);
        let start = text.len() - text.trim_start().len();
        let mut diagnostic = Diagnostic::error(message).at(
            Location::at(&self.file.path, line, start + 1, text.trim().chars().count().max(1)),
            Some(&self.file.contents),
        );
        if !hint.is_empty() {
            diagnostic = diagnostic.hint(hint);
        }
        self.diagnostics.push(diagnostic);
    }

    fn unit_test(&mut self, entry: &Map<String, Value>, name: &str, line: usize) -> Option<(Node, Definition)> {
        let config = match entry.get("config") {
            Some(Value::Object(config)) => config.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                self.error(
                    self.line_of("config:", line),
                    format!("`config` of unit test `{name}` must be a mapping"),
                    "write `config: {tags: [...], meta: {...}, enabled: true}`",
                );
                return None;
            }
        };
        let Some(model_name) = entry.get("model").and_then(Value::as_str) else {
            self.error(
                line,
                format!("unit test `{name}` names no `model`"),
                "add `model: <the model it tests>`",
            );
            return None;
        };
        // `model: name v2` names a version.
        let model_name = model_name.split_whitespace().next().unwrap_or_default().to_string();
        let model_line = self.line_of("model:", line);
        let model = self.manifest.nodes.values().find(|node| {
            node.resource_type == ResourceType::Model
                && node.name == model_name
                && node.package_name == self.project.name
        });
        let Some(model) = model else {
            // A disabled model's unit tests are dropped with it, as in dbt.
            if self.project.files.models.iter().any(|file| file.stem() == model_name) {
                return None;
            }
            let models = self
                .manifest
                .nodes
                .values()
                .filter(|node| node.resource_type == ResourceType::Model)
                .map(|node| node.name.as_str());
            let hint = match did_you_mean(&model_name, models) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => "`model:` takes the name of a model of this project".to_string(),
            };
            self.error(
                model_line,
                format!(
                    "unable to find model `{}.{model_name}` for unit test `{name}`",
                    self.project.name
                ),
                &hint,
            );
            return None;
        };
        let overrides = self.overrides(entry, name, line)?;
        if model.materialized() == "incremental" && !overrides.macros.contains_key("is_incremental") {
            self.error(
                line,
                format!("Boolean override for 'is_incremental' must be provided for unit test '{name}' in model '{model_name}'"),
                "add `overrides: {macros: {is_incremental: false}}` (or true, with the model's `this` as an input)",
            );
            return None;
        }
        let given = self.given(entry, name, line, model)?;
        let Some(Value::Object(expect)) = entry.get("expect") else {
            self.error(
                line,
                format!("unit test `{name}` has no `expect` mapping"),
                "add `expect: {rows: [...]}`: the rows the model should return",
            );
            return None;
        };
        let expect_line = self.line_of("expect:", line);
        let (format, rows, fixture) = self.fixture(expect, name, expect_line, Side::Expected)?;
        let expect = Expect { format, rows, fixture };

        let folders = self.file.folders();
        let mut fqn = vec![self.project.name.clone()];
        fqn.extend(folders);
        fqn.push(model_name.clone());
        fqn.push(name.to_string());
        let node_config = self.config(&fqn, &config);
        if node_config.get("enabled") == Some(&Value::Bool(false)) {
            return None;
        }
        // dbt's pseudo path: the schema file's folder in its package, then `<name>.sql`.
        let package_dir = self.package_dir();
        let in_package = self.file.path.strip_prefix(&package_dir).unwrap_or(&self.file.path);
        let folder = in_package.rsplit_once('/').map_or("", |(folder, _)| folder);
        let path = if folder.is_empty() {
            format!("{name}.sql")
        } else {
            format!("{folder}/{name}.sql")
        };
        let definition = Definition {
            model: model_name.clone(),
            model_id: model.unique_id.clone(),
            given,
            expect,
            overrides,
            line,
        };
        let checksum = crate::project::text_checksum(&super::definition_json(&definition).to_string());
        let node = Node {
            unique_id: format!("unit_test.{}.{model_name}.{name}", self.project.name),
            resource_type: ResourceType::UnitTest,
            package_name: self.project.name.clone(),
            name: name.to_string(),
            version: None,
            constraints: Vec::new(),
            time_spine: None,
            path,
            original_file_path: self.file.path.clone(),
            package_dir,
            patch_path: None,
            fqn,
            raw_code: String::new(),
            compiled_code: None,
            checksum,
            config: node_config,
            description: entry
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            columns: Default::default(),
            meta: Map::new(),
            refs: Vec::new(),
            sources: Vec::new(),
            depends_on_nodes: [model.unique_id.clone()].into(),
            depends_on_macros: Default::default(),
            relation: Relation {
                database: model.relation.database.clone(),
                schema: model.relation.schema.clone(),
                identifier: name.to_string(),
            },
            test_metadata: None,
            column_name: None,
            attached_node: Some(model.unique_id.clone()),
        };
        Some((node, definition))
    }

    /// The test's config as dbt's `ContextConfig` builds it: its project's
    /// `unit_tests:` tree, then its YAML `config:`, then (for a package's
    /// test) the root project's tree, which wins; tags add up and meta merges.
    fn config(&self, fqn: &[String], yaml_config: &Map<String, Value>) -> Map<String, Value> {
        let mut config = crate::render::config::from_tree(&self.project.unit_test_tree, fqn);
        crate::render::config::merge(&mut config, yaml_config);
        if !std::ptr::eq(self.project, self.root) {
            crate::render::config::merge(
                &mut config,
                &crate::render::config::from_tree(&self.root.unit_test_tree, fqn),
            );
        }
        let enabled = config.get("enabled").and_then(Value::as_bool).unwrap_or(true);
        let mut node_config = Map::new();
        node_config.insert("tags".into(), json!(crate::manifest::string_list(config.get("tags"))));
        node_config.insert("meta".into(), config.get("meta").cloned().unwrap_or_else(|| json!({})));
        node_config.insert("enabled".into(), json!(enabled));
        node_config
    }

    /// The folder of the package whose file is read, relative to the root
    /// project, with a trailing slash; empty for the root project.
    fn package_dir(&self) -> String {
        if std::ptr::eq(self.project, self.root) {
            return String::new();
        }
        format!(
            "{}/",
            crate::diagnostic::display_path(&self.root.dir, &self.project.dir)
        )
    }

    fn overrides(&mut self, entry: &Map<String, Value>, name: &str, line: usize) -> Option<Overrides> {
        let overrides = match entry.get("overrides") {
            None | Some(Value::Null) => return Some(Overrides::default()),
            Some(Value::Object(overrides)) => overrides,
            Some(_) => {
                self.error(
                    self.line_of("overrides:", line),
                    format!("`overrides` of unit test `{name}` must be a mapping"),
                    "write `overrides: {macros: {is_incremental: true}, vars: {...}, env_vars: {...}}`",
                );
                return None;
            }
        };
        let mut parsed = Overrides::default();
        for (key, target) in [
            ("macros", &mut parsed.macros),
            ("vars", &mut parsed.vars),
            ("env_vars", &mut parsed.env_vars),
        ] {
            match overrides.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Object(values)) => *target = values.clone(),
                Some(_) => {
                    let key_line = self.line_of(&format!("{key}:"), line);
                    self.error(
                        key_line,
                        format!("`overrides.{key}` of unit test `{name}` must be a mapping"),
                        "write each override as `name: value`",
                    );
                    return None;
                }
            }
        }
        Some(parsed)
    }

    fn given(&mut self, entry: &Map<String, Value>, name: &str, line: usize, model: &Node) -> Option<Vec<Given>> {
        let given_line = self.line_of("given:", line);
        let items = match entry.get("given") {
            Some(Value::Array(items)) => items.clone(),
            None | Some(Value::Null) => {
                self.error(
                    line,
                    format!("unit test `{name}` has no `given` list"),
                    "add `given:` with an `- input: ref('...')` entry for each model or source the model reads",
                );
                return None;
            }
            Some(_) => {
                self.error(
                    given_line,
                    format!("`given` of unit test `{name}` must be a list"),
                    "write `given:` then `- input: ref('...')` entries",
                );
                return None;
            }
        };
        let mut given = Vec::new();
        let mut search_from = given_line;
        let mut failed = false;
        for item in items {
            let input = item.get("input").and_then(Value::as_str).map(str::to_owned);
            let (Value::Object(fixture), Some(input)) = (item, input) else {
                self.error(
                    search_from,
                    format!("each entry of `given` of unit test `{name}` needs an `input`"),
                    "write `- input: ref('a_model')` (or `source('a_source', 'a_table')`, or `this`) with its `rows`",
                );
                failed = true;
                continue;
            };
            let input_line = self.line_of(&input, search_from);
            search_from = input_line + 1;
            let Some((target, input_name)) = self.input(&input, name, input_line, model) else {
                failed = true;
                continue;
            };
            let mut entry = Given {
                input: input.clone(),
                target,
                name: input_name,
                format: Format::Dict,
                rows: Rows::Mappings(Vec::new()),
                fixture: None,
            };
            let Some((format, rows, fixture_name)) = self.fixture(&fixture, name, input_line, Side::Input(&entry))
            else {
                failed = true;
                continue;
            };
            entry.format = format;
            entry.rows = rows;
            entry.fixture = fixture_name;
            given.push(entry);
        }
        (!failed).then_some(given)
    }

    /// Resolves `ref('x')`, `ref('package', 'x')`, `source('s', 't')` or
    /// `this` to what it names, with the name of its CTE.
    fn input(&mut self, input: &str, test: &str, line: usize, model: &Node) -> Option<(InputTarget, String)> {
        let text = input.trim();
        if text == "this" {
            return Some((InputTarget::This, model.name.clone()));
        }
        let parsed = text.split_once('(').and_then(|(function, rest)| {
            let arguments = rest.trim().strip_suffix(')')?;
            let mut names = Vec::new();
            for argument in arguments.split(',') {
                let argument = argument.trim();
                // Keyword arguments (`v=2`, `version=2`) select a version.
                if argument.contains('=') {
                    continue;
                }
                let unquoted = argument
                    .strip_prefix('\'')
                    .and_then(|rest| rest.strip_suffix('\''))
                    .or_else(|| argument.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')))?;
                names.push(unquoted.to_string());
            }
            Some((function.trim().to_string(), names))
        });
        let found = match parsed
            .as_ref()
            .map(|(function, names)| (function.as_str(), names.as_slice()))
        {
            Some(("ref", [name])) | Some(("ref", [_, name])) => {
                let package = match parsed.as_ref().map(|(_, names)| names.as_slice()) {
                    Some([package, _]) => Some(package.clone()),
                    _ => None,
                };
                self.manifest
                    .nodes
                    .values()
                    .filter(|node| matches!(node.resource_type, ResourceType::Model | ResourceType::Seed))
                    .filter(|node| node.name == *name)
                    .filter(|node| package.as_ref().is_none_or(|package| node.package_name == *package))
                    .min_by_key(|node| node.package_name != self.project.name)
                    .map(|node| (InputTarget::Node(node.unique_id.clone()), node.name.clone()))
            }
            Some(("source", [source, table])) => self
                .manifest
                .sources
                .values()
                .filter(|found| found.source_name == *source && found.name == *table)
                .min_by_key(|found| found.package_name != self.project.name)
                .map(|found| {
                    (
                        InputTarget::Source {
                            unique_id: found.unique_id.clone(),
                            source: source.clone(),
                            table: table.clone(),
                        },
                        table.clone(),
                    )
                }),
            _ => {
                self.error(
                    line,
                    format!("input `{input}` of unit test `{test}` is not a `ref()`, a `source()` or `this`"),
                    "write `input: ref('a_model')`, `input: source('a_source', 'a_table')` or `input: this`",
                );
                return None;
            }
        };
        if found.is_none() {
            self.error(
                line,
                format!("Unit test '{test}' had an input ({input}) which was not found in the manifest."),
                "check the name: an input is a model, seed or source table of the project",
            );
        }
        found
    }

    /// A fixture's format, rows and fixture file, normalized as dbt does.
    fn fixture(
        &mut self,
        fixture: &Map<String, Value>,
        test: &str,
        line: usize,
        side: Side,
    ) -> Option<(Format, Rows, Option<String>)> {
        let format = match fixture.get("format").and_then(Value::as_str) {
            None => Format::Dict,
            Some("dict") => Format::Dict,
            Some("csv") => Format::Csv,
            Some("sql") => Format::Sql,
            Some(other) => {
                self.error(
                    self.line_of("format:", line),
                    format!("unit test `{test}` has an unknown format `{other}`"),
                    "use `format: dict` (the default), `csv` or `sql`",
                );
                return None;
            }
        };
        let fixture_name = fixture.get("fixture").and_then(Value::as_str).map(str::to_owned);
        let rows = fixture.get("rows");
        let rows_line = self.line_of("rows:", line);
        let mismatch = |format: Format| {
            format!(
                "Unit test {test} has {} rows which do not match format {}",
                side.word(),
                format.as_str()
            )
        };
        let parsed = match format {
            Format::Dict => match rows {
                Some(Value::Array(items)) => {
                    let mut mappings = Vec::new();
                    for item in items {
                        match item {
                            Value::Object(row) => mappings.push(row.clone()),
                            Value::Null => mappings.push(Map::new()),
                            _ => {
                                self.error(
                                    rows_line,
                                    mismatch(format),
                                    "write each row as a mapping, like `- {id: 1, name: a}`",
                                );
                                return None;
                            }
                        }
                    }
                    Rows::Mappings(mappings)
                }
                None | Some(Value::Null) if fixture_name.is_none() => match side {
                    // An input seed without rows reads the seed's file, as dbt does.
                    Side::Input(given) => Rows::Mappings(self.seed_rows(given, test, line)?),
                    Side::Expected => {
                        self.error(
                            line,
                            mismatch(format),
                            "give `rows:` as a list of mappings (`rows: []` for none)",
                        );
                        return None;
                    }
                },
                _ => {
                    self.error(
                        rows_line,
                        mismatch(format),
                        "give `rows:` as a list of mappings, like `- {id: 1, name: a}`, or set `format: csv` or `format: sql` (a `fixture:` file takes one of those)",
                    );
                    return None;
                }
            },
            Format::Csv | Format::Sql => {
                let text = match (&fixture_name, rows) {
                    (Some(name), _) => self.fixture_file(name, line)?,
                    (None, Some(Value::String(text))) => text.clone(),
                    _ => {
                        self.error(
                            rows_line,
                            format!(
                                "Unit test {test} has {} rows or fixtures which do not match format {}.  Expected string.",
                                side.word(),
                                format.as_str()
                            ),
                            "give `rows:` as a string (`rows: |` and lines below it), or a `fixture:` naming a file in `tests/fixtures/`",
                        );
                        return None;
                    }
                };
                match format {
                    Format::Csv => Rows::Mappings(self.csv_rows(&text, rows_line, test)?),
                    _ => Rows::Query(text),
                }
            }
        };
        Some((format, promote_complete_row(parsed), fixture_name))
    }

    /// The text of the fixture file named `name` (without extension).
    fn fixture_file(&mut self, name: &str, line: usize) -> Option<String> {
        if let Some(file) = self.project.files.fixtures.iter().find(|file| file.stem() == name) {
            return Some(file.contents.clone());
        }
        let folders: Vec<String> = self
            .project
            .paths
            .tests
            .iter()
            .map(|root| format!("`{}/fixtures/`", root.trim_end_matches('/')))
            .collect();
        let fixture_line = self.line_of("fixture:", line);
        self.error(
            fixture_line,
            format!(
                "File not found for fixture '{name}' in unit tests in {}",
                self.file.path
            ),
            &format!("put `{name}.csv` or `{name}.sql` in {}", folders.join(" or ")),
        );
        None
    }

    fn csv_rows(&mut self, text: &str, line: usize, test: &str) -> Option<Vec<Map<String, Value>>> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let headers = match reader.headers() {
            Ok(headers) => headers.clone(),
            Err(error) => {
                self.error(
                    line,
                    format!("the CSV rows of unit test `{test}` do not parse: {error}"),
                    "",
                );
                return None;
            }
        };
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    self.error(
                        line,
                        format!("the CSV rows of unit test `{test}` do not parse: {error}"),
                        "",
                    );
                    return None;
                }
            };
            // An empty value is null, as dbt reads CSV fixtures.
            let row: Map<String, Value> = headers
                .iter()
                .zip(record.iter())
                .map(|(header, value)| {
                    let value = if value.is_empty() { Value::Null } else { json!(value) };
                    (header.to_string(), value)
                })
                .collect();
            rows.push(row);
        }
        Some(rows)
    }

    /// The rows of an input seed's CSV file, each value text.
    fn seed_rows(&mut self, given: &Given, test: &str, line: usize) -> Option<Vec<Map<String, Value>>> {
        let seed = match &given.target {
            InputTarget::Node(id) => self
                .manifest
                .nodes
                .get(id)
                .filter(|node| node.resource_type == ResourceType::Seed),
            _ => None,
        };
        let Some(seed) = seed else {
            self.error(
                line,
                format!(
                    "Unable to find seed '{}.{}' for unit tests in directories: {:?}",
                    self.project.name, given.name, self.project.paths.seeds
                ),
                "give the input `rows:` (only a seed's rows can be left out, to read its file)",
            );
            return None;
        };
        let path = self.root.dir.join(&seed.original_file_path);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let rows = self.csv_rows(&text, line, test)?;
                // A seed's empty values are empty strings in dbt's fixture, not nulls.
                Some(
                    rows.into_iter()
                        .map(|row| {
                            row.into_iter()
                                .map(|(key, value)| (key, if value.is_null() { json!("") } else { value }))
                                .collect()
                        })
                        .collect(),
                )
            }
            Err(error) => {
                self.error(
                    line,
                    format!("cannot read seed `{}`: {error}", seed.original_file_path),
                    "",
                );
                None
            }
        }
    }
}

/// Moves the first row without nulls to the top, as dbt does so that
/// warehouses typing a union from its first row see every column's type.
fn promote_complete_row(rows: Rows) -> Rows {
    match rows {
        Rows::Mappings(mut mappings) => {
            if let Some(index) = mappings
                .iter()
                .position(|row| row.values().all(|value| !value.is_null()))
            {
                mappings.swap(0, index);
            }
            Rows::Mappings(mappings)
        }
        query => query,
    }
}
