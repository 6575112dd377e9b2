//! Phase 1, `load`: reads `project.yml` (or dbt's `dbt_project.yml`), finds every
//! file the project is made of, and reads them into memory.
//!
//! It owns the project configuration and the file inventory. It does not render
//! Jinja in models (that is [`crate::render`]) and it does not read profiles (that
//! is [`crate::profile`]).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diagnostic::{did_you_mean, display_path, Diagnostic, Diagnostics};
use crate::yaml;

/// The file names a project configuration may have, in the order we look for them.
pub const PROJECT_FILES: [&str; 2] = ["project.yml", "dbt_project.yml"];

/// The project file's keys besides [`PATH_LIST_KEYS`], as dbt 1.10 knows them.
const KNOWN_PROJECT_KEYS: &[&str] = &[
    "name",
    "version",
    "config-version",
    "profile",
    "target-path",
    "log-path",
    "packages-install-path",
    "vars",
    "on-run-start",
    "on-run-end",
    "models",
    "seeds",
    "tests",
    "data_tests",
    "sources",
    "exposures",
    "snapshots",
    "analyses",
    "require-dbt-version",
    "quoting",
    "query-comment",
    "dispatch",
    "flags",
    "restrict-access",
    "metrics",
    "semantic-models",
    "saved-queries",
    "unit_tests",
    "project-root",
    "packages",
    "dbt-cloud",
];

/// The keys whose value is a list of folders.
const PATH_LIST_KEYS: &[&str] = &[
    "model-paths",
    "source-paths",
    "seed-paths",
    "data-paths",
    "test-paths",
    "macro-paths",
    "analysis-paths",
    "snapshot-paths",
    "docs-paths",
    "asset-paths",
    "clean-targets",
];

/// A text file of the project, read into memory.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Project-relative path with forward slashes, as shown to users and written
    /// to the manifest.
    pub path: String,
    /// The configured root this file was found under, such as `models`.
    pub root: String,
    pub contents: String,
}

impl SourceFile {
    /// The file's folders below its root, for fqn and folder config lookups.
    pub fn folders(&self) -> Vec<String> {
        let below_root = self
            .path
            .strip_prefix(&self.root)
            .unwrap_or(&self.path)
            .trim_start_matches('/');
        let mut parts: Vec<String> = below_root.split('/').map(str::to_owned).collect();
        parts.pop();
        parts
    }

    /// The file name without its extension.
    pub fn stem(&self) -> String {
        let name = self.path.rsplit('/').next().unwrap_or(&self.path);
        name.rsplit_once('.').map_or(name, |(stem, _)| stem).to_string()
    }
}

/// A seed CSV, which is not read into memory here: seeds can be large.
#[derive(Debug, Clone)]
pub struct SeedFile {
    pub path: String,
    pub root: String,
    pub absolute_path: PathBuf,
    pub checksum: String,
}

