//! Node configuration: the known keys, dbt's merge rules, and the lookup of a
//! node's config in the project file's folder tree.
//!
//! Precedence matches dbt: the project tree, then schema YAML, then the node's
//! own `config()` call, each layer merged over the last with [`merge`].

use serde_json::{Map, Value};

/// Config keys dvt knows. Anything else gets a warning with a did-you-mean,
/// because a silent typo (`materialised`) is a top complaint about dbt.
pub const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "materialized",
    "schema",
    "alias",
    "database",
    "tags",
    "meta",
    "docs",
    "pre-hook",
    "post-hook",
    "persist_docs",
    "full_refresh",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "on_configuration_change",
    "grants",
    "contract",
    "constraints",
    "indexes",
    "sql_header",
    "quoting",
    "group",
    "access",
    "packages",
    "column_types",
    "quote_columns",
    "delimiter",
    "severity",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "freshness",
    "loaded_at_field",
    "merge_update_columns",
    "merge_exclude_columns",
    "unlogged",
    // Spark (adapter/spark): a table's partition columns.
    "partition_by",
    "event_time",
    "batch_size",
    "lookback",
    "begin",
    "concurrent_batches",
    "bind",
    "static_analysis",
    "export",
    "ingest",
    "label",
    "test_type",
    // Snapshots (see crate::snapshot::config).
    "strategy",
    "updated_at",
    "check_cols",
    "hard_deletes",
    "invalidate_hard_deletes",
    "target_schema",
    "target_database",
    "snapshot_meta_column_names",
    "dbt_valid_to_current",
];

/// Normalises a key: strips dbt's `+` prefix, and spells hooks as dbt's manifest does.
pub fn normalize_key(key: &str) -> String {
    match key.trim_start_matches('+') {
        "pre_hook" => "pre-hook".to_string(),
        "post_hook" => "post-hook".to_string(),
        "data_tests" => "tests".to_string(),
        other => other.to_string(),
    }
}

pub fn is_known(key: &str) -> bool {
    KNOWN_KEYS.contains(&key)
}

/// Merges `overlay` over `base` with dbt's rules: `tags` and hooks accumulate,
/// `meta` and `grants` merge key by key, everything else is replaced.
pub fn merge(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        let key = normalize_key(key);
        match key.as_str() {
            "tags" | "pre-hook" | "post-hook" => {
                let mut items = as_list(base.get(&key));
                for item in as_list(Some(value)) {
                    if key != "tags" || !items.contains(&item) {
                        items.push(item);
                    }
                }
                base.insert(key, Value::Array(items));
            }
            // A `column_types` that is no mapping is kept as written, for
            // `validate::config` to reject as dbt does ("expected dict").
            "column_types" if !value.is_object() => {
                base.insert(key, value.clone());
            }
            "meta" | "grants" | "column_types" | "persist_docs" => {
                let mut merged = base.get(&key).and_then(Value::as_object).cloned().unwrap_or_default();
                if let Value::Object(entries) = value {
                    for (entry_key, entry_value) in entries {
                        // `+select: [role]` in grants adds to an inherited list.
                        if let Some(stripped) = entry_key.strip_prefix('+') {
                            let mut items = as_list(merged.get(stripped));
                            items.extend(as_list(Some(entry_value)));
                            merged.insert(stripped.to_string(), Value::Array(items));
                        } else {
                            merged.insert(entry_key.clone(), entry_value.clone());
                        }
                    }
                }
                base.insert(key, Value::Object(merged));
            }
            _ => {
                base.insert(key, value.clone());
            }
        }
    }
}

fn as_list(value: Option<&Value>) -> Vec<Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

/// The config that the project file's tree (`models:` or `seeds:`) gives a node
/// with `fqn` ([package, folders..., name]). A `+key` always names a config; a
/// plain key names a folder or node when one matches the fqn, and a config
/// otherwise.
pub fn from_tree(tree: &Value, fqn: &[String]) -> Map<String, Value> {
    let mut config = Map::new();
    let Value::Object(top) = tree else { return config };
    collect_level(top, &mut config, fqn.first().map(String::as_str));
    // Top-level keys are package names; descend from the node's package.
    let Some(mut level) = fqn
        .first()
        .and_then(|package| top.get(package))
        .and_then(Value::as_object)
    else {
        return config;
    };
    for (depth, segment) in fqn.iter().enumerate().skip(1) {
        collect_level(level, &mut config, Some(segment));
        match level.get(segment) {
            Some(Value::Object(next)) => level = next,
            _ => return config,
        }
        if depth == fqn.len() - 1 {
            collect_level(level, &mut config, None);
        }
    }
    if fqn.len() == 1 {
        collect_level(level, &mut config, None);
    }
    config
}

