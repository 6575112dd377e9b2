//! A snapshot's config, read from the merged config (project file, YAML,
//! `config()`) and checked as dbt-core 1.10 checks it when it parses
//! (`SnapshotConfig.final_validate`, `get_hard_deletes_behavior`).

use serde_json::{Map, Value};

/// How a changed row is recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// A row changed when its `updated_at` is later than its current
    /// version's `dbt_valid_from`.
    Timestamp { updated_at: String },
    /// A row changed when one of the checked columns differs; `updated_at`,
    /// when set, dates the versions instead of the snapshot's time.
    Check {
        columns: CheckColumns,
        updated_at: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckColumns {
    All,
    List(Vec<String>),
}

/// What happens to the history of a row that left the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardDeletes {
    /// Its current version stays current.
    Ignore,
    /// Its current version is closed at the snapshot's time.
    Invalidate,
    /// It is closed, and a version with `dbt_is_deleted = 'True'` is added.
    NewRecord,
}

impl HardDeletes {
    pub fn as_str(self) -> &'static str {
        match self {
            HardDeletes::Ignore => "ignore",
            HardDeletes::Invalidate => "invalidate",
            HardDeletes::NewRecord => "new_record",
        }
    }
}

/// The names of the columns dbt adds (`snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetaColumns {
    pub dbt_valid_from: String,
    pub dbt_valid_to: String,
    pub dbt_scd_id: String,
    pub dbt_updated_at: String,
    pub dbt_is_deleted: String,
}

const META_COLUMNS: [&str; 5] = [
    "dbt_valid_from",
    "dbt_valid_to",
    "dbt_scd_id",
    "dbt_updated_at",
    "dbt_is_deleted",
];

/// Everything a snapshot run needs from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    pub strategy: Strategy,
    /// Column names or SQL expressions.
    pub unique_key: Vec<String>,
    /// `unique_key` was written as a list (even of one): dbt then names the
    /// staging table's key columns `dbt_unique_key_1`, `_2`, ...
    pub unique_key_is_list: bool,
    pub hard_deletes: HardDeletes,
    pub columns: MetaColumns,
    /// `dbt_valid_to_current`: the SQL expression current rows hold in
    /// `dbt_valid_to` instead of null.
    pub valid_to_current: Option<String>,
}

/// A config value dbt would reject, with the key to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The offending key; `None` when a required one is missing.
    pub key: Option<&'static str>,
    pub message: String,
    pub hint: String,
}

fn problem(key: Option<&'static str>, message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        key,
        message: message.into(),
        hint: hint.into(),
    }
}

