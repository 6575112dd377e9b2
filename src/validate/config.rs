//! The values config keys may take: `materialized` a known materialization,
//! `tags` strings, `enabled` a boolean, and so on. Unknown *keys* are
//! [`crate::render::config`]'s concern; this module checks the values of known
//! ones, after the layers are merged.
//!
//! Every problem here is an error: each of these values would make the node
//! fail when it runs, or be silently misread (`enabled: "false"` is a string,
//! and the node stays enabled).

use serde_json::{Map, Value};

use crate::manifest::ResourceType;

/// Materializations dvt builds models with.
pub const MATERIALIZATIONS: &[&str] = &["view", "table", "incremental", "ephemeral", "materialized_view"];
pub const ON_SCHEMA_CHANGE: &[&str] = &["ignore", "fail", "append_new_columns", "sync_all_columns"];
pub const INCREMENTAL_STRATEGIES: &[&str] = &["append", "merge", "delete+insert", "microbatch", "insert_overwrite"];
pub const SEVERITIES: &[&str] = &["error", "warn"];

/// A config value of the wrong type or outside its allowed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: &'static str,
    pub message: String,
    /// A suggestion, shown under the value.
    pub label: Option<String>,
    pub hint: String,
}

/// Checks the config of a node of `resource_type`.
pub fn check(resource_type: ResourceType, config: &Map<String, Value>) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if resource_type == ResourceType::Model {
        if let Some(problem) = one_of(
            config,
            "materialized",
            MATERIALIZATIONS,
            "dvt builds models as view, table, incremental, ephemeral or materialized_view",
        ) {
            problems.push(problem);
        }
    }
    if resource_type == ResourceType::Model {
        if let Some(value) = present(config, "export") {
            if !value.is_object() {
                problems.push(ConfigProblem {
                    key: "export",
                    message: format!("`export` must be a mapping of export settings, not {}", shown(value)),
                    label: None,
                    hint: "write `export: {bucket: lake, prefix: gold/my_model, partition_by: [store_id]}`".into(),
                });
            }
        }
    }
    if resource_type == ResourceType::Export {
        // An export's settings are the lake's to check
        // ([`super::Input::export_config`]); the keys below are a model's.
        return problems;
    }
    if let Some(value) = present(config, "tags") {
        let valid = match value {
            Value::String(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        if !valid {
            problems.push(ConfigProblem {
                key: "tags",
                message: format!("`tags` must be a string or a list of strings, not {}", shown(value)),
                label: None,
                hint: "write `tags: [\"nightly\", \"finance\"]`".into(),
            });
        }
    }
    for key in ["enabled", "full_refresh"] {
        if let Some(value) = present(config, key) {
            if !value.is_boolean() {
                let key = if key == "enabled" { "enabled" } else { "full_refresh" };
                problems.push(ConfigProblem {
                    key,
                    message: format!("`{key}` must be true or false, not {}", shown(value)),
                    label: None,
                    hint: format!("write `{key}: false`, without quotes"),
                });
            }
        }
    }
    if let Some(value) = present(config, "unique_key") {
        let valid = match value {
            Value::String(text) => !text.trim().is_empty(),
            Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_string),
            _ => false,
        };
        if !valid {
            problems.push(ConfigProblem {
                key: "unique_key",
                message: format!(
                    "`unique_key` must be a column name or a list of column names, not {}",
                    shown(value)
                ),
                label: None,
                hint: "write `unique_key: id` or `unique_key: [order_id, line_number]`".into(),
            });
        }
    }
    if let Some(problem) = one_of(
        config,
        "on_schema_change",
        ON_SCHEMA_CHANGE,
        "use ignore, fail, append_new_columns or sync_all_columns",
    ) {
        problems.push(problem);
    }
    if let Some(problem) = one_of(
        config,
        "incremental_strategy",
        INCREMENTAL_STRATEGIES,
        "dvt supports the append, merge, delete+insert and microbatch strategies, and insert_overwrite on Spark",
    ) {
        problems.push(problem);
    }
    problems.extend(crate::microbatch::problems(config));
    if resource_type == ResourceType::Seed {
        problems.extend(seed_problems(config));
    }
    if resource_type == ResourceType::Test {
        if let Some(value) = present(config, "severity") {
            let valid = value
                .as_str()
                .is_some_and(|text| SEVERITIES.contains(&text.to_lowercase().as_str()));
            if !valid {
                problems.push(ConfigProblem {
                    key: "severity",
                    message: format!("`severity` must be `error` or `warn`, not {}", shown(value)),
                    label: value
                        .as_str()
                        .and_then(|text| {
                            crate::diagnostic::did_you_mean(&text.to_lowercase(), SEVERITIES.iter().copied())
                        })
                        .map(|suggestion| format!("did you mean `{suggestion}`?")),
                    hint: "a test with `severity: warn` reports failures without failing the run".into(),
                });
            }
        }
    }
    problems
}