impl SeedFile {
    pub fn as_source(&self) -> SourceFile {
        SourceFile {
            path: self.path.clone(),
            root: self.root.clone(),
            contents: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProjectPaths {
    pub models: Vec<String>,
    pub seeds: Vec<String>,
    pub tests: Vec<String>,
    pub macros: Vec<String>,
    pub analyses: Vec<String>,
    pub snapshots: Vec<String>,
    pub docs: Vec<String>,
}

#[derive(Debug, Default)]
pub struct ProjectFiles {
    pub models: Vec<SourceFile>,
    pub seeds: Vec<SeedFile>,
    pub singular_tests: Vec<SourceFile>,
    pub analyses: Vec<SourceFile>,
    pub macros: Vec<SourceFile>,
    /// Schema YAML files: properties of models, seeds, sources, exposures.
    pub schemas: Vec<SourceFile>,
    /// Markdown files that may hold `{% docs %}` blocks.
    pub docs: Vec<SourceFile>,
    /// Unit test fixtures: the CSV and SQL files in a `fixtures/` folder of
    /// a test path, as dbt reads them.
    pub fixtures: Vec<SourceFile>,
    /// SQL files of `snapshot-paths`, holding `{% snapshot %}` blocks.
    pub snapshots: Vec<SourceFile>,
}

/// A loaded project: its configuration and its files.
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    /// `project.yml` or `dbt_project.yml`.
    pub config_file: String,
    pub config_source: String,
    pub name: String,
    pub version: Option<String>,
    pub profile: Option<String>,
    pub paths: ProjectPaths,
    pub target_path: String,
    /// `packages-install-path`: where `dvt deps` installs packages.
    pub packages_install_path: String,
    pub clean_targets: Vec<String>,
    pub vars: Map<String, Value>,
    pub on_run_start: Vec<String>,
    pub on_run_end: Vec<String>,
    /// The `models:`, `seeds:`, `data_tests:` (or `tests:`), `sources:` and
    /// `exposures:` config trees, keyed by package name then folders.
    pub model_tree: Value,
    pub seed_tree: Value,
    pub test_tree: Value,
    pub source_tree: Value,
    /// The `snapshots:` config tree.
    pub snapshot_tree: Value,
    /// The `unit_tests:` config tree (`+enabled`, `+tags`, `+meta`).
    pub unit_test_tree: Value,
    pub files: ProjectFiles,
    pub warnings: Vec<Diagnostic>,
    /// `dispatch:`: each macro namespace and the packages to search, in order.
    pub dispatch: Vec<(String, Vec<String>)>,
    /// Installed packages, each a project of its own (see [`load_packages`]).
    pub packages: Vec<Project>,
    /// Packages that packages.yml lists but that are not installed, by the name
    /// a macro call would use, and the file that lists them.
    pub missing_packages: Vec<String>,
    pub packages_file: String,
}

impl Project {
    pub fn target_dir(&self) -> PathBuf {
        self.dir.join(&self.target_path)
    }

    /// The text of a schema file of the project or of an installed package,
    /// by its project-relative path.
    pub fn schema_source(&self, path: &str) -> Option<&str> {
        std::iter::once(self)
            .chain(&self.packages)
            .flat_map(|project| &project.files.schemas)
            .find(|file| file.path == path)
            .map(|file| file.contents.as_str())
    }
}

/// Finds the project configuration file in `dir`.
/// The project file's `profile`, or else its `name`, read without rendering:
/// it names the profile to load before the project file is rendered with its
/// target. `None` when there is no readable project file.
pub fn peek_profile_name(dir: &Path) -> Option<String> {
    let config_file = find_config(dir)?;
    let source = std::fs::read_to_string(dir.join(config_file)).ok()?;
    let config = yaml::parse(config_file, &source).ok()?;
    let name = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty() && !name.contains("{{"))
    };
    name("profile").or_else(|| name("name")).map(str::to_owned)
}

pub fn find_config(dir: &Path) -> Option<&'static str> {
    PROJECT_FILES.into_iter().find(|name| dir.join(name).is_file())
}

