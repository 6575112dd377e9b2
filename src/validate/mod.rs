//! Offline validation of compiled nodes, the last phase before a warehouse is
//! involved. `dvt compile` runs it, and so do `run`, `test`, `seed` and
//! `build` before they connect, so that a broken pull request fails in
//! seconds without a warehouse round trip.
//!
//! It checks:
//! 1. **Config values** ([`config`]): `materialized`, `tags`, `enabled`,
//!    `unique_key` and the rest hold values of the right type and set.
//! 2. **SQL syntax** ([`sql`]): every compiled model, analysis and test is
//!    parsed with sqlparser in the target's dialect. Incremental models are
//!    parsed a second time as they compile when `is_incremental()` is true.
//! 3. **Test columns**: a generic test that names a column the model does not
//!    have, judged by the columns of its final `select` (when it selects no
//!    `*`), a seed's header, or else the columns declared in YAML.
//!
//! Every problem points into the file the user wrote: a position in compiled
//! SQL is mapped back through [`source_map`], and a generic test's problem
//! points at its entry in the schema YAML. A node with `static_analysis: off`
//! is not parsed, for SQL that sqlparser does not understand.
//!
//! This module only finds problems; the commands decide how to report them.

pub mod config;
pub mod source_map;
pub mod sql;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde_json::Value;
use sqlparser::ast::Statement;
use sqlparser::dialect::Dialect;

use crate::diagnostic::{did_you_mean, Diagnostic, Location};
use crate::manifest::{Column, Node, ResourceType};
use crate::project::Project;
use crate::render::{self, CompiledBody, Rendered};
use sql::InferredColumns;

/// What validation looks at.
pub struct Input<'a> {
    pub project: &'a Project,
    pub rendered: &'a Rendered,
    /// The target's adapter type (`postgres`), which picks the SQL dialect.
    pub adapter_type: &'a str,
    /// The nodes to check, by unique id.
    pub selected: &'a BTreeSet<String>,
    /// Each compiled node's own SQL, before ephemeral models are inlined
    /// ([`render::compile_selected`]). Nodes missing here are not parsed.
    pub bodies: &'a HashMap<String, CompiledBody>,
    /// Checks an export node's settings (its config): the lake's own rules
    /// (`lake::config_problems`), run with the other config checks.
    pub export_config: fn(&serde_json::Map<String, serde_json::Value>) -> Vec<config::ConfigProblem>,
}

/// Checks the selected nodes and returns every problem, errors and
/// warnings, in file order.
pub fn validate(input: &Input) -> Vec<Diagnostic> {
    let manifest = &input.rendered.manifest;
    let nodes: Vec<&Node> = input.selected.iter().filter_map(|id| manifest.nodes.get(id)).collect();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    for node in &nodes {
        diagnostics.extend(check_config(input, node));
    }
    let dialect = sql::dialect_for(input.adapter_type);
    let mut inferred: HashMap<String, InferredColumns> = HashMap::new();
    if let Some(dialect) = dialect.as_deref() {
        let checked: Vec<(String, Vec<Diagnostic>, Option<InferredColumns>)> = nodes
            .par_iter()
            .filter(|node| {
                !static_analysis_off(node)
                    && !is_plain_builtin_test(input, node)
                    && !known_only_at_run_time(input, node)
            })
            .filter_map(|node| {
                let (body, _) = input.bodies.get(&node.unique_id)?;
                let (mut problems, columns) = check_node_sql(input, dialect, node, body);
                // An ephemeral model never runs by itself: as in dbt, its SQL
                // is checked inside the models that read it, as their CTE
                // (dbt-project-evaluator's fake models are ephemeral files
                // holding a bare `{{ ref() }}`, or only a comment).
                if node.resource_type == ResourceType::Model && node.materialized() == "ephemeral" {
                    problems.clear();
                }
                Some((node.unique_id.clone(), problems, columns))
            })
            .collect();
        for (id, problems, columns) in checked {
            diagnostics.extend(problems);
            if let Some(columns) = columns {
                inferred.insert(id, columns);
            }
        }
    }
    diagnostics.extend(check_test_columns(input, &nodes, &inferred));
    diagnostics.sort_by(|left, right| {
        (left.location.as_ref(), !left.is_error(), &left.message).cmp(&(
            right.location.as_ref(),
            !right.is_error(),
            &right.message,
        ))
    });
    diagnostics.dedup_by(|left, right| left.location == right.location && left.message == right.message);
    diagnostics
}

