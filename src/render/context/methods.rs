//! Python's methods on Jinja values, as dbt's Jinja (Python's Jinja2) has them.
//!
//! minijinja's values are immutable, but dbt's templates build lists and
//! dicts in place: `{% set columns = [] %}{% do columns.append(c) %}`. So list
//! and dict literals in templates become [`List`] and [`Dict`] objects that
//! share their contents behind a lock: a change through one reference is seen
//! through every other, as with Python's objects. [`mutable_literals`] rewrites
//! the literals (`[a, b]` to `__dvt_list(a, b)`, `{k: v}` to
//! `__dvt_dict(k, v)`, which also keeps a dict's insertion order), and
//! [`unknown_method`] adds the methods minijinja-contrib's `pycompat` lacks to
//! every other value.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;
use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr, Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// The function a list literal becomes.
pub const LIST_FUNCTION: &str = "__dvt_list";
/// The function a dict literal becomes.
pub const DICT_FUNCTION: &str = "__dvt_dict";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A Python list.
#[derive(Debug, Default)]
pub struct List {
    items: Mutex<Vec<Value>>,
}

impl List {
    pub fn new(items: Vec<Value>) -> List {
        List {
            items: Mutex::new(items),
        }
    }

    pub fn value(items: Vec<Value>) -> Value {
        Value::from_object(List::new(items))
    }

    fn snapshot(&self) -> Vec<Value> {
        lock(&self.items).clone()
    }
}

fn out_of_range(what: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{what}: index out of range"))
}

/// A Python index into a list of `len` items, negative from the end.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { index + len } else { index };
    (0..len).contains(&index).then(|| usize::try_from(index).ok()).flatten()
}

fn iterate(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

impl Object for List {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = lock(&self.items);
        let index = position(key.as_i64()?, items.len())?;
        items.get(index).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.snapshot())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.items).len())
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let none = Value::from(());
        match method {
            "append" => {
                let (item,): (Value,) = from_args(args)?;
                lock(&self.items).push(item);
                Ok(none)
            }
            "extend" => {
                let (other,): (Value,) = from_args(args)?;
                let extra = iterate(&other)?;
                lock(&self.items).extend(extra);
                Ok(none)
            }
            "insert" => {
                let (index, item): (i64, Value) = from_args(args)?;
                let mut items = lock(&self.items);
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let index = if index < 0 {
                    (index + len).max(0)
                } else {
                    index.min(len)
                };
                items.insert(usize::try_from(index).unwrap_or(0), item);
                Ok(none)
            }
            "pop" => {
                let (index,): (Option<i64>,) = from_args(args)?;
                let mut items = lock(&self.items);
                let index = position(index.unwrap_or(-1), items.len()).ok_or_else(|| out_of_range("pop"))?;
                Ok(items.remove(index))
            }
            "remove" => {
                let (item,): (Value,) = from_args(args)?;
                let mut items = lock(&self.items);
                let index = items.iter().position(|candidate| *candidate == item).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, format!("list.remove({item}): not in list"))
                })?;
                items.remove(index);
                Ok(none)
            }
            "index" => {
                let (item,): (Value,) = from_args(args)?;
                index_of(&self.snapshot(), &item)
            }
            "count" => {
                let (item,): (Value,) = from_args(args)?;
                Ok(Value::from(
                    lock(&self.items).iter().filter(|candidate| **candidate == item).count(),
                ))
            }
            "reverse" => {
                let () = from_args(args)?;
                lock(&self.items).reverse();
                Ok(none)
            }
            "sort" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let reverse: Option<bool> = kwargs.get("reverse")?;
                kwargs.assert_all_used()?;
                let mut items = lock(&self.items);
                items.sort();
                if reverse.unwrap_or(false) {
                    items.reverse();
                }
                Ok(none)
            }
            "clear" => {
                let () = from_args(args)?;
                lock(&self.items).clear();
                Ok(none)
            }
            "copy" => {
                let () = from_args(args)?;
                Ok(List::value(self.snapshot()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), formatter)
    }
}

