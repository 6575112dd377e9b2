//! All YAML handling lives here, so that swapping `serde_yaml` (archived upstream)
//! for a maintained fork touches one file.
//!
//! Documents are read into `serde_json::Value` trees: every later phase works on
//! JSON values, which is also what the manifest is written as. Parse errors are
//! turned into [`Diagnostic`]s that point at the line and column. YAML values
//! carry no positions, so [`find_key_line`] locates a key in the text when a later
//! phase needs to point at one.

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Location};

/// Parses `source` (from `file`, project-relative) into a JSON value. An empty
/// document is `null`.
pub fn parse(file: &str, source: &str) -> Result<Value, Diagnostic> {
    let value: serde_yaml::Value = serde_yaml::from_str(source).map_err(|error| {
        let message = error.to_string();
        // serde_yaml appends " at line L column C" to its message; we show the
        // position as a location instead.
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        let diagnostic = Diagnostic::error(format!("invalid YAML: {message}"));
        match error.location() {
            Some(location) => diagnostic
                .at(Location::at(file, location.line(), location.column(), 1), Some(source))
                .hint("check the indentation and that every `key: value` pair has a space after the colon"),
            None => diagnostic.in_file(file),
        }
    })?;
    to_json(file, value)
}

fn to_json(file: &str, value: serde_yaml::Value) -> Result<Value, Diagnostic> {
    Ok(match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(flag) => Value::Bool(flag),
        serde_yaml::Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Value::from(integer)
            } else if let Some(integer) = number.as_u64() {
                Value::from(integer)
            } else {
                number
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        serde_yaml::Value::String(text) => Value::String(text),
        serde_yaml::Value::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|item| to_json(file, item))
                .collect::<Result<_, _>>()?,
        ),
        serde_yaml::Value::Mapping(mapping) => {
            let mut object = serde_json::Map::new();
            for (key, item) in mapping {
                let key = match key {
                    serde_yaml::Value::String(text) => text,
                    serde_yaml::Value::Number(number) => number.to_string(),
                    serde_yaml::Value::Bool(flag) => flag.to_string(),
                    other => {
                        return Err(Diagnostic::error(format!("unsupported YAML mapping key `{other:?}`"))
                            .in_file(file)
                            .hint("use plain strings as keys"))
                    }
                };
                object.insert(key, to_json(file, item)?);
            }
            Value::Object(object)
        }
        serde_yaml::Value::Tagged(tagged) => to_json(file, tagged.value)?,
    })
}

/// Serialises a value as YAML, for `dvt init` and `dvt debug`.
pub fn to_string(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Byte offsets of line starts, so that repeated searches in one file start
/// where the last one ended instead of rescanning from the top.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(offset, _)| offset + 1));
        LineIndex { starts }
    }

    /// The text from 1-based line `line` on, and that line's number.
    fn rest_from_line<'a>(&self, source: &'a str, line: usize) -> (&'a str, usize) {
        let line = line.max(1);
        match self.starts.get(line - 1) {
            Some(&offset) => (&source[offset..], line),
            None => ("", line),
        }
    }

    /// The text of 1-based line `line`, without its line ending.
    pub fn line<'a>(&self, source: &'a str, line: usize) -> &'a str {
        let (rest, _) = self.rest_from_line(source, line);
        let end = rest.find('\n').unwrap_or(rest.len());
        rest[..end].trim_end_matches('\r')
    }

    /// As [`find_key_line`], starting at line `after` without rescanning.
    pub fn find_key_line(&self, source: &str, key: &str, value: &str, after: usize) -> Option<(usize, usize)> {
        let (rest, first) = self.rest_from_line(source, after);
        find_key_line(rest, key, value, 1).map(|(line, column)| (line + first - 1, column))
    }

    /// As [`find_text_line`], starting at line `after` without rescanning.
    pub fn find_text_line(&self, source: &str, needle: &str, after: usize) -> Option<(usize, usize)> {
        let (rest, first) = self.rest_from_line(source, after);
        find_text_line(rest, needle, 1).map(|(line, column)| (line + first - 1, column))
    }
}

/// 1-based line of the first `key: value` (or `- key: value`) whose value is
/// `value`, searching from line `after` onward; used to point at a named entry
/// such as `- name: stg_customer`. Returns the line and the column of the value.
pub fn find_key_line(source: &str, key: &str, value: &str, after: usize) -> Option<(usize, usize)> {
    for (index, line) in source.lines().enumerate().skip(after.saturating_sub(1)) {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let Some(rest) = trimmed.strip_prefix(key) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let candidate = rest
            .trim()
            .trim_matches(|character| character == '"' || character == '\'');
        if candidate == value {
            let column = line.find(rest.trim()).map_or(1, |offset| offset + 1);
            return Some((index + 1, column));
        }
    }
    None
}

/// 1-based line and column of the key at `path`: a key of the top-level
/// mapping, then a key of its value, and so on, found by indentation in
/// block-style YAML (`key:` at the start of its line, quoted or not). `None`
/// when a key of the path is not written that way.
pub fn key_position(source: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut lines = source.lines().enumerate();
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for key in path {
        loop {
            let (index, line) = lines.next()?;
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = line.len() - trimmed.len();
            match parent_indent {
                // The parent's block ended without the key.
                Some(parent) if indent <= parent => return None,
                None if indent > 0 => continue,
                _ => {}
            }
            if starts_with_key(trimmed, key) {
                parent_indent = Some(indent);
                found = Some((index + 1, line[..indent].chars().count() + 1));
                break;
            }
        }
    }
    found
}

/// Whether `text` starts with the mapping key `key` (plain, `"key"` or `'key'`) and its colon.
fn starts_with_key(text: &str, key: &str) -> bool {
    let quoted = |quote: char| {
        text.strip_prefix(quote)
            .and_then(|rest| rest.strip_prefix(key))
            .and_then(|rest| rest.strip_prefix(quote))
    };
    let rest = quoted('"').or_else(|| quoted('\'')).or_else(|| text.strip_prefix(key));
    rest.and_then(|rest| rest.trim_start_matches(' ').strip_prefix(':'))
        .is_some_and(|after| after.is_empty() || after.starts_with([' ', '\t']))
}

/// 1-based line and column of the first occurrence of `needle` at or after line
/// `after`.
pub fn find_text_line(source: &str, needle: &str, after: usize) -> Option<(usize, usize)> {
    source
        .lines()
        .enumerate()
        .skip(after.saturating_sub(1))
        .find_map(|(index, line)| {
            line.find(needle)
                .map(|offset| (index + 1, line[..offset].chars().count() + 1))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_points_at_line() {
        let source = "version: 2\nmodels:\n  - name: a\n   description: x\n";
        let error = parse("models/schema.yml", source)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("models/schema.yml:4:"), "{error}");
        assert!(error.contains("invalid YAML"), "{error}");
    }

    #[test]
    fn finds_named_entries() {
        let source = "models:\n  - name: a\n  - name: \"b\"\n";
        assert_eq!(find_key_line(source, "name", "b", 1), Some((3, 11)));
        assert_eq!(find_key_line(source, "name", "c", 1), None);
    }
}
