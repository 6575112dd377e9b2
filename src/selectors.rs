//! `selectors.yml`, dbt's named selectors, for `--selector NAME`: each
//! definition read into a [`select::Expr`] as dbt-core 1.10 reads it.
//!
//! A definition is a CLI-syntax string (`"tag:nightly+"`), a method entry
//! (`{method: tag, value: nightly, children: true, parents_depth: 1,
//! childrens_parents: false}`, or the shorthand `{tag: nightly}`), a
//! `union:` or `intersection:` list of definitions (each list may hold one
//! `exclude:` list, taken away from the rest), or `{method: selector,
//! value: other}`, another selector's definition. A selector with
//! `default: true` applies when a command selects nothing else. Every
//! problem is an error at its selector's line in `selectors.yml`. This
//! module reads; evaluating the expression is [`select`]'s.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Location};
use crate::select::{self, Expr};

/// The file, in the project's root.
pub const FILE: &str = "selectors.yml";

/// The selectors of a project.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    definitions: BTreeMap<String, Value>,
    lines: BTreeMap<String, usize>,
    /// The selector with `default: true`, if any.
    pub default: Option<String>,
    source: String,
}

impl Selectors {
    /// Reads `selectors.yml` from `project_dir`; none when it does not exist.
    pub fn load(project_dir: &std::path::Path) -> Result<Selectors, Diagnostic> {
        let path = project_dir.join(FILE);
        let Ok(source) = std::fs::read_to_string(&path) else {
            return Ok(Selectors::default());
        };
        Selectors::parse(&source)
    }

    pub fn parse(source: &str) -> Result<Selectors, Diagnostic> {
        let document = crate::yaml::parse(FILE, source)?;
        let entries = match document.get("selectors") {
            Some(Value::Array(entries)) => entries.clone(),
            None | Some(Value::Null) if document.is_null() => Vec::new(),
            _ => {
                return Err(Diagnostic::error("`selectors.yml` must have a `selectors:` list")
                    .at(Location::at(FILE, 1, 1, 1), Some(source))
                    .hint("write `selectors:` then a `- name: ...` entry with a `definition:` for each selector"))
            }
        };
        let mut selectors = Selectors {
            source: source.to_string(),
            ..Selectors::default()
        };
        let mut after = 1;
        for entry in entries {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let line = crate::yaml::find_key_line(source, "name", &name, after).map_or(1, |(line, _)| line);
            after = line;
            let at = |message: String, hint: &str| {
                Diagnostic::error(message)
                    .at(Location::at(FILE, line, 1, 1), Some(source))
                    .hint(hint.to_string())
            };
            if name.is_empty() {
                return Err(at(
                    "a selector has no `name`".into(),
                    "give each entry of `selectors:` a `name:` and a `definition:`",
                ));
            }
            let Some(definition) = entry.get("definition") else {
                return Err(at(
                    format!("selector `{name}` has no `definition`"),
                    "add `definition:`, for instance `definition: 'tag:nightly'`",
                ));
            };
            if selectors.definitions.contains_key(&name) {
                return Err(at(
                    format!("selector `{name}` is defined twice"),
                    "give each selector its own name",
                ));
            }
            if entry.get("default") == Some(&Value::Bool(true)) {
                if let Some(other) = &selectors.default {
                    return Err(at(
                        format!("selectors `{other}` and `{name}` are both `default: true`"),
                        "at most one selector may be the default",
                    ));
                }
                selectors.default = Some(name.clone());
            }
            selectors.definitions.insert(name.clone(), definition.clone());
            selectors.lines.insert(name, line);
        }
        Ok(selectors)
    }

    /// The expression of the selector `name`.
    pub fn expression(&self, name: &str) -> Result<Expr, Diagnostic> {
        let Some(definition) = self.definitions.get(name) else {
            let known: Vec<&str> = self.definitions.keys().map(String::as_str).collect();
            let mut diagnostic = Diagnostic::error(format!("no selector named `{name}` in {FILE}"));
            diagnostic = match crate::diagnostic::did_you_mean(name, known.iter().copied()) {
                Some(suggestion) => diagnostic.hint(format!("did you mean `{suggestion}`?")),
                None if known.is_empty() => diagnostic.hint(format!("define it in `{FILE}` in the project's root")),
                None => diagnostic.hint(format!("the selectors are: {}", known.join(", "))),
            };
            return Err(diagnostic);
        };
        let mut visiting = vec![name.to_string()];
        self.read(definition, &mut visiting).map_err(|message| {
            let line = self.lines.get(name).copied().unwrap_or(1);
            Diagnostic::error(format!("selector `{name}`: {message}"))
                .at(Location::at(FILE, line, 1, 1), Some(&self.source))
                .hint("see dbt's YAML selectors: `union`, `intersection`, `exclude`, and `method`/`value` entries")
        })
    }

    fn read(&self, definition: &Value, visiting: &mut Vec<String>) -> Result<Expr, String> {
        match definition {
            Value::String(text) => {
                select::parse(text).map_err(|error| error.to_string())?;
                Ok(Expr::Terms(text.clone()))
            }
            Value::Object(entry) => self.read_entry(entry, visiting),
            other => Err(format!("`{other}` is not a selector definition")),
        }
    }