/// A seed's `delimiter` and `column_types`, as dbt 1.10 checks them: a
/// delimiter of two characters is "\"delimiter\" must be a 1-character
/// string", and `column_types: [..]` is "expected dict".
fn seed_problems(config: &Map<String, Value>) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if let Some(value) = present(config, "delimiter") {
        if value.as_str().is_none_or(|text| text.chars().count() != 1) {
            problems.push(ConfigProblem {
                key: "delimiter",
                message: format!("`delimiter` must be one character, not {}", shown(value)),
                label: None,
                hint: "write `delimiter: \";\"` (or `\"|\"`, or `\"\\t\"` for tabs)".into(),
            });
        }
    }
    if let Some(value) = present(config, "column_types") {
        if !value.is_object() {
            problems.push(ConfigProblem {
                key: "column_types",
                message: format!(
                    "`column_types` must be a mapping of column names to types, not {}",
                    shown(value)
                ),
                label: None,
                hint: "write `column_types: {id: integer, name: text}`".into(),
            });
        }
    }
    problems
}

/// The value of `key`, unless it is absent or null (which means unset).
fn present<'a>(config: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    config.get(key).filter(|value| !value.is_null())
}

/// A string from `allowed`, with a did-you-mean when it is not.
fn one_of(config: &Map<String, Value>, key: &'static str, allowed: &[&str], hint: &str) -> Option<ConfigProblem> {
    let value = present(config, key)?;
    if value.as_str().is_some_and(|text| allowed.contains(&text)) {
        return None;
    }
    let suggestion = value
        .as_str()
        .and_then(|text| crate::diagnostic::did_you_mean(text, allowed.iter().copied()));
    let message = match value {
        Value::String(text) => format!("`{key}: {text}` is not one of {}", allowed.join(", ")),
        other => format!("`{key}` must be one of {}, not {}", allowed.join(", "), shown(other)),
    };
    Some(ConfigProblem {
        key,
        message,
        label: suggestion.map(|suggestion| format!("did you mean `{suggestion}`?")),
        hint: hint.to_string(),
    })
}

/// A value as YAML would show it, with its type for non-strings.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("the string `\"{text}\"`"),
        Value::Number(number) => format!("the number `{number}`"),
        Value::Bool(flag) => format!("`{flag}`"),
        Value::Array(_) => format!("the list `{value}`"),
        Value::Object(_) => format!("the mapping `{value}`"),
        Value::Null => "null".into(),
    }
}

/// The value as it is likely written in a file, to find its line.
pub fn written(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(resource_type: ResourceType, config: Value) -> Vec<(&'static str, String)> {
        check(resource_type, config.as_object().unwrap_or(&Map::new()))
            .into_iter()
            .map(|problem| (problem.key, problem.label.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn valid_configs_pass() {
        let config = json!({
            "materialized": "incremental", "tags": ["a"], "enabled": true, "full_refresh": null,
            "unique_key": ["a", "b"], "on_schema_change": "fail", "incremental_strategy": "delete+insert",
        });
        assert_eq!(problems(ResourceType::Model, config), vec![]);
        assert_eq!(
            problems(ResourceType::Test, json!({"severity": "WARN", "tags": "x"})),
            vec![]
        );
    }

    #[test]
    fn wrong_values_are_reported_with_suggestions() {
        let config = json!({
            "materialized": "tabel", "tags": [1], "enabled": "false", "unique_key": 3,
            "on_schema_change": "append_new_column", "incremental_strategy": "upsert",
        });
        assert_eq!(
            problems(ResourceType::Model, config),
            vec![
                ("materialized", "did you mean `table`?".to_string()),
                ("tags", String::new()),
                ("enabled", String::new()),
                ("unique_key", String::new()),
                ("on_schema_change", "did you mean `append_new_columns`?".to_string()),
                ("incremental_strategy", String::new()),
            ]
        );
        assert_eq!(
            problems(ResourceType::Test, json!({"severity": "warning"})),
            vec![("severity", "did you mean `warn`?".to_string())]
        );
    }

    #[test]
    fn materialized_is_checked_on_models_only() {
        assert_eq!(problems(ResourceType::Seed, json!({"materialized": "seed"})), vec![]);
        assert_eq!(
            problems(ResourceType::Analysis, json!({"materialized": "anything"})),
            vec![]
        );
    }
}