/// A generic test from dvt's own macros whose inputs are all plain names (or
/// relations dvt resolved itself) renders SQL of a known-good shape: parsing
/// the tens of thousands of them in a large project would find nothing. Any
/// free-form SQL (a column expression, `where`, an unquoted value) is parsed.
fn is_plain_builtin_test(input: &Input, node: &Node) -> bool {
    let Some(metadata) = &node.test_metadata else {
        return false;
    };
    let builtin = input
        .rendered
        .jinja
        .macros
        .get(&format!("test_{}", metadata.name))
        .is_some_and(|definition| definition.package == "dvt");
    let plain = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_')
    };
    let has_where = node.config.get("where").is_some_and(|value| !value.is_null());
    let quoted_values = metadata.kwargs.get("quote") != Some(&Value::Bool(false));
    let plain_argument = |key: &str, value: &Value| match (key, value) {
        ("model" | "to" | "column_name" | "quote", _) => true,
        ("values", Value::Array(items)) => items.iter().all(|item| match item {
            Value::String(text) => quoted_values || plain(text),
            Value::Number(_) | Value::Bool(_) => true,
            _ => false,
        }),
        (_, Value::String(text)) => plain(text),
        _ => false,
    };
    builtin
        && !has_where
        && node.column_name.as_deref().is_none_or(plain)
        && metadata.kwargs.iter().all(|(key, value)| plain_argument(key, value))
}

/// `static_analysis: off` (or `false`) skips parsing a node's SQL, as in dbt.
fn static_analysis_off(node: &Node) -> bool {
    matches!(node.config.get("static_analysis"), Some(Value::Bool(false)))
        || node
            .config_str("static_analysis")
            .is_some_and(|setting| setting.eq_ignore_ascii_case("off"))
}

/// Words of dbt's Jinja by which a template learns about the warehouse.
const INTROSPECTION: &[&str] = &[
    "execute",
    "run_query",
    "statement",
    "load_result",
    "get_columns_in_relation",
    "get_relation",
    "list_relations_without_caching",
];

/// Whether the node's SQL depends on what is in the warehouse, so that the
/// offline render (`execute` false, as in dbt's parse) is not the SQL that
/// will run: its own code, or a macro it called, reads `execute` or queries
/// the warehouse (dbt_utils' `star`, `unpivot`, `get_column_values`). Such
/// SQL is checked by the warehouse when it runs, not here.
fn known_only_at_run_time(input: &Input, node: &Node) -> bool {
    if crate::render::context::warehouse::is_connected() {
        return false;
    }
    let macros = &input.rendered.manifest.macros;
    std::iter::once(node.raw_code.as_str())
        .chain(
            node.depends_on_macros
                .iter()
                .filter_map(|id| macros.get(id))
                .map(|definition| definition.macro_sql.as_str()),
        )
        .any(mentions_introspection)
}

