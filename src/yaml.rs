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
        let mut block_indent = None;
        loop {
            let (index, line) = lines.next()?;
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                // The parent's block ended without the key.
                return None;
            }
            // A key of this block is at its first line's indentation; deeper
            // lines belong to the values of other keys.
            if *block_indent.get_or_insert(indent) != indent {
                continue;
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

    /// Found by `fuzz_yaml_key_lines_are_where_written`: a key of the same
    /// name deeper down is not the child asked for.
    #[test]
    fn key_position_skips_grandchildren() {
        let source = "a:\n  a:\n    q: x\n  q: y\n";
        assert_eq!(key_position(source, &["a", "q"]), Some((4, 3)));
        assert_eq!(key_position(source, &["a", "a", "q"]), Some((3, 5)));
        assert_eq!(key_position(source, &["q"]), None);
    }

    #[test]
    fn finds_named_entries() {
        let source = "models:\n  - name: a\n  - name: \"b\"\n";
        assert_eq!(find_key_line(source, "name", "b", 1), Some((3, 11)));
        assert_eq!(find_key_line(source, "name", "c", 1), None);
    }

    /// Property tests: the loader never panics, a value serialized and loaded
    /// again is the same value, and in a document written by hand every
    /// key's line and column is where it was written. `PROPTEST_CASES` runs
    /// more (`bench/fuzz.sh`).
    mod fuzz {
        use super::*;
        use proptest::prelude::*;
        use serde_json::json;

        /// A mapping key YAML reads as a string (not `null` or `true`).
        fn key() -> impl Strategy<Value = String> {
            "[a-z][a-z0-9_-]{0,6}".prop_filter("a plain string", |key| {
                !matches!(
                    key.as_str(),
                    "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
                )
            })
        }

        fn scalar() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                "[ -~]{0,12}".prop_map(Value::from),
                "\\PC{0,8}".prop_map(Value::from),
            ]
        }

        fn value() -> impl Strategy<Value = Value> {
            scalar().prop_recursive(4, 32, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::btree_map(key(), inner, 0..5)
                        .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        /// A tree of mappings whose leaves are plain words.
        #[derive(Debug, Clone)]
        enum Tree {
            Leaf(String),
            Map(Vec<(String, Tree)>),
        }

        fn tree() -> impl Strategy<Value = Tree> {
            "[a-z][a-z0-9]{0,5}"
                .prop_map(Tree::Leaf)
                .prop_recursive(4, 40, 5, |inner| {
                    prop::collection::btree_map(key(), inner, 1..5).prop_map(|map| Tree::Map(map.into_iter().collect()))
                })
        }

        /// Writes `tree` as block YAML, recording each key path's line and column.
        fn write(
            tree: &[(String, Tree)],
            indent: usize,
            path: &mut Vec<String>,
            out: &mut String,
            lines: &mut Vec<(Vec<String>, usize, usize)>,
        ) {
            for (key, child) in tree {
                path.push(key.clone());
                lines.push((path.clone(), out.lines().count() + 1, indent + 1));
                match child {
                    Tree::Leaf(word) => out.push_str(&format!("{}{key}: x{word}\n", " ".repeat(indent))),
                    Tree::Map(entries) => {
                        out.push_str(&format!("{}{key}:\n", " ".repeat(indent)));
                        write(entries, indent + 2, path, out, lines);
                    }
                }
                path.pop();
            }
        }

        fn to_value(tree: &Tree) -> Value {
            match tree {
                Tree::Leaf(word) => json!(format!("x{word}")),
                Tree::Map(entries) => Value::Object(
                    entries
                        .iter()
                        .map(|(key, child)| (key.clone(), to_value(child)))
                        .collect(),
                ),
            }
        }

        proptest! {
            #[test]
            fn fuzz_yaml_parse_never_panics(source in "\\PC{0,60}") {
                let _ = parse("models/schema.yml", &source);
                let _ = key_position(&source, &["a", "b"]);
                let _ = find_key_line(&source, "name", "a", 1);
            }

            #[test]
            fn fuzz_yaml_structured_text_never_panics(source in "[a-z:\\- \\n\\t\"'#{}\\[\\],&*!|>]{0,80}") {
                let _ = parse("models/schema.yml", &source);
                let _ = key_position(&source, &["a"]);
            }

            #[test]
            fn fuzz_yaml_round_trips(value in value()) {
                let text = to_string(&value);
                let loaded = parse("x.yml", &text).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
                prop_assert_eq!(loaded, value, "{}", text);
            }

            #[test]
            fn fuzz_yaml_key_lines_are_where_written(entries in prop::collection::btree_map(key(), tree(), 1..5)) {
                let entries: Vec<(String, Tree)> = entries.into_iter().collect();
                let (mut text, mut lines) = (String::new(), Vec::new());
                write(&entries, 0, &mut Vec::new(), &mut text, &mut lines);
                let loaded = parse("x.yml", &text).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
                prop_assert_eq!(loaded, to_value(&Tree::Map(entries)), "{}", text);
                for (path, line, column) in lines {
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    prop_assert_eq!(key_position(&text, &path), Some((line, column)), "{:?} in\n{}", path, text);
                }
            }
        }
    }
}