/// The project file's keys and the types of its simple values, as dbt 1.10's
/// schema checks them: an unknown key is "Additional properties are not
/// allowed", `model-paths: models` is "not valid under any of the given
/// schemas", and `config-version: 3` is "unexpected project version".
fn check_shape(config_file: &str, source: &str, config: &Map<String, Value>) -> Result<(), Diagnostics> {
    let mut problems = Vec::new();
    for (key, value) in config {
        let known = KNOWN_PROJECT_KEYS.contains(&key.as_str()) || PATH_LIST_KEYS.contains(&key.as_str());
        if !known {
            let mut problem = Diagnostic::error(format!("unknown key `{key}` in `{config_file}`")).at_key(
                config_file,
                source,
                &[key],
            );
            problem = match did_you_mean(key, KNOWN_PROJECT_KEYS.iter().chain(PATH_LIST_KEYS).copied()) {
                Some(suggestion) => problem.label(format!("did you mean `{suggestion}`?")),
                None => problem.hint("dbt rejects keys it does not know; remove it or fix its spelling"),
            };
            problems.push(problem);
        } else if PATH_LIST_KEYS.contains(&key.as_str())
            && !(value.is_null() || value.as_array().is_some_and(|items| items.iter().all(Value::is_string)))
        {
            problems.push(
                Diagnostic::error(format!("`{key}` must be a list of folders"))
                    .at_key(config_file, source, &[key])
                    .hint(format!("write `{key}: [\"{}\"]`", value.as_str().unwrap_or("folder"))),
            );
        } else if key == "config-version" && !(value.is_null() || value.as_u64() == Some(2)) {
            problems.push(
                Diagnostic::error(format!(
                    "`config-version` must be 2, not `{}`",
                    crate::validate::config::written(value).unwrap_or_default()
                ))
                .at_key(config_file, source, &[key])
                .hint("write `config-version: 2`, or leave the key out"),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(problems))
    }
}

/// Loads the project in `dir`. `render` renders Jinja found in configuration
/// values (`env_var()` and `var()`), so that `+schema: "{{ env_var('X') }}"` works.
pub fn load(dir: &Path, render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>) -> Result<Project, Diagnostics> {
    let Some(config_file) = find_config(dir) else {
        return Err(Diagnostic::error(format!(
            "no `project.yml` or `dbt_project.yml` found in `{}`",
            dir.display()
        ))
        .hint("run dvt from the project directory, pass `--project-dir DIR`, or create a project with `dvt init NAME`")
        .into());
    };
    let config_path = dir.join(config_file);
    let config_source = std::fs::read_to_string(&config_path)
        .map_err(|error| Diagnostic::error(format!("cannot read `{config_file}`: {error}")).in_file(config_file))?;
    let config = yaml::parse(config_file, &config_source)?;
    let Value::Object(config) = config else {
        return Err(
            Diagnostic::error("the project configuration must be a mapping of keys to values")
                .at_key(config_file, &config_source, &[])
                .into(),
        );
    };

    let warnings = Vec::new();
    check_shape(config_file, &config_source, &config)?;

    let name = match config.get("name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => {
            return Err(Diagnostic::error(format!("`{config_file}` has no `name`"))
                .at_key(config_file, &config_source, &["name"])
                .hint("add `name: my_project` (letters, digits and underscores)")
                .into())
        }
    };
    if !name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_')
    {
        let location = yaml::find_key_line(&config_source, "name", &name, 1)
            .map(|(line, column)| crate::diagnostic::Location::at(config_file, line, column, name.len()));
        let mut diagnostic = Diagnostic::error(format!(
            "project name `{name}` may hold only letters, digits and underscores"
        ));
        if let Some(location) = location {
            diagnostic = diagnostic.at(location, Some(&config_source));
        }
        return Err(diagnostic.into());
    }

    let string_list = |keys: &[&str], default: &str| -> Vec<String> {
        for key in keys {
            match config.get(*key) {
                Some(Value::Array(items)) => {
                    return items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|item| item.trim_end_matches('/').to_string())
                        .collect()
                }
                Some(Value::String(item)) => return vec![item.trim_end_matches('/').to_string()],
                _ => {}
            }
        }
        vec![default.to_string()]
    };
    let paths = ProjectPaths {
        models: string_list(&["model-paths", "source-paths"], "models"),
        seeds: string_list(&["seed-paths", "data-paths"], "seeds"),
        tests: string_list(&["test-paths"], "tests"),
        macros: string_list(&["macro-paths"], "macros"),
        analyses: string_list(&["analysis-paths"], "analyses"),
        snapshots: string_list(&["snapshot-paths"], "snapshots"),
        docs: Vec::new(),
    };
    let docs_paths = match config.get("docs-paths") {
        Some(_) => string_list(&["docs-paths"], ""),
        // Without docs-paths, dbt looks for docs blocks in every resource path.
        None => [
            &paths.models,
            &paths.seeds,
            &paths.tests,
            &paths.macros,
            &paths.analyses,
            &paths.snapshots,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect(),
    };
    let paths = ProjectPaths {
        docs: docs_paths,
        ..paths
    };
    let target_path = config
        .get("target-path")
        .and_then(Value::as_str)
        .unwrap_or("target")
        .to_string();
    let clean_targets = match config.get("clean-targets") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![target_path.clone()],
    };

    let vars = match config.get("vars") {
        Some(Value::Object(vars)) => vars.clone(),
        Some(Value::Null) | None => Map::new(),
        Some(_) => {
            return Err(Diagnostic::error("`vars` must be a mapping of names to values")
                .at_key(config_file, &config_source, &["vars"])
                .hint("write `vars:` with one `name: value` per line below it")
                .into())
        }
    };
    let hooks = |key: &str| -> Vec<String> {
        match config.get(key) {
            Some(Value::String(hook)) => vec![hook.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    };
    let on_run_start = hooks("on-run-start");
    let on_run_end = hooks("on-run-end");

    let mut render_errors = Vec::new();
    let mut tree = |key: &str| -> Value {
        let mut value = config.get(key).cloned().unwrap_or(Value::Null);
        render_strings(&mut value, &mut |text| match render(config_file, text) {
            Ok(rendered) => rendered,
            Err(error) => {
                render_errors.push(error.or_at_text(config_file, &config_source, text));
                text.to_string()
            }
        });
        value
    };
    let model_tree = tree("models");
    let seed_tree = tree("seeds");
    let test_tree = match config.get("data_tests") {
        Some(_) => tree("data_tests"),
        None => tree("tests"),
    };
    let source_tree = tree("sources");
    let snapshot_tree = tree("snapshots");
    let unit_test_tree = tree("unit_tests");
    if !render_errors.is_empty() {
        return Err(Diagnostics(render_errors));
    }

    let dispatch = dispatch_config(config_file, &config_source, config.get("dispatch"))?;
    let mut project = Project {
        dir: dir.to_path_buf(),
        config_file: config_file.to_string(),
        config_source,
        name,
        version: config.get("version").map(|version| match version {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }),
        profile: config.get("profile").and_then(Value::as_str).map(str::to_owned),
        paths,
        target_path,
        packages_install_path: config
            .get("packages-install-path")
            .and_then(Value::as_str)
            .unwrap_or("dbt_packages")
            .trim_end_matches('/')
            .to_string(),
        clean_targets,
        vars,
        on_run_start,
        on_run_end,
        model_tree,
        seed_tree,
        test_tree,
        source_tree,
        snapshot_tree,
        unit_test_tree,
        files: ProjectFiles::default(),
        warnings,
        dispatch,
        packages: Vec::new(),
        missing_packages: Vec::new(),
        packages_file: String::new(),
    };
    let (files, discovery_warnings) = discover(&project)?;
    project.files = files;
    project.warnings.extend(discovery_warnings);
    Ok(project)
}

/// The `dispatch:` config: `[{macro_namespace: x, search_order: [a, b]}]`.
fn dispatch_config(
    config_file: &str,
    source: &str,
    value: Option<&Value>,
) -> Result<Vec<(String, Vec<String>)>, Diagnostic> {
    let invalid = || {
        let location = yaml::find_text_line(source, "dispatch:", 1)
            .map(|(line, column)| crate::diagnostic::Location::at(config_file, line, column, 8));
        let diagnostic = Diagnostic::error("`dispatch` must be a list of `macro_namespace` and `search_order` entries")
            .hint("write `dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]`");
        match location {
            Some(location) => diagnostic.at(location, Some(source)),
            None => diagnostic.in_file(config_file),
        }
    };
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid()),
    };
    let mut dispatch = Vec::new();
    for item in items {
        let namespace = item
            .get("macro_namespace")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        let order = match item.get("search_order") {
            Some(Value::Array(order)) => order.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => return Err(invalid()),
        };
        dispatch.push((namespace.to_string(), order));
    }
    Ok(dispatch)
}