/// A value that is unset when null, as dbt's optional configs are.
fn present<'a>(config: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    config.get(key).filter(|value| !value.is_null())
}

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(|item| item.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

/// Reads a snapshot's merged config.
pub fn read(config: &Map<String, Value>) -> Result<SnapshotConfig, Problem> {
    if let Some(materialized) = present(config, "materialized").and_then(Value::as_str) {
        if materialized != "snapshot" {
            return Err(problem(
                Some("materialized"),
                format!("a snapshot must have `materialized: snapshot`, not `{materialized}`"),
                "remove `materialized` from the snapshot's config",
            ));
        }
    }
    let (Some(strategy), Some(unique_key)) = (present(config, "strategy"), present(config, "unique_key")) else {
        return Err(problem(
            None,
            "a snapshot must be configured with a `strategy` and a `unique_key`",
            "add `strategy='timestamp'` (with `updated_at`) or `strategy='check'` (with `check_cols`), and `unique_key='id'`",
        ));
    };
    let (unique_key, unique_key_is_list) = match unique_key {
        Value::String(key) if !key.trim().is_empty() => (vec![key.clone()], false),
        Value::Array(_) => match strings(unique_key) {
            Some(keys) if !keys.is_empty() => (keys, true),
            _ => {
                return Err(problem(
                    Some("unique_key"),
                    format!("`unique_key` must be a column name or a list of them, not {unique_key}"),
                    "write `unique_key: id` or `unique_key: [order_id, line_number]`",
                ))
            }
        },
        other => {
            return Err(problem(
                Some("unique_key"),
                format!("`unique_key` must be a column name or a list of them, not {other}"),
                "write `unique_key: id` or `unique_key: [order_id, line_number]`",
            ))
        }
    };
    let updated_at = match present(config, "updated_at") {
        None => None,
        Some(Value::String(column)) => Some(column.clone()),
        Some(other) => {
            return Err(problem(
                Some("updated_at"),
                format!("`updated_at` must be a column name, not {other}"),
                "write `updated_at: updated_at`",
            ))
        }
    };
    let check_cols = present(config, "check_cols");
    let strategy = match strategy.as_str() {
        Some("timestamp") => {
            if check_cols.is_some() {
                return Err(problem(
                    Some("check_cols"),
                    "a `timestamp` snapshot must not have `check_cols`",
                    "remove `check_cols`, or use `strategy: check`",
                ));
            }
            let Some(updated_at) = updated_at else {
                return Err(problem(
                    Some("strategy"),
                    "a snapshot with the `timestamp` strategy must set `updated_at`",
                    "name the column that records when a row last changed: `updated_at: updated_at`",
                ));
            };
            Strategy::Timestamp { updated_at }
        }
        Some("check") => {
            let columns = match check_cols {
                None => {
                    return Err(problem(
                        Some("strategy"),
                        "a snapshot with the `check` strategy must set `check_cols`",
                        "write `check_cols: all` or a list of columns, such as `check_cols: [status, email]`",
                    ))
                }
                Some(Value::String(all)) if all == "all" => CheckColumns::All,
                Some(value) => match strings(value) {
                    Some(columns) if !columns.is_empty() => CheckColumns::List(columns),
                    _ => {
                        return Err(problem(
                            Some("check_cols"),
                            format!("invalid value for `check_cols`: {value}; expected `all` or a list of columns"),
                            "write `check_cols: all` or a list of columns, such as `check_cols: [status, email]`",
                        ))
                    }
                },
            };
            Strategy::Check { columns, updated_at }
        }
        _ => return Err(problem(
            Some("strategy"),
            format!("snapshot strategy {strategy} is not `timestamp` or `check`"),
            "dvt has dbt's two built-in strategies: `timestamp` (with `updated_at`) and `check` (with `check_cols`)",
        )),
    };
    Ok(SnapshotConfig {
        strategy,
        unique_key,
        unique_key_is_list,
        hard_deletes: hard_deletes(config)?,
        columns: meta_columns(config)?,
        valid_to_current: match present(config, "dbt_valid_to_current") {
            None => None,
            Some(Value::String(expression)) => Some(expression.clone()),
            Some(other) => {
                return Err(problem(
                    Some("dbt_valid_to_current"),
                    format!("`dbt_valid_to_current` must be a SQL expression in a string, not {other}"),
                    "write `dbt_valid_to_current: \"cast('9999-12-31' as timestamp)\"`",
                ))
            }
        },
    })
}

/// `hard_deletes`, or the older `invalidate_hard_deletes: true`, as dbt's
/// `get_hard_deletes_behavior` reads them.
fn hard_deletes(config: &Map<String, Value>) -> Result<HardDeletes, Problem> {
    let legacy = present(config, "invalidate_hard_deletes");
    let current = present(config, "hard_deletes");
    if legacy.is_some() && current.is_some() {
        return Err(problem(
            Some("invalidate_hard_deletes"),
            "a snapshot cannot set both `invalidate_hard_deletes` and `hard_deletes`",
            "keep `hard_deletes: invalidate`, which replaces `invalidate_hard_deletes: true`",
        ));
    }
    if let Some(legacy) = legacy {
        return match legacy {
            Value::Bool(true) => Ok(HardDeletes::Invalidate),
            Value::Bool(false) => Ok(HardDeletes::Ignore),
            other => Err(problem(
                Some("invalidate_hard_deletes"),
                format!("`invalidate_hard_deletes` must be true or false, not {other}"),
                "write `hard_deletes: invalidate` instead",
            )),
        };
    }
    match current.map(|value| value.as_str()) {
        None | Some(Some("ignore")) => Ok(HardDeletes::Ignore),
        Some(Some("invalidate")) => Ok(HardDeletes::Invalidate),
        Some(Some("new_record")) => Ok(HardDeletes::NewRecord),
        _ => Err(problem(
            Some("hard_deletes"),
            format!(
                "invalid setting for `hard_deletes`: {}",
                current.map(Value::to_string).unwrap_or_default()
            ),
            "use `ignore`, `invalidate` or `new_record`",
        )),
    }
}

fn meta_columns(config: &Map<String, Value>) -> Result<MetaColumns, Problem> {
    let names = match present(config, "snapshot_meta_column_names") {
        None => Map::new(),
        Some(Value::Object(names)) => names.clone(),
        Some(other) => {
            return Err(problem(
                Some("snapshot_meta_column_names"),
                format!("`snapshot_meta_column_names` must be a mapping, not {other}"),
                "write `snapshot_meta_column_names: {dbt_valid_from: valid_from, dbt_valid_to: valid_to}`",
            ))
        }
    };
    for (key, value) in &names {
        if !META_COLUMNS.contains(&key.as_str()) {
            return Err(problem(
                Some("snapshot_meta_column_names"),
                format!("`snapshot_meta_column_names` has an unknown key `{key}`"),
                format!("the keys are {}", META_COLUMNS.join(", ")),
            ));
        }
        if !value.is_null() && !value.is_string() {
            return Err(problem(
                Some("snapshot_meta_column_names"),
                format!("the column name for `{key}` must be a string, not {value}"),
                format!("write `{key}: my_{key}`"),
            ));
        }
    }
    let name = |key: &str| names.get(key).and_then(Value::as_str).unwrap_or(key).to_string();
    Ok(MetaColumns {
        dbt_valid_from: name("dbt_valid_from"),
        dbt_valid_to: name("dbt_valid_to"),
        dbt_scd_id: name("dbt_scd_id"),
        dbt_updated_at: name("dbt_updated_at"),
        dbt_is_deleted: name("dbt_is_deleted"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn reads_both_strategies_and_the_hard_delete_modes() {
        let timestamp = read(&config(
            json!({"strategy": "timestamp", "unique_key": "id", "updated_at": "changed_at", "invalidate_hard_deletes": true}),
        ));
        assert_eq!(
            timestamp
                .as_ref()
                .map(|read| (&read.strategy, read.hard_deletes, read.unique_key_is_list)),
            Ok((
                &Strategy::Timestamp {
                    updated_at: "changed_at".into()
                },
                HardDeletes::Invalidate,
                false
            ))
        );
        let check = read(&config(
            json!({"strategy": "check", "unique_key": ["a", "b"], "check_cols": ["x"], "hard_deletes": "new_record", "snapshot_meta_column_names": {"dbt_valid_to": "valid_to"}}),
        ));
        let check = check.ok();
        assert_eq!(
            check.as_ref().map(|read| read.hard_deletes),
            Some(HardDeletes::NewRecord)
        );
        assert_eq!(check.as_ref().map(|read| read.unique_key.len()), Some(2));
        assert_eq!(
            check
                .as_ref()
                .map(|read| (read.columns.dbt_valid_to.as_str(), read.columns.dbt_valid_from.as_str())),
            Some(("valid_to", "dbt_valid_from"))
        );
    }

    #[test]
    fn rejects_what_dbt_rejects() {
        let key_of = |value: Value| read(&config(value)).err().map(|problem| problem.key);
        assert_eq!(key_of(json!({"unique_key": "id"})), Some(None));
        assert_eq!(
            key_of(json!({"strategy": "timestamp", "unique_key": "id"})),
            Some(Some("strategy"))
        );
        assert_eq!(
            key_of(json!({"strategy": "check", "unique_key": "id", "check_cols": "some"})),
            Some(Some("check_cols"))
        );
        assert_eq!(
            key_of(json!({"strategy": "check", "unique_key": "id", "check_cols": "all", "hard_deletes": "purge"})),
            Some(Some("hard_deletes"))
        );
        assert_eq!(
            key_of(
                json!({"strategy": "check", "unique_key": "id", "check_cols": "all", "hard_deletes": "ignore", "invalidate_hard_deletes": true})
            ),
            Some(Some("invalidate_hard_deletes"))
        );
    }
}
