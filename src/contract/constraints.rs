//! The `constraints` of a model and of its columns: read from the schema
//! YAML into dbt's manifest shape, rendered as the DDL dbt's adapters write
//! (`not null`, `check (...)`, `constraint name primary key (a, b)`,
//! `references "schema"."table" (id)`), and the `ref()` or `source()` a
//! foreign key's `to:` names, which the model then depends on.

use serde_json::{json, Map, Value};

use crate::manifest::RefCall;

/// The constraint types dbt knows.
pub const TYPES: &[&str] = &["check", "not_null", "unique", "primary_key", "foreign_key", "custom"];

/// What a foreign key's `to:` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Ref(RefCall),
    Source(String, String),
}

/// A constraint as the manifest shows it: every field dbt writes, with its
/// default. Model-level constraints also carry `columns`.
pub fn normalize(raw: &Map<String, Value>, model_level: bool) -> Value {
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
    let flag = |key: &str| raw.get(key).and_then(Value::as_bool).unwrap_or(true);
    let list = |key: &str| crate::manifest::string_list(raw.get(key));
    let mut constraint = json!({
        "type": text("type"),
        "name": text("name"),
        "expression": text("expression"),
        "warn_unenforced": flag("warn_unenforced"),
        "warn_unsupported": flag("warn_unsupported"),
        "to": text("to"),
        "to_columns": list("to_columns"),
    });
    if model_level {
        constraint["columns"] = json!(list("columns"));
    }
    constraint
}

/// The normalized constraints of a YAML `constraints:` list; entries that
/// are not mappings are left out.
pub fn read(value: Option<&Value>, model_level: bool) -> Vec<Value> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|raw| normalize(raw, model_level))
        .collect()
}

/// The target of `ref('x')`, `ref('package', 'x')` or `source('s', 't')`,
/// read statically as dbt reads a foreign key's `to:`.
pub fn parse_target(to: &str) -> Option<Target> {
    let to = to.trim();
    let (function, rest) = to.split_once('(')?;
    let arguments = rest.strip_suffix(')')?;
    let arguments: Vec<String> = arguments
        .split(',')
        .map(|argument| {
            argument
                .trim()
                .trim_matches(|quote| quote == '\'' || quote == '"')
                .to_string()
        })
        .filter(|argument| !argument.is_empty())
        .collect();
    match (function.trim(), arguments.as_slice()) {
        ("ref", [name]) => Some(Target::Ref(RefCall {
            version: None,
            package: None,
            name: name.clone(),
        })),
        ("ref", [package, name]) => Some(Target::Ref(RefCall {
            version: None,
            package: Some(package.clone()),
            name: name.clone(),
        })),
        ("source", [source, table]) => Some(Target::Source(source.clone(), table.clone())),
        _ => None,
    }
}

fn field<'a>(constraint: &'a Value, key: &str) -> Option<&'a str> {
    constraint
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

fn to_columns(constraint: &Value) -> Vec<String> {
    crate::manifest::string_list(constraint.get("to_columns"))
}

/// The relation a foreign key references: its `to:` resolved, or `to:` as written.
fn referenced(constraint: &Value, relation_of: &dyn Fn(&Target) -> Option<String>) -> Option<String> {
    let to = field(constraint, "to")?;
    Some(
        parse_target(to)
            .and_then(|target| relation_of(&target))
            .unwrap_or_else(|| to.to_string()),
    )
}

/// A column's constraint as DDL, as dbt's `render_column_constraint`
/// writes it; `None` for one that renders to nothing (a check without an
/// expression).
pub fn column_ddl(constraint: &Value, relation_of: &dyn Fn(&Target) -> Option<String>) -> Option<String> {
    let expression = field(constraint, "expression").unwrap_or_default();
    let rendered = match field(constraint, "type")? {
        "check" if !expression.is_empty() => format!("check ({expression})"),
        "not_null" => format!("not null {expression}"),
        "unique" => format!("unique {expression}"),
        "primary_key" => format!("primary key {expression}"),
        "foreign_key" => match (referenced(constraint, relation_of), to_columns(constraint)) {
            (Some(to), columns) if !columns.is_empty() => format!("references {to} ({})", columns.join(", ")),
            _ if !expression.is_empty() => format!("references {expression}"),
            _ => return None,
        },
        "custom" if !expression.is_empty() => expression.to_string(),
        _ => return None,
    };
    Some(rendered.trim().to_string())
}