/// Loads every package installed in `packages-install-path` (each folder with
/// a `dbt_project.yml`, symlinks followed), as dbt loads a project's
/// dependencies, and notes the packages packages.yml lists that are missing.
/// Package files get paths below the install path (`dbt_packages/dbt_utils/...`)
/// so that errors point at them from the root project.
pub fn load_packages(
    project: &mut Project,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<(), Diagnostics> {
    let install_dir = project.dir.join(&project.packages_install_path);
    let mut folders: Vec<PathBuf> = match std::fs::read_dir(&install_dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_dir() && find_config(path).is_some())
            .collect(),
        Err(_) => Vec::new(),
    };
    folders.sort();
    let mut packages = Vec::new();
    for folder in folders {
        let mut package = load(&folder, render)?;
        let prefix = display_path(&project.dir, &folder);
        let rebase = |file: &mut SourceFile| {
            file.path = format!("{prefix}/{}", file.path);
            file.root = format!("{prefix}/{}", file.root);
        };
        let files = &mut package.files;
        files
            .models
            .iter_mut()
            .chain(files.singular_tests.iter_mut())
            .chain(files.analyses.iter_mut())
            .chain(files.macros.iter_mut())
            .chain(files.schemas.iter_mut())
            .chain(files.docs.iter_mut())
            .chain(files.snapshots.iter_mut())
            .for_each(rebase);
        for seed in &mut package.files.seeds {
            seed.path = format!("{prefix}/{}", seed.path);
            seed.root = format!("{prefix}/{}", seed.root);
        }
        packages.push(package);
    }
    let installed: Vec<String> = packages.iter().map(|package| package.name.clone()).collect();
    if let Some(file) = crate::packages::spec::read(&project.dir, render)? {
        // A local package's name is in its own project file; the others' are
        // guessed from the entry, as nothing is fetched here.
        let name_of = |entry: &crate::packages::spec::Entry| match &entry.source {
            crate::packages::spec::Source::Local { path } => {
                let folder = project.dir.join(path);
                find_config(&folder)
                    .and_then(|config| std::fs::read_to_string(folder.join(config)).ok())
                    .and_then(|source| yaml::parse(config_name(&folder), &source).ok())
                    .and_then(|config| config.get("name").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| entry.likely_name())
            }
            _ => entry.likely_name(),
        };
        project.missing_packages = file
            .entries
            .iter()
            .map(name_of)
            .filter(|name| !installed.contains(name))
            .collect();
        if !project.missing_packages.is_empty() && installed.len() < file.entries.len() {
            project.warnings.push(
                Diagnostic::warning(format!(
                    "{} lists {} package(s), but only {} are installed in `{}`",
                    file.file,
                    file.entries.len(),
                    installed.len(),
                    project.packages_install_path
                ))
                .in_file(&file.file)
                .hint("run `dvt deps` to install them"),
            );
        }
        project.packages_file = file.file;
    }
    project.packages = packages;
    Ok(())
}

