//! dbt's helper functions of the base context: `fromjson`, `tojson`,
//! `fromyaml`, `toyaml`, `zip`, `set`, `local_md5`, `try_or_compiler_error`,
//! and the `exceptions` namespace.
//!
//! They follow dbt-core's `dbt/context/base.py` and `exceptions.py`: JSON is
//! written as Python's `json.dumps` writes it (`{"a": 1, "b": [2]}`), a failed
//! parse returns the `default` argument, and values read from JSON or YAML are
//! lists and dicts templates can change in place.

use crate::python_json::python_json;
use indexmap::IndexMap;
use md5::{Digest, Md5};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use super::methods::{Dict, List};

/// A JSON value as a Jinja value: objects and arrays become [`Dict`] and
/// [`List`], keeping their order.
pub fn from_json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Array(items) => List::value(items.iter().map(from_json).collect()),
        serde_json::Value::Object(entries) => Dict::value(
            entries
                .iter()
                .map(|(key, value)| (Value::from(key.as_str()), from_json(value)))
                .collect::<IndexMap<Value, Value>>(),
        ),
        other => Value::from_serialize(other),
    }
}

fn to_json_value(value: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|error| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot write `{value}` as JSON: {error}"),
        )
    })
}

fn fromjson(text: Value, default: Option<Value>) -> Result<Value, Error> {
    let parsed = text
        .as_str()
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "fromjson() takes a string"))
        .and_then(|text| {
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|error| Error::new(ErrorKind::InvalidOperation, format!("fromjson: {error}")))
        });
    match (parsed, default) {
        (Ok(value), _) => Ok(from_json(&value)),
        (Err(_), Some(default)) => Ok(default),
        (Err(error), None) => Err(error),
    }
}

fn tojson(value: Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    match (to_json_value(&value), default) {
        (Ok(json), _) => Ok(Value::from(python_json(&json, sort_keys.unwrap_or(false)))),
        (Err(_), Some(default)) => Ok(default),
        (Err(error), None) => Err(error),
    }
}

fn fromyaml(text: Value, default: Option<Value>) -> Result<Value, Error> {
    let parsed = match text.as_str() {
        Some(text) => crate::yaml::parse("fromyaml()", text)
            .map_err(|diagnostic| Error::new(ErrorKind::InvalidOperation, format!("fromyaml: {}", diagnostic.message))),
        None => Err(Error::new(ErrorKind::InvalidOperation, "fromyaml() takes a string")),
    };
    match (parsed, default) {
        (Ok(value), _) => Ok(from_json(&value)),
        (Err(_), Some(default)) => Ok(default),
        (Err(error), None) => Err(error),
    }
}

fn toyaml(value: Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    match (to_json_value(&value), default) {
        (Ok(mut json), _) => {
            if sort_keys.unwrap_or(false) {
                json.sort_all_objects();
            }
            Ok(Value::from(crate::yaml::to_string(&json)))
        }
        (Err(_), Some(default)) => Ok(default),
        (Err(error), None) => Err(error),
    }
}

/// Python's `zip`: lists of the n-th items, as long as the shortest input.
fn zip(args: Rest<Value>) -> Result<Value, Error> {
    let inputs: Vec<Vec<Value>> = args
        .iter()
        .map(|value| value.try_iter().map(Iterator::collect))
        .collect::<Result<_, _>>()?;
    let length = inputs.iter().map(Vec::len).min().unwrap_or(0);
    Ok(List::value(
        (0..length)
            .map(|index| Value::from(inputs.iter().map(|items| items[index].clone()).collect::<Vec<_>>()))
            .collect(),
    ))
}

/// dbt's `set(value, default=None)`: Python's set of the items (see
/// [`super::set`]); `default` when `value` is not iterable.
fn set(value: Value, default: Option<Value>) -> Result<Value, Error> {
    match value.try_iter() {
        Ok(items) => Ok(super::set::Set::value(items)),
        Err(error) => default.ok_or(error),
    }
}

fn set_strict(value: Value) -> Result<Value, Error> {
    set(value, None)
}

fn local_md5(value: Value) -> String {
    let digest = Md5::digest(value.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// dbt's `try_or_compiler_error(message, function, *args)`.
fn try_or_compiler_error(state: &State, message: String, function: Value, args: Rest<Value>) -> Result<Value, Error> {
    function
        .call(state, &args)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, message))
}

fn compiler_error(message: &Value) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.to_string())
}