fn index_of(items: &[Value], item: &Value) -> Result<Value, Error> {
    items
        .iter()
        .position(|candidate| candidate == item)
        .map(Value::from)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("{item} is not in list")))
}

/// A Python dict: insertion-ordered.
#[derive(Debug, Default)]
pub struct Dict {
    entries: Mutex<IndexMap<Value, Value>>,
}

impl Dict {
    pub fn new(entries: IndexMap<Value, Value>) -> Dict {
        Dict {
            entries: Mutex::new(entries),
        }
    }

    pub fn value(entries: IndexMap<Value, Value>) -> Value {
        Value::from_object(Dict::new(entries))
    }

    fn snapshot(&self) -> IndexMap<Value, Value> {
        lock(&self.entries).clone()
    }
}

/// The entries of a mapping value, in its order.
fn pairs(value: &Value) -> Result<Vec<(Value, Value)>, Error> {
    if let Some(dict) = value.downcast_object_ref::<Dict>() {
        return Ok(dict.snapshot().into_iter().collect());
    }
    if value.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("expected a mapping, got `{value}`"),
        ));
    }
    value
        .try_iter()?
        .map(|key| Ok((key.clone(), value.get_item(&key)?)))
        .collect()
}

impl Object for Dict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        lock(&self.entries).get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.entries).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.entries).len())
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let none = Value::from(());
        match method {
            "update" => {
                let (positional, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
                let mut added = match positional {
                    Some(other) => pairs(&other)?,
                    None => Vec::new(),
                };
                for key in kwargs.args() {
                    added.push((Value::from(key), kwargs.get::<Value>(key)?));
                }
                lock(&self.entries).extend(added);
                Ok(none)
            }
            "get" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                Ok(self.get_value(&key).unwrap_or_else(|| default.unwrap_or(none)))
            }
            "pop" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                match (lock(&self.entries).shift_remove(&key), default) {
                    (Some(value), _) | (None, Some(value)) => Ok(value),
                    (None, None) => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("dict.pop: key {key} not found"),
                    )),
                }
            }
            "setdefault" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                Ok(lock(&self.entries)
                    .entry(key)
                    .or_insert(default.unwrap_or(none))
                    .clone())
            }
            "keys" => {
                let () = from_args(args)?;
                Ok(List::value(lock(&self.entries).keys().cloned().collect()))
            }
            "values" => {
                let () = from_args(args)?;
                Ok(List::value(lock(&self.entries).values().cloned().collect()))
            }
            "items" => {
                let () = from_args(args)?;
                let items = lock(&self.entries)
                    .iter()
                    .map(|(key, value)| Value::from(vec![key.clone(), value.clone()]))
                    .collect();
                Ok(List::value(items))
            }
            "copy" => {
                let () = from_args(args)?;
                Ok(Dict::value(self.snapshot()))
            }
            "clear" => {
                let () = from_args(args)?;
                lock(&self.entries).clear();
                Ok(none)
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), formatter)
    }
}

/// `__dvt_list(a, b)`, what `[a, b]` becomes.
pub fn list_function(items: Rest<Value>) -> Value {
    List::value(items.0)
}

/// `__dvt_dict(k1, v1, k2, v2)`, what `{k1: v1, k2: v2}` becomes.
pub fn dict_function(items: Rest<Value>) -> Value {
    let mut entries = IndexMap::new();
    let mut items = items.0.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        entries.insert(key, value);
    }
    Dict::value(entries)
}