fn mentions_introspection(code: &str) -> bool {
    let is_word = |character: char| character.is_ascii_alphanumeric() || character == '_';
    INTROSPECTION.iter().any(|word| {
        code.match_indices(word).any(|(start, _)| {
            let before = code[..start].chars().next_back();
            let after = code[start + word.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    })
}

// ---------------------------------------------------------------------------
// SQL

/// Parses a node's compiled SQL (and, for an incremental model, its
/// incremental form). Returns the problems, and a model's inferred columns.
fn check_node_sql(
    input: &Input,
    dialect: &dyn Dialect,
    node: &Node,
    body: &str,
) -> (Vec<Diagnostic>, Option<InferredColumns>) {
    let mut problems = Vec::new();
    let columns = match sql::parse(dialect, body) {
        Ok(statements) => {
            problems.extend(check_statements(input, dialect, node, body, &statements, None));
            match (node.resource_type, statements.as_slice()) {
                (ResourceType::Model, [statement]) => sql::inferred_columns(statement),
                _ => None,
            }
        }
        Err(problem) => {
            problems.push(syntax_error(input, node, body, &problem, None));
            None
        }
    };
    if node.resource_type == ResourceType::Model && node.materialized() == "incremental" {
        const INCREMENTAL: &str = "when the model runs incrementally (`is_incremental()` is true)";
        match render::compile_node_raw(input.rendered, input.project, node, true) {
            Ok((incremental_body, _)) if incremental_body != body => match sql::parse(dialect, &incremental_body) {
                Ok(statements) => problems.extend(check_statements(
                    input,
                    dialect,
                    node,
                    &incremental_body,
                    &statements,
                    Some(INCREMENTAL),
                )),
                Err(problem) => problems.push(syntax_error(
                    input,
                    node,
                    &incremental_body,
                    &problem,
                    Some(INCREMENTAL),
                )),
            },
            Ok(_) => {}
            Err(diagnostic) => problems.push(diagnostic.note(format!("this happens {INCREMENTAL}"))),
        }
    }
    (problems, columns)
}

/// A model or test must be exactly one query.
fn check_statements(
    input: &Input,
    dialect: &dyn Dialect,
    node: &Node,
    body: &str,
    statements: &[Statement],
    when: Option<&str>,
) -> Vec<Diagnostic> {
    if !matches!(node.resource_type, ResourceType::Model | ResourceType::Test) {
        return Vec::new();
    }
    let kind = node.resource_type.as_str();
    let mut problem = match statements {
        // Offline, `execute` is false, and Jinja that reads the warehouse
        // (dbt_utils' `union_relations`, `get_column_values`) renders
        // nothing, as in dbt's parse: the SQL is known only when it runs.
        [] if node.raw_code.contains("{{") && !crate::render::context::warehouse::is_connected() => return Vec::new(),
        [] => Diagnostic::error(format!("{kind} `{}` has no SQL", node.name))
            .in_file(&node.original_file_path)
            .hint(format!("a {kind} is one `select` query")),
        [Statement::Query(_)] => return Vec::new(),
        [statement] => {
            let keyword = statement
                .to_string()
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_uppercase();
            let (line, column) = first_token(dialect, body).unwrap_or((1, 1));
            let mut problem = Diagnostic::error(format!(
                "{kind} `{}` is an `{keyword}` statement, not a query",
                node.name
            ));
            problem = point(input, node, body, (line, column, keyword.chars().count()), problem);
            problem.hint(format!(
                "a {kind} is one `select` query; dvt writes the statements that build it"
            ))
        }
        _ => {
            let (line, column) = sql::second_statement(dialect, body).unwrap_or((1, 1));
            let problem = Diagnostic::error(format!(
                "{kind} `{}` holds {} statements; it must be one query",
                node.name,
                statements.len()
            ));
            point(input, node, body, (line, column, 1), problem)
                .label("a second statement starts here")
                .hint("run other statements in a `pre-hook` or `post-hook`")
        }
    };
    if let Some(when) = when {
        problem = problem.note(format!("this happens {when}"));
    }
    vec![problem]
}

/// Words a typo most often mangles, for a did-you-mean.
const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "group",
    "order",
    "having",
    "limit",
    "join",
    "inner",
    "outer",
    "left",
    "right",
    "union",
    "intersect",
    "except",
    "distinct",
    "between",
    "partition",
    "over",
    "case",
    "when",
    "then",
    "else",
    "end",
    "with",
    "as",
    "on",
    "and",
    "or",
    "not",
    "null",
    "is",
    "in",
    "by",
    "cast",
    "coalesce",
    "exists",
];

fn syntax_error(input: &Input, node: &Node, body: &str, problem: &sql::SqlProblem, when: Option<&str>) -> Diagnostic {
    let diagnostic = Diagnostic::error(format!(
        "SQL syntax error in {} `{}`: {}",
        node.resource_type.as_str(),
        node.name,
        problem.message
    ));
    let mut diagnostic = point(
        input,
        node,
        body,
        (problem.line, problem.column, problem.length),
        diagnostic,
    );
    if let Some(when) = when {
        diagnostic = diagnostic.note(format!("this happens {when}"));
    }
    match typo(body, problem) {
        Some((word, keyword)) if diagnostic.label.is_none() => {
            diagnostic.label(format!("is `{word}` a typo for `{keyword}`?"))
        }
        Some((word, keyword)) => diagnostic.hint(format!("is `{word}` a typo for `{keyword}`?")),
        // The query stops short: not something a parser could misread.
        None if problem.message.ends_with("the end of the query") => diagnostic,
        None => diagnostic.hint(format!(
            "if this is valid {} SQL that dvt's parser does not know, set `static_analysis: off` in the {}'s config",
            dialect_name(input.adapter_type),
            node.resource_type.as_str()
        )),
    }
}

fn dialect_name(adapter_type: &str) -> &str {
    match adapter_type {
        "postgres" | "postgresql" => "PostgreSQL",
        "duckdb" => "DuckDB",
        "spark" => "Spark SQL",
        other => other,
    }
}

/// A misspelt keyword at or just before the problem: the word found there
/// (`selct`), or the word before it (`fro` in `select a fro t`, which reads
/// `fro` as an alias and stops at `t`).
fn typo(body: &str, problem: &sql::SqlProblem) -> Option<(String, &'static str)> {
    let line: Vec<char> = body.lines().nth(problem.line.saturating_sub(1))?.chars().collect();
    let start = problem.column.saturating_sub(1).min(line.len());
    let is_word = |character: &char| character.is_alphanumeric() || *character == '_';
    let at: String = line[start..]
        .iter()
        .take_while(|character| is_word(character))
        .collect();
    let before: String = {
        let head: Vec<char> = line[..start]
            .iter()
            .rev()
            .skip_while(|character| !is_word(character))
            .cloned()
            .collect();
        head.iter()
            .take_while(|character| is_word(character))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    };
    [at, before].into_iter().find_map(|word| {
        let lower = word.to_lowercase();
        if lower.len() < 3 || KEYWORDS.contains(&lower.as_str()) {
            return None;
        }
        let keyword = did_you_mean(&lower, KEYWORDS.iter().copied())?;
        (strsim::levenshtein(&lower, keyword) <= 2).then_some((word, keyword))
    })
}

/// The position of the first token that is not whitespace or a comment.
fn first_token(dialect: &dyn Dialect, body: &str) -> Option<(usize, usize)> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(dialect, body).tokenize_with_location().ok()?;
    tokens
        .into_iter()
        .find(|token| !matches!(token.token, Token::Whitespace(_)))
        .map(|token| (token.span.start.line as usize, token.span.start.column as usize))
}

/// Points `diagnostic` at the source of `(line, column, length)` in the
/// compiled `body` of `node`.
fn point(
    input: &Input,
    node: &Node,
    body: &str,
    (line, column, length): (usize, usize, usize),
    diagnostic: Diagnostic,
) -> Diagnostic {
    let compiled_line = body.lines().nth(line.saturating_sub(1)).unwrap_or_default().trim();
    let compiled_note = |diagnostic: Diagnostic| {
        if compiled_line.is_empty() {
            diagnostic
        } else {
            diagnostic.note(format!(
                "line {line} of the compiled SQL (target/{}): {compiled_line}",
                node.compiled_path()
            ))
        }
    };
    if node.test_metadata.is_some() {
        // A generic test's SQL comes from its macro: point at its entry.
        let Some(source) = input.project.schema_source(&node.original_file_path) else {
            return compiled_note(diagnostic.in_file(&node.original_file_path));
        };
        let location = test_location(input.rendered, node, source);
        return compiled_note(diagnostic.at(location, Some(source)));
    }
    let map = source_map::SourceMap::new(&node.raw_code, body);
    let Some(position) = map.position(line, column, length) else {
        return compiled_note(diagnostic.in_file(&node.original_file_path));
    };
    let diagnostic = diagnostic.at(
        Location::at(
            &node.original_file_path,
            position.line,
            position.column,
            position.length,
        ),
        Some(&node.raw_code),
    );
    if position.exact {
        diagnostic
    } else {
        compiled_note(diagnostic.label("the SQL generated here is where the problem is"))
    }
}

/// The line of a generic test's entry, with its name underlined.
fn test_location(rendered: &Rendered, node: &Node, source: &str) -> Location {
    let line = rendered.test_lines.get(&node.unique_id).copied().unwrap_or(0);
    let text = source.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let name = node
        .test_metadata
        .as_ref()
        .map(|metadata| metadata.name.as_str())
        .unwrap_or_default();
    match (line, text.find(name)) {
        (0, _) => Location::file(&node.original_file_path),
        (_, Some(offset)) if !name.is_empty() => Location::at(
            &node.original_file_path,
            line,
            text[..offset].chars().count() + 1,
            name.chars().count(),
        ),
        _ => {
            let indent = text.chars().take_while(|character| character.is_whitespace()).count();
            Location::at(&node.original_file_path, line, indent + 1, text.trim().chars().count())
        }
    }
}

// ---------------------------------------------------------------------------
// Config

fn check_config(input: &Input, node: &Node) -> Vec<Diagnostic> {
    // A `{% materialization %}` block of the project's makes its name valid.
    let custom = crate::render::materialization::find(input.rendered, node.materialized(), input.adapter_type);
    let mut problems = config::check(node.resource_type, &node.config);
    if node.resource_type == crate::manifest::ResourceType::Export {
        problems.extend((input.export_config)(&node.config));
    }
    problems
        .into_iter()
        .filter(|problem| !(problem.key == "materialized" && custom.is_some()))
        .map(|problem| {
            let value = node.config.get(problem.key).and_then(config::written);
            let mut diagnostic = Diagnostic::error(format!(
                "{} `{}`: {}",
                node.resource_type.as_str(),
                node.name,
                problem.message
            ));
            diagnostic = match locate_config(input, node, problem.key, value.as_deref()) {
                Some((location, source)) => diagnostic.at(location, Some(source)),
                None => diagnostic.in_file(&node.original_file_path),
            };
            if let Some(label) = problem.label {
                diagnostic = diagnostic.label(label);
            }
            diagnostic.hint(problem.hint)
        })
        .collect()
}

/// Where a config value was most likely set, in dbt's order of precedence:
/// the node's `config()` call, its schema YAML entry (or a generic test's
/// entry), then the project file.
fn locate_config<'a>(input: &'a Input, node: &'a Node, key: &str, value: Option<&str>) -> Option<(Location, &'a str)> {
    let project = input.project;
    if node.test_metadata.is_none() && node.raw_code.contains("config(") {
        if let Some((offset, length)) = find_assignment(&node.raw_code, key) {
            return Some((
                Location::from_offset(&node.original_file_path, &node.raw_code, offset, length),
                &node.raw_code,
            ));
        }
    }
    if node.test_metadata.is_some() {
        let source = project.schema_source(&node.original_file_path)?;
        let line = input.rendered.test_lines.get(&node.unique_id).copied().unwrap_or(1);
        let block = yaml_block(source, line);
        if let Some(found) = find_yaml_key(source, key, value, block) {
            return Some((
                Location::at(&node.original_file_path, found.0, found.1, found.2),
                source,
            ));
        }
    }
    if let Some(patch) = node.patch_path.as_deref() {
        let file = patch.split_once("://").map_or(patch, |(_, file)| file);
        if let Some(source) = project.schema_source(file) {
            if let Some((line, _)) = entry_line(source, &node.name) {
                if let Some(found) = find_yaml_key(source, key, value, yaml_block(source, line)) {
                    return Some((Location::at(file, found.0, found.1, found.2), source));
                }
            }
        }
    }
    let source = &project.config_source;
    let all = 1..source.lines().count() + 1;
    find_yaml_key(source, key, value, all).map(|found| {
        (
            Location::at(&project.config_file, found.0, found.1, found.2),
            source.as_str(),
        )
    })
}

