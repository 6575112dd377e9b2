//! Macro namespaces, as dbt resolves macro names across projects.
//!
//! It owns where a macro name leads: unqualified names (the root project's
//! macros, then dvt's built-ins, which stand for dbt's internal `dbt` package),
//! `package.name` through one global per installed package and one for the
//! root project, `dbt.name` for the built-ins only, and `adapter.dispatch`
//! with the project's `dispatch:` search orders and adapter prefixes. A name
//! of a package that `packages.yml` lists but that is not installed is a global
//! too, whose every use is an error that says to run `dvt deps`.
//!
//! It does not parse or render macros (that is [`super::jinja`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use minijinja::value::{Object, Rest, Value};
use minijinja::{Error, ErrorKind, State};

use super::jinja::{call_macro, MacroDefinition};

/// The package name dvt's built-in macros are known by in dbt projects.
pub const INTERNAL: &str = "dbt";

/// Every macro by name and package, and the project's dispatch config.
#[derive(Debug, Default)]
pub struct MacroIndex {
    /// Unqualified names as a root project node sees them: the root project's
    /// macro, else dvt's own. Values are template names.
    flat: BTreeMap<String, String>,
    internal: BTreeMap<String, String>,
    /// Non-internal packages, the root project included.
    packages: BTreeMap<String, BTreeMap<String, String>>,
    root: String,
    /// `dispatch:` of the root project: namespace to search order.
    dispatch: BTreeMap<String, Vec<String>>,
    /// Each installed package's macros as function values, for the nodes of
    /// that package (dbt's local namespace).
    locals: BTreeMap<String, Arc<BTreeMap<String, Value>>>,
}

impl MacroIndex {
    pub fn new(
        flat: &BTreeMap<String, MacroDefinition>,
        internal: &BTreeMap<String, MacroDefinition>,
        packages: &BTreeMap<String, BTreeMap<String, MacroDefinition>>,
        root: &str,
        dispatch: &[(String, Vec<String>)],
    ) -> Self {
        let templates = |macros: &BTreeMap<String, MacroDefinition>| -> BTreeMap<String, String> {
            macros
                .iter()
                .map(|(name, definition)| (name.clone(), definition.template.clone()))
                .collect()
        };
        let mut all_packages: BTreeMap<String, BTreeMap<String, String>> = packages
            .iter()
            .map(|(package, macros)| (package.clone(), templates(macros)))
            .collect();
        all_packages.insert(
            root.to_string(),
            flat.iter()
                .filter(|(_, definition)| definition.package != "dvt")
                .map(|(name, definition)| (name.clone(), definition.template.clone()))
                .collect(),
        );
        let locals = packages
            .iter()
            .map(|(package, macros)| {
                let functions = macros
                    .iter()
                    .map(|(name, definition)| {
                        let used = format!("{package}.{name}");
                        (name.clone(), function_value(&definition.template, name, &used))
                    })
                    .collect();
                (package.clone(), Arc::new(functions))
            })
            .collect();
        MacroIndex {
            locals,
            flat: templates(flat),
            internal: templates(internal),
            packages: all_packages,
            root: root.to_string(),
            dispatch: dispatch.iter().cloned().collect(),
        }
    }

    /// The macro `name` as a function value, as an unqualified call finds it.
    ///
    /// It calls the definition by its template, not by looking the name up where
    /// it is called: inside a macro file, a name is first found among that file's
    /// own macros, which would hide a project's override of one of dvt's.
    pub fn function(&self, name: &str) -> Option<Value> {
        let template = self.flat.get(name)?;
        Some(function_value(template, name, name))
    }

    /// `package.name`: `dbt` is dvt's built-ins, any other a project's.
    pub fn function_in(&self, package: &str, name: &str) -> Option<Value> {
        let (template, used) = if package == INTERNAL {
            (self.internal.get(name)?, name.to_string())
        } else {
            let template = self.packages.get(package)?.get(name)?;
            let used = if package == self.root {
                name.to_string()
            } else {
                format!("{package}.{name}")
            };
            (template, used)
        };
        Some(function_value(template, name, &used))
    }