/// `dict(a=1)` and `dict(other)`, as Python's constructor.
pub fn dict_constructor(args: Rest<Value>) -> Result<Value, Error> {
    let (positional, kwargs): (Option<Value>, Kwargs) = from_args(&args.0)?;
    let mut entries: IndexMap<Value, Value> = match positional {
        Some(other) if other.kind() == ValueKind::Map => pairs(&other)?.into_iter().collect(),
        Some(other) => {
            let mut entries = IndexMap::new();
            for pair in other.try_iter()? {
                let (key, value): (Value, Value) = (pair.get_item(&Value::from(0))?, pair.get_item(&Value::from(1))?);
                entries.insert(key, value);
            }
            entries
        }
        None => IndexMap::new(),
    };
    for key in kwargs.args() {
        entries.insert(Value::from(key), kwargs.get::<Value>(key)?);
    }
    Ok(Dict::value(entries))
}

/// The `list` filter and function: a new list that can change.
pub fn list_filter(value: Value) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(List::value(Vec::new()));
    }
    Ok(List::value(iterate(&value)?))
}

/// The `length` / `count` filter: 0 for an undefined value, as Jinja2's
/// `Undefined` has (dbt-codegen's `column.fields|length`).
pub fn length_filter(value: &Value) -> Result<usize, Error> {
    if value.is_undefined() {
        return Ok(0);
    }
    minijinja::filters::length(value)
}

/// The `int` filter as Jinja2 has it: a string is read in `base` (10 unless
/// given), else as a float and truncated; what cannot be read is `default`
/// (0), never an error (dbt-project-evaluator compares `var(...) | int`).
pub fn int_filter(value: &Value, default: Option<Value>, base: Option<u32>) -> Value {
    let default = default.unwrap_or_else(|| Value::from(0));
    match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number => match i64::try_from(value.clone()) {
            Ok(number) => Value::from(number),
            Err(_) => f64::try_from(value.clone())
                .ok()
                .filter(|number| number.is_finite())
                .map_or(default, |number| Value::from(number.trunc() as i64)),
        },
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default().trim().replace('_', "");
            let radix = base.unwrap_or(10);
            if let Some(number) = (2..=36)
                .contains(&radix)
                .then(|| i64::from_str_radix(&text, radix).ok())
                .flatten()
            {
                return Value::from(number);
            }
            text.parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map_or(default, |number| Value::from(number.trunc() as i64))
        }
        _ => default,
    }
}

/// The `float` filter as Jinja2 has it: what cannot be read is `default`
/// (0.0), never an error.
pub fn float_filter(value: &Value, default: Option<Value>) -> Value {
    let default = default.unwrap_or_else(|| Value::from(0.0));
    match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_or(default, Value::from),
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .trim()
            .replace('_', "")
            .parse::<f64>()
            .map_or(default, Value::from),
        _ => default,
    }
}

/// The `round` filter as Jinja2 has it: `round(precision=0, method='common')`,
/// where `common` is Python's `round` (half to even), and `ceil` and `floor`
/// round up and down (dbt-project-evaluator's `| round(0, 'ceil') | int`).
pub fn round_filter(value: &Value, precision: Option<i32>, method: Option<String>) -> Result<Value, Error> {
    let precision = precision.unwrap_or(0);
    let method = method.as_deref().unwrap_or("common");
    if !matches!(method, "common" | "ceil" | "floor") {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "method must be 'common', 'ceil' or 'floor'",
        ));
    }
    // Python's round of an integer is the integer.
    if method == "common" && value.is_integer() {
        return Ok(value.clone());
    }
    let number = f64::try_from(value.clone())?;
    let scale = 10f64.powi(precision);
    let scaled = number * scale;
    let rounded = match method {
        "ceil" => scaled.ceil(),
        "floor" => scaled.floor(),
        _ => scaled.round_ties_even(),
    };
    Ok(Value::from(rounded / scale))
}

const LIST_MUTATORS: &[&str] = &[
    "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear",
];
const DICT_MUTATORS: &[&str] = &["update", "pop", "setdefault", "clear", "popitem"];