/// `key=` or `key =` (not `==`) in a `config()` call: the byte offset and
/// length of the key.
fn find_assignment(source: &str, key: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = source[from..].find(key) {
        let start = from + found;
        let end = start + key.len();
        let before = source[..start].chars().next_back();
        let boundary = before.is_none_or(|character| !(character.is_alphanumeric() || character == '_'));
        let rest = source[end..].trim_start();
        if boundary && rest.starts_with('=') && !rest.starts_with("==") {
            return Some((start, key.len()));
        }
        from = end;
    }
    None
}

/// The line of `- name: <name>` with the least indentation: the entry of a
/// model rather than a column of the same name.
fn entry_line(source: &str, name: &str) -> Option<(usize, usize)> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            trimmed
                .strip_prefix("- name:")
                .map(|rest| rest.trim().trim_matches(['"', '\'']) == name)
                .unwrap_or(false)
        })
        .map(|(index, line)| (index + 1, line.len() - line.trim_start().len()))
        .min_by_key(|(_, indent)| *indent)
}

/// The lines of the YAML entry that starts at `line`: it and the lines
/// indented deeper below it.
fn yaml_block(source: &str, line: usize) -> std::ops::Range<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let Some(first) = lines.get(line.saturating_sub(1)) else {
        return line..line;
    };
    let indent_of = |text: &str| text.len() - text.trim_start().len();
    let item_indent = indent_of(first);
    let mut end = line;
    for (index, text) in lines.iter().enumerate().skip(line) {
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent_of(text) <= item_indent {
            break;
        }
        end = index + 1;
    }
    line..end + 1
}