fn config_name(folder: &Path) -> &'static str {
    find_config(folder).unwrap_or("dbt_project.yml")
}

/// Renders every string value holding Jinja, except hooks, which render at run
/// time with the node in context.
fn render_strings(value: &mut Value, render: &mut dyn FnMut(&str) -> String) {
    match value {
        Value::String(text) if text.contains("{{") || text.contains("{%") => *value = native_value(render(text)),
        Value::Array(items) => items.iter_mut().for_each(|item| render_strings(item, render)),
        Value::Object(object) => {
            for (key, item) in object.iter_mut() {
                let key = key.trim_start_matches('+');
                if key != "pre-hook" && key != "post-hook" && key != "pre_hook" && key != "post_hook" {
                    render_strings(item, render);
                }
            }
        }
        _ => {}
    }
}

/// A rendered config value as dbt's native rendering gives it: text that is
/// a Python literal (`True`, `False`, `None`, a number) becomes that value,
/// so `+enabled: "{{ var('load_source_data', false) }}"` is a boolean, as
/// jaffle-shop's project file relies on. Other text stays text.
fn native_value(text: String) -> Value {
    match text.trim() {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "None" => Value::Null,
        trimmed => {
            let number = trimmed.parse::<i64>().map(Value::from).ok().or_else(|| {
                trimmed
                    .parse::<f64>()
                    .ok()
                    .and_then(|float| serde_json::Number::from_f64(float).map(Value::Number))
            });
            number.unwrap_or(Value::String(text))
        }
    }
}