    /// The macros of an installed package by name, as function values.
    pub fn locals(&self, package: &str) -> Option<Arc<BTreeMap<String, Value>>> {
        self.locals.get(package).cloned()
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    pub fn has_package(&self, package: &str) -> bool {
        package == INTERNAL || self.packages.contains_key(package)
    }

    /// dbt's `adapter.dispatch(name, macro_namespace)`. The packages searched:
    /// the namespace's `search_order` from the `dispatch:` config; else, for an
    /// installed package (or `dbt`), the root project and then that package;
    /// else (no namespace) the unqualified names. In each package, the
    /// adapter's prefix (`postgres__`, `duckdb__`) and then `default__`.
    pub fn dispatch(&self, adapter_type: &str, name: &str, namespace: Option<&str>) -> Result<Value, Error> {
        if let Some((namespace, macro_name)) = name.split_once('.') {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("in adapter.dispatch, `{name}` is not a macro name: `.` is not allowed in one; did you mean `adapter.dispatch('{macro_name}', macro_namespace='{namespace}')`?"),
            ));
        }
        let search: Vec<Option<String>> = match namespace {
            None => vec![None],
            Some(namespace) => match self.dispatch.get(namespace) {
                Some(order) if !order.is_empty() => order.iter().cloned().map(Some).collect(),
                _ if self.has_package(namespace) => vec![Some(self.root.clone()), Some(namespace.to_string())],
                _ => vec![None],
            },
        };
        let mut attempts = Vec::new();
        for package in &search {
            for prefix in [adapter_type, "default"] {
                let candidate = format!("{prefix}__{name}");
                let found = match package {
                    None => self.function(&candidate),
                    Some(package) => self.function_in(package, &candidate),
                };
                attempts.push(match package {
                    None => format!("`{candidate}`"),
                    Some(package) => format!("`{package}.{candidate}`"),
                });
                if let Some(found) = found {
                    return Ok(found);
                }
            }
        }
        Err(Error::new(
            ErrorKind::UnknownFunction,
            format!(
                "in dispatch: no macro named `{name}` found within namespace `{}`; searched for {}",
                namespace.unwrap_or("None"),
                attempts.join(", ")
            ),
        ))
    }

    /// The template of `package.name` or of the unqualified `name`, as dbt's
    /// macro resolver finds a generic test: the named package first, then the
    /// root project, the other packages and the built-ins.
    pub fn resolve(&self, package: Option<&str>, name: &str) -> Option<(String, String)> {
        if let Some(package) = package {
            let found = if package == INTERNAL {
                self.internal.get(name)
            } else {
                self.packages.get(package).and_then(|macros| macros.get(name))
            };
            if let Some(template) = found {
                return Some((package.to_string(), template.clone()));
            }
        }
        if let Some(template) = self.packages.get(&self.root).and_then(|macros| macros.get(name)) {
            return Some((self.root.clone(), template.clone()));
        }
        for (package, macros) in self.packages.iter().rev() {
            if let Some(template) = macros.get(name) {
                return Some((package.clone(), template.clone()));
            }
        }
        self.internal
            .get(name)
            .map(|template| (INTERNAL.to_string(), template.clone()))
    }

    /// Installed packages (the root project included), for namespace globals.
    pub fn package_names(&self) -> BTreeSet<String> {
        self.packages.keys().cloned().collect()
    }
}

fn function_value(template: &str, name: &str, used: &str) -> Value {
    let template = template.to_string();
    let name = name.to_string();
    let used = used.to_string();
    Value::from_function(move |state: &State, args: Rest<Value>| call_macro(state, &template, &name, &used, &args))
}

/// The global of one project: `dbt_utils.star(...)`, `my_project.my_macro()`,
/// and `dbt.datediff(...)` for dvt's built-ins.
#[derive(Debug)]
pub struct PackageNamespace {
    pub package: String,
    pub macros: Arc<MacroIndex>,
}

impl Object for PackageNamespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.macros.function_in(&self.package, key.as_str()?)
    }

    fn call_method(self: &Arc<Self>, state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match self.macros.function_in(&self.package, method) {
            Some(function) => function.call(state, args),
            None => Err(Error::new(
                ErrorKind::UnknownFunction,
                format!(
                    "`{}.{method}` is not a macro of the package `{}`",
                    self.package, self.package
                ),
            )),
        }
    }
}

/// A package `packages.yml` lists that is not installed in `dbt_packages/`.
#[derive(Debug)]
pub struct MissingPackage {
    pub package: String,
    pub packages_file: String,
}

impl MissingPackage {
    fn error(&self, method: &str) -> Error {
        Error::new(
            ErrorKind::UndefinedError,
            format!(
                "`{}.{method}` is a macro of the package `{}`, which is not installed; run `dvt deps` to install the packages of {}",
                self.package, self.package, self.packages_file
            ),
        )
    }
}

/// Where the call `package.macro(...)` begins, when `detail` is the error of
/// a [`MissingPackage`] and `offset` points at `.macro`.
pub fn missing_package_call_start(detail: &str, source: &str, offset: usize) -> usize {
    let Some(package) = detail
        .split("is a macro of the package `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    else {
        return offset;
    };
    // The offset is at the `.` or just after it.
    let before = source.get(..offset).unwrap_or_default();
    let before = before.strip_suffix('.').unwrap_or(before);
    match before.strip_suffix(package) {
        Some(rest) => rest.len(),
        None => offset,
    }
}

impl Object for MissingPackage {
    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        None
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, Error> {
        Err(self.error(method))
    }

    fn call(self: &Arc<Self>, _state: &State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Err(self.error("(...)"))
    }
}
