//! The Jinja environment dbt users expect, on minijinja.
//!
//! It owns the global context (`ref`, `source`, `config`, `var`, `env_var`,
//! `target`, `adapter.dispatch`, `return`, ...), the project's macros (every macro
//! is callable from every template, as in dbt, and through the `dbt` namespace),
//! and the per-render [`Scope`] that captures what a node refers to.
//!
//! Rendering happens on rayon worker threads. minijinja renders synchronously, so
//! the scope of the node being rendered lives in a thread-local and the global
//! functions read it; nothing is shared between threads but immutable data.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};
use serde_json::Map;

use super::namespace::{MacroIndex, MissingPackage, PackageNamespace};
use crate::diagnostic::{Diagnostic, Location};
use crate::manifest::{RefCall, Relation};

/// dvt's built-in macros: generic tests, schema and alias naming, and
/// cross-database helpers. A project macro of the same name overrides one.
const BUILTIN_MACROS: &[(&str, &str)] = &[
    ("dvt/macros/tests.sql", include_str!("../../templates/macros/tests.sql")),
    (
        "dvt/macros/naming.sql",
        include_str!("../../templates/macros/naming.sql"),
    ),
    (
        "dvt/macros/cross_db.sql",
        include_str!("../../templates/macros/cross_db.sql"),
    ),
    (
        "dvt/macros/relations.sql",
        include_str!("../../templates/macros/relations.sql"),
    ),
    (
        "dvt/macros/statement.sql",
        include_str!("../../templates/macros/statement.sql"),
    ),
    (
        "dvt/macros/materialization_helpers.sql",
        include_str!("../../templates/macros/materialization_helpers.sql"),
    ),
];

/// Variables of the calling template forwarded into a macro's own state, so that
/// `this`, `model` and `execute` mean the same inside a macro as outside it.
const FORWARDED: &[&str] = &["this", "model", "execute", "sql"];

/// Marker message of the error `return()` raises to unwind to its macro.
const RETURN_MARKER: &str = "__dvt_return__";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Capture refs, sources and config; `ref()` returns a placeholder.
    Parse,
    /// Resolve refs to relations.
    Compile,
}

/// What a `ref()` resolves to at compile time.
#[derive(Debug, Clone)]
pub enum Resolved {
    Relation(Relation),
    /// An ephemeral model, inlined as the CTE `__dbt__cte__<name>`.
    Ephemeral {
        unique_id: String,
        name: String,
    },
}

/// Relation names of every node and source, for compile mode.
#[derive(Debug, Default, Clone)]
pub struct Resolver {
    /// Keyed by model or seed name, and by `package.name`.
    pub refs: HashMap<String, Resolved>,
    pub sources: HashMap<(String, String), Relation>,
    /// A package's own sources, by package, source and table, that a node of
    /// that package finds before another package's (the root project's still
    /// come first, and are not here), as dbt searches.
    pub package_sources: HashMap<(String, String, String), Relation>,
    /// What the refs and sources read under `--empty` (`super::narrow`).
    pub narrowing: super::narrow::Narrowing,
    /// The `event_time` config of each relation that has one: a microbatch
    /// model reads only its batch's window of those (`super::narrow`).
    pub event_times: HashMap<Relation, String>,
}

/// What one render captured.
#[derive(Debug)]
pub struct Scope {
    pub mode: Mode,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    /// Keyword arguments of every `config()` call, merged in order.
    pub config_calls: Map<String, serde_json::Value>,
    /// The config `config.get()` reads: the node's config as known so far.
    pub config_view: Map<String, serde_json::Value>,
    pub macros_used: BTreeSet<String>,
    pub ephemerals_used: BTreeSet<String>,
    pub is_incremental: bool,
    /// What `store_result()` kept during this render, for `load_result()`.
    pub statement_results: BTreeMap<String, Value>,
    pub resolver: Option<Arc<Resolver>>,
    /// Target schema and database, for the placeholder relations of parse mode.
    pub default_schema: String,
    pub default_database: String,
    /// The installed package the node belongs to; `None` for the root project.
    /// `var()` looks in that package's own vars too.
    pub package: Option<String>,
    /// A unit test's `overrides` of `vars` and `env_vars`, which `var()` and
    /// `env_var()` read first.
    pub var_overrides: Map<String, serde_json::Value>,
    pub env_var_overrides: Map<String, serde_json::Value>,
    /// The batch a microbatch model is rendered for, whose window its
    /// inputs with an `event_time` are filtered to.
    pub batch: Option<crate::microbatch::BatchContext>,
    /// A unit test's `overrides: macros:`, by the name a call reaches the
    /// macro through (`name`, or `package.name` for an installed package's),
    /// and what the call returns instead, at any depth of macro calls.
    pub macro_overrides: BTreeMap<String, Value>,
}

impl Scope {
    pub fn new(mode: Mode, default_schema: &str, default_database: &str) -> Self {
        Scope {
            mode,
            refs: Vec::new(),
            sources: Vec::new(),
            config_calls: Map::new(),
            config_view: Map::new(),
            macros_used: BTreeSet::new(),
            ephemerals_used: BTreeSet::new(),
            is_incremental: false,
            statement_results: BTreeMap::new(),
            resolver: None,
            default_schema: default_schema.to_string(),
            default_database: default_database.to_string(),
            package: None,
            var_overrides: Map::new(),
            env_var_overrides: Map::new(),
            batch: None,
            macro_overrides: BTreeMap::new(),
        }
    }
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
    static RETURNED: RefCell<Option<Value>> = const { RefCell::new(None) };
    static MACRO_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How deep macro calls may nest. dbt stops at Python's recursion limit,
/// which a Jinja macro calling itself reaches between 50 and 100 levels
/// (dbt 1.10: `down(50)` compiles, `down(100)` is "maximum recursion depth
/// exceeded"); dvt allows more, so that nothing dbt compiles fails here.
const MAX_MACRO_DEPTH: usize = 256;

/// One level of macro nesting, counted while it lives. minijinja's own
/// recursion limit does not see dvt's macro calls: each one renders the
/// macro's template in a new `State`, whose depth starts again at zero.
struct MacroDepth;

impl MacroDepth {
    fn enter(name: &str) -> Result<Self, Error> {
        let depth = MACRO_DEPTH.with(|depth| {
            depth.set(depth.get() + 1);
            depth.get()
        });
        let guard = Self;
        if depth > MAX_MACRO_DEPTH {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "macro `{name}` nests more than {MAX_MACRO_DEPTH} macro calls deep: a macro that calls itself (or two that call each other) needs a condition that stops it"
                ),
            ));
        }
        Ok(guard)
    }
}

impl Drop for MacroDepth {
    fn drop(&mut self) {
        MACRO_DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

pub(crate) fn with_scope<R>(action: impl FnOnce(&mut Scope) -> R) -> Result<R, Error> {
    SCOPE.with(|cell| {
        let mut borrowed = cell.borrow_mut();
        match borrowed.as_mut() {
            Some(scope) => Ok(action(scope)),
            None => Err(Error::new(
                ErrorKind::InvalidOperation,
                "ref(), source() and config() are only available inside a model",
            )),
        }
    })
}

/// The relation `ref()`, `source()` or `this` returns for `relation`.
pub fn relation_value(relation: Relation) -> Value {
    Value::from(super::context::Relation::reference(&relation, None))
}

/// The `config` global: callable as `config(materialized='table')`, and with
/// `config.get(key, default)` and `config.require(key)` for macros.
#[derive(Debug)]
struct ConfigObject;

impl Object for ConfigObject {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (&[Value], Kwargs) = minijinja::value::from_args(args)?;
        let mut captured = Map::new();
        // `config({'materialized': 'table'})` is also accepted.
        for value in positional {
            let json = serde_json::to_value(value)
                .map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))?;
            if let serde_json::Value::Object(entries) = json {
                captured.extend(entries);
            }
        }
        for key in kwargs.args() {
            let value: Value = kwargs.get(key)?;
            let json = serde_json::to_value(&value)
                .map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))?;
            captured.insert(key.to_string(), json);
        }
        with_scope(|scope| {
            super::config::merge(&mut scope.config_calls, &captured);
            super::config::merge(&mut scope.config_view, &captured);
        })?;
        Ok(Value::from(""))
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "get" => {
                let (key, default): (String, Option<Value>) = minijinja::value::from_args(args)?;
                let found = with_scope(|scope| scope.config_view.get(&super::config::normalize_key(&key)).cloned())?;
                Ok(match found {
                    Some(serde_json::Value::Null) | None => default.unwrap_or(Value::from(())),
                    Some(value) => super::context::from_json(&value),
                })
            }
            "require" => {
                let (key,): (String,) = minijinja::value::from_args(args)?;
                let found = with_scope(|scope| scope.config_view.get(&super::config::normalize_key(&key)).cloned())?;
                match found {
                    Some(value) if !value.is_null() => Ok(super::context::from_json(&value)),
                    _ => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("config `{key}` is required but not set"),
                    )),
                }
            }
            "set" => Ok(Value::from("")),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A macro found in a project or built into dvt.