/// `key:` or `+key:` within `lines` (1-based, end exclusive), preferring a
/// line whose value is `value`. Returns the line, the column and the length
/// of the value (or of the key).
fn find_yaml_key(
    source: &str,
    key: &str,
    value: Option<&str>,
    lines: std::ops::Range<usize>,
) -> Option<(usize, usize, usize)> {
    let mut first = None;
    for (index, text) in source.lines().enumerate() {
        let number = index + 1;
        if !lines.contains(&number) {
            continue;
        }
        let trimmed = text.trim_start().trim_start_matches("- ").trim_start();
        let Some(rest) = trimmed
            .strip_prefix('+')
            .unwrap_or(trimmed)
            .strip_prefix(key)
            .and_then(|rest| rest.trim_start().strip_prefix(':'))
        else {
            continue;
        };
        let written = rest.trim().trim_matches(['"', '\'']);
        let column_of = |needle: &str| text.find(needle).map_or(1, |offset| text[..offset].chars().count() + 1);
        if value.is_some_and(|value| written == value) && !written.is_empty() {
            return Some((number, column_of(rest.trim()), rest.trim().chars().count()));
        }
        if first.is_none() {
            first = Some((number, column_of(key), key.chars().count()));
        }
    }
    first
}

// ---------------------------------------------------------------------------
// Test columns