/// The unknown-method callback: dvt's additions, then minijinja-contrib's
/// `pycompat`.
pub fn unknown_method(state: &State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match (value.kind(), method) {
        (ValueKind::Seq, "index") => {
            let (item,): (Value,) = from_args(args)?;
            return index_of(&iterate(value)?, &item);
        }
        (ValueKind::Seq, "copy") => return Ok(List::value(iterate(value)?)),
        (ValueKind::Map, "copy") => return Ok(Dict::value(pairs(value)?.into_iter().collect())),
        (ValueKind::Map, "items") => {
            let items = pairs(value)?
                .into_iter()
                .map(|(key, value)| Value::from(vec![key, value]))
                .collect();
            return Ok(List::value(items));
        }
        (ValueKind::Seq, mutator) if LIST_MUTATORS.contains(&mutator) => return Err(immutable("list", mutator)),
        (ValueKind::Map, mutator) if DICT_MUTATORS.contains(&mutator) => return Err(immutable("dict", mutator)),
        (ValueKind::String, _) => {
            if let Some(result) = string_method(value, method, args) {
                return result;
            }
        }
        _ => {}
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

fn immutable(kind: &str, method: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("this {kind} cannot be changed with `{method}()`: it was not built in a template; copy it first with `{{% set copy = value.copy() %}}`"),
    )
}

/// String methods `pycompat` lacks.
fn string_method(value: &Value, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let text = value.as_str()?;
    Some(match method {
        "zfill" => from_args::<(usize,)>(args).map(|(width,)| {
            let (sign, digits) = match text.strip_prefix(['-', '+']) {
                Some(rest) => (&text[..1], rest),
                None => ("", text),
            };
            let padding = width.saturating_sub(text.chars().count());
            Value::from(format!("{sign}{}{digits}", "0".repeat(padding)))
        }),
        "ljust" | "rjust" | "center" => from_args::<(usize, Option<String>)>(args).map(|(width, fill)| {
            let fill = fill.and_then(|fill| fill.chars().next()).unwrap_or(' ');
            let padding = width.saturating_sub(text.chars().count());
            let pad = |count: usize| fill.to_string().repeat(count);
            Value::from(match method {
                "ljust" => format!("{text}{}", pad(padding)),
                "rjust" => format!("{}{text}", pad(padding)),
                _ => format!("{}{text}{}", pad(padding / 2), pad(padding - padding / 2)),
            })
        }),
        "partition" | "rpartition" => from_args::<(String,)>(args).map(|(separator,)| {
            let found = match method {
                "partition" => text.split_once(separator.as_str()),
                _ => text.rsplit_once(separator.as_str()),
            };
            let parts = match (found, method) {
                (Some((before, after)), _) => [before, separator.as_str(), after],
                (None, "partition") => [text, "", ""],
                (None, _) => ["", "", text],
            };
            Value::from(parts.iter().map(|part| Value::from(*part)).collect::<Vec<_>>())
        }),
        "rsplit" => from_args::<(Option<String>, Option<i64>)>(args).map(|(separator, limit)| {
            let limit = limit.filter(|limit| *limit >= 0).map(|limit| limit as usize + 1);
            let mut parts: Vec<Value> = match (separator, limit) {
                (Some(separator), Some(limit)) => text.rsplitn(limit, separator.as_str()).map(Value::from).collect(),
                (Some(separator), None) => text.rsplit(separator.as_str()).map(Value::from).collect(),
                (None, _) => text.split_whitespace().rev().map(Value::from).collect(),
            };
            parts.reverse();
            Value::from(parts)
        }),
        "index" => from_args::<(String,)>(args).and_then(|(needle,)| {
            text.find(needle.as_str())
                .map(|byte| Value::from(text[..byte].chars().count()))
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "substring not found"))
        }),
        "swapcase" => from_args::<()>(args).map(|()| {
            Value::from(
                text.chars()
                    .map(|character| match character.is_uppercase() {
                        true => character.to_lowercase().to_string(),
                        false => character.to_uppercase().to_string(),
                    })
                    .collect::<String>(),
            )
        }),
        _ => return None,
    })
}