/// A model-level constraint as DDL, as dbt's `render_model_constraint`
/// writes it.
pub fn model_ddl(constraint: &Value, relation_of: &dyn Fn(&Target) -> Option<String>) -> Option<String> {
    let prefix = field(constraint, "name").map_or(String::new(), |name| format!("constraint {name} "));
    let columns = crate::manifest::string_list(constraint.get("columns")).join(", ");
    let expression = field(constraint, "expression");
    let spaced = expression.map_or(String::new(), |expression| format!(" {expression}"));
    Some(match field(constraint, "type")? {
        "check" => format!("{prefix}check ({})", expression?),
        "unique" => format!("{prefix}unique{spaced} ({columns})"),
        "primary_key" => format!("{prefix}primary key{spaced} ({columns})"),
        "foreign_key" => match (referenced(constraint, relation_of), to_columns(constraint)) {
            (Some(to), to_columns) if !to_columns.is_empty() => {
                format!(
                    "{prefix}foreign key ({columns}) references {to} ({})",
                    to_columns.join(", ")
                )
            }
            _ => format!("{prefix}foreign key ({columns}) references {}", expression?),
        },
        "custom" => format!("{prefix}{}", expression?),
        _ => return None,
    })
}

/// The targets of a node's foreign keys, at model and column level.
pub fn targets<'a>(constraints: impl IntoIterator<Item = &'a Value>) -> Vec<Target> {
    constraints
        .into_iter()
        .filter(|constraint| field(constraint, "type") == Some("foreign_key"))
        .filter_map(|constraint| field(constraint, "to"))
        .filter_map(parse_target)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(text: &str, model_level: bool) -> Value {
        let value: Value = serde_json::from_str(text).unwrap();
        normalize(value.as_object().unwrap(), model_level)
    }

    /// The DDL dbt-core 1.10 wrote for the same constraints (target/run/ of
    /// dbt-duckdb's and dbt-postgres' table materialization).
    #[test]
    fn constraints_render_as_dbt_renders_them() {
        let relation_of = |target: &Target| match target {
            Target::Ref(call) => Some(format!("\"main\".\"{}\"", call.name)),
            Target::Source(..) => None,
        };
        let column = |text: &str| column_ddl(&constraint(text, false), &relation_of);
        assert_eq!(column(r#"{"type": "not_null"}"#).as_deref(), Some("not null"));
        assert_eq!(column(r#"{"type": "primary_key"}"#).as_deref(), Some("primary key"));
        assert_eq!(
            column(r#"{"type": "check", "expression": "code <> ''"}"#).as_deref(),
            Some("check (code <> '')")
        );
        assert_eq!(
            column(r#"{"type": "foreign_key", "to": "ref('good')", "to_columns": ["id"]}"#).as_deref(),
            Some("references \"main\".\"good\" (id)")
        );
        let model = |text: &str| model_ddl(&constraint(text, true), &relation_of);
        assert_eq!(
            model(r#"{"type": "check", "expression": "qty > 0", "name": "qty_positive"}"#).as_deref(),
            Some("constraint qty_positive check (qty > 0)")
        );
        assert_eq!(
            model(r#"{"type": "unique", "columns": ["id", "code"]}"#).as_deref(),
            Some("unique (id, code)")
        );
        assert_eq!(
            parse_target("ref('dvdrental_utils', \"x\")"),
            Some(Target::Ref(RefCall {
                version: None,
                package: Some("dvdrental_utils".into()),
                name: "x".into()
            }))
        );
    }
}
