//! Jinja's catch-all macro arguments, which minijinja lacks: a macro whose
//! body reads `kwargs` or `varargs` accepts keyword and positional arguments
//! beyond its parameters and finds them there, as dbt packages expect
//! (`{% macro test_not_null_proportion(model) %}...kwargs.get('at_least')`).
//!
//! The renderer calls every macro through one function; it asks
//! [`split_arguments`] to take the extra arguments out of the call and puts
//! them in the macro's context.

use std::cell::RefCell;
use std::collections::HashMap;

use minijinja::value::{Kwargs, Value};

use super::methods::{Dict, List};

/// What a macro declares: its parameter names, and whether its body reads
/// `kwargs` or `varargs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    pub parameters: Vec<String>,
    pub catch_all: bool,
}

thread_local! {
    static SIGNATURES: RefCell<HashMap<(String, String), Option<Signature>>> = RefCell::new(HashMap::new());
}

/// The signature of macro `name` in `source` (the text of template
/// `template`), cached per thread.
pub fn signature(template: &str, source: &str, name: &str) -> Option<Signature> {
    let key = (template.to_string(), name.to_string());
    if let Some(found) = SIGNATURES.with(|cache| cache.borrow().get(&key).cloned()) {
        return found;
    }
    let parsed = parse_signature(source, name);
    SIGNATURES.with(|cache| cache.borrow_mut().insert(key, parsed.clone()));
    parsed
}

fn parse_signature(source: &str, name: &str) -> Option<Signature> {
    let mut offset = 0;
    while let Some(found) = source[offset..].find("{%") {
        let start = offset + found + 2;
        let inner = source[start..].trim_start_matches(['-', '+']).trim_start();
        offset = start;
        let Some(rest) = inner.strip_prefix("macro") else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(after_name) = rest.strip_prefix(name) else {
            continue;
        };
        let Some(arguments) = after_name.trim_start().strip_prefix('(') else {
            continue;
        };
        let (parameters, body_start) = parameters(arguments);
        let body = &arguments[body_start..];
        let body = body.find("endmacro").map_or(body, |end| &body[..end]);
        let reads = |word: &str| {
            body.match_indices(word).any(|(at, _)| {
                let before = body[..at].chars().next_back();
                let after = body[at + word.len()..].chars().next();
                let boundary = |character: Option<char>| !character.is_some_and(|c| c.is_alphanumeric() || c == '_');
                boundary(before) && boundary(after)
            })
        };
        return Some(Signature {
            parameters,
            catch_all: reads("kwargs") || reads("varargs"),
        });
    }
    None
}