/// The columns a relation is known to have, and where they come from.
struct KnownColumns {
    names: Vec<String>,
    /// Some names may be missing (an unnamed expression in the `select`).
    complete: bool,
    /// How the names were found, for the note.
    origin: String,
}

/// A column that a relation lacks, where a schema file names it. Several
/// tests on one column give one warning.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct MissingColumn {
    file: String,
    line: usize,
    column_number: usize,
    length: usize,
    relation: String,
    column: String,
}

/// The tests that name a [`MissingColumn`], and what the warning says.
struct Naming {
    tests: Vec<String>,
    origin: String,
    suggestion: Option<String>,
}

fn check_test_columns(input: &Input, nodes: &[&Node], inferred: &HashMap<String, InferredColumns>) -> Vec<Diagnostic> {
    let mut missing: BTreeMap<MissingColumn, Naming> = BTreeMap::new();
    for node in nodes {
        let Some(metadata) = &node.test_metadata else { continue };
        let Some(attached) = node.attached_node.as_deref() else {
            continue;
        };
        let mut checks: Vec<(String, &str, &str)> = Vec::new();
        if let Some(column) = node.column_name.as_deref() {
            checks.push((attached.to_string(), column, "column_name"));
        }
        if metadata.name == "relationships" {
            let field = metadata.kwargs.get("field").and_then(Value::as_str);
            let others: Vec<&String> = node
                .depends_on_nodes
                .iter()
                .filter(|id| id.as_str() != attached)
                .collect();
            if let (Some(field), [other]) = (field, others.as_slice()) {
                checks.push(((*other).clone(), field, "field"));
            }
        }
        for (relation_id, column, key) in checks {
            let Some(wanted) = sql::column_key(column) else {
                continue;
            };
            let Some(known) = known_columns(input, &relation_id, inferred) else {
                continue;
            };
            if known
                .names
                .iter()
                .any(|name| name.to_lowercase() == wanted.to_lowercase())
                || !known.complete
            {
                continue;
            }
            let Some(source) = input.project.schema_source(&node.original_file_path) else {
                continue;
            };
            let test_line = input.rendered.test_lines.get(&node.unique_id).copied().unwrap_or(0);
            let (line, column_number, length) =
                column_in_yaml(source, test_line, column, key).unwrap_or((test_line, 1, 1));
            let relation_name = relation_name(input, &relation_id);
            let suggestion = did_you_mean(&wanted, known.names.iter().map(String::as_str)).map(str::to_owned);
            let key = MissingColumn {
                file: node.original_file_path.clone(),
                line,
                column_number,
                length,
                relation: relation_name,
                column: column.to_string(),
            };
            missing
                .entry(key)
                .or_insert_with(|| Naming {
                    tests: Vec::new(),
                    origin: known.origin.clone(),
                    suggestion,
                })
                .tests
                .push(node.name.clone());
        }
    }
    missing
        .into_iter()
        .map(
            |(
                MissingColumn {
                    file,
                    line,
                    column_number,
                    length,
                    relation,
                    column,
                },
                Naming {
                    tests,
                    origin,
                    suggestion,
                },
            )| {
                let source = input.project.schema_source(&file);
                let names = tests
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let subject = if tests.len() == 1 {
                    format!("test {names}")
                } else {
                    format!("tests {names}")
                };
                let mut diagnostic = Diagnostic::warning(format!(
                    "`{relation}` has no column `{column}`, which {subject} {}",
                    if tests.len() == 1 { "checks" } else { "check" }
                ));
                diagnostic = if line > 0 {
                    diagnostic.at(Location::at(&file, line, column_number, length), source)
                } else {
                    diagnostic.in_file(&file)
                };
                diagnostic = match suggestion {
                    Some(suggestion) => diagnostic.label(format!("did you mean `{suggestion}`?")),
                    None => diagnostic,
                };
                diagnostic
                    .note(origin)
                    .hint("the test would fail in the warehouse; fix the column name, or the model")
            },
        )
        .collect()
}