#[derive(Debug, Clone)]
pub struct MacroDefinition {
    pub name: String,
    /// The template (file) it is defined in.
    pub template: String,
    pub package: String,
    pub source: String,
}

/// Everything a render needs that is the same for every node.
pub struct Globals {
    pub project_name: String,
    pub target: serde_json::Value,
    pub adapter_type: String,
    pub vars: Map<String, serde_json::Value>,
    pub cli_vars: Map<String, serde_json::Value>,
    pub docs: BTreeMap<String, String>,
    pub invocation_id: String,
    pub run_started_at: String,
    pub full_refresh: bool,
    pub store_failures: bool,
    pub fail_fast: bool,
    pub command: String,
}

/// The configured environment and the macros in it.
pub struct Jinja {
    pub env: Environment<'static>,
    /// Macros by unqualified name, as the root project sees them: its own, else
    /// dvt's built-ins.
    pub macros: BTreeMap<String, MacroDefinition>,
    /// What `graph` holds: empty while parsing, the manifest's nodes after.
    pub graph: Arc<super::context::graph::GraphSlot>,
    /// dvt's built-ins (dbt's `dbt` package), which `dbt.name` calls even where
    /// the project overrides `name`.
    pub internal_macros: BTreeMap<String, MacroDefinition>,
    /// The macros of each installed package, by package then name.
    pub package_macros: BTreeMap<String, BTreeMap<String, MacroDefinition>>,
    pub index: Arc<MacroIndex>,
}

/// The installed packages' side of the environment.
#[derive(Debug, Default, Clone)]
pub struct PackageMacros {
    /// (package, template path, source) of every macro file of every package.
    pub files: Vec<(String, String, String)>,
    /// The root project's `dispatch:` config: namespace and search order.
    pub dispatch: Vec<(String, Vec<String>)>,
    /// Packages listed in packages.yml but not installed, and that file's name.
    pub missing: Vec<String>,
    /// Each installed package's own `vars:`, for `var()` in its nodes.
    pub vars: BTreeMap<String, Map<String, serde_json::Value>>,
    pub packages_file: String,
}

/// Rewrites dbt-only block tags into minijinja ones, keeping line numbers:
/// `{% test name(...) %}` becomes `{% macro test_name(...) %}`, and
/// `{% materialization name, adapter='postgres' %}` becomes
/// `{% macro materialization_name_postgres() %}`.
pub fn preprocess(source: &str) -> String {
    let source = super::context::methods::mutable_literals(source);
    let source = source.as_str();
    let mut output = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        output.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find("%}") else {
            output.push_str(after);
            return output;
        };
        let tag = &after[..end + 2];
        let inner = tag[2..tag.len() - 2]
            .trim_matches(|character: char| character == '-' || character == '+' || character.is_whitespace());
        let open = &tag[..2 + usize::from(tag[2..].starts_with('-'))];
        let close = if tag.ends_with("-%}") { "-%}" } else { "%}" };
        if let Some(definition) = inner.strip_prefix("test ") {
            output.push_str(&format!("{open} macro test_{} {close}", definition.trim()));
        } else if let Some(definition) = inner.strip_prefix("materialization ") {
            let name = super::materialization::macro_name_of(definition);
            output.push_str(&format!("{open} macro {name}() {close}"));
        } else if inner == "endmaterialization" || inner == "endtest" {
            output.push_str(&format!("{open} endmacro {close}"));
        } else if let Some((signature, assignments)) = inner.strip_prefix("macro ").and_then(late_defaults) {
            // The assignments print nothing; the last takes the tag's `-%}`.
            let assignments = match assignments.strip_suffix("%}") {
                Some(body) => format!("{body}{close}"),
                None => assignments,
            };
            output.push_str(&format!("{open} macro {signature} %}}{assignments}"));
        } else {
            output.push_str(tag);
        }
        rest = &after[end + 2..];
    }
    output.push_str(rest);
    output
}

const LATE_DEFAULT: &str = "__dvt_late_default__";

