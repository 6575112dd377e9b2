//! Custom materializations: `{% materialization name, adapter='postgres' %}`
//! blocks from a project or package, run as dbt runs them.
//!
//! [`super::jinja::preprocess`] turns each block into a macro named
//! `materialization_<name>_<adapter>` (or `_default`). A model whose
//! `materialized` names one runs that macro at run time, with the warehouse
//! at hand: `sql` and `compiled_code` hold the model's compiled SQL,
//! `pre_hooks` and `post_hooks` its hooks for `run_hooks()`, and `config`,
//! `this` and `adapter` work as in the model. The macro builds the relation
//! itself with `statement('main')`; what it `return`s is not needed, since
//! dvt reads the response of `main`. dvt's own materializations are in
//! [`crate::adapter::materialize`]; a project's block of the same name and
//! adapter takes their place, as in dbt.

use std::sync::Arc;

use minijinja::value::Value;

use super::compile::node_context;
use super::jinja::{self, Mode, Scope};
use super::Rendered;
use crate::diagnostic::Diagnostic;
use crate::manifest::Node;

/// One `pre-hook` or `post-hook` as configured: its SQL (Jinja, rendered
/// when it runs), and whether it runs inside the node's transaction, as a
/// plain string does, or outside it (`before_begin()`, `after_commit()`,
/// `{sql: ..., transaction: false}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub sql: String,
    pub transaction: bool,
}

/// The hooks of a `pre-hook` or `post-hook` config value, in order.
pub fn hooks(value: Option<&serde_json::Value>) -> Vec<Hook> {
    let entry = |value: &serde_json::Value| -> Option<Hook> {
        match value {
            serde_json::Value::String(sql) => Some(Hook {
                sql: sql.clone(),
                transaction: true,
            }),
            serde_json::Value::Object(entries) => Some(Hook {
                sql: entries.get("sql")?.as_str()?.to_string(),
                transaction: entries
                    .get("transaction")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(true),
            }),
            _ => None,
        }
    };
    match value {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(entry).collect(),
        Some(value) => entry(value).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The macro name of a `{% materialization ... %}` tag's definition, such
/// as `table, adapter='postgres', supported_languages=['sql']` or
/// `view, default`.
pub fn macro_name_of(definition: &str) -> String {
    let name: String = definition
        .trim()
        .chars()
        .take_while(|character| character.is_alphanumeric() || *character == '_')
        .collect();
    let adapter = definition
        .find("adapter")
        .map(|start| &definition[start + "adapter".len()..])
        .and_then(|rest| rest.trim_start().strip_prefix('='))
        .map(|rest| rest.trim_start())
        .and_then(|rest| {
            let quote = rest.chars().next().filter(|quote| *quote == '\'' || *quote == '"')?;
            rest[1..].split(quote).next()
        })
        .unwrap_or("default");
    format!("materialization_{name}_{adapter}")
}

/// The materialization macro for `name` on this adapter, searched as dbt
/// searches: the root project's, then each installed package's (as
/// `package.macro`), the adapter's own before the default in each.
pub fn find(rendered: &Rendered, name: &str, adapter_type: &str) -> Option<String> {
    let candidates: Vec<String> = [adapter_type, "default"]
        .iter()
        .map(|adapter| format!("materialization_{name}_{adapter}"))
        .collect();
    let jinja = &rendered.jinja;
    if let Some(found) = candidates
        .iter()
        .find(|candidate| jinja.macros.contains_key(*candidate))
    {
        return Some(found.clone());
    }
    jinja.package_macros.iter().find_map(|(package, macros)| {
        candidates
            .iter()
            .find(|candidate| macros.contains_key(*candidate))
            .map(|candidate| format!("{package}.{candidate}"))
    })
}

/// Runs the materialization macro for a node whose SQL is compiled, and
/// returns the message of its `main` statement's response. The warehouse
/// must be installed on this thread.
pub fn run(rendered: &Rendered, node: &Node, macro_name: &str, sql: &str) -> Result<String, Diagnostic> {
    let mut scope = Scope::new(Mode::Compile, &rendered.target_schema, &rendered.target_database);
    scope.resolver = Some(Arc::clone(&rendered.resolver));
    scope.config_view = node.config.clone();
    let hooks = |key: &str| -> Value {
        Value::from_iter(
            hooks(node.config.get(key))
                .into_iter()
                .enumerate()
                .map(|(index, hook)| {
                    minijinja::context! { sql => hook.sql, transaction => hook.transaction, index => index }
                }),
        )
    };
    let base = node_context(node, true);
    let context = minijinja::context! {
        sql => sql,
        compiled_code => sql,
        pre_hooks => hooks("pre-hook"),
        post_hooks => hooks("post-hook"),
        ..base
    };
    let (result, scope) = rendered.jinja.call(macro_name, &[], scope, context);
    if let Err(error) = result {
        let definition = rendered.jinja.definition(macro_name);
        let source = definition
            .map(|definition| definition.source.as_str())
            .unwrap_or_default();
        let file = definition
            .map(|definition| definition.template.as_str())
            .unwrap_or(node.original_file_path.as_str());
        let mut diagnostic =
            jinja::jinja_diagnostic_with(&error, file, source, &|name| rendered.jinja.macro_source(name));
        diagnostic.message = format!(
            "model `{}`, materialization `{}`: {}",
            node.name,
            node.materialized(),
            diagnostic.message
        );
        return Err(diagnostic);
    }
    let message = scope
        .statement_results
        .get("main")
        .and_then(|main| main.get_attr("response").ok())
        .and_then(|response| response.get_attr("_message").ok())
        .filter(|message| !message.is_undefined() && !message.is_none())
        .map(|message| message.to_string())
        .unwrap_or_else(|| "OK".to_string());
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::macro_name_of;

    #[test]
    fn names_follow_dbt() {
        assert_eq!(macro_name_of("view, default"), "materialization_view_default");
        assert_eq!(
            macro_name_of(" insert_only, adapter='postgres', supported_languages=['sql'] "),
            "materialization_insert_only_postgres"
        );
        assert_eq!(
            macro_name_of("table, adapter = \"duckdb\""),
            "materialization_table_duckdb"
        );
    }
}