/// The columns of a model (inferred, else declared), a seed (its header)
/// or a source (declared).
fn known_columns(input: &Input, id: &str, inferred: &HashMap<String, InferredColumns>) -> Option<KnownColumns> {
    let manifest = &input.rendered.manifest;
    if let Some(node) = manifest.nodes.get(id) {
        if let Some(columns) = inferred.get(id) {
            return Some(KnownColumns {
                names: columns.names.clone(),
                complete: columns.complete,
                origin: format!(
                    "the columns of `{}` are those its final `select` returns, in {}",
                    node.name, node.original_file_path
                ),
            });
        }
        if node.resource_type == ResourceType::Seed {
            if let Some(names) = seed_header(input.project, node) {
                return Some(KnownColumns {
                    names,
                    complete: true,
                    origin: format!(
                        "the columns of `{}` are the header of {}",
                        node.name, node.original_file_path
                    ),
                });
            }
        }
        return declared(&node.columns, &node.name, node.patch_path.as_deref());
    }
    let source = manifest.sources.get(id)?;
    declared(
        &source.columns,
        &format!("{}.{}", source.source_name, source.name),
        Some(&source.original_file_path),
    )
}

fn declared(columns: &BTreeMap<String, Column>, name: &str, file: Option<&str>) -> Option<KnownColumns> {
    if columns.is_empty() {
        return None;
    }
    let file = file.map(|file| file.split_once("://").map_or(file, |(_, file)| file));
    Some(KnownColumns {
        names: columns.keys().cloned().collect(),
        complete: true,
        origin: format!(
            "the columns of `{name}` are those declared under `columns:`{}",
            file.map(|file| format!(" in {file}")).unwrap_or_default()
        ),
    })
}

fn relation_name(input: &Input, id: &str) -> String {
    let manifest = &input.rendered.manifest;
    manifest
        .nodes
        .get(id)
        .map(|node| node.name.clone())
        .or_else(|| {
            manifest
                .sources
                .get(id)
                .map(|source| format!("{}.{}", source.source_name, source.name))
        })
        .unwrap_or_else(|| id.to_string())
}

/// The column names in a seed's header row.
fn seed_header(project: &Project, node: &Node) -> Option<Vec<String>> {
    let seed = project
        .files
        .seeds
        .iter()
        .find(|seed| seed.path == node.original_file_path)?;
    let delimiter = node
        .config_str("delimiter")
        .and_then(|text| text.bytes().next())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(&seed.absolute_path)
        .ok()?;
    let headers = reader.headers().ok()?;
    Some(headers.iter().map(|name| name.trim().to_string()).collect())
}