/// A macro signature whose defaults name an earlier argument
/// (`generate_source(schema_name, name=schema_name)` in dbt-codegen): as in
/// Jinja2 they see that argument, where minijinja evaluates them before it is
/// bound. Such a default becomes a marker and the body starts by setting it;
/// `None` when no default needs it.
fn late_defaults(definition: &str) -> Option<(String, String)> {
    let open = definition.find('(')?;
    let close = definition.rfind(')')?;
    let inside = definition.get(open + 1..close)?;
    let mut arguments: Vec<String> = Vec::new();
    let (mut depth, mut quote, mut current) = (0usize, None, String::new());
    for character in inside.chars() {
        match (quote, character) {
            (Some(open), _) if character == open => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(character),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                arguments.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    arguments.push(current);
    let mut seen: Vec<String> = Vec::new();
    let mut assignments = String::new();
    let mut rewritten = Vec::with_capacity(arguments.len());
    for argument in arguments {
        let (name, default) = match argument.split_once('=') {
            Some((name, default)) => (name.trim().to_string(), Some(default.trim().to_string())),
            None => (argument.trim().to_string(), None),
        };
        match default {
            Some(default) if names_any(&default, &seen) => {
                assignments.push_str(&format!(
                    "{{% if {name} == \"{LATE_DEFAULT}\" %}}{{% set {name} = {default} %}}{{% endif %}}"
                ));
                rewritten.push(format!("{name}=\"{LATE_DEFAULT}\""));
            }
            _ => rewritten.push(argument),
        }
        seen.push(name);
    }
    if assignments.is_empty() {
        return None;
    }
    let signature = format!(
        "{}({}){}",
        &definition[..open],
        rewritten.join(","),
        &definition[close + 1..]
    );
    Some((signature, assignments))
}

/// Whether `expression` uses one of `names` as a variable: a word outside
/// strings that follows no `.`.
fn names_any(expression: &str, names: &[String]) -> bool {
    let mut quote = None;
    let (mut word, mut attribute, mut previous) = (String::new(), false, ' ');
    for character in expression.chars().chain([' ']) {
        if let Some(open) = quote {
            if character == open {
                quote = None;
            }
            previous = character;
            continue;
        }
        if character.is_alphanumeric() || character == '_' {
            if word.is_empty() {
                attribute = previous == '.';
            }
            word.push(character);
        } else {
            if !attribute && names.contains(&word) {
                return true;
            }
            word.clear();
            if character == '\'' || character == '"' {
                quote = Some(character);
            }
        }
        previous = character;
    }
    false
}

/// Names of the macros a (preprocessed) macro file defines, in order.
/// Adds the macro file `path` of `package` to `env`, its definitions hidden,
/// and returns the macros it defines; `None` once its error is in `errors`.
fn add_macro_file(
    env: &mut Environment<'static>,
    package: &str,
    path: &str,
    source: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<MacroDefinition>> {
    let processed = preprocess(source);
    let names = macro_names(&processed);
    let hidden = super::context::macros::hide_definitions(&processed);
    if let Err(error) = env.add_template_owned(path.to_string(), hidden) {
        errors.push(jinja_diagnostic(&error, path, source));
        return None;
    }
    let definitions = names.into_iter().map(|name| MacroDefinition {
        name,
        template: path.to_string(),
        package: package.to_string(),
        source: source.to_string(),
    });
    Some(definitions.collect())
}

pub fn macro_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("%}") else { break };
        let inner = after[..end]
            .trim_matches(|character: char| character == '-' || character == '+' || character.is_whitespace());
        if let Some(definition) = inner.strip_prefix("macro ") {
            let name: String = definition
                .trim()
                .chars()
                .take_while(|character| character.is_alphanumeric() || *character == '_')
                .collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
        rest = &after[end..];
    }
    names
}

impl Jinja {
    /// Builds the environment. `project_macros` are (path, source) pairs.
    pub fn new(globals: Globals, project_macros: &[(String, String)]) -> Result<Jinja, Vec<Diagnostic>> {
        Jinja::with_packages(globals, project_macros, &PackageMacros::default())
    }

    /// Builds the environment with the macros of installed packages, reachable
    /// as `package.name` and through `adapter.dispatch` (see [`super::namespace`]).
    pub fn with_packages(
        globals: Globals,
        project_macros: &[(String, String)],
        packages: &PackageMacros,
    ) -> Result<Jinja, Vec<Diagnostic>> {
        let mut env = Environment::new();
        // dbt's Jinja never escapes; a YAML snapshot renders under its `.yml` path.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // As dbt's Jinja: an undefined value is empty when printed, iterated
        // or concatenated (a macro called without an argument gets one). Only
        // printing one in the node's own file is an error (the formatter
        // below), because there it is almost always a typo.
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_keep_trailing_newline(true);
        env.set_recursion_limit(200);

        let mut macros = BTreeMap::new();
        let mut errors = Vec::new();
        let mut internal_macros = BTreeMap::new();
        let builtins = BUILTIN_MACROS
            .iter()
            .map(|(path, source)| (path.to_string(), source.to_string(), "dvt".to_string()));
        let project = project_macros
            .iter()
            .map(|(path, source)| (path.clone(), source.clone(), globals.project_name.clone()));
        for (path, source, package) in builtins.chain(project) {
            let Some(definitions) = add_macro_file(&mut env, &package, &path, &source, &mut errors) else {
                continue;
            };
            for definition in definitions {
                if package == "dvt" {
                    internal_macros.insert(definition.name.clone(), definition.clone());
                }
                macros.insert(definition.name.clone(), definition);
            }
        }
        let mut package_macros: BTreeMap<String, BTreeMap<String, MacroDefinition>> = BTreeMap::new();
        for (package, path, source) in &packages.files {
            let Some(definitions) = add_macro_file(&mut env, package, path, source, &mut errors) else {
                continue;
            };
            let entries = package_macros.entry(package.clone()).or_default();
            for definition in definitions {
                entries.insert(definition.name.clone(), definition);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let macro_templates: BTreeSet<String> = macros
            .values()
            .chain(internal_macros.values())
            .chain(package_macros.values().flat_map(BTreeMap::values))
            .map(|definition| definition.template.clone())
            .collect();
        env.set_formatter(move |output, state, value| {
            if value.is_undefined() && !macro_templates.contains(state.name()) {
                return Err(Error::from(ErrorKind::UndefinedError));
            }
            minijinja::escape_formatter(output, state, value)
        });
        let index = Arc::new(MacroIndex::new(
            &macros,
            &internal_macros,
            &package_macros,
            &globals.project_name,
            &packages.dispatch,
        ));
        // Namespaces first: in dbt's search order a root project macro of the
        // same name comes before a package.
        for package in &packages.missing {
            env.add_global(
                package.clone(),
                Value::from_object(MissingPackage {
                    package: package.clone(),
                    packages_file: packages.packages_file.clone(),
                }),
            );
        }
        for package in index.package_names() {
            env.add_global(
                package.clone(),
                Value::from_object(PackageNamespace {
                    package,
                    macros: Arc::clone(&index),
                }),
            );
        }
        for definition in macros.values() {
            let template = definition.template.clone();
            let name = definition.name.clone();
            env.add_function(definition.name.clone(), move |state: &State, args: Rest<Value>| {
                call_macro(state, &template, &name, &name, &args)
            });
        }
        add_globals(&mut env, globals, Arc::clone(&index), packages.vars.clone());
        let graph = Arc::new(super::context::graph::GraphSlot::default());
        env.add_global(
            "graph",
            Value::from_object(super::context::graph::Graph(Arc::clone(&graph))),
        );
        // What `--select` chose; empty while parsing, as in dbt.
        env.add_global(
            "selected_resources",
            Value::from_object(super::context::graph::SelectedResources(Arc::clone(&graph))),
        );
        Ok(Jinja {
            env,
            macros,
            internal_macros,
            package_macros,
            index,
            graph,
        })
    }

    /// A macro by unqualified name, or by `package.name`.
    pub(super) fn definition(&self, name: &str) -> Option<&MacroDefinition> {
        match name.split_once('.') {
            Some((super::namespace::INTERNAL, name)) => self.internal_macros.get(name),
            Some((package, name)) => self
                .package_macros
                .get(package)
                .and_then(|macros| macros.get(name))
                .or_else(|| self.macros.get(name).filter(|found| found.package == package)),
            None => self.macros.get(name),
        }
    }

    /// The context of a node of `package` (not the root project): `base` with
    /// the package's macros as names of their own, as dbt's local namespace.
    pub fn with_local_namespace(&self, package: Option<&str>, base: Value) -> Value {
        let Some(locals) = package.and_then(|package| self.index.locals(package)) else {
            return base;
        };
        let locals = Value::from_iter(locals.iter().map(|(name, value)| (name.clone(), value.clone())));
        minijinja::context! { ..base, ..locals }
    }

    /// The generic test macro `test_<name>` as dbt's macro resolver finds it:
    /// `namespace.test_name` first when given, then the root project's, the
    /// packages' and the built-in one. Returns the name to call it by.
    pub fn test_macro(&self, namespace: Option<&str>, test_name: &str) -> Option<String> {
        let name = format!("test_{test_name}");
        let (package, _) = self.index.resolve(namespace, &name)?;
        Some(if package == self.index.root() {
            name
        } else {
            format!("{package}.{name}")
        })
    }

    /// Renders `source` (named `name` for errors) with `scope` in effect, returning
    /// the output and the scope with everything it captured.
    pub fn render(&self, name: &str, source: &str, scope: Scope, context: Value) -> (Result<String, Error>, Scope) {
        SCOPE.with(|cell| *cell.borrow_mut() = Some(scope));
        let processed = preprocess(source);
        let result = self
            .env
            .template_from_named_str(name, &processed)
            .and_then(|template| template.render(context));
        let scope = SCOPE
            .with(|cell| cell.borrow_mut().take())
            .unwrap_or_else(|| Scope::new(Mode::Parse, "", ""));
        (result, scope)
    }

    /// Calls a macro by name from Rust, as a generic test is instantiated.
    pub fn call(&self, name: &str, args: &[Value], scope: Scope, context: Value) -> (Result<String, Error>, Scope) {
        SCOPE.with(|cell| *cell.borrow_mut() = Some(scope));
        let result = match self.definition(name) {
            Some(definition) => self
                .env
                .get_template(&definition.template)
                .and_then(|template| {
                    let signature = super::context::macros::signature(
                        &definition.template,
                        template.source(),
                        &super::context::macros::definition_name(&definition.name),
                    );
                    let (args, context) = match signature.filter(|signature| signature.catch_all) {
                        Some(signature) => {
                            let (passed, kwargs, varargs) = super::context::macros::split_arguments(&signature, args);
                            (
                                passed,
                                minijinja::context! { kwargs => kwargs, varargs => varargs, ..context },
                            )
                        }
                        None => (args.to_vec(), context),
                    };
                    let captured = template.render_captured(context)?;
                    call_in_state(captured.state(), &definition.name, &args)
                })
                .map(|value| value.to_string()),
            None => Err(Error::new(
                ErrorKind::UnknownFunction,
                format!("macro `{name}` is not defined"),
            )),
        };
        let scope = SCOPE
            .with(|cell| cell.borrow_mut().take())
            .unwrap_or_else(|| Scope::new(Mode::Parse, "", ""));
        (result, scope)
    }

    /// Renders a short string (a YAML value or a hook) outside any node.
    pub fn render_str(&self, source: &str, context: Value) -> Result<String, Error> {
        self.env.render_str(source, context)
    }

    /// Evaluates one expression, such as `ref('customers')` in a test argument.
    pub fn eval(&self, expression: &str, scope: Scope, context: Value) -> (Result<Value, Error>, Scope) {
        SCOPE.with(|cell| *cell.borrow_mut() = Some(scope));
        let result = self
            .env
            .compile_expression(expression)
            .and_then(|compiled| compiled.eval(context));
        let scope = SCOPE
            .with(|cell| cell.borrow_mut().take())
            .unwrap_or_else(|| Scope::new(Mode::Parse, "", ""));
        (result, scope)
    }

    /// The source of a template by name, to point errors at macro files.
    pub fn macro_source(&self, template: &str) -> Option<&str> {
        self.macros
            .values()
            .chain(self.package_macros.values().flat_map(BTreeMap::values))
            .find(|definition| definition.template == template)
            .map(|definition| definition.source.as_str())
    }
}

/// The macros of `package` by name, found through its namespace global.
fn local_namespace(state: &State, package: &str) -> Option<Arc<BTreeMap<String, Value>>> {
    let namespace = state.lookup(package)?;
    let namespace = namespace.downcast_object_ref::<PackageNamespace>()?;
    namespace.macros.locals(package)
}

/// Calls the macro `name` of `template`; `used` is what the node's
/// `depends_on.macros` records (`package.name` for a package's macro).
pub(super) fn call_macro(
    state: &State,
    template: &str,
    name: &str,
    used: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let _depth = MacroDepth::enter(name)?;
    // Each level of nesting takes several of minijinja's frames; a rayon
    // worker's stack would overflow long before the depth limit, so the
    // stack grows onto the heap when it runs low.
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
        call_macro_here(state, template, name, used, args)
    })
}

/// Stack left below which a macro call moves to a new segment, and the size of one.
const STACK_RED_ZONE: usize = 256 * 1024;
const STACK_GROWTH: usize = 4 * 1024 * 1024;

fn call_macro_here(state: &State, template: &str, name: &str, used: &str, args: &[Value]) -> Result<Value, Error> {
    let (package, overridden) = with_scope(|scope| {
        scope.macros_used.insert(used.to_string());
        (scope.package.clone(), scope.macro_overrides.get(used).cloned())
    })
    .unwrap_or_default();
    if let Some(returned) = overridden {
        return Ok(returned);
    }
    let template_name = template;
    let template = state.env().get_template(template)?;
    let mut context = BTreeMap::new();
    // In a package's node, the package's own macros are names of their own
    // (dbt's local namespace), inside macros too.
    if let Some(locals) = package.as_deref().and_then(|package| local_namespace(state, package)) {
        context.extend(locals.iter().map(|(name, value)| (name.clone(), value.clone())));
    }
    for variable in FORWARDED {
        if let Some(value) = state.lookup(variable) {
            context.insert(variable.to_string(), value);
        }
    }
    let args = with_caller_rendered(state, args)?;
    let signature = super::context::macros::signature(
        template_name,
        template.source(),
        &super::context::macros::definition_name(name),
    );
    let args = match signature.filter(|signature| signature.catch_all) {
        Some(signature) => {
            let (passed, kwargs, varargs) = super::context::macros::split_arguments(&signature, &args);
            context.insert("kwargs".to_string(), kwargs);
            context.insert("varargs".to_string(), varargs);
            passed
        }
        None => args,
    };
    let captured = template.render_captured(context)?;
    let result = call_in_state(captured.state(), name, &args);
    if template_name.starts_with(BUILTIN_PREFIX) {
        // An error inside one of dvt's own macros (`run_query`, `statement`)
        // is the caller's to fix: shown at the call, not in dvt's template.
        return result.map_err(at_the_call);
    }
    result
}

/// Where dvt's own macros live (`dvt/macros/statement.sql`).
const BUILTIN_PREFIX: &str = "dvt/";

/// `error` without its position, so that the template that made the call
/// puts its own there.
fn at_the_call(error: Error) -> Error {
    let detail = error
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| error.kind().to_string());
    Error::new(error.kind(), detail).with_source(error)
}

/// The arguments of a `{% call macro(...) %}` block, with the block's body
/// rendered here, in the caller's template. The macro runs in its own
/// template's state, where minijinja cannot call back into the caller's, so
/// `caller()` returns the body rendered once (dbt's `statement` calls it
/// once). A body that takes arguments is passed through as it is.
fn with_caller_rendered(state: &State, args: &[Value]) -> Result<Vec<Value>, Error> {
    let Some((last, positional)) = args.split_last().filter(|(last, _)| last.is_kwargs()) else {
        return Ok(args.to_vec());
    };
    let kwargs = Kwargs::try_from(last.clone())?;
    let Some(caller) = kwargs.get::<Option<Value>>("caller")? else {
        return Ok(args.to_vec());
    };
    let takes_arguments = caller
        .get_attr("arguments")
        .ok()
        .and_then(|arguments| arguments.len())
        .is_some_and(|count| count > 0);
    if takes_arguments {
        return Ok(args.to_vec());
    }
    let body = caller.call(state, &[])?;
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for key in kwargs.args() {
        let value = if key == "caller" {
            let body = body.clone();
            Value::from_function(move || body.clone())
        } else {
            kwargs.get::<Value>(key)?
        };
        pairs.push((key.to_string(), value));
    }
    let mut rewritten = positional.to_vec();
    rewritten.push(Value::from(Kwargs::from_iter(pairs)));
    Ok(rewritten)
}

fn call_in_state(state: &State, name: &str, args: &[Value]) -> Result<Value, Error> {
    // A macro file's definitions are renamed, except those a `{% call %}`
    // block of the same file uses (see `context::macros::hide_definitions`).
    let hidden = super::context::macros::definition_name(name);
    let defined = if state.lookup(&hidden).is_some() {
        hidden.as_str()
    } else {
        name
    };
    match state.call_macro(defined, args) {
        Ok(output) => Ok(Value::from_safe_string(output)),
        Err(error) => match RETURNED.with(|cell| cell.borrow_mut().take()) {
            Some(value) if is_return(&error) => Ok(value),
            _ => Err(error),
        },
    }
}

fn is_return(error: &Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if error.to_string().contains(RETURN_MARKER) {
            return true;
        }
        current = error.source();
    }
    false
}