/// The `exceptions` namespace. Every `raise_*` fails the render with its
/// message at the line of the call; `warn` prints and goes on.
fn exceptions() -> Value {
    fn raising(prefix: &'static str) -> Value {
        Value::from_function(move |args: Rest<Value>| -> Result<Value, Error> {
            let message = args.iter().map(Value::to_string).collect::<Vec<_>>().join(" ");
            Err(Error::new(ErrorKind::InvalidOperation, format!("{prefix}{message}")))
        })
    }
    Value::from_iter([
        (
            "raise_compiler_error",
            Value::from_function(|message: Value, _node: Option<Value>| -> Result<Value, Error> {
                Err(compiler_error(&message))
            }),
        ),
        ("raise_not_implemented", raising("not implemented: ")),
        ("raise_database_error", raising("database error: ")),
        ("raise_fail_fast_error", raising("failing early: ")),
        ("raise_contract_error", raising("contract error: ")),
        ("raise_dependency_error", raising("dependency error: ")),
        (
            "relation_wrong_type",
            Value::from_function(
                |relation: Value, expected: Value, _model: Option<Value>| -> Result<Value, Error> {
                    Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "trying to create {expected} {relation}, but it currently exists as a {}; drop it first",
                            relation.get_attr("type").unwrap_or_default()
                        ),
                    ))
                },
            ),
        ),
        (
            "missing_relation",
            Value::from_function(|relation: Value, _model: Option<Value>| -> Result<Value, Error> {
                Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("relation {relation} not found"),
                ))
            }),
        ),
        (
            "warn",
            Value::from_function(|message: Value, _node: Option<Value>| -> Value {
                crate::output::template_log("warn", &message.to_string());
                Value::from("")
            }),
        ),
    ])
}

/// Adds the helpers to `env`.
pub fn install(env: &mut Environment<'static>) {
    env.add_function("fromjson", fromjson);
    env.add_function("tojson", tojson);
    env.add_function("fromyaml", fromyaml);
    env.add_function("toyaml", toyaml);
    env.add_function("zip", zip);
    env.add_function("zip_strict", zip);
    env.add_function("set", set);
    env.add_function("set_strict", set_strict);
    env.add_function("local_md5", local_md5);
    env.add_function("try_or_compiler_error", try_or_compiler_error);
    env.add_global("exceptions", exceptions());
}

#[cfg(test)]
mod tests {
    use super::super::test_render::{self, render};
    use super::*;

    fn error(template: &str) -> String {
        test_render::error(install, template)
    }

    #[test]
    fn json_as_python_writes_it() {
        assert_eq!(
            render(r#"{{ tojson({'b': 1, 'a': [1.0, 'é', none, true]}) }}"#),
            r#"{"b": 1, "a": [1.0, "\u00e9", null, true]}"#
        );
        assert_eq!(
            render(r#"{{ tojson({'b': 1, 'a': 2}, sort_keys=true) }}"#),
            r#"{"a": 2, "b": 1}"#
        );
        assert_eq!(
            render(
                r#"{% set d = fromjson('{"z": [1], "a": 2}') %}{% do d.z.append(3) %}{{ d.keys() | join(',') }} {{ d.z }}"#
            ),
            "z,a [1, 3]"
        );
        assert_eq!(render(r#"{{ fromjson('not json', 'fallback') }}"#), "fallback");
    }

    #[test]
    fn yaml_both_ways() {
        assert_eq!(
            render("{% set d = fromyaml('b: 1\\na: [x, y]') %}{{ d.a[1] }} {{ d.keys() | join(',') }}"),
            "y b,a"
        );
        assert_eq!(render("{{ toyaml({'b': 1, 'a': 'x'}) }}"), "b: 1\na: x\n");
        assert_eq!(render("{{ fromyaml('a: [', 'bad') }}"), "bad");
    }

    #[test]
    fn zip_set_and_md5() {
        assert_eq!(
            render("{% for a, b in zip([1, 2, 3], ['x', 'y']) %}{{ a }}{{ b }} {% endfor %}"),
            "1x 2y "
        );
        assert_eq!(
            render("{{ set([1, 2, 1, 3]) | join(',') }} {{ set(1, 'no') }}"),
            "1,2,3 no"
        );
        assert_eq!(render("{{ local_md5('hello') }}"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn exceptions_fail_with_their_message() {
        assert!(
            error("{{ exceptions.raise_compiler_error('column `x` is missing') }}").contains("column `x` is missing")
        );
        assert!(error("{{ exceptions.raise_not_implemented('nope') }}").contains("not implemented: nope"));
        assert_eq!(error("{{ exceptions.warn('careful') }}ok"), "no error: ok");
    }
}