/// A value as Python's `repr` writes it inside a list or dict: strings in
/// single quotes, `True`, `None`.
fn write_repr(value: &Value, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
    match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            write!(formatter, "'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
        }
        ValueKind::None | ValueKind::Undefined => formatter.write_str("None"),
        ValueKind::Seq if value.downcast_object_ref::<List>().is_none() => {
            formatter.write_str("[")?;
            for (index, item) in value.try_iter().into_iter().flatten().enumerate() {
                if index > 0 {
                    formatter.write_str(", ")?;
                }
                write_repr(&item, formatter)?;
            }
            formatter.write_str("]")
        }
        _ => write!(formatter, "{value}"),
    }
}

impl fmt::Display for List {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[")?;
        for (index, item) in self.snapshot().iter().enumerate() {
            if index > 0 {
                formatter.write_str(", ")?;
            }
            write_repr(item, formatter)?;
        }
        formatter.write_str("]")
    }
}

impl fmt::Display for Dict {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("{")?;
        for (index, (key, value)) in self.snapshot().iter().enumerate() {
            if index > 0 {
                formatter.write_str(", ")?;
            }
            write_repr(key, formatter)?;
            formatter.write_str(": ")?;
            write_repr(value, formatter)?;
        }
        formatter.write_str("}")
    }
}

/// Rewrites list and dict literals inside Jinja tags into calls of
/// [`LIST_FUNCTION`] and [`DICT_FUNCTION`], keeping line numbers. A `[` after
/// a value (`items[0]`, `f()[1]`) is a subscript and stays.
pub fn mutable_literals(source: &str) -> String {
    rewrite(source, &mut Vec::new())
}

/// The offset in `source` of `offset` in `mutable_literals(source)`, to point
/// errors minijinja reports in the rewritten text at the text the user wrote.
pub fn original_offset(source: &str, offset: usize) -> usize {
    let mut anchors = Vec::new();
    rewrite(source, &mut anchors);
    // Anchors are (rewritten, original) pairs at both ends of each rewritten
    // token, in order; between them the texts are the same.
    let index = anchors.partition_point(|(rewritten, _)| *rewritten <= offset);
    let Some(&(rewritten, original)) = index.checked_sub(1).and_then(|index| anchors.get(index)) else {
        return offset.min(source.len());
    };
    let mapped = original + (offset - rewritten);
    let limit = anchors
        .get(index)
        .map_or(source.len(), |(_, next)| next.saturating_sub(1));
    mapped.min(limit)
}

fn rewrite(source: &str, anchors: &mut Vec<(usize, usize)>) -> String {
    let bytes = source.as_bytes();
    let mut output = String::with_capacity(source.len() + source.len() / 8);
    let mut index = 0;
    let mut copied = 0;
    while index + 1 < bytes.len() {
        if bytes[index] != b'{' {
            index += 1;
            continue;
        }
        let close: &[u8] = match bytes[index + 1] {
            b'{' => b"}}",
            b'%' => b"%}",
            b'#' => {
                index = find(bytes, index + 2, b"#}").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            _ => {
                index += 1;
                continue;
            }
        };
        let start = index + 2;
        if close == b"%}" && is_raw(&source[start..]) {
            index = find_endraw(source, start).unwrap_or(bytes.len());
            continue;
        }
        output.push_str(&source[copied..start]);
        let end = rewrite_tag(source, start, close, &mut output, anchors);
        copied = end;
        index = end;
    }
    output.push_str(&source[copied..]);
    output
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|found| from + found)
}

fn is_raw(tag: &str) -> bool {
    let inner = tag.trim_start_matches(['-', '+']).trim_start();
    inner.starts_with("raw") && inner[3..].trim_start().trim_start_matches(['-', '+']).starts_with("%}")
}

