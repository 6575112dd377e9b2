//! `dvt run-operation`: one macro of the project or a package, found by
//! name as dbt's `find_macro_by_name` finds it and called with the
//! `--args` mapping as keyword arguments. The call is rendered at run time,
//! with `execute` true, on whatever warehouse the caller installed; the
//! macro's output is discarded, as dbt discards it.

use serde_json::{Map, Value};

use super::jinja::{self, Mode, Scope};
use super::Rendered;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::manifest::{Macro, Manifest};

/// The macro `name` (`macro` or `package.macro`) names: the package's when
/// one is given, else the root project's, else the first package's that
/// defines it, in name order.
pub fn find<'m>(manifest: &'m Manifest, root: &str, name: &str) -> Result<&'m Macro, Diagnostic> {
    let (package, macro_name) = match name.split_once('.') {
        Some((package, macro_name)) => (Some(package), macro_name),
        None => (None, name),
    };
    let candidates = manifest
        .macros
        .values()
        .filter(|candidate| candidate.name == macro_name)
        .filter(|candidate| package.is_none_or(|package| candidate.package_name == package));
    let mut found: Vec<&Macro> = candidates.collect();
    found.sort_by_key(|candidate| (candidate.package_name != root, candidate.package_name.clone()));
    if let Some(first) = found.first() {
        return Ok(first);
    }
    let names = manifest.macros.values().map(|candidate| candidate.name.as_str());
    let mut diagnostic = Diagnostic::error(format!("no macro named `{name}` in the project or its packages"));
    diagnostic = match did_you_mean(macro_name, names) {
        Some(suggestion) => diagnostic.hint(format!("did you mean `{suggestion}`?")),
        None => diagnostic.hint("check the name, or run `dvt deps` if the macro comes from a package"),
    };
    Err(diagnostic)
}

/// Calls `definition` with `arguments` as keyword arguments, on the
/// warehouse installed for this thread.
pub fn call(rendered: &Rendered, definition: &Macro, arguments: &Map<String, Value>) -> Result<(), Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(std::sync::Arc::clone(&rendered.resolver));
    let call = format!(
        "{{%- do {}.{}(**__dvt_operation_args) -%}}",
        definition.package_name, definition.name
    );
    let context = minijinja::context! {
        execute => super::context::warehouse::is_connected(),
        __dvt_operation_args => minijinja::Value::from_serialize(arguments),
    };
    let (result, _) = rendered.jinja.render("--args", &call, scope, context);
    result.map(drop).map_err(|error| {
        jinja::jinja_diagnostic_with(&error, "--args", &call, &|template| {
            rendered.jinja.macro_source(template)
        })
    })
}