    fn read_entry(&self, entry: &Map<String, Value>, visiting: &mut Vec<String>) -> Result<Expr, String> {
        for (key, combine) in [("union", true), ("intersection", false)] {
            let Some(items) = entry.get(key) else { continue };
            let items = items
                .as_array()
                .ok_or_else(|| format!("`{key}` must be a list of definitions"))?;
            let mut members = Vec::new();
            let mut excluded = None;
            for item in items {
                match item.as_object().and_then(|item| item.get("exclude")) {
                    Some(exclude) if excluded.is_some() => {
                        return Err(format!("`{key}` holds more than one `exclude`: `{exclude}`"))
                    }
                    Some(exclude) => excluded = Some(self.read_exclude(exclude, visiting)?),
                    None => members.push(self.read(item, visiting)?),
                }
            }
            let combined = if combine {
                Expr::Union(members)
            } else {
                Expr::Intersection(members)
            };
            return Ok(match excluded {
                Some(excluded) => Expr::Difference(Box::new(combined), Box::new(excluded)),
                None => combined,
            });
        }
        if let Some(exclude) = entry.get("exclude") {
            return Err(format!(
                "`exclude: {exclude}` must be an item of a `union` or `intersection` list"
            ));
        }
        let (method, value) = match (entry.get("method"), entry.get("value")) {
            (Some(method), Some(value)) => (text(method)?, text(value)?),
            (None, None) if entry.len() == 1 => {
                let (method, value) = entry.iter().next().ok_or("an empty entry")?;
                (method.clone(), text(value)?)
            }
            _ => return Err("an entry needs `method` and `value` (or the shorthand `tag: nightly`)".into()),
        };
        if method == "selector" {
            if visiting.contains(&value) {
                return Err(format!("selector `{value}` refers to itself"));
            }
            let definition = self
                .definitions
                .get(&value)
                .ok_or_else(|| format!("`method: selector` names `{value}`, which is not a selector"))?;
            visiting.push(value);
            let expression = self.read(definition, visiting);
            visiting.pop();
            return expression;
        }
        let flag = |key: &str| entry.get(key).and_then(Value::as_bool).unwrap_or(false);
        let depth = |key: &str| entry.get(key).and_then(Value::as_u64);
        let mut term = String::new();
        if flag("childrens_parents") {
            term.push('@');
        }
        match (flag("parents"), depth("parents_depth")) {
            (_, Some(depth)) => term.push_str(&format!("{depth}+")),
            (true, None) => term.push('+'),
            _ => {}
        }
        term.push_str(&format!("{method}:{value}"));
        match (flag("children"), depth("children_depth")) {
            (_, Some(depth)) => term.push_str(&format!("+{depth}")),
            (true, None) => term.push('+'),
            _ => {}
        }
        select::parse(&term).map_err(|error| error.to_string())?;
        Ok(Expr::Terms(term))
    }

    fn read_exclude(&self, exclude: &Value, visiting: &mut Vec<String>) -> Result<Expr, String> {
        match exclude {
            Value::Array(items) => Ok(Expr::Union(
                items
                    .iter()
                    .map(|item| self.read(item, visiting))
                    .collect::<Result<_, _>>()?,
            )),
            other => self.read(other, visiting),
        }
    }
}

fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(format!("`{other}` is not a method or value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expression(source: &str, name: &str) -> Result<String, String> {
        Selectors::parse(source)
            .and_then(|selectors| selectors.expression(name))
            .map(|expression| format!("{expression:?}"))
            .map_err(|diagnostic| diagnostic.message.clone())
    }

    // The shapes of dbt's documentation of YAML selectors.
    #[test]
    fn definitions_read_as_dbt_documents_them() {
        let source = "selectors:\n  - name: nightly\n    default: true\n    definition:\n      union:\n        \
                      - method: tag\n          value: nightly\n          children: true\n        \
                      - 'source:raw+'\n        - exclude:\n            - tag: deprecated\n  \
                      - name: both\n    definition:\n      intersection:\n        - method: selector\n          \
                      value: nightly\n        - method: path\n          value: models/marts\n          \
                      parents_depth: 2\n";
        assert_eq!(
            expression(source, "nightly").as_deref(),
            Ok("Difference(Union([Terms(\"tag:nightly+\"), Terms(\"source:raw+\")]), Union([Terms(\"tag:deprecated\")]))")
        );
        let both = expression(source, "both");
        assert!(
            both.as_deref()
                .is_ok_and(|both| both.starts_with("Intersection([Difference(")
                    && both.ends_with("Terms(\"2+path:models/marts\")])")),
            "{both:?}"
        );
        assert_eq!(
            Selectors::parse(source).ok().and_then(|selectors| selectors.default),
            Some("nightly".into())
        );
    }

    #[test]
    fn problems_name_the_selector() {
        let source = "selectors:\n  - name: a\n    definition:\n      method: selector\n      value: a\n";
        assert_eq!(
            expression(source, "a"),
            Err("selector `a`: selector `a` refers to itself".into())
        );
        assert_eq!(
            expression(source, "b"),
            Err("no selector named `b` in selectors.yml".into())
        );
        let source = "selectors:\n  - name: a\n    definition:\n      union: [{exclude: ['x']}, {exclude: ['y']}]\n";
        assert!(expression(source, "a").is_err_and(|message| message.contains("more than one `exclude`")));
    }
}
