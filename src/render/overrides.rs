//! `overrides:` in the root project's sources: an entry `name: raw` with
//! `overrides: <package>` patches that package's source `raw` instead of
//! declaring a source of its own, as dbt's source patcher does. The keys it
//! sets replace the package's (database, schema, loader, freshness, ...), and
//! each of its tables patches the package's table of the same name. The
//! source keeps the package's id, fqn and file.

use crate::diagnostic::{Diagnostic, Location};

use super::config;
use super::schema::{SourceSpec, SourceTableSpec};

/// Applies every overriding entry of `sources` to the package source it
/// names and removes it from the list. `package_of` tells which package
/// declared a schema file, `None` for the root project. An entry that names
/// no such source is a warning, as in dbt.
pub fn apply(sources: &mut Vec<SourceSpec>, package_of: &dyn Fn(&str) -> Option<String>) -> Vec<Diagnostic> {
    let (patches, mut declared): (Vec<SourceSpec>, Vec<SourceSpec>) = std::mem::take(sources)
        .into_iter()
        .partition(|spec| spec.overrides.is_some());
    let mut warnings = Vec::new();
    for patch in patches {
        let package = patch.overrides.clone().unwrap_or_default();
        let target = declared
            .iter_mut()
            .find(|spec| spec.name == patch.name && package_of(&spec.file).as_deref() == Some(package.as_str()));
        match target {
            Some(target) => patch_source(target, patch),
            None => warnings.push(
                Diagnostic::warning(format!(
                    "source `{}` overrides package `{package}`'s source of that name, which does not exist",
                    patch.name
                ))
                .at(Location::at(&patch.file, patch.line, 1, 1), None)
                .hint("check the source's `name:` and the package named by `overrides:`"),
            ),
        }
    }
    *sources = declared;
    warnings
}

fn patch_source(target: &mut SourceSpec, patch: SourceSpec) {
    replace(&mut target.database, patch.database);
    replace(&mut target.schema, patch.schema);
    replace(&mut target.loaded_at_field, patch.loaded_at_field);
    replace(&mut target.loaded_at_query, patch.loaded_at_query);
    replace(&mut target.freshness, patch.freshness);
    replace_text(&mut target.description, patch.description);
    replace_text(&mut target.loader, patch.loader);
    target.meta.extend(patch.meta);
    if !patch.tags.is_empty() {
        target.tags = patch.tags;
    }
    config::merge(&mut target.config, &patch.config);
    for table_patch in patch.tables {
        if let Some(table) = target.tables.iter_mut().find(|table| table.name == table_patch.name) {
            patch_table(table, table_patch);
        }
    }
}

fn patch_table(table: &mut SourceTableSpec, patch: SourceTableSpec) {
    replace(&mut table.identifier, patch.identifier);
    replace(&mut table.loaded_at_field, patch.loaded_at_field);
    replace(&mut table.loaded_at_query, patch.loaded_at_query);
    table.loaded_at_field_present |= patch.loaded_at_field_present;
    replace(&mut table.freshness, patch.freshness);
    replace_text(&mut table.description, patch.description);
    table.meta.extend(patch.meta);
    if !patch.tags.is_empty() {
        table.tags = patch.tags;
    }
    config::merge(&mut table.config, &patch.config);
}

fn replace<T>(value: &mut Option<T>, patch: Option<T>) {
    if patch.is_some() {
        *value = patch;
    }
}

fn replace_text(value: &mut String, patch: String) {
    if !patch.is_empty() {
        *value = patch;
    }
}