/// The raw value of `var(name)`, as dbt merges vars for a node: a unit
/// test's overrides, `--vars`, the root project's vars (scoped to the node's
/// package, then global), then the node's package's own.
fn find_var(
    globals: &Globals,
    package_vars: &BTreeMap<String, Map<String, serde_json::Value>>,
    name: &str,
) -> Option<serde_json::Value> {
    if let Ok(Some(value)) = with_scope(|scope| scope.var_overrides.get(name).cloned()) {
        return Some(value);
    }
    if let Some(value) = globals.cli_vars.get(name) {
        return Some(value.clone());
    }
    let package = with_scope(|scope| scope.package.clone()).ok().flatten();
    let project = package.as_deref().unwrap_or(&globals.project_name);
    let scoped = globals
        .vars
        .get(project)
        .and_then(serde_json::Value::as_object)
        .and_then(|vars| vars.get(name));
    if let Some(value) = scoped.or_else(|| globals.vars.get(name)) {
        return Some(value.clone());
    }
    let package = package?;
    let own = package_vars.get(&package)?;
    let scoped = own
        .get(&package)
        .and_then(serde_json::Value::as_object)
        .and_then(|vars| vars.get(name));
    scoped.or_else(|| own.get(name)).cloned()
}

/// A var's value as `var()` returns it. A string holding Jinja is rendered
/// when it is read, to a string, as dbt's `get_rendered_var` does: dbt-project-
/// evaluator's `max_depth_dag: "{{ 9 if target.type in [...] else -1 }}"` is
/// `'-1'` on PostgreSQL.
fn rendered_var(state: &State, value: &serde_json::Value) -> Result<Value, Error> {
    match value {
        serde_json::Value::String(text) if text.contains("{{") || text.contains("{%") => {
            state.env().render_str(text, ()).map(Value::from)
        }
        other => Ok(super::context::from_json(other)),
    }
}

