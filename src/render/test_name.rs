//! dbt's names for generic tests, so that selectors written for dbt keep
//! working on dvt.

use serde_json::Map;

/// dbt's generic test naming: `not_null_orders_id`,
/// `accepted_values_orders_status__placed__shipped`, `source_unique_raw_events_id`.
/// Names of 64 characters or more become the first 30 characters and an md5, as
/// dbt shortens them, so that selectors written for dbt keep working.
pub fn test_name(
    test: &str,
    target: &str,
    is_source: bool,
    column: Option<&str>,
    arguments: &Map<String, serde_json::Value>,
) -> String {
    // Arguments sorted by name, `column_name` among them, each as Python's str() prints it.
    let column = column.map(|column| serde_json::Value::String(column.to_string()));
    let mut sorted: Vec<(&str, &serde_json::Value)> = arguments
        .iter()
        .filter(|(key, _)| key.as_str() != "model" && key.as_str() != "column_name")
        .map(|(key, value)| (key.as_str(), value))
        .chain(column.as_ref().map(|column| ("column_name", column)))
        .collect();
    sorted.sort_by_key(|(key, _)| *key);
    let mut parts = Vec::new();
    for (_, value) in sorted {
        match value {
            serde_json::Value::Array(items) => parts.extend(items.iter().map(python_str)),
            serde_json::Value::Object(entries) => parts.extend(entries.values().map(python_str)),
            other => parts.push(python_str(other)),
        }
    }
    let prefix = if is_source { "source_" } else { "" };
    let identifier = format!("{prefix}{test}_{target}");
    let arguments: Vec<String> = parts.iter().map(|part| sanitize_name(part)).collect();
    let full_name = format!("{identifier}_{}", arguments.join("__"));
    if full_name.len() >= 64 {
        use md5::Digest;
        let digest = md5::Md5::digest(full_name.as_bytes());
        let label: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        let truncated: String = identifier.chars().take(30).collect();
        format!("{truncated}_{label}")
    } else {
        full_name
    }
}

/// A value as Python's `str()` prints it, which is what dbt's test names use.
fn python_str(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::Null => "None".into(),
        serde_json::Value::Number(number) => number.to_string(),
        serde_json::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        serde_json::Value::Object(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(key, item)| format!("'{key}': {}", python_repr(item)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn python_repr(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => format!("'{text}'"),
        other => python_str(other),
    }
}

/// Replaces each run of characters other than letters, digits and `_` with one
/// `_`, as dbt names tests.
fn sanitize_name(name: &str) -> String {
    let mut sanitized = String::with_capacity(name.len());
    let mut in_run = false;
    for character in name.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            sanitized.push(character);
            in_run = false;
        } else if !in_run {
            sanitized.push('_');
            in_run = true;
        }
    }
    sanitized
}