/// The parameter names up to the closing parenthesis, and the offset after it.
fn parameters(text: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (index, character) in text.char_indices() {
        if let Some(open) = quote {
            if character == open {
                quote = None;
            }
            current.push(character);
            continue;
        }
        match character {
            '\'' | '"' => quote = Some(character),
            '(' | '[' | '{' => depth += 1,
            ')' if depth == 0 => {
                names.extend(name_of(&current));
                return (names, index + 1);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                names.extend(name_of(&current));
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    (names, text.len())
}

fn name_of(parameter: &str) -> Option<String> {
    let name = parameter.split('=').next().unwrap_or_default().trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The call's arguments without those `signature` does not declare, and the
/// extra ones as `kwargs` (a dict) and `varargs` (a list).
pub fn split_arguments(signature: &Signature, args: &[Value]) -> (Vec<Value>, Value, Value) {
    let (positional, keywords) = match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => (rest, Some(last)),
        _ => (args, None),
    };
    let declared = signature.parameters.len();
    let mut passed: Vec<Value> = positional.iter().take(declared).cloned().collect();
    let varargs = List::value(positional.iter().skip(declared).cloned().collect());
    let mut kept = Vec::new();
    let mut extra = indexmap::IndexMap::new();
    if let Some(keywords) = keywords {
        for key in keywords.try_iter().into_iter().flatten() {
            let value = keywords.get_item(&key).unwrap_or_default();
            match key.as_str() {
                Some(name) if signature.parameters.iter().any(|parameter| parameter == name) => {
                    kept.push((name.to_string(), value));
                }
                _ => {
                    extra.insert(key, value);
                }
            }
        }
    }
    if !kept.is_empty() {
        passed.push(Value::from(Kwargs::from_iter(kept)));
    }
    (passed, Dict::value(extra), varargs)
}

/// The prefix a macro file's definitions get, so that a call of one macro
/// from another in the same file goes through dvt's macro lookup (and its
/// `return()` handling) instead of minijinja's local one.
pub const DEFINITION_PREFIX: &str = "__dvt_macro_";

/// The name a definition of macro `name` has in a rewritten macro file.
pub fn definition_name(name: &str) -> String {
    format!("{DEFINITION_PREFIX}{name}")
}

/// Renames every `{% macro name(...) %}` of a macro file to
/// [`definition_name`], keeping everything else. A macro that a `{% call %}`
/// block of the same file uses keeps its name: the block's `caller` belongs
/// to the calling template's state, so the call has to stay minijinja's own.
pub fn hide_definitions(source: &str) -> String {
    let called: Vec<String> = source
        .match_indices("call ")
        .filter_map(|(at, _)| {
            let name: String = source[at + 5..]
                .trim_start()
                .chars()
                .take_while(|character| character.is_alphanumeric() || *character == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    let mut output = String::with_capacity(source.len() + 64);
    let mut rest = source;
    while let Some(found) = rest.find("{%") {
        let after = &rest[found + 2..];
        let inner = after.trim_start_matches(['-', '+']).trim_start();
        let skipped = after.len() - inner.len();
        output.push_str(&rest[..found + 2]);
        match inner.strip_prefix("macro") {
            Some(definition)
                if definition.starts_with(char::is_whitespace)
                    && !called.iter().any(|name| {
                        definition
                            .trim_start()
                            .strip_prefix(name.as_str())
                            .is_some_and(|rest| rest.trim_start().starts_with('('))
                    }) =>
            {
                let name_start = definition.len() - definition.trim_start().len();
                output.push_str(&after[..skipped + "macro".len() + name_start]);
                output.push_str(DEFINITION_PREFIX);
                rest = &after[skipped + "macro".len() + name_start..];
            }
            _ => rest = after,
        }
    }
    output.push_str(rest);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parameters_and_catch_all() {
        let source = "{% macro a(model, cols=[1, 2], name='x,y') %}{{ kwargs.get('z') }}{% endmacro %}{% macro b(x) %}{{ x }}{% endmacro %}{% macro c() %}{{ my_kwargs }}{% endmacro %}";
        assert_eq!(
            parse_signature(source, "a"),
            Some(Signature {
                parameters: vec!["model".into(), "cols".into(), "name".into()],
                catch_all: true
            })
        );
        assert_eq!(
            parse_signature(source, "b").map(|signature| signature.catch_all),
            Some(false)
        );
        assert_eq!(
            parse_signature(source, "c").map(|signature| signature.catch_all),
            Some(false)
        );
        assert_eq!(parse_signature(source, "d"), None);
    }

    #[test]
    fn hides_definitions_only() {
        assert_eq!(
            hide_definitions("{% macro a(x) %}{{ b() }}{%- endmacro %}\n{%- macro  b() -%}1{% endmacro %}{% set macro_name = 1 %}"),
            "{% macro __dvt_macro_a(x) %}{{ b() }}{%- endmacro %}\n{%- macro  __dvt_macro_b() -%}1{% endmacro %}{% set macro_name = 1 %}"
        );
    }

    #[test]
    fn splits_extra_arguments() {
        let signature = Signature {
            parameters: vec!["model".into()],
            catch_all: true,
        };
        let kwargs = Value::from(Kwargs::from_iter([
            ("model", Value::from("m")),
            ("at_least", Value::from(0.5)),
        ]));
        let (passed, extra, varargs) =
            split_arguments(&signature, &[Value::from("first"), Value::from("second"), kwargs]);
        assert_eq!(passed.len(), 2);
        assert_eq!(extra.get_attr("at_least").ok(), Some(Value::from(0.5)));
        assert_eq!(varargs.len(), Some(1));
    }
}