fn add_globals(
    env: &mut Environment<'static>,
    globals: Globals,
    macros: Arc<MacroIndex>,
    package_vars: BTreeMap<String, Map<String, serde_json::Value>>,
) {
    let globals = Arc::new(globals);

    env.add_function("ref", |args: Rest<Value>| -> Result<Value, Error> {
        // `v=` or `version=` pins a model version (`super::versions`).
        let (args, kwargs): (&[Value], Kwargs) = minijinja::value::from_args(&args)?;
        let version = match (
            kwargs.get::<Option<Value>>("v")?,
            kwargs.get::<Option<Value>>("version")?,
        ) {
            (Some(version), _) | (None, Some(version)) if !version.is_none() => Some(version.to_string()),
            _ => None,
        };
        kwargs.assert_all_used()?;
        let (package, name) = match args {
            [name] => (None, string_arg(name, "ref")?),
            [package, name] => (Some(string_arg(package, "ref")?), string_arg(name, "ref")?),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "ref() takes a model name, or a package and a model name",
                ))
            }
        };
        with_scope(|scope| resolve_ref(scope, package, name, version))?
    });
    env.add_function(
        "source",
        |source_name: String, table_name: String| -> Result<Value, Error> {
            with_scope(|scope| match scope.mode {
                Mode::Parse => {
                    scope.sources.push((source_name.clone(), table_name.clone()));
                    Ok(relation_value(Relation {
                        database: scope.default_database.clone(),
                        schema: source_name,
                        identifier: table_name,
                    }))
                }
                Mode::Compile => {
                    let found = scope.resolver.as_ref().and_then(|resolver| {
                        let own = scope.package.clone().and_then(|package| {
                            resolver
                                .package_sources
                                .get(&(package, source_name.clone(), table_name.clone()))
                        });
                        own.or_else(|| resolver.sources.get(&(source_name.clone(), table_name.clone())))
                            .cloned()
                    });
                    scope.sources.push((source_name.clone(), table_name.clone()));
                    let resolver = scope.resolver.as_deref();
                    found
                        .zip(resolver)
                        .map(|(relation, resolver)| {
                            Value::from(super::narrow::reference(resolver, &relation, scope.batch.as_ref()))
                        })
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::InvalidOperation,
                                format!("source `{source_name}.{table_name}` is not declared"),
                            )
                        })
                }
            })?
        },
    );
    env.add_global("config", Value::from_object(ConfigObject));
    env.add_function("is_incremental", || -> Result<bool, Error> {
        with_scope(|scope| scope.is_incremental)
    });
    // dbt's `should_store_failures()` and `should_full_refresh()`: the node's
    // config, else the command's flag.
    let full_refresh = globals.full_refresh;
    let store_failures = globals.store_failures;
    env.add_function("should_store_failures", move || -> Result<bool, Error> {
        with_scope(|scope| config_flag(scope, "store_failures").unwrap_or(store_failures))
    });
    env.add_function("should_full_refresh", move || -> Result<bool, Error> {
        with_scope(|scope| config_flag(scope, "full_refresh").unwrap_or(full_refresh))
    });

    let var_globals = Arc::clone(&globals);
    env.add_function("var", move |state: &State, name: String, default: Option<Value>| -> Result<Value, Error> {
        let found = find_var(&var_globals, &package_vars, &name);
        match found {
            Some(value) => rendered_var(state, &value),
            None => default.ok_or_else(|| {
                let defined = var_globals.vars.keys().chain(var_globals.cli_vars.keys()).map(String::as_str);
                let suggestion = match crate::diagnostic::did_you_mean(&name, defined) {
                    Some(suggestion) => format!("; did you mean `{suggestion}`?"),
                    None => String::new(),
                };
                Error::new(
                    ErrorKind::UndefinedError,
                    format!("required var `{name}` is not set{suggestion}; add it under `vars:` in the project file, pass `--vars '{{{name}: ...}}'`, or give var() a default"),
                )
            }),
        }
    });
    env.add_function(
        "env_var",
        |name: String, default: Option<Value>| -> Result<Value, Error> {
            if let Ok(Some(value)) = with_scope(|scope| scope.env_var_overrides.get(&name).cloned()) {
                return Ok(Value::from(match value {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                }));
            }
            match std::env::var(&name) {
                Ok(value) => Ok(Value::from(value)),
                Err(_) => default.map(|value| Value::from(value.to_string())).ok_or_else(|| {
                    Error::new(
                        ErrorKind::UndefinedError,
                        format!("environment variable `{name}` is not set; export it or give env_var() a default"),
                    )
                }),
            }
        },
    );
    env.add_function("log", |message: Value, kwargs: Kwargs| -> Result<Value, Error> {
        let info: Option<bool> = kwargs.get("info")?;
        let compiling = with_scope(|scope| scope.mode == Mode::Compile).unwrap_or(true);
        if info.unwrap_or(false) && compiling {
            crate::output::template_log("info", &message.to_string());
        }
        Ok(Value::from(""))
    });
    env.add_function("print", |message: Value| -> Value {
        crate::output::template_print(&message.to_string());
        Value::from("")
    });
    env.add_function("return", |value: Option<Value>| -> Result<Value, Error> {
        RETURNED.with(|cell| *cell.borrow_mut() = Some(value.unwrap_or(Value::from(()))));
        Err(Error::new(ErrorKind::InvalidOperation, RETURN_MARKER))
    });
    let doc_globals = Arc::clone(&globals);
    env.add_function("doc", move |name: String| -> Result<Value, Error> {
        doc_globals
            .docs
            .get(&name)
            .map(|text| Value::from(text.clone()))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedError,
                    format!("docs block `{name}` is not defined in any `.md` file"),
                )
            })
    });
    super::context::warehouse::add_functions(env);

    super::context::install(env);

    env.add_global(
        "adapter",
        Value::from_object(AdapterObject {
            adapter_type: globals.adapter_type.clone(),
            macros: Arc::clone(&macros),
        }),
    );
    env.add_global(
        "dbt",
        Value::from_object(PackageNamespace {
            package: super::namespace::INTERNAL.to_string(),
            macros,
        }),
    );
    env.add_global("target", Value::from_serialize(&globals.target));
    env.add_global("project_name", Value::from(globals.project_name.clone()));
    env.add_global("invocation_id", Value::from(globals.invocation_id.clone()));
    env.add_global(
        "run_started_at",
        super::context::DateTime::parse_rfc3339(&globals.run_started_at)
            .map(Value::from_object)
            .unwrap_or_else(|| Value::from(globals.run_started_at.clone())),
    );
    env.add_global("flags", super::context::flags(&globals));
    env.add_global("dbt_version", Value::from(super::context::DBT_VERSION));
}

fn config_flag(scope: &Scope, key: &str) -> Option<bool> {
    scope.config_view.get(key).and_then(serde_json::Value::as_bool)
}

fn string_arg(value: &Value, function: &str) -> Result<String, Error> {
    value.as_str().map(str::to_owned).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{function}() takes names as strings, got `{value}`"),
        )
    })
}

fn resolve_ref(
    scope: &mut Scope,
    package: Option<String>,
    name: String,
    version: Option<String>,
) -> Result<Value, Error> {
    scope.refs.push(RefCall {
        package: package.clone(),
        name: name.clone(),
        version: version.clone(),
    });
    match scope.mode {
        Mode::Parse => Ok(relation_value(Relation {
            database: scope.default_database.clone(),
            schema: scope.default_schema.clone(),
            identifier: name,
        })),
        Mode::Compile => {
            let versioned = match &version {
                Some(version) => format!("{name}.v{version}"),
                None => name.clone(),
            };
            let key = match &package {
                Some(package) => format!("{package}.{versioned}"),
                None => versioned.clone(),
            };
            let resolved = scope.resolver.as_ref().and_then(|resolver| {
                resolver
                    .refs
                    .get(&key)
                    .or_else(|| resolver.refs.get(&versioned))
                    .cloned()
            });
            let resolver = scope.resolver.clone().unwrap_or_default();
            match resolved {
                Some(Resolved::Relation(relation)) => Ok(Value::from(super::narrow::reference(
                    &resolver,
                    &relation,
                    scope.batch.as_ref(),
                ))),
                Some(Resolved::Ephemeral { unique_id, name }) => {
                    scope.ephemerals_used.insert(unique_id);
                    Ok(Value::from(super::narrow::ephemeral(&resolver, &name)))
                }
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("ref `{key}` does not name a model or seed"),
                )),
            }
        }
    }
}

/// The `adapter` global. Its methods that talk to the warehouse are in
/// [`super::context::warehouse`]; they return empty results while parsing.
#[derive(Debug)]
struct AdapterObject {
    adapter_type: String,
    macros: Arc<MacroIndex>,
}

impl Object for AdapterObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "type" => Some(Value::from(self.adapter_type.clone())),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "dispatch" => {
                // dbt's `dispatch(macro_name, macro_namespace=None)`, each argument by
                // position or keyword; the search order is dbt's (`namespace::MacroIndex::dispatch`).
                let (name, namespace, kwargs): (Option<String>, Option<String>, Kwargs) =
                    minijinja::value::from_args(args)?;
                let name = match name {
                    Some(name) => name,
                    None => kwargs.get("macro_name")?,
                };
                let namespace = match namespace {
                    Some(namespace) => Some(namespace),
                    None => kwargs.get("macro_namespace")?,
                };
                kwargs.assert_all_used()?;
                self.macros.dispatch(&self.adapter_type, &name, namespace.as_deref())
            }
            "quote" => {
                let (identifier,): (String,) = minijinja::value::from_args(args)?;
                Ok(Value::from(crate::manifest::quote_identifier(&identifier)))
            }
            "type" => Ok(Value::from(self.adapter_type.clone())),
            _ => super::context::warehouse::adapter_method(method, args).unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::UnknownMethod,
                    format!("adapter.{method}() is not available in dvt"),
                ))
            }),
        }
    }
}

/// Converts a minijinja error into a diagnostic pointing into `source`, the
/// text of the template named `file`. Errors raised inside a macro point at the
/// macro's file when `sources` knows it.
pub fn jinja_diagnostic(error: &Error, file: &str, source: &str) -> Diagnostic {
    jinja_diagnostic_with(error, file, source, &|_| None)
}