/// Where a test's column is written: `column_name: x` or `field: x` in the
/// test's own entry, or else the `- name: x` of the column the test is
/// declared under. Returns the line, column and length of the name.
fn column_in_yaml(source: &str, test_line: usize, column: &str, key: &str) -> Option<(usize, usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let value_of = |text: &str, wanted_key: &str| -> Option<usize> {
        let trimmed = text.trim_start().trim_start_matches("- ").trim_start();
        let rest = trimmed.strip_prefix(wanted_key)?.trim_start().strip_prefix(':')?;
        (rest.trim().trim_matches(['"', '\'']) == column).then(|| {
            let offset = text.rfind(column).unwrap_or(0);
            text[..offset].chars().count() + 1
        })
    };
    if test_line > 0 {
        let block = yaml_block(source, test_line);
        for number in block {
            if let Some(found) = lines.get(number - 1).and_then(|text| value_of(text, key)) {
                return Some((number, found, column.chars().count()));
            }
        }
    }
    if key == "column_name" {
        for number in (1..=test_line.min(lines.len())).rev() {
            if let Some(found) = value_of(lines[number - 1], "name") {
                return Some((number, found, column.chars().count()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introspection_is_found_as_a_word() {
        assert!(mentions_introspection(
            "{% if not execute %}{{ return('') }}{% endif %}"
        ));
        assert!(mentions_introspection(
            "{%- set cols = adapter.get_columns_in_relation(from) -%}"
        ));
        assert!(mentions_introspection("{% set results = run_query(sql) %}"));
        assert!(!mentions_introspection(
            "select executed_at, statement_id from {{ ref('log') }}"
        ));
        assert!(!mentions_introspection("select 1"));
    }

    #[test]
    fn finds_config_assignments_not_comparisons() {
        let source = "{{ config(materialized = 'table', tags=['a']) }}\n{% if x.materialized == 'view' %}";
        assert_eq!(find_assignment(source, "materialized"), Some((10, 12)));
        assert_eq!(find_assignment(source, "tags"), Some((34, 4)));
        assert_eq!(find_assignment("select unmaterialized = 1", "materialized"), None);
    }

    #[test]
    fn yaml_keys_are_found_within_an_entry() {
        let source = "models:\n  - name: a\n    config:\n      materialized: tabel\n  - name: b\n    config:\n      materialized: view\n";
        let (line, _) = entry_line(source, "b").expect("entry b");
        assert_eq!(line, 5);
        assert_eq!(
            find_yaml_key(source, "materialized", Some("view"), yaml_block(source, line)),
            Some((7, 21, 4))
        );
        let (line, _) = entry_line(source, "a").expect("entry a");
        assert_eq!(yaml_block(source, line), 2..5);
        assert_eq!(
            find_yaml_key(source, "materialized", Some("tabel"), yaml_block(source, line)),
            Some((4, 21, 5))
        );
    }

    #[test]
    fn a_column_test_points_at_the_column_name() {
        let source =
            "models:\n  - name: orders\n    columns:\n      - name: custmer_id\n        tests:\n          - not_null\n";
        assert_eq!(
            column_in_yaml(source, 6, "custmer_id", "column_name"),
            Some((4, 15, 10))
        );
        let source = "models:\n  - name: orders\n    tests:\n      - relationships:\n          to: ref('customers')\n          field: idd\n";
        assert_eq!(column_in_yaml(source, 4, "idd", "field"), Some((6, 18, 3)));
    }

    #[test]
    fn keyword_typos_are_recognised() {
        let problem = sql::SqlProblem {
            message: String::new(),
            line: 2,
            column: 5,
            length: 9,
        };
        assert_eq!(
            typo("select id\nfro customers", &problem),
            Some(("fro".to_string(), "from"))
        );
        let problem = sql::SqlProblem {
            message: String::new(),
            line: 1,
            column: 1,
            length: 5,
        };
        assert_eq!(typo("selct 1", &problem), Some(("selct".to_string(), "select")));
        assert_eq!(
            typo(
                "select a b c",
                &sql::SqlProblem {
                    message: String::new(),
                    line: 1,
                    column: 12,
                    length: 1
                }
            ),
            None
        );
    }
}