/// Configs whose values are mappings, so a plain (un-prefixed) key holding a
/// mapping may still be a config rather than a folder.
const MAPPING_KEYS: &[&str] = &[
    "meta",
    "grants",
    "column_types",
    "persist_docs",
    "docs",
    "contract",
    "freshness",
    "export",
    "ingest",
    "quoting",
];

fn collect_level(level: &Map<String, Value>, config: &mut Map<String, Value>, next_segment: Option<&str>) {
    let mut layer = Map::new();
    for (key, value) in level {
        let normalized = normalize_key(key);
        let is_config = key.starts_with('+')
            || (Some(key.as_str()) != next_segment
                && is_known(&normalized)
                && (!value.is_object() || MAPPING_KEYS.contains(&normalized.as_str())));
        if is_config {
            layer.insert(normalized, value.clone());
        }
    }
    merge(config, &layer);
}

/// Plain keys of a tree that are neither configs nor a folder or node of the
/// project: probably typos. Returns the key path of each, for a warning.
pub fn unused_paths(tree: &Value, known_paths: &[Vec<String>]) -> Vec<String> {
    let mut unused = Vec::new();
    fn walk(value: &Value, prefix: &mut Vec<String>, known_paths: &[Vec<String>], unused: &mut Vec<String>) {
        let Value::Object(level) = value else { return };
        for (key, item) in level {
            if key.starts_with('+') || is_known(&normalize_key(key)) {
                continue;
            }
            prefix.push(key.clone());
            let matches = known_paths
                .iter()
                .any(|path| path.len() >= prefix.len() && path[..prefix.len()] == prefix[..]);
            if matches {
                walk(item, prefix, known_paths, unused);
            } else {
                unused.push(prefix.join("."));
            }
            prefix.pop();
        }
    }
    walk(tree, &mut Vec::new(), known_paths, &mut unused);
    unused
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fqn(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|part| part.to_string()).collect()
    }

    #[test]
    fn folder_configs_inherit_and_override() {
        let tree = json!({
            "shop": {
                "+materialized": "view",
                "+tags": ["all"],
                "marts": {"+materialized": "table", "+tags": "marts", "core": {"schema": "core"}},
            }
        });
        let config = from_tree(&tree, &fqn(&["shop", "marts", "core", "fct"]));
        assert_eq!(config.get("materialized"), Some(&json!("table")));
        assert_eq!(config.get("tags"), Some(&json!(["all", "marts"])));
        assert_eq!(config.get("schema"), Some(&json!("core")));
        let staging = from_tree(&tree, &fqn(&["shop", "staging", "stg"]));
        assert_eq!(staging.get("materialized"), Some(&json!("view")));
        assert_eq!(staging.get("schema"), None);
    }

    #[test]
    fn node_level_entry_applies() {
        let tree = json!({"shop": {"orders": {"+enabled": false}}});
        assert_eq!(
            from_tree(&tree, &fqn(&["shop", "orders"])).get("enabled"),
            Some(&json!(false))
        );
    }

    #[test]
    fn merge_accumulates_hooks_and_meta() {
        let mut base = Map::new();
        merge(
            &mut base,
            json!({"pre-hook": "a", "meta": {"x": 1}, "materialized": "view"})
                .as_object()
                .cloned()
                .as_ref()
                .unwrap_or(&Map::new()),
        );
        merge(
            &mut base,
            json!({"pre_hook": ["b"], "meta": {"y": 2}, "materialized": "table"})
                .as_object()
                .cloned()
                .as_ref()
                .unwrap_or(&Map::new()),
        );
        assert_eq!(
            Value::Object(base),
            json!({"pre-hook": ["a", "b"], "meta": {"x": 1, "y": 2}, "materialized": "table"})
        );
    }

    #[test]
    fn finds_unused_paths() {
        let tree = json!({"shop": {"stagin": {"+schema": "x"}, "marts": {"+schema": "y"}}});
        let known = vec![fqn(&["shop", "marts", "fct"]), fqn(&["shop", "staging", "stg"])];
        assert_eq!(unused_paths(&tree, &known), vec!["shop.stagin".to_string()]);
    }
}