pub fn jinja_diagnostic_with<'a>(
    error: &Error,
    file: &str,
    source: &'a str,
    sources: &dyn Fn(&str) -> Option<&'a str>,
) -> Diagnostic {
    let (file, source) = match error.name() {
        Some(name) if name != file => match sources(name) {
            Some(macro_source) => (name.to_string(), macro_source),
            None => (file.to_string(), source),
        },
        _ => (file.to_string(), source),
    };
    let detail = error
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| error.kind().to_string());
    // dvt's own functions (`var()`, `env_var()`) put the fix after `; `: it
    // becomes a hint line of its own.
    let (detail, detail_hints) = match error.kind() {
        ErrorKind::UndefinedError => {
            let mut parts = detail.split("; ").map(str::to_owned);
            let first = parts.next().unwrap_or_default();
            (first, parts.collect::<Vec<String>>())
        }
        _ => (detail, Vec::new()),
    };
    // minijinja's positions are in the text with list and dict literals
    // rewritten (`context::methods`); map them back to what the user wrote.
    let range = error.range().map(|range| {
        let original = |offset| super::context::methods::original_offset(source, offset);
        original(range.start)..original(range.end)
    });
    let undefined = undefined_name(range.clone(), source);
    let message = match error.kind() {
        ErrorKind::SyntaxError => format!("Jinja syntax error: {detail}"),
        ErrorKind::UndefinedError => match &undefined {
            Some(name) if !detail.contains('`') => format!("undefined variable `{name}`"),
            _ if error.detail().is_some() => detail.clone(),
            _ => "undefined variable".to_string(),
        },
        ErrorKind::UnknownFunction => format!("unknown function: {detail}"),
        _ => detail.clone(),
    };
    let mut diagnostic = Diagnostic::error(message);
    let location = match (range, error.line()) {
        (Some(range), _) if range.end <= source.len() => {
            // minijinja points at the method of `package.macro(...)`; the call
            // of a package that is not installed starts at the package.
            let start = super::namespace::missing_package_call_start(&detail, source, range.start);
            Some(Location::from_offset(
                &file,
                source,
                start,
                range.end.saturating_sub(start).max(1),
            ))
        }
        (_, Some(line)) => Some(Location::at(&file, line, 1, 1)),
        _ => None,
    };
    // At the end of the input minijinja points past the last line; the block
    // that is still open is what the user has to fix.
    let unclosed = match error.kind() {
        ErrorKind::SyntaxError if detail.contains("end of input") => unclosed_block(source),
        _ => None,
    };
    diagnostic = match (&unclosed, location) {
        (Some((offset, length, _)), _) => {
            diagnostic.at(Location::from_offset(&file, source, *offset, *length), Some(source))
        }
        (None, Some(location)) => diagnostic.at(location, Some(source)),
        (None, None) => diagnostic.in_file(&file),
    };
    for hint in detail_hints {
        diagnostic = diagnostic.hint(hint);
    }
    if error.kind() == ErrorKind::UndefinedError && error.detail().is_none() {
        let suggestion = undefined.as_deref().and_then(|name| {
            let root = name.split('.').next().unwrap_or(name);
            let assigned = assigned_names(source);
            let candidates = assigned.iter().map(String::as_str).chain(GLOBAL_NAMES.iter().copied());
            crate::diagnostic::did_you_mean(root, candidates).map(str::to_owned)
        });
        diagnostic = match suggestion {
            Some(suggestion) => diagnostic.label(format!("did you mean `{suggestion}`?")),
            None => diagnostic.hint(
                "define it with `{% set name = ... %}`, pass it as a var with `var('name')`, or check the spelling",
            ),
        };
    }
    if error.kind() == ErrorKind::SyntaxError {
        diagnostic = match unclosed {
            Some((_, _, tag)) => diagnostic
                .label(format!("this `{tag}` block is never closed"))
                .hint(format!("close it with `{{% end{tag} %}}`")),
            None => diagnostic.hint("check that every `{{` has a matching `}}` and every `{%` block is closed"),
        };
    }
    diagnostic
}

/// Names of the context every template sees, for did-you-mean suggestions.
const GLOBAL_NAMES: &[&str] = &[
    "adapter",
    "config",
    "dbt",
    "env_var",
    "exceptions",
    "execute",
    "flags",
    "invocation_id",
    "is_incremental",
    "model",
    "project_name",
    "ref",
    "run_started_at",
    "source",
    "target",
    "this",
    "var",
];

/// Names a template assigns with `{% set name %}` or binds with `{% for name in %}`.
fn assigned_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (inner, _, _) in block_tags(source) {
        let rest = match inner.split_once(char::is_whitespace) {
            Some(("set" | "for", rest)) => rest,
            _ => continue,
        };
        let targets = rest.split(['=', ' ']).next().unwrap_or_default();
        let targets = if inner.starts_with("for") {
            rest.split(" in ").next().unwrap_or_default()
        } else {
            targets
        };
        for target in targets.split(',') {
            let target = target.trim().trim_matches(['(', ')']);
            if !target.is_empty() {
                names.push(target.to_string());
            }
        }
    }
    names
}

/// Every `{% ... %}` tag: its trimmed inner text, byte offset and length.
fn block_tags(source: &str) -> Vec<(&str, usize, usize)> {
    let mut tags = Vec::new();
    let mut offset = 0;
    while let Some(found) = source[offset..].find("{%") {
        let start = offset + found;
        let Some(end) = source[start..].find("%}").map(|end| start + end + 2) else {
            break;
        };
        let inner = source[start + 2..end - 2]
            .trim_matches(|character: char| character == '-' || character == '+' || character.is_whitespace());
        tags.push((inner, start, end - start));
        offset = end;
    }
    tags
}

/// The innermost block tag that is opened and never closed: its offset, length
/// and name (`if`, `for`, `macro`, ...).
fn unclosed_block(source: &str) -> Option<(usize, usize, String)> {
    const BLOCKS: &[&str] = &[
        "if",
        "for",
        "macro",
        "call",
        "filter",
        "block",
        "with",
        "autoescape",
        "test",
        "docs",
        "materialization",
        "snapshot",
        "set",
    ];
    let mut open: Vec<(usize, usize, String)> = Vec::new();
    for (inner, offset, length) in block_tags(source) {
        let word: String = inner
            .chars()
            .take_while(|character| character.is_alphanumeric() || *character == '_')
            .collect();
        if let Some(closed) = word.strip_prefix("end") {
            if let Some(position) = open.iter().rposition(|(_, _, name)| name == closed) {
                open.truncate(position);
            }
        } else if BLOCKS.contains(&word.as_str()) && !(word == "set" && inner.contains('=')) {
            open.push((offset, length, word));
        }
    }
    open.pop()
}

