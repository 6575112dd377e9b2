//! Rendering templates for the tests of the context's modules: with the whole
//! context installed, list and dict literals made mutable as the renderer
//! makes them.

use minijinja::Environment;

use super::methods::mutable_literals;

/// What `template` renders to with the whole context; panics if it fails.
pub fn render(template: &str) -> String {
    let mut env = Environment::new();
    super::install(&mut env);
    env.render_str(&mutable_literals(template), ())
        .unwrap_or_else(|error| panic!("`{template}` does not render: {error:#}"))
}

/// The error `template` fails with in an environment that `install` set up,
/// or `no error: <output>` when it renders.
pub fn error(install: fn(&mut Environment<'static>), template: &str) -> String {
    let mut env = Environment::new();
    install(&mut env);
    env.render_str(template, ())
        .map(|output| format!("no error: {output}"))
        .unwrap_or_else(|error| format!("{error:#}"))
}
