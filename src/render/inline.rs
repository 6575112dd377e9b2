//! SQL that belongs to no node, rendered at run time in compile mode with
//! refs resolved: the project's `on-run-start` and `on-run-end` hooks, and
//! `dvt show --inline`. A node's own hooks go through
//! [`super::render_hook`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::jinja::{self, Mode, Scope};
use super::Rendered;
use crate::diagnostic::Diagnostic;
use crate::project::Project;

/// Where inline SQL comes from, for its errors: the file shown and the text
/// it holds.
pub struct Origin<'a> {
    pub file: &'a str,
    pub source: &'a str,
}

/// Renders `sql` (named `name` in the template engine) and returns it with
/// the ephemeral models it refers to directly.
pub fn render(
    rendered: &Rendered,
    name: &str,
    sql: &str,
    origin: &Origin<'_>,
) -> Result<(String, BTreeSet<String>), Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::clone(&rendered.resolver));
    let context = minijinja::context! { execute => super::context::warehouse::is_connected() };
    let (result, scope) = rendered.jinja.render(name, sql, scope, context);
    let body = result.map_err(|error| jinja::jinja_diagnostic(&error, origin.file, origin.source))?;
    Ok((body, scope.ephemerals_used))
}

/// Renders `sql` as [`render`] does and inlines the ephemeral models it
/// refers to, as a compiled node would: `dvt show --inline`.
pub fn compile(rendered: &Rendered, project: &Project, name: &str, sql: &str) -> Result<String, Diagnostic> {
    let origin = Origin {
        file: name,
        source: sql,
    };
    let (body, ephemerals) = render(rendered, name, sql, &origin)?;
    super::inject_ephemerals(
        &body,
        &ephemerals,
        &|id| {
            rendered.manifest.nodes.get(id).and_then(|node| {
                super::compile_node(rendered, project, node, false)
                    .ok()
                    .map(|sql| (sql, BTreeSet::new()))
            })
        },
        &rendered.manifest,
    )
}