fn undefined_name(range: Option<std::ops::Range<usize>>, source: &str) -> Option<String> {
    let range = range?;
    let text = source.get(range)?;
    let name: String = text
        .trim()
        .chars()
        .take_while(|character| character.is_alphanumeric() || *character == '_' || *character == '.')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment for `adapter_type`, with `project_macros` as (path, source).
    fn environment(adapter_type: &str, project_macros: &[(&str, &str)]) -> Jinja {
        with_packages(adapter_type, project_macros, PackageMacros::default())
    }

    fn render(jinja: &Jinja, source: &str) -> String {
        let scope = Scope::new(Mode::Compile, "analytics", "shop");
        let (result, _) = jinja.render("models/check.sql", source, scope, Value::from(()));
        result.unwrap_or_else(|error| panic!("`{source}` does not render: {error:#}"))
    }

    /// Each cross-database macro: the template, then its SQL on PostgreSQL and on
    /// DuckDB. The SQL was run on both databases with sample values and gave the
    /// same results; these cases pin it.
    const CROSS_DB_CASES: &[(&str, &str, &str)] = &[
        (
            "{{ date_trunc('month', 'ordered_at') }}",
            "date_trunc('month', ordered_at)",
            "date_trunc('month', ordered_at)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'year') }}",
            "(date_part('year', (ended_at)::date) - date_part('year', (started_at)::date))",
            "date_diff('year', (started_at)::date, (ended_at)::date)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'quarter') }}",
            "((date_part('year', (ended_at)::date) - date_part('year', (started_at)::date)) * 4 + date_part('quarter', (ended_at)::date) - date_part('quarter', (started_at)::date))",
            "date_diff('quarter', (started_at)::date, (ended_at)::date)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'month') }}",
            "((date_part('year', (ended_at)::date) - date_part('year', (started_at)::date)) * 12 + date_part('month', (ended_at)::date) - date_part('month', (started_at)::date))",
            "date_diff('month', (started_at)::date, (ended_at)::date)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'week') }}",
            "((((ended_at)::date - (started_at)::date) + date_part('dow', (started_at)::date) - date_part('dow', (ended_at)::date)) / 7)",
            "((date_diff('day', (started_at)::date, (ended_at)::date) + date_part('dow', (started_at)::date) - date_part('dow', (ended_at)::date)) // 7)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'day') }}",
            "((ended_at)::date - (started_at)::date)",
            "date_diff('day', (started_at)::date, (ended_at)::date)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'hour') }}",
            "(((ended_at)::date - (started_at)::date) * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp))",
            "date_diff('hour', (started_at)::timestamp, (ended_at)::timestamp)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'minute') }}",
            "((((ended_at)::date - (started_at)::date) * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp)) * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp))",
            "date_diff('minute', (started_at)::timestamp, (ended_at)::timestamp)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'second') }}",
            "(((((ended_at)::date - (started_at)::date) * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp)) * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp)) * 60 + floor(date_part('second', (ended_at)::timestamp)) - floor(date_part('second', (started_at)::timestamp)))",
            "date_diff('second', (started_at)::timestamp, (ended_at)::timestamp)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'millisecond') }}",
            "(((((ended_at)::date - (started_at)::date) * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp)) * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp)) * 60000 + floor(date_part('millisecond', (ended_at)::timestamp)) - floor(date_part('millisecond', (started_at)::timestamp)))",
            "date_diff('millisecond', (started_at)::timestamp, (ended_at)::timestamp)",
        ),
        (
            "{{ datediff('started_at', 'ended_at', 'microsecond') }}",
            "(((((ended_at)::date - (started_at)::date) * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp)) * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp)) * 60000000 + floor(date_part('microsecond', (ended_at)::timestamp)) - floor(date_part('microsecond', (started_at)::timestamp)))",
            "date_diff('microsecond', (started_at)::timestamp, (ended_at)::timestamp)",
        ),
        (
            "{{ dateadd('day', 7, 'ordered_at') }}",
            "ordered_at + ((interval '1 day') * (7))",
            "ordered_at + ((interval '1 day') * (7))",
        ),
        (
            "{{ dateadd('quarter', -1, 'ordered_at') }}",
            "ordered_at + ((interval '3 month') * (-1))",
            "ordered_at + ((interval '3 month') * (-1))",
        ),
        (
            "{{ last_day('ordered_at', 'month') }}",
            "cast(date_trunc('month', ordered_at) + ((interval '1 month') * (1)) + ((interval '1 day') * (-1)) as date)",
            "cast(date_trunc('month', ordered_at) + ((interval '1 month') * (1)) + ((interval '1 day') * (-1)) as date)",
        ),
        ("{{ current_timestamp() }}", "now()", "now()"),
        ("{{ cast('amount', 'text') }}", "cast(amount as text)", "cast(amount as text)"),
        (
            "{{ safe_cast('amount', type_numeric()) }}",
            "cast(amount as numeric(28, 6))",
            "try_cast(amount as numeric(28, 6))",
        ),
        ("{{ cast_bool_to_text('is_active') }}", "cast(is_active as text)", "cast(is_active as text)"),
        ("{{ type_string() }}", "text", "text"),
        ("{{ type_int() }}", "integer", "integer"),
        ("{{ type_bigint() }}", "bigint", "bigint"),
        ("{{ type_numeric() }}", "numeric(28, 6)", "numeric(28, 6)"),
        // dbt-duckdb keeps dbt's `float`, 4 bytes on DuckDB.
        ("{{ type_float() }}", "float", "float"),
        ("{{ type_timestamp() }}", "timestamp", "timestamp"),
        ("{{ type_boolean() }}", "boolean", "boolean"),
        (
            "{{ concat(['first_name', \"' '\", 'last_name']) }}",
            "first_name || ' ' || last_name",
            "first_name || ' ' || last_name",
        ),
        ("{{ hash('email') }}", "md5(cast(email as text))", "md5(cast(email as text))"),
        (
            "{{ split_part('path', \"'/'\", -1) }}",
            "split_part(path, '/', -1)",
            "split_part(path, '/', -1)",
        ),
        ("{{ string_literal('paid') }}", "'paid'", "'paid'"),
        ("{{ escape_single_quotes(\"it's\") }}", "it''s", "it''s"),
        (
            "{{ replace('phone', \"'-'\", \"''\") }}",
            "replace(phone, '-', '')",
            "replace(phone, '-', '')",
        ),
        ("{{ length('name') }}", "length(name)", "length(name)"),
        ("{{ position(\"'@'\", 'email') }}", "position('@' in email)", "position('@' in email)"),
        ("{{ right('code', 2) }}", "right(code, 2)", "right(code, 2)"),
        (
            "{{ listagg('name') }}",
            "string_agg(name, ',')",
            "string_agg(name, ',')",
        ),
        (
            "{{ listagg('name', \"', '\", 'order by name desc', 2) }}",
            "array_to_string((array_agg(name order by name desc))[1:2], ', ')",
            "list_aggr((array_agg(name order by name desc))[1:2], 'string_agg', ', ')",
        ),
        ("{{ any_value('name') }}", "min(name)", "min(name)"),
        ("{{ bool_or('is_late') }}", "bool_or(is_late)", "bool_or(is_late)"),
        ("{{ except() }}", "except", "except"),
        ("{{ intersect() }}", "intersect", "intersect"),
    ];

    #[test]
    fn cross_database_macros_render_per_adapter() {
        let postgres = environment("postgres", &[]);
        let duckdb = environment("duckdb", &[]);
        for (template, postgres_sql, duckdb_sql) in CROSS_DB_CASES {
            assert_eq!(render(&postgres, template), *postgres_sql, "{template} on postgres");
            assert_eq!(render(&duckdb, template), *duckdb_sql, "{template} on duckdb");
        }
    }

    #[test]
    fn cross_database_macros_are_reachable_as_dbt_projects_call_them() {
        for adapter_type in ["postgres", "duckdb"] {
            let jinja = environment(adapter_type, &[]);
            let direct = render(&jinja, "{{ datediff('a', 'b', 'month') }}");
            for spelling in [
                "{{ dbt.datediff('a', 'b', 'month') }}",
                "{{ adapter.dispatch('datediff', 'dbt')('a', 'b', 'month') }}",
                "{{ adapter.dispatch('datediff', macro_namespace='dbt')('a', 'b', 'month') }}",
                "{{ adapter.dispatch('datediff')('a', 'b', 'month') }}",
                "{{ adapter.dispatch(macro_name='datediff', macro_namespace='dbt')('a', 'b', 'month') }}",
                "{% set datediff_macro = dbt.datediff %}{{ datediff_macro('a', 'b', 'month') }}",
            ] {
                assert_eq!(render(&jinja, spelling), direct, "{spelling} on {adapter_type}");
            }
            // Keyword arguments and defaults pass through the dispatch.
            assert_eq!(
                render(
                    &jinja,
                    "{{ dbt.listagg(measure='name', order_by_clause='order by name') }}"
                ),
                "string_agg(name, ',' order by name)"
            );
        }
        let jinja = environment("postgres", &[]);
        let (result, _) = jinja.render(
            "models/check.sql",
            "{{ dbt.no_such_macro() }}",
            Scope::new(Mode::Compile, "analytics", "shop"),
            Value::from(()),
        );
        let message = result.map(|_| String::new()).unwrap_or_else(|error| error.to_string());
        assert!(message.contains("`dbt.no_such_macro` is not a macro"), "{message}");
    }

    #[test]
    fn a_project_macro_overrides_the_built_in_one() {
        let adapter_specific = (
            "macros/datediff.sql",
            "{% macro postgres__datediff(first_date, second_date, datepart) %}pg_datediff({{ first_date }}, {{ second_date }}){% endmacro %}",
        );
        let postgres = environment("postgres", &[adapter_specific]);
        for spelling in ["{{ datediff('a', 'b', 'day') }}", "{{ dbt.datediff('a', 'b', 'day') }}"] {
            assert_eq!(render(&postgres, spelling), "pg_datediff(a, b)");
        }
        // On another adapter, dvt's own version still applies.
        let duckdb = environment("duckdb", &[adapter_specific]);
        assert_eq!(
            render(&duckdb, "{{ datediff('a', 'b', 'day') }}"),
            "date_diff('day', (a)::date, (b)::date)"
        );

        // The public macro itself overrides an unqualified `datediff()`; as in
        // dbt, `dbt.datediff()` is still the built-in one.
        let whole = (
            "macros/datediff.sql",
            "{% macro datediff(first_date, second_date, datepart) %}my_datediff('{{ datepart }}', {{ first_date }}, {{ second_date }}){% endmacro %}",
        );
        for adapter_type in ["postgres", "duckdb"] {
            let jinja = environment(adapter_type, &[whole]);
            assert_eq!(
                render(&jinja, "{{ datediff('a', 'b', 'day') }}"),
                "my_datediff('day', a, b)"
            );
            let builtin = render(&environment(adapter_type, &[]), "{{ datediff('a', 'b', 'day') }}");
            assert_eq!(render(&jinja, "{{ dbt.datediff('a', 'b', 'day') }}"), builtin);
        }

        // As in dbt, the project's `default__` comes before dvt's `postgres__`.
        let default = (
            "macros/datediff.sql",
            "{% macro default__datediff(first_date, second_date, datepart) %}my_default{% endmacro %}",
        );
        let jinja = environment("postgres", &[default]);
        assert_eq!(render(&jinja, "{{ datediff('a', 'b', 'day') }}"), "my_default");

        // dvt's macros built on others go through the override too.
        let dateadd = (
            "macros/dateadd.sql",
            "{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) %}{{ from_date_or_timestamp }} + interval ({{ interval }}) {{ datepart }}{% endmacro %}",
        );
        let jinja = environment("duckdb", &[dateadd]);
        assert_eq!(
            render(&jinja, "{{ last_day('d', 'month') }}"),
            "cast(date_trunc('month', d) + interval (1) month + interval (-1) day as date)"
        );
    }

    #[test]
    fn cross_database_sql_parses_in_the_target_dialect() {
        // dvt checks compiled SQL before it runs it, so what the macros generate
        // has to get past that check.
        for adapter_type in ["postgres", "duckdb"] {
            let jinja = environment(adapter_type, &[]);
            let Some(dialect) = crate::validate::sql::dialect_for(adapter_type) else {
                panic!("no dialect for {adapter_type}");
            };
            for (template, _, _) in CROSS_DB_CASES {
                let expression = render(&jinja, template);
                let sql = match *template {
                    "{{ except() }}" | "{{ intersect() }}" => format!("select 1 {expression} select 2"),
                    _ if template.contains("escape_single_quotes") => format!("select '{expression}' from t"),
                    _ if template.contains("type_") && !template.contains("cast") => {
                        format!("select cast(x as {expression}) from t")
                    }
                    _ => format!("select {expression} from t"),
                };
                if let Err(problem) = crate::validate::sql::parse(dialect.as_ref(), &sql) {
                    panic!("{adapter_type}: `{sql}` does not parse: {problem:?}");
                }
            }
        }
    }

    #[test]
    fn defaults_see_earlier_arguments_as_in_jinja2() {
        let source = preprocess(
            "{% macro source(schema_name, db=none, name=schema_name, n=x.schema_name) -%}\n{{ name }}/{{ n }}\n{%- endmacro %}",
        );
        assert_eq!(source.lines().count(), 3);
        let mut env = Environment::new();
        env.add_template("m", &source).unwrap_or_else(|error| panic!("{error}"));
        let rendered = env
            .render_str(
                "{% from 'm' import source %}{{ source('raw') }} {{ source('raw', name='mine') }}",
                minijinja::context! { x => minijinja::context! { schema_name => "attr" } },
            )
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(rendered, "raw/attr mine/attr");
    }

    #[test]
    fn preprocess_rewrites_test_blocks_keeping_lines() {
        let source = "{% test positive(model, column_name) %}\nselect 1\n{%- endtest %}";
        let processed = preprocess(source);
        assert_eq!(
            processed,
            "{% macro test_positive(model, column_name) %}\nselect 1\n{%- endmacro %}"
        );
        assert_eq!(macro_names(&processed), vec!["test_positive".to_string()]);
    }

    #[test]
    fn finds_the_block_left_open() {
        let source = "{% for x in y %}{% if x %}a{% endif %}\n{% set z %}b{% endset %}";
        assert_eq!(unclosed_block(source), Some((0, 16, "for".to_string())));
        assert_eq!(unclosed_block("{% if a %}{% set b = 1 %}{% endif %}"), None);
        assert_eq!(
            assigned_names("{% set total = 1 %}{% for key, value in items %}"),
            vec!["total", "key", "value"]
        );
    }

    fn with_packages(adapter_type: &str, root: &[(&str, &str)], packages: PackageMacros) -> Jinja {
        let globals = Globals {
            project_name: "shop".to_string(),
            target: serde_json::json!({"type": adapter_type, "schema": "analytics", "database": "shop"}),
            adapter_type: adapter_type.to_string(),
            vars: Map::new(),
            cli_vars: Map::new(),
            docs: BTreeMap::new(),
            invocation_id: String::new(),
            run_started_at: String::new(),
            full_refresh: false,
            store_failures: false,
            fail_fast: false,
            command: "compile".to_string(),
        };
        let macros: Vec<(String, String)> = root
            .iter()
            .map(|(path, source)| (path.to_string(), source.to_string()))
            .collect();
        match Jinja::with_packages(globals, &macros, &packages) {
            Ok(jinja) => jinja,
            Err(diagnostics) => panic!("the macros do not load: {diagnostics:?}"),
        }
    }

    fn render_error(jinja: &Jinja, source: &str) -> String {
        let scope = Scope::new(Mode::Compile, "analytics", "shop");
        let (result, _) = jinja.render("models/check.sql", source, scope, Value::from(()));
        match result {
            Ok(output) => panic!("`{source}` rendered as `{output}`"),
            Err(error) => format!("{error:#}"),
        }
    }

    const UTILS: &str = "{% macro fee(x) %}{{ return(adapter.dispatch('fee', 'utils')(x)) }}{% endmacro %}\
        {% macro default__fee(x) %}utils_default({{ x }}){% endmacro %}\
        {% macro postgres__fee(x) %}utils_postgres({{ x }}){% endmacro %}\
        {% macro helper() %}helped{% endmacro %}\
        {% test at_most(model, column_name, value) %}select 1{% endtest %}";

    fn utils(dispatch: Vec<(String, Vec<String>)>) -> PackageMacros {
        PackageMacros {
            files: vec![(
                "utils".to_string(),
                "dbt_packages/utils/macros/utils.sql".to_string(),
                UTILS.to_string(),
            )],
            dispatch,
            missing: vec!["dbt_utils".to_string()],
            vars: BTreeMap::new(),
            packages_file: "packages.yml".to_string(),
        }
    }

    #[test]
    fn package_macros_are_reached_through_their_namespace() {
        let own = ("macros/own.sql", "{% macro mine() %}mine{% endmacro %}");
        let jinja = with_packages("duckdb", &[own], utils(Vec::new()));
        assert_eq!(render(&jinja, "{{ utils.helper() }}"), "helped");
        assert_eq!(render(&jinja, "{{ shop.mine() }} {{ mine() }}"), "mine mine");
        assert_eq!(render(&jinja, "{{ utils.fee('d') }}"), "utils_default(d)");
        // As in dbt, a package's macro is not a global name of the root project.
        let message = render_error(&jinja, "{{ helper() }}");
        assert!(message.contains("helper"), "{message}");
        // `dbt.` is dvt's built-ins, not a package.
        assert_eq!(
            render(&jinja, "{{ dbt.datediff('a', 'b', 'day') }}"),
            render(&environment("duckdb", &[]), "{{ datediff('a', 'b', 'day') }}")
        );
    }

    #[test]
    fn dispatch_follows_dbt_search_order() {
        // No `dispatch:` config: the root project first, then the package; in
        // each, the adapter's prefix before `default__`.
        let jinja = with_packages("postgres", &[], utils(Vec::new()));
        assert_eq!(render(&jinja, "{{ utils.fee('d') }}"), "utils_postgres(d)");
        let root_default = (
            "macros/fee.sql",
            "{% macro default__fee(x) %}root_default{% endmacro %}",
        );
        let jinja = with_packages("postgres", &[root_default], utils(Vec::new()));
        assert_eq!(render(&jinja, "{{ utils.fee('d') }}"), "root_default");
        // A `search_order` that leaves the root project out ignores its macros.
        let only_utils = vec![("utils".to_string(), vec!["utils".to_string()])];
        let jinja = with_packages("postgres", &[root_default], utils(only_utils));
        assert_eq!(render(&jinja, "{{ utils.fee('d') }}"), "utils_postgres(d)");
        // The search order may name packages that are not installed.
        let order = vec![(
            "utils".to_string(),
            vec!["nowhere".to_string(), "shop".to_string(), "utils".to_string()],
        )];
        let jinja = with_packages("duckdb", &[root_default], utils(order));
        assert_eq!(render(&jinja, "{{ utils.fee('d') }}"), "root_default");
        let message = render_error(&jinja, "{{ adapter.dispatch('nothing', 'utils')() }}");
        assert!(
            message
                .contains("searched for `nowhere.duckdb__nothing`, `nowhere.default__nothing`, `shop.duckdb__nothing`"),
            "{message}"
        );
        let message = render_error(&jinja, "{{ adapter.dispatch('utils.fee')() }}");
        assert!(message.contains("macro_namespace='utils'"), "{message}");
    }

    #[test]
    fn a_missing_package_says_to_run_deps() {
        let jinja = with_packages("duckdb", &[], utils(Vec::new()));
        let message = render_error(&jinja, "select {{ dbt_utils.star('orders') }}");
        assert!(
            message.contains(
                "`dbt_utils.star` is a macro of the package `dbt_utils`, which is not installed; run `dvt deps`"
            ),
            "{message}"
        );
    }

    #[test]
    fn generic_tests_resolve_like_dbt() {
        let jinja = with_packages("duckdb", &[], utils(Vec::new()));
        assert_eq!(
            jinja.test_macro(Some("utils"), "at_most").as_deref(),
            Some("utils.test_at_most")
        );
        // Unqualified, a package's generic test is found after the root project's.
        assert_eq!(jinja.test_macro(None, "at_most").as_deref(), Some("utils.test_at_most"));
        assert_eq!(jinja.test_macro(None, "not_null").as_deref(), Some("dbt.test_not_null"));
        let own = (
            "macros/at_most.sql",
            "{% test at_most(model, column_name, value) %}select 2{% endtest %}",
        );
        let jinja = with_packages("duckdb", &[own], utils(Vec::new()));
        assert_eq!(jinja.test_macro(None, "at_most").as_deref(), Some("test_at_most"));
    }
}