/// The offset after the `{% endraw %}` that closes a raw block.
fn find_endraw(source: &str, from: usize) -> Option<usize> {
    let mut offset = from;
    while let Some(found) = source.get(offset..)?.find("{%") {
        let tag = offset + found + 2;
        let inner = source[tag..].trim_start_matches(['-', '+']).trim_start();
        if inner.starts_with("endraw") {
            return source[tag..].find("%}").map(|end| tag + end + 2);
        }
        offset = tag;
    }
    None
}

/// What the character before a `[` says about it.
fn opens_literal(before: &str) -> bool {
    let trimmed = before.trim_end();
    let Some(last) = trimmed.chars().last() else {
        return true;
    };
    if last.is_alphanumeric() || last == '_' {
        let word: String = trimmed
            .chars()
            .rev()
            .take_while(|character| character.is_alphanumeric() || *character == '_')
            .collect::<Vec<char>>()
            .into_iter()
            .rev()
            .collect();
        return matches!(
            word.as_str(),
            "in" | "and" | "or" | "not" | "if" | "else" | "is" | "do" | "return" | "elif" | "set"
        );
    }
    !matches!(last, ')' | ']' | '}' | '\'' | '"')
}

/// Copies one tag body from `start` into `output`, rewriting its literals;
/// returns the offset after its closing delimiter.
fn rewrite_tag(
    source: &str,
    start: usize,
    close: &[u8],
    output: &mut String,
    anchors: &mut Vec<(usize, usize)>,
) -> usize {
    let bytes = source.as_bytes();
    // For each open bracket: its closing byte and whether it became a call.
    let mut stack: Vec<(u8, bool)> = Vec::new();
    // The tag's text so far, to decide what a `[` is.
    let tag_start = output.len();
    // A printed `x if y` with no `else` at the top level (`{{ "lower(" if
    // target.type == 'snowflake' }}`) prints nothing when `y` is false, as in
    // dbt: it gets `else ''`, where minijinja has an undefined that dvt reports.
    let (mut top_if, mut top_else) = (false, false);
    let mut index = start;
    while index < bytes.len() {
        let byte = bytes[index];
        if stack.is_empty() && bytes[index..].starts_with(close) {
            if close == b"}}" && top_if && !top_else {
                let trim = output.ends_with('-');
                if trim {
                    output.pop();
                }
                let original = index - usize::from(trim);
                anchors.push((output.len(), original));
                output.push_str(" else ''");
                anchors.push((output.len(), original));
                if trim {
                    output.push('-');
                }
            }
            output.push_str(&source[index..index + 2]);
            return index + 2;
        }
        if stack.is_empty() && (byte == b'i' || byte == b'e') {
            let before = source[..index].chars().next_back();
            let word_start = before.is_none_or(|character| !(character.is_alphanumeric() || character == '_'));
            let word = source[index..]
                .split(|character: char| !(character.is_alphanumeric() || character == '_'))
                .next()
                .unwrap_or_default();
            if word_start && word == "if" {
                top_if = true;
            }
            if word_start && word == "else" {
                top_else = true;
            }
        }
        match byte {
            b'\'' | b'"' => {
                let mut end = index + 1;
                while end < bytes.len() && bytes[end] != byte {
                    end += if bytes[end] == b'\\' { 2 } else { 1 };
                }
                let end = (end + 1).min(bytes.len());
                output.push_str(&source[index..end]);
                index = end;
                continue;
            }
            b'[' if opens_literal(&output[tag_start..]) => {
                anchors.push((output.len(), index));
                output.push_str(LIST_FUNCTION);
                output.push('(');
                anchors.push((output.len(), index + 1));
                stack.push((b']', true));
            }
            b'{' => {
                anchors.push((output.len(), index));
                output.push_str(DICT_FUNCTION);
                output.push('(');
                anchors.push((output.len(), index + 1));
                stack.push((b'}', true));
            }
            b'[' => {
                output.push('[');
                stack.push((b']', false));
            }
            b'(' => {
                output.push('(');
                stack.push((b')', false));
            }
            b':' if stack.last() == Some(&(b'}', true)) => output.push(','),
            b')' | b']' | b'}' if !stack.is_empty() => {
                let (_, call) = stack.pop().unwrap_or((byte, false));
                output.push(if call { ')' } else { byte as char });
            }
            _ => {
                // Copy one whole character.
                let width = source[index..].chars().next().map_or(1, char::len_utf8);
                output.push_str(&source[index..index + width]);
                index += width;
                continue;
            }
        }
        index += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    use super::*;

    fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        env.add_function(LIST_FUNCTION, list_function);
        env.add_function(DICT_FUNCTION, dict_function);
        env.add_function("dict", dict_constructor);
        env.add_filter("list", list_filter);
        env.set_unknown_method_callback(unknown_method);
        env
    }

    fn render(template: &str) -> String {
        let env = environment();
        env.render_str(&mutable_literals(template), ())
            .unwrap_or_else(|error| panic!("`{template}` does not render: {error:#}"))
    }

    #[test]
    fn rewrites_literals_but_not_subscripts_strings_or_raw() {
        assert_eq!(mutable_literals("{% set x = [] %}"), "{% set x = __dvt_list() %}");
        assert_eq!(
            mutable_literals("{{ {'a': [1, 2], 'b': x[0]} }}"),
            "{{ __dvt_dict('a', __dvt_list(1, 2), 'b', x[0]) }}"
        );
        assert_eq!(mutable_literals("{{ f()[0] ~ '[x]' }}"), "{{ f()[0] ~ '[x]' }}");
        assert_eq!(mutable_literals("{% for i in [1] %}"), "{% for i in __dvt_list(1) %}");
        assert_eq!(mutable_literals("{{ x[1:2] }}"), "{{ x[1:2] }}");
        assert_eq!(mutable_literals("{{ 'a' if b -}}"), "{{ 'a' if b  else ''-}}");
        assert_eq!(mutable_literals("{{ 'a' if b else 'c' }}"), "{{ 'a' if b else 'c' }}");
        assert_eq!(mutable_literals("{{ f(1 if b) ~ 'if' }}"), "{{ f(1 if b) ~ 'if' }}");
        assert_eq!(
            mutable_literals("{% set x = 1 if b %}{{ gift }}"),
            "{% set x = 1 if b %}{{ gift }}"
        );
        assert_eq!(mutable_literals("select '{' [a] {# [b] #}"), "select '{' [a] {# [b] #}");
        assert_eq!(
            mutable_literals("{% raw %}{{ [1] }}{% endraw %}{{ [2] }}"),
            "{% raw %}{{ [1] }}{% endraw %}{{ __dvt_list(2) }}"
        );
        assert_eq!(
            mutable_literals("{{ {'a': {'b': 1}} }}\nnext"),
            "{{ __dvt_dict('a', __dvt_dict('b', 1)) }}\nnext"
        );
    }

    #[test]
    fn offsets_in_the_rewritten_text_map_back() {
        let source = "{% set x = ['a'] %}\n{{ y }}";
        let rewritten = mutable_literals(source);
        let at = |text: &str, needle: &str| text.find(needle).unwrap_or(usize::MAX);
        assert_eq!(original_offset(source, at(&rewritten, "y }}")), at(source, "y }}"));
        assert_eq!(original_offset(source, at(&rewritten, "'a'")), at(source, "'a'"));
        assert_eq!(
            original_offset(source, at(&rewritten, "__dvt_list") + 3),
            at(source, "['a']")
        );
        assert_eq!(original_offset(source, 2), 2);
    }

    #[test]
    fn lists_change_in_place() {
        assert_eq!(
            render("{% set x = [] %}{% for i in range(3) %}{% do x.append(i) %}{% endfor %}{{ x }} {{ x | length }} {{ x[-1] }}"),
            "[0, 1, 2] 3 2"
        );
        assert_eq!(
            render("{% set x = [3, 1] %}{% do x.extend([2]) %}{% do x.insert(0, 9) %}{{ x.pop() }} {{ x.pop(0) }} {{ x }} {% do x.remove(3) %}{{ x }} {{ x.index(1) }} {{ x.count(1) }}"),
            "2 9 [3, 1] [1] 0 1"
        );
        assert_eq!(
            render("{{ ['a', none, true, [1, 'b'], {'k': 'v'}] }}"),
            "['a', None, True, [1, 'b'], {'k': 'v'}]"
        );
        assert_eq!(
            render("{% set x = [1, 2] %}{{ x == [1, 2] }} {{ 2 in x }} {{ (x + [3]) | join(',') }} {{ x[1:] | list }}"),
            "True True 1,2,3 [2]"
        );
        assert_eq!(
            render("{% set x = (['a'] | list) %}{% do x.append('b') %}{{ x | join(',') }} {{ x | tojson }}"),
            "a,b [\"a\",\"b\"]"
        );
    }

    #[test]
    fn dicts_change_in_place_and_keep_order() {
        assert_eq!(
            render("{% set d = {'z': 1} %}{% do d.update({'a': 2}) %}{% do d.update(m=3) %}{{ d.keys() | join(',') }} {{ d['a'] }} {{ d.a }} {{ d.get('q', 'none') }}"),
            "z,a,m 2 2 none"
        );
        assert_eq!(
            render("{% set d = {} %}{{ d.setdefault('k', []) }}{% do d['k'].append(1) %}{{ d.k }} {{ d.pop('k') }} {{ d | length }}"),
            "[][1] [1] 0"
        );
        // Keyword arguments reach a function sorted (minijinja keeps them in a
        // sorted map), so `dict(b=1, a=2)` starts with `a`.
        assert_eq!(
            render("{% set d = dict(b=1, a=2) %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% set e = d.copy() %}{% do e.update({'c': 3}) %}{{ d | length }}{{ e | length }} {{ d | tojson }}"),
            "a=2;b=1;23 {\"a\":2,\"b\":1}"
        );
        assert_eq!(
            render("{% set d = {'a': 1} %}{{ d is mapping }} {{ d == {'a': 1} }} {{ 'a' in d }}"),
            "True True True"
        );
    }

    #[test]
    fn changes_through_a_macro_are_seen_outside() {
        let mut env = environment();
        env.add_template_owned(
            "m.sql",
            mutable_literals("{% macro add(items, item) %}{% do items.append(item) %}{% endmacro %}"),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let output = env
            .render_str(
                &mutable_literals("{% from 'm.sql' import add %}{% set x = [] %}{{ add(x, 1) }}{{ add(x, 2) }}{{ x }}"),
                (),
            )
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(output, "[1, 2]");
    }

    #[test]
    fn string_methods() {
        assert_eq!(
            render("{{ 'a,b'.split(',') | join('|') }} {{ ' x '.strip() }} {{ 'Ab'.lower() }}{{ 'ab'.upper() }} {{ 'abc'.replace('b', 'x') }} {{ 'abc'.startswith('a') }} {{ 'abc'.endswith('c') }} {{ '{}-{}'.format(1, 2) }} {{ ','.join(['a', 'b']) }} {{ 'ab cd'.title() }} {{ 'ab'.capitalize() }} {{ 'abc'.find('c') }}"),
            "a|b x abAB axc True True 1-2 a,b Ab Cd Ab 2"
        );
        assert_eq!(
            render(
                "{{ '7'.zfill(3) }} {{ 'a.b.c'.rsplit('.', 1) | join('|') }} {{ 'k=v'.partition('=') | join('|') }}"
            ),
            "007 a.b|c k|=|v"
        );
    }

    #[test]
    fn an_immutable_value_says_how_to_change_it() {
        let env = environment();
        let error = env
            .render_str("{% do items.append(1) %}", minijinja::context! { items => vec![1] })
            .map(|_| String::new())
            .unwrap_or_else(|error| error.to_string());
        assert!(error.contains("cannot be changed with `append()`"), "{error}");
    }
}