fn discover(project: &Project) -> Result<(ProjectFiles, Vec<Diagnostic>), Diagnostics> {
    let mut files = ProjectFiles::default();
    let mut errors = Vec::new();
    let mut read = |root: &str, extensions: &[&str]| -> Vec<(String, PathBuf)> {
        let root_path = project.dir.join(root);
        if !root_path.is_dir() {
            return Vec::new();
        }
        let mut found = Vec::new();
        // A folder holding its own project file is another project (a fixture or
        // a package), not part of this one.
        let walker = walkdir::WalkDir::new(&root_path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                entry.depth() == 0 || !entry.file_type().is_dir() || find_config(entry.path()).is_none()
            });
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    errors.push(Diagnostic::error(format!("cannot read `{root}`: {error}")).in_file(root));
                    continue;
                }
            };
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !entry.file_type().is_file() || hidden {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if extensions.iter().any(|extension| name.ends_with(extension)) {
                found.push((display_path(&project.dir, entry.path()), entry.path().to_path_buf()));
            }
        }
        found
    };

    let mut text_files = |root: &str, extensions: &[&str], errors: &mut Vec<Diagnostic>| -> Vec<SourceFile> {
        read(root, extensions)
            .into_iter()
            .filter_map(|(path, absolute)| match std::fs::read_to_string(&absolute) {
                Ok(contents) => Some(SourceFile {
                    path,
                    root: root.to_string(),
                    contents,
                }),
                Err(error) => {
                    errors.push(
                        Diagnostic::error(format!("cannot read `{path}`: {error}"))
                            .in_file(&path)
                            .hint("files must be UTF-8 text"),
                    );
                    None
                }
            })
            .collect()
    };

    let mut errors_found = Vec::new();
    for root in &project.paths.models {
        files.models.extend(text_files(root, &[".sql"], &mut errors_found));
        files
            .schemas
            .extend(text_files(root, &[".yml", ".yaml"], &mut errors_found));
        for python in read_names(&project.dir, root, ".py") {
            project_warning(
                &mut errors_found,
                format!("Python model `{python}` is not supported by dvt and is skipped"),
            );
        }
    }
    for root in &project.paths.seeds {
        files
            .schemas
            .extend(text_files(root, &[".yml", ".yaml"], &mut errors_found));
    }
    for root in &project.paths.tests {
        let fixtures = format!("{}/fixtures", root.trim_end_matches('/'));
        files
            .fixtures
            .extend(text_files(&fixtures, &[".csv", ".sql"], &mut errors_found));
        for file in text_files(root, &[".sql"], &mut errors_found) {
            // dbt treats `tests/generic/` as generic test definitions, not
            // tests, and `tests/fixtures/` as unit test fixtures.
            if file.path.starts_with(&format!("{fixtures}/")) {
                continue;
            } else if file.path.contains("/generic/") {
                files.macros.push(file);
            } else {
                files.singular_tests.push(file);
            }
        }
        files
            .schemas
            .extend(text_files(root, &[".yml", ".yaml"], &mut errors_found));
    }
    for root in &project.paths.macros {
        files.macros.extend(text_files(root, &[".sql"], &mut errors_found));
        files
            .schemas
            .extend(text_files(root, &[".yml", ".yaml"], &mut errors_found));
    }
    for root in &project.paths.analyses {
        files.analyses.extend(text_files(root, &[".sql"], &mut errors_found));
        files
            .schemas
            .extend(text_files(root, &[".yml", ".yaml"], &mut errors_found));
    }
    for root in &project.paths.snapshots {
        files.snapshots.extend(text_files(root, &[".sql"], &mut errors_found));
        // A snapshot path may also be a model path: read its YAML once.
        for file in text_files(root, &[".yml", ".yaml"], &mut errors_found) {
            if !files.schemas.iter().any(|schema| schema.path == file.path) {
                files.schemas.push(file);
            }
        }
    }
    let mut seen_docs = std::collections::BTreeSet::new();
    for root in &project.paths.docs {
        for file in text_files(root, &[".md"], &mut errors_found) {
            if seen_docs.insert(file.path.clone()) {
                files.docs.push(file);
            }
        }
    }
    for root in &project.paths.seeds {
        for (path, absolute_path) in read(root, &[".csv"]) {
            let checksum = match file_checksum(&absolute_path) {
                Ok(checksum) => checksum,
                Err(error) => {
                    errors_found.push(Diagnostic::error(format!("cannot read `{path}`: {error}")).in_file(&path));
                    continue;
                }
            };
            files.seeds.push(SeedFile {
                path,
                root: root.clone(),
                absolute_path,
                checksum,
            });
        }
    }
    errors.extend(errors_found);
    let (problems, warnings): (Vec<_>, Vec<_>) = errors.into_iter().partition(Diagnostic::is_error);
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }
    Ok((files, warnings))
}

fn project_warning(errors: &mut Vec<Diagnostic>, message: String) {
    errors.push(Diagnostic::warning(message));
}

fn read_names(dir: &Path, root: &str, extension: &str) -> Vec<String> {
    walkdir::WalkDir::new(dir.join(root))
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file() && entry.file_name().to_string_lossy().ends_with(extension))
        .map(|entry| display_path(dir, entry.path()))
        .collect()
}

/// SHA-256 of a file's bytes, streamed.
pub fn file_checksum(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of a string, as lowercase hex.
pub fn text_checksum(text: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
