//! JSON as Python's `json.dumps` writes it, which is what dbt writes: `", "`
//! and `": "` separators, non-ASCII escaped as `\uXXXX`, floats with a
//! fraction (`1.0`). Jinja's `tojson` and the `sha1_hash` of
//! `package-lock.yml` both need dbt's exact bytes.

/// JSON as Python's `json.dumps` writes it: `", "` and `": "` separators,
/// non-ASCII escaped.
pub fn python_json(value: &serde_json::Value, sort_keys: bool) -> String {
    let mut output = String::new();
    write_python_json(value, sort_keys, &mut output);
    output
}

fn write_python_json(value: &serde_json::Value, sort_keys: bool, output: &mut String) {
    match value {
        serde_json::Value::Array(items) => {
            output.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    output.push_str(", ");
                }
                write_python_json(item, sort_keys, output);
            }
            output.push(']');
        }
        serde_json::Value::Object(entries) => {
            let mut pairs: Vec<(&String, &serde_json::Value)> = entries.iter().collect();
            if sort_keys {
                pairs.sort_by(|left, right| left.0.cmp(right.0));
            }
            output.push('{');
            for (index, (key, item)) in pairs.into_iter().enumerate() {
                if index > 0 {
                    output.push_str(", ");
                }
                write_python_string(key, output);
                output.push_str(": ");
                write_python_json(item, sort_keys, output);
            }
            output.push('}');
        }
        serde_json::Value::String(text) => write_python_string(text, output),
        serde_json::Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() && float.fract() == 0.0 && float.abs() < 1e16 => {
                output.push_str(&format!("{float:.1}"));
            }
            _ => output.push_str(&number.to_string()),
        },
        other => output.push_str(&other.to_string()),
    }
}

fn write_python_string(text: &str, output: &mut String) {
    output.push('"');
    for character in text.chars() {
        match character {
            '"' => output.push_str("\\\""),
            '\\' => output.push_str("\\\\"),
            '\n' => output.push_str("\\n"),
            '\r' => output.push_str("\\r"),
            '\t' => output.push_str("\\t"),
            character if (character as u32) < 0x20 || !character.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    output.push_str(&format!("\\u{unit:04x}"));
                }
            }
            character => output.push(character),
        }
    }
    output.push('"');
}
