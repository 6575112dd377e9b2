//! Node selection: dbt's `--select` / `--exclude` syntax over a generic node list.
//!
//! This module owns the selector grammar (methods, graph operators, unions and
//! intersections) and its evaluation against a [`SelectionGraph`], a plain
//! adjacency list by node index. It does not know about manifests, DAG building
//! or execution order: callers turn their own nodes into [`SelectableNode`]s,
//! call [`select`], and decide what to do with the resulting indices (warn when
//! a selector matched nothing, order them topologically, and so on).
//!
//! The grammar, as dbt users know it:
//!
//! - Each `--select` value holds space-separated selectors, and they form a
//!   union, as do several `--select` values. No `--select` at all means every
//!   node. `--exclude` uses the same syntax and is subtracted at the end.
//! - Inside one selector, a comma means intersection: `tag:marts,config.materialized:table`.
//! - A criterion is `[@][n]+` `[method:]value` `+[n]`. Without a method the value
//!   is a path if it contains `/`, a file name if it ends in `.sql`, `.py` or
//!   `.csv`, and otherwise a fully qualified name or a node name (globs allowed).
//!
//! - Methods: `fqn`, `tag`, `path`, `file`, `source`, `resource_type`,
//!   `config.<key>`, `package`, `exposure`, `test_type` and `state`. Adding one
//!   is a variant, an arm in `SelectorMethod::from_name` and an arm in `Matcher`.
//! - `state:` reads each node's [`SelectableNode::state`], which the caller fills
//!   from comparing with another manifest (`--state`, see [`crate::state`]):
//!   `state:new`, `state:old`, `state:unmodified`, `state:modified` and
//!   `state:modified.<kind>`. As in dbt, `state:modified` includes new nodes.
//!   Without a comparison it is an error.
//!
//! Like dbt, `fqn` matching (and so a bare name) never selects sources; use
//! `source:` for them. Two small additions to dbt only ever select more:
//! `stg_*` also matches node names, and `marts.k?i` matches a folder segment.
//! Indirect selection (pulling in the tests of selected models) is the caller's
//! job, as it depends on the command being run.

use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

use crate::state::{Change, Modification};

/// One node as selection sees it, independent of how the rest of dvt models nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectableNode {
    /// `model.pkg.name`, `seed.pkg.name`, `source.pkg.source.table`, ...
    pub unique_id: String,
    /// The node name; for sources, the table name.
    pub name: String,
    /// `model`, `seed`, `source`, `test`, `exposure`, `analysis`, `snapshot` or `export`.
    pub resource_type: String,
    pub package_name: String,
    /// Fully qualified name: `[package, folders..., name]`; for sources `[package, source, table]`.
    pub fqn: Vec<String>,
    /// Path relative to the package root, with forward slashes.
    pub original_file_path: String,
    pub tags: Vec<String>,
    pub materialized: Option<String>,
    /// The source a source node belongs to.
    pub source_name: Option<String>,
    /// The full config object, searched by `config.<key>:<value>`.
    pub config: serde_json::Value,
    /// How the node compares with the `--state` manifest; `None` without `--state`.
    pub state: Option<Change>,
    /// Whether the source was loaded since the `--state` run's
    /// `sources.json` (`source_status:fresher`); `None` when not compared.
    pub fresher: Option<bool>,
    /// For a model version, where it stands against its model's latest one.
    pub version: Option<VersionRank>,
}

/// What `version:` selects: dbt's `latest`, `prerelease` (after the latest)
/// and `old` (before it); `none` is a node with no version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRank {
    Latest,
    Prerelease,
    Old,
}

/// The nodes and their edges, by index into `nodes`.
#[derive(Debug, Clone, Copy)]
pub struct SelectionGraph<'a> {
    pub nodes: &'a [SelectableNode],
    /// `parents[i]` lists the nodes that node `i` depends on.
    pub parents: &'a [Vec<usize>],
    /// `children[i]` lists the nodes that depend on node `i`.
    pub children: &'a [Vec<usize>],
}

/// Errors from parsing or evaluating a selector.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    #[error("empty selector: expected something like `fct_rental` or `tag:nightly`")]
    EmptySelector,

    #[error("empty term in selector `{selector}`: a comma must sit between two selectors")]
    EmptyTerm { selector: String },

    #[error("selector `{term}` has nothing to select: expected a name or `method:value`")]
    MissingValue { term: String },

    #[error("selector `{term}` has an empty method before `:`")]
    MissingMethod { term: String },

    #[error(
        "unexpected `{operator}` in selector `{term}`\n\
         hint: graph operators go at the start (`+x`, `2+x`, `@x`) or the end (`x+`, `x+2`)"
    )]
    MisplacedOperator { term: String, operator: char },

    #[error("unknown version `{value}` in selector `{term}`\nhint: use `version:latest`, `version:prerelease`, `version:old` or `version:none`")]
    UnknownVersion { value: String, term: String },

    #[error("selector `{term}` combines `@` with a leading `+`; use one or the other")]
    AtWithParents { term: String },

    #[error("depth `{depth}` in selector `{term}` is too large")]
    DepthTooLarge { term: String, depth: String },

    #[error("unknown selector method `{method}` in `{term}`\n{}", method_hint(.suggestion.as_deref()))]
    UnknownMethod {
        method: String,
        term: String,
        suggestion: Option<String>,
    },

    #[error("selector method `{method}` takes no `.` arguments, in `{term}`")]
    UnexpectedArguments { method: String, term: String },

    #[error("selector `{term}` needs a config key, as in `config.materialized:table`")]
    MissingConfigKey { term: String },

    #[error(
        "invalid source selector `{term}`\n\
         hint: expected `source:<source>`, `source:<source>.<table>` or `source:<package>.<source>.<table>`"
    )]
    InvalidSource { term: String },

    #[error(
        "invalid exposure selector `{term}`\n\
         hint: expected `exposure:<name>` or `exposure:<package>.<name>`"
    )]
    InvalidExposure { term: String },

    #[error("unknown resource type `{value}` in `{term}`\n{}", value_hint(.suggestion.as_deref(), RESOURCE_TYPES))]
    UnknownResourceType {
        value: String,
        term: String,
        suggestion: Option<String>,
    },

    #[error("unknown test type `{value}` in `{term}`\nhint: expected `generic` or `singular`")]
    UnknownTestType { value: String, term: String },

    #[error("invalid pattern `{pattern}` in selector `{term}`")]
    InvalidPattern {
        pattern: String,
        term: String,
        #[source]
        source: globset::Error,
    },

    #[error(
        "selector `{term}` compares with another run, but no `--state` was given\n\
         hint: pass the target directory of that run, as in `--state prod/ --select {term}`"
    )]
    StateNeedsState { term: String },

    #[error(
        "selector `{term}` compares this run's target/sources.json with another run's, but no `--state` was given\n\
         hint: run `dvt source freshness`, then pass the directory holding the other run's sources.json, as in `--state prod/ --select {term}`"
    )]
    SourceStatusNeedsState { term: String },

    #[error("unknown source status `{value}` in `{term}`\nhint: the one source status is `fresher`")]
    UnknownSourceStatus { value: String, term: String },

    #[error("unknown state `{value}` in `{term}`\n{}", value_hint(.suggestion.as_deref(), STATE_VALUES))]
    UnknownState {
        value: String,
        term: String,
        suggestion: Option<String>,
    },

    #[error(
        "selection graph is inconsistent: `{nodes}` nodes but `{parents}` parent lists and `{children}` child lists"
    )]
    GraphShape {
        nodes: usize,
        parents: usize,
        children: usize,
    },

    #[error("selection graph is inconsistent: node `{node}` has an edge to `{neighbor}`, which is out of range")]
    EdgeOutOfRange { node: usize, neighbor: usize },
}

impl SelectorError {
    /// The part of the selector the error is about, to point at it.
    pub fn term(&self) -> Option<&str> {
        match self {
            SelectorError::EmptyTerm { selector: term }
            | SelectorError::MissingValue { term }
            | SelectorError::MissingMethod { term }
            | SelectorError::MisplacedOperator { term, .. }
            | SelectorError::AtWithParents { term }
            | SelectorError::DepthTooLarge { term, .. }
            | SelectorError::UnknownMethod { term, .. }
            | SelectorError::UnexpectedArguments { term, .. }
            | SelectorError::MissingConfigKey { term }
            | SelectorError::InvalidSource { term }
            | SelectorError::InvalidExposure { term }
            | SelectorError::UnknownResourceType { term, .. }
            | SelectorError::UnknownTestType { term, .. }
            | SelectorError::UnknownVersion { term, .. }
            | SelectorError::SourceStatusNeedsState { term }
            | SelectorError::UnknownSourceStatus { term, .. }
            | SelectorError::InvalidPattern { term, .. }
            | SelectorError::StateNeedsState { term }
            | SelectorError::UnknownState { term, .. } => Some(term),
            SelectorError::EmptySelector | SelectorError::GraphShape { .. } | SelectorError::EdgeOutOfRange { .. } => {
                None
            }
        }
    }
}

fn method_hint(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(suggestion) => format!("hint: did you mean `{suggestion}`?"),
        None => format!("hint: valid methods are {}", backticked_list(METHOD_NAMES)),
    }
}

fn value_hint(suggestion: Option<&str>, valid: &[&str]) -> String {
    match suggestion {
        Some(suggestion) => format!("hint: did you mean `{suggestion}`?"),
        None => format!("hint: expected one of {}", backticked_list(valid)),
    }
}

fn backticked_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate to `input`, compared in lower case
/// ([`crate::diagnostic::did_you_mean`]).
fn did_you_mean(input: &str, candidates: &[&str]) -> Option<String> {
    crate::diagnostic::did_you_mean(&input.to_ascii_lowercase(), candidates.iter().copied()).map(str::to_owned)
}

/// Every method name the parser accepts; used for did-you-mean hints.
/// Keep in step with [`SelectorMethod::from_name`] (a test checks it).
const METHOD_NAMES: &[&str] = &[
    "fqn",
    "tag",
    "path",
    "file",
    "source",
    "resource_type",
    "config",
    "package",
    "exposure",
    "test_type",
    "state",
    "version",
    "source_status",
];

/// Resource types `resource_type:` accepts: dvt's own plus the rest of dbt's, so a
/// dbt selector naming a type dvt lacks selects nothing rather than failing.
const RESOURCE_TYPES: &[&str] = &[
    "model",
    "seed",
    "source",
    "test",
    "exposure",
    "analysis",
    "snapshot",
    "export",
    "metric",
    "semantic_model",
    "saved_query",
    "unit_test",
    "operation",
];

const TEST_TYPES: &[&str] = &["generic", "singular", "schema", "data", "unit"];

/// Values `state:` accepts; keep in step with [`StateValue::parse`].
const STATE_VALUES: &[&str] = &[
    "new",
    "old",
    "unmodified",
    "modified",
    "modified.body",
    "modified.configs",
    "modified.macros",
    "modified.contract",
    "modified.relation",
];

/// What a `state:` criterion matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateValue {
    /// Not in the other manifest.
    New,
    /// In the other manifest, changed or not.
    Old,
    Unmodified,
    /// Changed in any way, or in one way only. As in dbt, new nodes count as
    /// modified in every way.
    Modified(Option<Modification>),
}

impl StateValue {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "new" => Self::New,
            "old" => Self::Old,
            "unmodified" => Self::Unmodified,
            "modified" => Self::Modified(None),
            _ => Self::Modified(Some(Modification::parse(value.strip_prefix("modified.")?)?)),
        })
    }

    fn matches(self, change: &Change) -> bool {
        match (self, change) {
            (Self::New, Change::New) => true,
            (Self::Old, Change::Modified(_) | Change::Unchanged) => true,
            (Self::Unmodified, Change::Unchanged) => true,
            (Self::Modified(_), Change::New) => true,
            (Self::Modified(None), Change::Modified(_)) => true,
            (Self::Modified(Some(kind)), Change::Modified(modifications)) => modifications.contains(&kind),
            _ => false,
        }
    }
}

/// How far a graph operator reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// `+x` / `x+`: every ancestor or descendant.
    Unlimited,
    /// `n+x` / `x+n`: at most `n` edges away.
    Generations(usize),
}

/// The property a criterion matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorMethod {
    /// `fqn:` and bare names: fqn prefix or pattern (project name optional), or a node name.
    Fqn,
    Tag,
    /// A file or folder relative to the project root.
    Path,
    /// A file name, with or without its extension.
    File,
    Source,
    ResourceType,
    /// `config.<key>[.<key>...]:value`; holds the keys.
    Config(Vec<String>),
    Package,
    Exposure,
    TestType,
    /// Compares with another run; evaluating it needs `--state`.
    State,
    /// A model version's rank: `latest`, `prerelease`, `old` or `none`.
    Version,
    /// `source_status:fresher`: compares this run's `sources.json` with the `--state` run's.
    SourceStatus,
}

impl SelectorMethod {
    /// The method for `name` with its `.`-separated `arguments`; adding a method is one arm here.
    fn from_name(name: &str, arguments: Vec<String>, term: &str) -> Result<Self, SelectorError> {
        let method = match name {
            "fqn" => Self::Fqn,
            "tag" => Self::Tag,
            "path" => Self::Path,
            "file" => Self::File,
            "source" => Self::Source,
            "resource_type" => Self::ResourceType,
            "package" => Self::Package,
            "exposure" => Self::Exposure,
            "test_type" => Self::TestType,
            "state" => Self::State,
            "version" => Self::Version,
            "source_status" => Self::SourceStatus,
            "config" if arguments.is_empty() || arguments.iter().any(String::is_empty) => {
                return Err(SelectorError::MissingConfigKey { term: term.to_string() })
            }
            "config" => return Ok(Self::Config(arguments)),
            _ => {
                return Err(SelectorError::UnknownMethod {
                    method: name.to_string(),
                    term: term.to_string(),
                    suggestion: did_you_mean(name, METHOD_NAMES),
                })
            }
        };
        if !arguments.is_empty() {
            return Err(SelectorError::UnexpectedArguments {
                method: name.to_string(),
                term: term.to_string(),
            });
        }
        Ok(method)
    }

    /// The method as written in a selector, such as `tag` or `config.materialized`.
    pub fn name(&self) -> String {
        match self {
            Self::Fqn => "fqn".to_string(),
            Self::Tag => "tag".to_string(),
            Self::Path => "path".to_string(),
            Self::File => "file".to_string(),
            Self::Source => "source".to_string(),
            Self::ResourceType => "resource_type".to_string(),
            Self::Config(keys) => format!("config.{}", keys.join(".")),
            Self::Package => "package".to_string(),
            Self::Exposure => "exposure".to_string(),
            Self::TestType => "test_type".to_string(),
            Self::State => "state".to_string(),
            Self::Version => "version".to_string(),
            Self::SourceStatus => "source_status".to_string(),
        }
    }
}

/// One criterion: a method and value, with optional graph operators around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionCriteria {
    pub method: SelectorMethod,
    pub value: String,
    /// `+x` or `n+x`.
    pub parents: Option<Depth>,
    /// `x+` or `x+n`.
    pub children: Option<Depth>,
    /// `@x`: x, its descendants, and every ancestor of those.
    pub childrens_parents: bool,
}

/// Comma-separated criteria that must all match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionIntersection {
    pub criteria: Vec<SelectionCriteria>,
}

/// Space-separated selectors, any of which may match: one `--select` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionUnion {
    pub intersections: Vec<SelectionIntersection>,
}

impl fmt::Display for SelectionCriteria {
    /// The canonical spelling, with the method always written out.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.childrens_parents {
            formatter.write_str("@")?;
        }
        match self.parents {
            Some(Depth::Unlimited) => formatter.write_str("+")?,
            Some(Depth::Generations(depth)) => write!(formatter, "{depth}+")?,
            None => {}
        }
        write!(formatter, "{}:{}", self.method.name(), self.value)?;
        match self.children {
            Some(Depth::Unlimited) => formatter.write_str("+"),
            Some(Depth::Generations(depth)) => write!(formatter, "+{depth}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for SelectionIntersection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, criteria) in self.criteria.iter().enumerate() {
            if index > 0 {
                formatter.write_str(",")?;
            }
            write!(formatter, "{criteria}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SelectionUnion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, intersection) in self.intersections.iter().enumerate() {
            if index > 0 {
                formatter.write_str(" ")?;
            }
            write!(formatter, "{intersection}")?;
        }
        Ok(())
    }
}

/// A selection as a tree, as YAML selectors write one (`crate::selectors`):
/// CLI-syntax terms, combined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One `--select` value.
    Terms(String),
    Union(Vec<Expr>),
    Intersection(Vec<Expr>),
    /// The first, without the second.
    Difference(Box<Expr>, Box<Expr>),
}

/// The indices of the nodes `expression` selects.
pub fn select_expression(graph: &SelectionGraph, expression: &Expr) -> Result<BTreeSet<usize>, SelectorError> {
    check_graph(graph)?;
    let chosen = evaluate_expression(graph, expression)?;
    Ok(chosen
        .iter()
        .enumerate()
        .filter_map(|(index, keep)| keep.then_some(index))
        .collect())
}

fn evaluate_expression(graph: &SelectionGraph, expression: &Expr) -> Result<Vec<bool>, SelectorError> {
    let combine = |members: &[Expr], start: bool, all: bool| -> Result<Vec<bool>, SelectorError> {
        let mut combined = vec![start; graph.nodes.len()];
        for member in members {
            let mut matched = evaluate_expression(graph, member)?;
            // As in a CLI intersection, each member brings its tests first.
            if all && members.len() > 1 {
                add_attached_tests(graph, &mut matched);
            }
            for (keep, matched) in combined.iter_mut().zip(matched) {
                *keep = if all { *keep && matched } else { *keep || matched };
            }
        }
        Ok(combined)
    };
    match expression {
        Expr::Terms(text) => evaluate_union(graph, &compile_arguments(std::slice::from_ref(text))?),
        Expr::Union(members) => combine(members, false, false),
        Expr::Intersection(members) if members.is_empty() => Ok(vec![false; graph.nodes.len()]),
        Expr::Intersection(members) => combine(members, true, true),
        Expr::Difference(kept, removed) => {
            let mut chosen = evaluate_expression(graph, kept)?;
            for (keep, remove) in chosen.iter_mut().zip(evaluate_expression(graph, removed)?) {
                *keep &= !remove;
            }
            Ok(chosen)
        }
    }
}

/// Parse one `--select` / `--exclude` value, validating methods, values and patterns.
pub fn parse(selector: &str) -> Result<SelectionUnion, SelectorError> {
    let union = parse_union(selector)?;
    for criteria in union
        .intersections
        .iter()
        .flat_map(|intersection| &intersection.criteria)
    {
        Matcher::compile(criteria)?;
    }
    Ok(union)
}

/// The indices of the nodes selected by `select` (everything when empty) minus `exclude`.
///
/// A selector that matches nothing is not an error; the result is then empty
/// and the caller decides whether to warn. A blank argument (`--select ""`) is
/// an error, unlike an empty `select` slice.
pub fn select(graph: &SelectionGraph, select: &[String], exclude: &[String]) -> Result<BTreeSet<usize>, SelectorError> {
    check_graph(graph)?;
    let selected = compile_arguments(select)?;
    let excluded = compile_arguments(exclude)?;

    let mut chosen = if select.is_empty() {
        vec![true; graph.nodes.len()]
    } else {
        evaluate_union(graph, &selected)?
    };
    if !excluded.is_empty() {
        let removed = evaluate_union(graph, &excluded)?;
        for (keep, remove) in chosen.iter_mut().zip(removed) {
            *keep &= !remove;
        }
    }
    Ok(chosen
        .iter()
        .enumerate()
        .filter_map(|(index, keep)| keep.then_some(index))
        .collect())
}

fn check_graph(graph: &SelectionGraph) -> Result<(), SelectorError> {
    let count = graph.nodes.len();
    if graph.parents.len() != count || graph.children.len() != count {
        return Err(SelectorError::GraphShape {
            nodes: count,
            parents: graph.parents.len(),
            children: graph.children.len(),
        });
    }
    for (node, neighbors) in graph.parents.iter().chain(graph.children).enumerate() {
        if let Some(&neighbor) = neighbors.iter().find(|&&neighbor| neighbor >= count) {
            return Err(SelectorError::EdgeOutOfRange {
                node: node % count,
                neighbor,
            });
        }
    }
    Ok(())
}

/// Every intersection from every argument, compiled; the arguments form one union.
fn compile_arguments(arguments: &[String]) -> Result<Vec<Vec<CompiledCriteria>>, SelectorError> {
    let mut compiled = Vec::new();
    for argument in arguments {
        for intersection in parse_union(argument)?.intersections {
            let criteria = intersection
                .criteria
                .into_iter()
                .map(|criteria| {
                    Ok(CompiledCriteria {
                        matcher: Matcher::compile(&criteria)?,
                        criteria,
                    })
                })
                .collect::<Result<Vec<_>, SelectorError>>()?;
            compiled.push(criteria);
        }
    }
    Ok(compiled)
}

fn parse_union(selector: &str) -> Result<SelectionUnion, SelectorError> {
    let intersections = selector
        .split_whitespace()
        .map(|intersection| {
            let criteria = intersection
                .split(',')
                .map(|term| {
                    if term.is_empty() {
                        Err(SelectorError::EmptyTerm {
                            selector: intersection.to_string(),
                        })
                    } else {
                        parse_criteria(term)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SelectionIntersection { criteria })
        })
        .collect::<Result<Vec<_>, SelectorError>>()?;
    if intersections.is_empty() {
        return Err(SelectorError::EmptySelector);
    }
    Ok(SelectionUnion { intersections })
}

fn parse_depth(digits: &str, term: &str) -> Result<Depth, SelectorError> {
    if digits.is_empty() {
        return Ok(Depth::Unlimited);
    }
    digits
        .parse()
        .map(Depth::Generations)
        .map_err(|_| SelectorError::DepthTooLarge {
            term: term.to_string(),
            depth: digits.to_string(),
        })
}

/// Parse `[@][n]+[method:]value+[n]`.
fn parse_criteria(term: &str) -> Result<SelectionCriteria, SelectorError> {
    let mut rest = term;

    let childrens_parents = match rest.strip_prefix('@') {
        Some(stripped) => {
            rest = stripped;
            true
        }
        None => false,
    };

    let digits_end = rest
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(rest.len());
    let mut parents = None;
    if rest[digits_end..].starts_with('+') {
        if childrens_parents {
            return Err(SelectorError::AtWithParents { term: term.to_string() });
        }
        parents = Some(parse_depth(&rest[..digits_end], term)?);
        rest = &rest[digits_end + 1..];
    }

    let without_digits = rest.trim_end_matches(|character: char| character.is_ascii_digit());
    let mut children = None;
    if let Some(value) = without_digits.strip_suffix('+') {
        children = Some(parse_depth(&rest[without_digits.len()..], term)?);
        rest = value;
    }

    if let Some(operator) = rest.chars().find(|character| matches!(character, '+' | '@')) {
        return Err(SelectorError::MisplacedOperator {
            term: term.to_string(),
            operator,
        });
    }

    let (method, value) = match rest.split_once(':') {
        Some(("", _)) => return Err(SelectorError::MissingMethod { term: term.to_string() }),
        Some((method, value))
            if method
                .chars()
                .all(|character| character.is_alphanumeric() || matches!(character, '_' | '.')) =>
        {
            let mut parts = method.split('.');
            let name = parts.next().unwrap_or_default();
            let arguments: Vec<String> = parts.map(str::to_string).collect();
            (SelectorMethod::from_name(name, arguments, term)?, value)
        }
        _ => (default_method(rest), rest),
    };

    if value.is_empty() {
        return Err(SelectorError::MissingValue { term: term.to_string() });
    }
    validate_value(&method, value, term)?;

    Ok(SelectionCriteria {
        method,
        value: value.to_string(),
        parents,
        children,
        childrens_parents,
    })
}

/// dbt's choice for a value written without a method.
fn default_method(value: &str) -> SelectorMethod {
    if value.contains('/') || value.contains('\\') {
        SelectorMethod::Path
    } else if [".sql", ".py", ".csv"]
        .iter()
        .any(|extension| value.to_ascii_lowercase().ends_with(extension))
    {
        SelectorMethod::File
    } else {
        SelectorMethod::Fqn
    }
}

fn validate_value(method: &SelectorMethod, value: &str, term: &str) -> Result<(), SelectorError> {
    match method {
        SelectorMethod::Source if value.split('.').count() > 3 => {
            Err(SelectorError::InvalidSource { term: term.to_string() })
        }
        SelectorMethod::Exposure if value.split('.').count() > 2 => {
            Err(SelectorError::InvalidExposure { term: term.to_string() })
        }
        SelectorMethod::ResourceType if !RESOURCE_TYPES.contains(&value) => Err(SelectorError::UnknownResourceType {
            value: value.to_string(),
            term: term.to_string(),
            suggestion: did_you_mean(value, RESOURCE_TYPES),
        }),
        SelectorMethod::TestType if !TEST_TYPES.contains(&value) => Err(SelectorError::UnknownTestType {
            value: value.to_string(),
            term: term.to_string(),
        }),
        SelectorMethod::SourceStatus if value != "fresher" => Err(SelectorError::UnknownSourceStatus {
            value: value.to_string(),
            term: term.to_string(),
        }),
        SelectorMethod::State if StateValue::parse(value).is_none() => Err(SelectorError::UnknownState {
            value: value.to_string(),
            term: term.to_string(),
            suggestion: did_you_mean(value, STATE_VALUES),
        }),
        _ => Ok(()),
    }
}

/// A string pattern with fnmatch semantics (`*`, `?`, `[abc]`), compiled once.
#[derive(Debug, Clone)]
enum Pattern {
    Any,
    Exact(String),
    /// `text*`, `*text` and `*text*`: the common shapes, matched without a regex.
    Prefix(String),
    Suffix(String),
    Contains(String),
    Glob(GlobMatcher),
}

impl Pattern {
    /// A pattern where `*` also crosses `.` and `/`, as in Python's `fnmatch`.
    fn new(pattern: &str, term: &str) -> Result<Self, SelectorError> {
        Self::build(pattern, term, false)
    }

    /// A pattern where `*` stops at `/`, as in `Path.glob`; `**` crosses folders.
    fn path(pattern: &str, term: &str) -> Result<Self, SelectorError> {
        Self::build(pattern, term, true)
    }

    fn build(pattern: &str, term: &str, literal_separator: bool) -> Result<Self, SelectorError> {
        if pattern == "*" && !literal_separator {
            return Ok(Self::Any);
        }
        if !has_wildcard(pattern) {
            return Ok(Self::Exact(pattern.to_string()));
        }
        if !literal_separator && !pattern.contains(['?', '[', '\\']) {
            let inner = pattern.trim_matches('*');
            if !inner.contains('*') {
                let leading = pattern.starts_with('*');
                let trailing = pattern.ends_with('*');
                return Ok(match (leading, trailing) {
                    (true, true) => Self::Contains(inner.to_string()),
                    (true, false) => Self::Suffix(inner.to_string()),
                    _ => Self::Prefix(inner.to_string()),
                });
            }
        }
        // fnmatch has no `{a,b}` alternation, so braces are literal.
        let escaped = pattern.replace('{', "[{]").replace('}', "[}]");
        GlobBuilder::new(&escaped)
            .literal_separator(literal_separator)
            .backslash_escape(true)
            .build()
            .map(|glob| Self::Glob(glob.compile_matcher()))
            .map_err(|source| SelectorError::InvalidPattern {
                pattern: pattern.to_string(),
                term: term.to_string(),
                source,
            })
    }

    fn matches(&self, candidate: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(expected) => expected == candidate,
            Self::Prefix(prefix) => candidate.starts_with(prefix.as_str()),
            Self::Suffix(suffix) => candidate.ends_with(suffix.as_str()),
            Self::Contains(inner) => candidate.contains(inner.as_str()),
            Self::Glob(matcher) => matcher.is_match(candidate),
        }
    }
}

fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// dbt's fqn matching: an exact leaf name, or `.`-separated parts matching a
/// prefix of the fqn, switching to a pattern over the rest at the first wildcard.
/// Two additions to dbt, both only ever selecting more: a wildcard part also
/// matches a single fqn segment (so `marts.k?i` selects the `kpi` folder), and a
/// dot-free pattern also matches node names (so `stg_*` finds `staging/stg_x`).
#[derive(Debug, Clone)]
struct FqnPattern {
    selector: String,
    /// One pattern per `.`-separated part, matched segment by segment.
    parts: Vec<Pattern>,
    /// Index of the first part holding a wildcard, with the pattern for the rest.
    wildcard: Option<(usize, Pattern)>,
    /// For a dot-free pattern such as `stg_*`, also match the node name.
    name: Option<Pattern>,
}

impl FqnPattern {
    fn new(selector: &str, term: &str) -> Result<Self, SelectorError> {
        let texts: Vec<&str> = selector.split('.').collect();
        let wildcard = match texts.iter().position(|part| has_wildcard(part)) {
            Some(index) => Some((index, Pattern::new(&texts[index..].join("."), term)?)),
            None => None,
        };
        let parts = texts
            .iter()
            .map(|part| Pattern::new(part, term))
            .collect::<Result<Vec<_>, _>>()?;
        let name = if parts.len() == 1 && wildcard.is_some() {
            Some(Pattern::new(selector, term)?)
        } else {
            None
        };
        Ok(Self {
            selector: selector.to_string(),
            parts,
            wildcard,
            name,
        })
    }

    fn matches(&self, node: &SelectableNode) -> bool {
        if node.resource_type == "source" {
            return false;
        }
        self.matches_fqn(&node.fqn)
            || node
                .fqn
                .split_first()
                .is_some_and(|(_package, unscoped)| self.matches_fqn(unscoped))
            || self.name.as_ref().is_some_and(|pattern| pattern.matches(&node.name))
    }

    fn matches_fqn(&self, fqn: &[String]) -> bool {
        if fqn.last() == Some(&self.selector) {
            return true;
        }
        // Dots inside fqn segments act as separators too.
        let flat = || fqn.iter().flat_map(|segment| segment.split('.'));
        if flat().count() < self.parts.len() {
            return false;
        }
        // Part by part against a prefix of the fqn: `marts.core`, `marts.k?i`.
        if flat().zip(&self.parts).all(|(segment, part)| part.matches(segment)) {
            return true;
        }
        // dbt's rule from the first wildcard on: the rest of the fqn, joined
        // with dots, must match the rest of the selector, so `marts.*` reaches
        // any depth.
        let Some((index, pattern)) = &self.wildcard else {
            return false;
        };
        flat()
            .zip(&self.parts[..*index])
            .all(|(segment, part)| part.matches(segment))
            && pattern.matches(&join_dotted(flat().skip(*index)))
    }
}

fn join_dotted<'a>(segments: impl Iterator<Item = &'a str>) -> String {
    let mut joined = String::with_capacity(64);
    for segment in segments {
        if !joined.is_empty() {
            joined.push('.');
        }
        joined.push_str(segment);
    }
    joined
}

/// A folder or file pattern; a node matches if its path or any parent folder does.
#[derive(Debug, Clone)]
struct PathPattern {
    /// `None` for the project root (`path:.`), which holds everything.
    pattern: Option<Pattern>,
}

impl PathPattern {
    fn new(selector: &str, term: &str) -> Result<Self, SelectorError> {
        let normalized = normalize_path(selector);
        let pattern = if normalized.is_empty() || normalized == "." {
            None
        } else {
            Some(Pattern::path(&normalized, term)?)
        };
        Ok(Self { pattern })
    }

    fn matches(&self, node: &SelectableNode) -> bool {
        let Some(pattern) = &self.pattern else {
            return true;
        };
        let path = normalize_path(&node.original_file_path);
        pattern.matches(&path)
            || path
                .match_indices('/')
                .any(|(index, _)| pattern.matches(&path[..index]))
    }
}

/// Forward slashes, no leading `./`, no trailing `/`; borrows in the common case.
fn normalize_path(path: &str) -> Cow<'_, str> {
    if path.contains('\\') {
        Cow::Owned(trim_path(&path.replace('\\', "/")).to_string())
    } else {
        Cow::Borrowed(trim_path(path))
    }
}

fn trim_path(mut path: &str) -> &str {
    while let Some(stripped) = path.strip_prefix("./") {
        path = stripped;
    }
    path.trim_end_matches('/')
}

/// A criterion's method and value, ready to test nodes.
#[derive(Debug, Clone)]
enum Matcher {
    Fqn(FqnPattern),
    Tag(Pattern),
    Path(PathPattern),
    File(Pattern),
    Source {
        package: Pattern,
        source: Pattern,
        table: Pattern,
    },
    ResourceType(String),
    Config {
        keys: Vec<String>,
        value: String,
    },
    Package(Pattern),
    Exposure {
        package: Pattern,
        name: Pattern,
    },
    TestType(&'static [&'static str]),
    State(StateValue),
    /// `version:`; `None` selects the nodes that have no version.
    Version(Option<VersionRank>),
    SourceFresher,
}

impl Matcher {
    fn compile(criteria: &SelectionCriteria) -> Result<Self, SelectorError> {
        let term = criteria.to_string();
        let value = criteria.value.as_str();
        Ok(match &criteria.method {
            SelectorMethod::Fqn => Self::Fqn(FqnPattern::new(value, &term)?),
            SelectorMethod::Tag => Self::Tag(Pattern::new(value, &term)?),
            SelectorMethod::Path => Self::Path(PathPattern::new(value, &term)?),
            SelectorMethod::File => Self::File(Pattern::new(value, &term)?),
            SelectorMethod::Source => {
                let parts: Vec<&str> = value.split('.').collect();
                let (package, source, table) = match parts.as_slice() {
                    [source] => ("*", *source, "*"),
                    [source, table] => ("*", *source, *table),
                    [package, source, table] => (*package, *source, *table),
                    _ => return Err(SelectorError::InvalidSource { term }),
                };
                Self::Source {
                    package: Pattern::new(package, &term)?,
                    source: Pattern::new(source, &term)?,
                    table: Pattern::new(table, &term)?,
                }
            }
            SelectorMethod::ResourceType => Self::ResourceType(value.to_string()),
            SelectorMethod::Config(keys) => Self::Config {
                keys: keys.clone(),
                value: value.to_string(),
            },
            SelectorMethod::Package => Self::Package(Pattern::new(value, &term)?),
            SelectorMethod::Exposure => {
                let (package, name) = match value.split_once('.') {
                    Some((package, name)) => (package, name),
                    None => ("*", value),
                };
                Self::Exposure {
                    package: Pattern::new(package, &term)?,
                    name: Pattern::new(name, &term)?,
                }
            }
            SelectorMethod::TestType => Self::TestType(match value {
                "generic" | "schema" => &["generic"],
                "singular" => &["singular"],
                "data" => &["generic", "singular"],
                "unit" => &["unit"],
                _ => {
                    return Err(SelectorError::UnknownTestType {
                        value: value.to_string(),
                        term,
                    })
                }
            }),
            SelectorMethod::Version => Self::Version(match value {
                "latest" => Some(VersionRank::Latest),
                "prerelease" => Some(VersionRank::Prerelease),
                "old" => Some(VersionRank::Old),
                "none" => None,
                _ => {
                    return Err(SelectorError::UnknownVersion {
                        value: value.to_string(),
                        term,
                    })
                }
            }),
            SelectorMethod::SourceStatus => Self::SourceFresher,
            SelectorMethod::State => match StateValue::parse(value) {
                Some(state) => Self::State(state),
                None => {
                    return Err(SelectorError::UnknownState {
                        value: value.to_string(),
                        term,
                        suggestion: did_you_mean(value, STATE_VALUES),
                    })
                }
            },
        })
    }

    fn matches(&self, node: &SelectableNode) -> bool {
        match self {
            Self::Fqn(pattern) => pattern.matches(node),
            Self::Tag(pattern) => node.tags.iter().any(|tag| pattern.matches(tag)),
            Self::Path(pattern) => pattern.matches(node),
            Self::File(pattern) => {
                let path = normalize_path(&node.original_file_path);
                let file_name = path.rsplit('/').next().unwrap_or_default();
                let stem = file_name.rsplit_once('.').map_or(file_name, |(stem, _extension)| stem);
                pattern.matches(file_name) || pattern.matches(stem)
            }
            Self::Source { package, source, table } => {
                node.resource_type == "source"
                    && package.matches(&node.package_name)
                    && node.source_name.as_deref().is_some_and(|name| source.matches(name))
                    && table.matches(&node.name)
            }
            Self::ResourceType(resource_type) => node.resource_type == *resource_type,
            Self::Config { keys, value } => config_matches(node, keys, value),
            Self::Package(pattern) => pattern.matches(&node.package_name),
            Self::Exposure { package, name } => {
                node.resource_type == "exposure" && package.matches(&node.package_name) && name.matches(&node.name)
            }
            Self::TestType(test_types) => {
                matches!(node.resource_type.as_str(), "test" | "unit_test")
                    && node
                        .config
                        .get("test_type")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|test_type| test_types.contains(&test_type))
            }
            Self::State(state) => node.state.as_ref().is_some_and(|change| state.matches(change)),
            Self::Version(rank) => node.resource_type == "model" && node.version == *rank,
            Self::SourceFresher => node.fresher == Some(true),
        }
    }
}

fn config_matches(node: &SelectableNode, keys: &[String], expected: &str) -> bool {
    let mut current = Some(&node.config);
    for key in keys {
        current = current.and_then(|value| value.get(key));
    }
    // Cheap to build a node with `materialized` set but an empty config; honour it.
    let fallback;
    if current.is_none() && keys == ["materialized"] {
        fallback = node.materialized.clone().map(serde_json::Value::String);
        current = fallback.as_ref();
    }
    // dbt compares test severity without regard to case.
    let case_insensitive = keys == ["severity"];
    match current {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .any(|item| scalar_matches(item, expected, case_insensitive)),
        Some(serde_json::Value::Object(map)) => map.contains_key(expected),
        Some(value) => scalar_matches(value, expected, case_insensitive),
        None => false,
    }
}

fn scalar_matches(value: &serde_json::Value, expected: &str, case_insensitive: bool) -> bool {
    match value {
        serde_json::Value::String(text) if case_insensitive => text.eq_ignore_ascii_case(expected),
        serde_json::Value::String(text) => text == expected,
        serde_json::Value::Bool(flag) => expected.eq_ignore_ascii_case(&flag.to_string()),
        serde_json::Value::Number(number) => number.to_string() == expected,
        _ => false,
    }
}

struct CompiledCriteria {
    criteria: SelectionCriteria,
    matcher: Matcher,
}

fn evaluate_union(graph: &SelectionGraph, intersections: &[Vec<CompiledCriteria>]) -> Result<Vec<bool>, SelectorError> {
    let mut union = vec![false; graph.nodes.len()];
    for intersection in intersections {
        let mut combined: Option<Vec<bool>> = None;
        for compiled in intersection {
            let mut matched = evaluate_criteria(graph, compiled)?;
            if intersection.len() > 1 {
                add_attached_tests(graph, &mut matched);
            }
            combined = Some(match combined {
                None => matched,
                Some(mut so_far) => {
                    for (keep, matched) in so_far.iter_mut().zip(matched) {
                        *keep &= matched;
                    }
                    so_far
                }
            });
        }
        for (selected, matched) in union.iter_mut().zip(combined.unwrap_or_default()) {
            *selected |= matched;
        }
    }
    Ok(union)
}

/// Adds the tests and unit tests on the matched nodes. dbt's eager indirect
/// selection expands each criterion before an intersection combines them,
/// so `orders,test_type:unit` selects the unit tests of `orders`; a lone
/// criterion's tests are added later, by the plan.
fn add_attached_tests(graph: &SelectionGraph, matched: &mut [bool]) {
    let tests: Vec<usize> = matched
        .iter()
        .enumerate()
        .filter(|(_, selected)| **selected)
        .flat_map(|(index, _)| graph.children[index].iter().copied())
        .filter(|child| matches!(graph.nodes[*child].resource_type.as_str(), "test" | "unit_test"))
        .collect();
    for test in tests {
        matched[test] = true;
    }
}

fn evaluate_criteria(graph: &SelectionGraph, compiled: &CompiledCriteria) -> Result<Vec<bool>, SelectorError> {
    if matches!(compiled.matcher, Matcher::State(_)) && graph.nodes.iter().any(|node| node.state.is_none()) {
        return Err(SelectorError::StateNeedsState {
            term: compiled.criteria.to_string(),
        });
    }
    if matches!(compiled.matcher, Matcher::SourceFresher) && graph.nodes.iter().any(|node| node.fresher.is_none()) {
        return Err(SelectorError::SourceStatusNeedsState {
            term: compiled.criteria.to_string(),
        });
    }
    let direct: Vec<usize> = graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(index, node)| compiled.matcher.matches(node).then_some(index))
        .collect();

    let criteria = &compiled.criteria;
    let mut selected = vec![false; graph.nodes.len()];
    for &index in &direct {
        selected[index] = true;
    }
    if let Some(depth) = criteria.parents {
        reach(graph.parents, &direct, depth, &mut selected);
    }
    if let Some(depth) = criteria.children {
        reach(graph.children, &direct, depth, &mut selected);
    }
    if criteria.childrens_parents {
        let mut descendants = vec![false; graph.nodes.len()];
        reach(graph.children, &direct, Depth::Unlimited, &mut descendants);
        let mut roots: Vec<usize> = descendants
            .iter()
            .enumerate()
            .filter_map(|(index, reached)| reached.then_some(index))
            .collect();
        roots.extend(&direct);
        reach(graph.parents, &roots, Depth::Unlimited, &mut selected);
        for (keep, descendant) in selected.iter_mut().zip(descendants) {
            *keep |= descendant;
        }
    }
    Ok(selected)
}

/// Breadth-first walk along `edges` from `starts`, marking every node within
/// `depth` steps (the starts themselves are not marked).
fn reach(edges: &[Vec<usize>], starts: &[usize], depth: Depth, marked: &mut [bool]) {
    let limit = match depth {
        Depth::Unlimited => usize::MAX,
        Depth::Generations(generations) => generations,
    };
    let mut visited = vec![false; edges.len()];
    let mut queue: VecDeque<(usize, usize)> = VecDeque::new();
    for &start in starts {
        if !visited[start] {
            visited[start] = true;
            queue.push_back((start, 0));
        }
    }
    while let Some((node, distance)) = queue.pop_front() {
        if distance >= limit {
            continue;
        }
        for &next in &edges[node] {
            if !visited[next] {
                visited[next] = true;
                marked[next] = true;
                queue.push_back((next, distance + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insta::assert_snapshot;
    use serde_json::json;

    struct Fixture {
        nodes: Vec<SelectableNode>,
        parents: Vec<Vec<usize>>,
        children: Vec<Vec<usize>>,
    }

    impl Fixture {
        fn graph(&self) -> SelectionGraph<'_> {
            SelectionGraph {
                nodes: &self.nodes,
                parents: &self.parents,
                children: &self.children,
            }
        }
    }

    struct Spec {
        resource_type: &'static str,
        package: &'static str,
        fqn: &'static [&'static str],
        path: &'static str,
        tags: &'static [&'static str],
        config: serde_json::Value,
        parents: &'static [&'static str],
    }

    fn node(resource_type: &'static str, fqn: &'static [&'static str], path: &'static str) -> Spec {
        Spec {
            resource_type,
            package: "dvdrental",
            fqn,
            path,
            tags: &[],
            config: json!({}),
            parents: &[],
        }
    }

    impl Spec {
        fn tags(mut self, tags: &'static [&'static str]) -> Self {
            self.tags = tags;
            self
        }
        fn config(mut self, config: serde_json::Value) -> Self {
            self.config = config;
            self
        }
        fn parents(mut self, parents: &'static [&'static str]) -> Self {
            self.parents = parents;
            self
        }
        fn package(mut self, package: &'static str) -> Self {
            self.package = package;
            self
        }
    }

    /// seeds -> staging -> marts -> kpi, with a source, tests, an exposure,
    /// an analysis, a snapshot, an export and a model from another package.
    fn fixture() -> Fixture {
        let specs = vec![
            node("seed", &["dvdrental", "raw_rental"], "seeds/raw_rental.csv"),
            node("seed", &["dvdrental", "raw_customer"], "seeds/raw_customer.csv"),
            node(
                "source",
                &["dvdrental", "events", "rental_events"],
                "models/staging/sources.yml",
            )
            .tags(&["kafka"]),
            node(
                "source",
                &["dvdrental", "events", "payment_events"],
                "models/staging/sources.yml",
            )
            .tags(&["kafka"]),
            node(
                "model",
                &["dvdrental", "staging", "stg_rental"],
                "models/staging/stg_rental.sql",
            )
            .tags(&["staging"])
            .config(json!({"materialized": "view", "enabled": true}))
            .parents(&["raw_rental", "rental_events"]),
            node(
                "model",
                &["dvdrental", "staging", "stg_customer"],
                "models/staging/stg_customer.sql",
            )
            .tags(&["staging"])
            .config(json!({"materialized": "view"}))
            .parents(&["raw_customer"]),
            node(
                "model",
                &["dvdrental", "staging", "stg_payment"],
                "models/staging/stg_payment.sql",
            )
            .tags(&["staging", "finance"])
            .config(json!({"materialized": "view"}))
            .parents(&["payment_events"]),
            node(
                "model",
                &["dvdrental", "marts", "core", "fct_rental"],
                "models/marts/core/fct_rental.sql",
            )
            .tags(&["marts"])
            .config(json!({
                "materialized": "table",
                "cluster_by": ["rental_date", "customer_id"],
                "meta": {"owner": "analytics", "tier": 1},
            }))
            .parents(&["stg_rental", "stg_customer"]),
            node(
                "model",
                &["dvdrental", "marts", "core", "dim_customer"],
                "models/marts/core/dim_customer.sql",
            )
            .tags(&["marts"])
            .config(json!({"materialized": "table"}))
            .parents(&["stg_customer"]),
            node(
                "model",
                &["dvdrental", "marts", "finance", "fct_payment"],
                "models/marts/finance/fct_payment.sql",
            )
            .tags(&["marts", "finance"])
            .config(json!({"materialized": "incremental"}))
            .parents(&["stg_payment", "dim_customer"]),
            node(
                "model",
                &["dvdrental", "marts", "kpi", "kpi_monthly"],
                "models/marts/kpi/kpi_monthly.sql",
            )
            .tags(&["kpi"])
            .config(json!({"materialized": "table", "enabled": false}))
            .parents(&["fct_rental", "fct_payment"]),
            node(
                "test",
                &["dvdrental", "marts", "core", "not_null_fct_rental_rental_id"],
                "models/marts/core/schema.yml",
            )
            .config(json!({"test_type": "generic", "severity": "ERROR"}))
            .parents(&["fct_rental"]),
            node(
                "test",
                &["dvdrental", "assert_positive_payments"],
                "tests/assert_positive_payments.sql",
            )
            .config(json!({"test_type": "singular", "severity": "warn"}))
            .parents(&["fct_payment"]),
            node("test", &["dvdrental", "legacy_check"], "tests/legacy_check.sql").parents(&["stg_rental"]),
            node("exposure", &["dvdrental", "weekly_dashboard"], "models/exposures.yml").parents(&["kpi_monthly"]),
            node(
                "analysis",
                &["dvdrental", "rental_trends"],
                "analyses/rental_trends.sql",
            )
            .parents(&["fct_rental"]),
            node(
                "snapshot",
                &["dvdrental", "customer_snapshot"],
                "snapshots/customer_snapshot.sql",
            )
            .parents(&["stg_customer"]),
            node("export", &["dvdrental", "rental_export"], "models/exports.yml").parents(&["fct_rental"]),
            node("model", &["calendar", "date_spine"], "models/date_spine.sql")
                .package("calendar")
                .config(json!({"materialized": "ephemeral"})),
        ];

        let names: Vec<&str> = specs.iter().map(|spec| *spec.fqn.last().unwrap()).collect();
        let index_of = |name: &str| names.iter().position(|candidate| *candidate == name).unwrap();
        let parents: Vec<Vec<usize>> = specs
            .iter()
            .map(|spec| spec.parents.iter().map(|parent| index_of(parent)).collect())
            .collect();
        let mut children = vec![Vec::new(); specs.len()];
        for (child, node_parents) in parents.iter().enumerate() {
            for &parent in node_parents {
                children[parent].push(child);
            }
        }
        let nodes = specs
            .into_iter()
            .map(|spec| {
                let name = spec.fqn.last().unwrap().to_string();
                let is_source = spec.resource_type == "source";
                let unique_id = if is_source {
                    format!("source.{}.{}.{}", spec.package, spec.fqn[1], name)
                } else {
                    format!("{}.{}.{}", spec.resource_type, spec.package, name)
                };
                SelectableNode {
                    unique_id,
                    name,
                    resource_type: spec.resource_type.to_string(),
                    package_name: spec.package.to_string(),
                    fqn: spec.fqn.iter().map(|part| part.to_string()).collect(),
                    original_file_path: spec.path.to_string(),
                    tags: spec.tags.iter().map(|tag| tag.to_string()).collect(),
                    materialized: spec
                        .config
                        .get("materialized")
                        .and_then(|value| value.as_str())
                        .map(str::to_string),
                    source_name: is_source.then(|| spec.fqn[1].to_string()),
                    config: spec.config,
                    state: None,
                    version: None,
                    fresher: None,
                }
            })
            .collect();
        Fixture {
            nodes,
            parents,
            children,
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    fn run(select_args: &[&str], exclude_args: &[&str]) -> Result<Vec<String>, SelectorError> {
        let fixture = fixture();
        let selected = select(&fixture.graph(), &strings(select_args), &strings(exclude_args))?;
        Ok(selected
            .into_iter()
            .map(|index| fixture.nodes[index].name.clone())
            .collect())
    }

    /// Names of the nodes selected, in index order.
    fn names(select_args: &[&str]) -> Vec<String> {
        run(select_args, &[]).unwrap()
    }

    /// Unique ids, one per line, for snapshots.
    fn unique_ids(select_args: &[&str], exclude_args: &[&str]) -> String {
        let fixture = fixture();
        let selected = select(&fixture.graph(), &strings(select_args), &strings(exclude_args)).unwrap();
        selected
            .into_iter()
            .map(|index| fixture.nodes[index].unique_id.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn error(select_args: &[&str]) -> String {
        match run(select_args, &[]) {
            Ok(selected) => panic!("expected an error, selected {selected:?}"),
            Err(error) => error.to_string(),
        }
    }

    // Parsing ----------------------------------------------------------------

    #[test]
    fn parse_reads_operators_methods_and_depths() {
        let union = parse("2+tag:nightly+3").unwrap();
        assert_eq!(
            union,
            SelectionUnion {
                intersections: vec![SelectionIntersection {
                    criteria: vec![SelectionCriteria {
                        method: SelectorMethod::Tag,
                        value: "nightly".to_string(),
                        parents: Some(Depth::Generations(2)),
                        children: Some(Depth::Generations(3)),
                        childrens_parents: false,
                    }],
                }],
            }
        );
    }

    #[test]
    fn parse_describes_selectors_canonically() {
        let union = parse(
            "+fct_rental+ @stg_rental models/staging kpi.sql config.meta.owner:analytics,tag:marts state:modified",
        )
        .unwrap();
        assert_snapshot!(union, @"+fqn:fct_rental+ @fqn:stg_rental path:models/staging file:kpi.sql config.meta.owner:analytics,tag:marts state:modified");
    }

    #[test]
    fn every_listed_method_name_parses() {
        for method in METHOD_NAMES {
            let selector = match *method {
                "config" => "config.materialized:table".to_string(),
                "resource_type" => "resource_type:model".to_string(),
                "test_type" => "test_type:generic".to_string(),
                "state" => "state:modified".to_string(),
                "version" => "version:latest".to_string(),
                "source_status" => "source_status:fresher".to_string(),
                _ => format!("{method}:x"),
            };
            let union = parse(&selector).unwrap();
            assert!(union.to_string().starts_with(method), "{selector}");
        }
    }

    #[test]
    fn parse_validates_patterns() {
        assert!(matches!(parse("tag:[abc"), Err(SelectorError::InvalidPattern { .. })));
    }

    // Everything, names, fqn -------------------------------------------------

    #[test]
    fn empty_select_means_everything() {
        let fixture = fixture();
        let selected = select(&fixture.graph(), &[], &[]).unwrap();
        assert_eq!(selected.len(), fixture.nodes.len());
    }

    #[test]
    fn bare_name_selects_one_node() {
        assert_eq!(names(&["fct_rental"]), ["fct_rental"]);
    }

    #[test]
    fn bare_name_never_selects_sources_like_dbt() {
        assert!(names(&["rental_events"]).is_empty());
        assert_eq!(names(&["source:events.rental_events"]), ["rental_events"]);
    }

    #[test]
    fn fqn_prefix_with_and_without_project_name() {
        let staging = ["stg_rental", "stg_customer", "stg_payment"];
        assert_eq!(names(&["dvdrental.staging"]), staging);
        assert_eq!(names(&["staging"]), staging);
        assert_eq!(names(&["fqn:staging"]), staging);
        assert_eq!(
            names(&["marts.core"]),
            ["fct_rental", "dim_customer", "not_null_fct_rental_rental_id"]
        );
    }

    #[test]
    fn fqn_prefix_respects_segment_boundaries() {
        assert!(names(&["mart"]).is_empty());
        assert!(names(&["dvdrental.stag"]).is_empty());
    }

    #[test]
    fn fqn_wildcards() {
        assert_eq!(
            names(&["marts.core.*"]),
            ["fct_rental", "dim_customer", "not_null_fct_rental_rental_id"]
        );
        assert_eq!(names(&["marts.*.fct_*"]), ["fct_rental", "fct_payment"]);
        assert_eq!(names(&["dvdrental.marts.k?i"]), ["kpi_monthly"]);
        assert_eq!(names(&["marts.*"]).len(), 5);
        assert_eq!(
            names(&["marts.*"]),
            names(&["marts"]),
            "a trailing star reaches every depth"
        );
        assert_eq!(names(&["marts.*.kpi_monthly"]), ["kpi_monthly"]);
        assert_eq!(names(&["*.fct_payment"]), ["fct_payment"]);
    }

    #[test]
    fn name_wildcards() {
        assert_eq!(names(&["stg_*"]), ["stg_rental", "stg_customer", "stg_payment"]);
        assert_eq!(names(&["*_customer"]), ["raw_customer", "stg_customer", "dim_customer"]);
        assert_eq!(names(&["stg_[cp]*"]), ["stg_customer", "stg_payment"]);
    }

    #[test]
    fn star_selects_every_node_but_sources() {
        let fixture = fixture();
        let all = names(&["*"]);
        assert_eq!(all.len(), fixture.nodes.len() - 2);
        assert!(!all.contains(&"rental_events".to_string()));
    }

    #[test]
    fn bare_project_name_selects_the_package() {
        assert_eq!(names(&["calendar"]), ["date_spine"]);
    }

    // Paths and files ----------------------------------------------------------

    #[test]
    fn path_folder_selects_everything_under_it() {
        assert_eq!(
            names(&["path:models/staging"]),
            [
                "rental_events",
                "payment_events",
                "stg_rental",
                "stg_customer",
                "stg_payment"
            ]
        );
        assert_eq!(names(&["models/marts/kpi/"]), ["kpi_monthly"]);
        assert_eq!(names(&["./models/marts/kpi"]), ["kpi_monthly"]);
    }

    #[test]
    fn path_matches_on_folder_boundaries() {
        assert!(names(&["path:models/mart"]).is_empty());
        assert!(names(&["path:models/staging/stg"]).is_empty());
    }

    #[test]
    fn path_file() {
        assert_eq!(names(&["models/marts/core/fct_rental.sql"]), ["fct_rental"]);
        assert_eq!(names(&["path:seeds/raw_rental.csv"]), ["raw_rental"]);
    }

    #[test]
    fn path_globs() {
        assert_eq!(names(&["path:models/marts/*/fct_*.sql"]), ["fct_rental", "fct_payment"]);
        assert_eq!(names(&["path:models/*/kpi"]), ["kpi_monthly"]);
        assert_eq!(names(&["path:tests/*"]), ["assert_positive_payments", "legacy_check"]);
    }

    #[test]
    fn path_dot_is_the_whole_project() {
        let fixture = fixture();
        assert_eq!(names(&["path:."]).len(), fixture.nodes.len());
    }

    #[test]
    fn file_by_name_or_stem() {
        assert_eq!(names(&["fct_rental.sql"]), ["fct_rental"]);
        assert_eq!(names(&["file:kpi_monthly"]), ["kpi_monthly"]);
        assert_eq!(names(&["file:sources.yml"]), ["rental_events", "payment_events"]);
    }

    // Other methods ----------------------------------------------------------

    #[test]
    fn tag_exact_and_glob() {
        assert_eq!(names(&["tag:finance"]), ["stg_payment", "fct_payment"]);
        assert_eq!(names(&["tag:k*"]), ["rental_events", "payment_events", "kpi_monthly"]);
    }

    #[test]
    fn source_by_source_table_and_package() {
        assert_eq!(names(&["source:events"]), ["rental_events", "payment_events"]);
        assert_eq!(names(&["source:events.rental_events"]), ["rental_events"]);
        assert_eq!(names(&["source:dvdrental.events.rental_events"]), ["rental_events"]);
        assert_eq!(names(&["source:events.*_events"]), ["rental_events", "payment_events"]);
        assert!(names(&["source:calendar.events.rental_events"]).is_empty());
        assert!(names(&["source:other"]).is_empty());
    }

    #[test]
    fn source_with_children_snapshot() {
        assert_snapshot!(unique_ids(&["source:events.payment_events+"], &[]), @r"
        source.dvdrental.events.payment_events
        model.dvdrental.stg_payment
        model.dvdrental.fct_payment
        model.dvdrental.kpi_monthly
        test.dvdrental.assert_positive_payments
        exposure.dvdrental.weekly_dashboard
        ");
    }

    #[test]
    fn resource_type() {
        assert_eq!(names(&["resource_type:seed"]), ["raw_rental", "raw_customer"]);
        assert_eq!(names(&["resource_type:exposure"]), ["weekly_dashboard"]);
        assert_eq!(names(&["resource_type:analysis"]), ["rental_trends"]);
        assert_eq!(names(&["resource_type:snapshot"]), ["customer_snapshot"]);
        assert_eq!(names(&["resource_type:export"]), ["rental_export"]);
        assert!(names(&["resource_type:metric"]).is_empty());
    }

    #[test]
    fn config_materialized() {
        assert_eq!(
            names(&["config.materialized:table"]),
            ["fct_rental", "dim_customer", "kpi_monthly"]
        );
        assert_eq!(names(&["config.materialized:incremental"]), ["fct_payment"]);
    }

    #[test]
    fn config_materialized_falls_back_to_the_node_field() {
        let mut fixture = fixture();
        let index = fixture
            .nodes
            .iter()
            .position(|node| node.name == "dim_customer")
            .unwrap();
        fixture.nodes[index].config = json!({});
        fixture.nodes[index].materialized = Some("table".to_string());
        let selected = select(&fixture.graph(), &strings(&["config.materialized:table"]), &[]).unwrap();
        assert!(selected.contains(&index));
    }

    #[test]
    fn config_arrays_nested_keys_booleans_and_numbers() {
        assert_eq!(names(&["config.cluster_by:customer_id"]), ["fct_rental"]);
        assert_eq!(names(&["config.meta.owner:analytics"]), ["fct_rental"]);
        assert_eq!(names(&["config.meta:owner"]), ["fct_rental"]);
        assert_eq!(names(&["config.meta.tier:1"]), ["fct_rental"]);
        assert_eq!(names(&["config.enabled:false"]), ["kpi_monthly"]);
        assert_eq!(names(&["config.enabled:True"]), ["stg_rental"]);
        assert!(names(&["config.missing:x"]).is_empty());
    }

    #[test]
    fn config_severity_ignores_case() {
        assert_eq!(names(&["config.severity:error"]), ["not_null_fct_rental_rental_id"]);
        assert_eq!(names(&["config.severity:WARN"]), ["assert_positive_payments"]);
    }

    #[test]
    fn package() {
        assert_eq!(names(&["package:calendar"]), ["date_spine"]);
        assert_eq!(names(&["package:cal*"]), ["date_spine"]);
    }

    #[test]
    fn exposure_and_its_ancestors() {
        assert_eq!(names(&["exposure:weekly_dashboard"]), ["weekly_dashboard"]);
        assert_eq!(names(&["exposure:dvdrental.weekly_*"]), ["weekly_dashboard"]);
        assert_snapshot!(unique_ids(&["+exposure:weekly_dashboard"], &[]), @r"
        seed.dvdrental.raw_rental
        seed.dvdrental.raw_customer
        source.dvdrental.events.rental_events
        source.dvdrental.events.payment_events
        model.dvdrental.stg_rental
        model.dvdrental.stg_customer
        model.dvdrental.stg_payment
        model.dvdrental.fct_rental
        model.dvdrental.dim_customer
        model.dvdrental.fct_payment
        model.dvdrental.kpi_monthly
        exposure.dvdrental.weekly_dashboard
        ");
    }

    #[test]
    fn test_type_uses_config_and_skips_tests_without_it() {
        assert_eq!(names(&["test_type:generic"]), ["not_null_fct_rental_rental_id"]);
        assert_eq!(names(&["test_type:schema"]), ["not_null_fct_rental_rental_id"]);
        assert_eq!(names(&["test_type:singular"]), ["assert_positive_payments"]);
        assert_eq!(
            names(&["test_type:data"]),
            ["not_null_fct_rental_rental_id", "assert_positive_payments"]
        );
    }

    // Graph operators ----------------------------------------------------------

    #[test]
    fn plus_before_selects_all_ancestors() {
        assert_eq!(
            names(&["+fct_rental"]),
            [
                "raw_rental",
                "raw_customer",
                "rental_events",
                "stg_rental",
                "stg_customer",
                "fct_rental"
            ]
        );
    }

    #[test]
    fn plus_after_selects_all_descendants() {
        assert_eq!(
            names(&["dim_customer+"]),
            [
                "dim_customer",
                "fct_payment",
                "kpi_monthly",
                "assert_positive_payments",
                "weekly_dashboard"
            ]
        );
    }

    #[test]
    fn depth_limited_operators() {
        assert_eq!(names(&["1+fct_rental"]), ["stg_rental", "stg_customer", "fct_rental"]);
        assert_eq!(
            names(&["2+fct_rental"]),
            [
                "raw_rental",
                "raw_customer",
                "rental_events",
                "stg_rental",
                "stg_customer",
                "fct_rental"
            ]
        );
        assert_eq!(
            names(&["stg_customer+1"]),
            ["stg_customer", "fct_rental", "dim_customer", "customer_snapshot"]
        );
        assert_eq!(names(&["0+fct_rental+0"]), ["fct_rental"]);
    }

    #[test]
    fn depth_counts_the_shortest_path() {
        // fct_payment is 1 step from dim_customer and 2 from stg_customer.
        assert!(names(&["stg_customer,dim_customer+1"]).is_empty());
        assert_eq!(
            names(&["stg_customer+2"]),
            [
                "stg_customer",
                "fct_rental",
                "dim_customer",
                "fct_payment",
                "kpi_monthly",
                "not_null_fct_rental_rental_id",
                "rental_trends",
                "customer_snapshot",
                "rental_export"
            ]
        );
    }

    #[test]
    fn plus_on_both_sides() {
        assert_eq!(
            names(&["+stg_payment+"]),
            [
                "payment_events",
                "stg_payment",
                "fct_payment",
                "kpi_monthly",
                "assert_positive_payments",
                "weekly_dashboard"
            ]
        );
    }

    #[test]
    fn at_adds_ancestors_of_descendants() {
        assert_snapshot!(unique_ids(&["@stg_payment"], &[]), @r"
        seed.dvdrental.raw_rental
        seed.dvdrental.raw_customer
        source.dvdrental.events.rental_events
        source.dvdrental.events.payment_events
        model.dvdrental.stg_rental
        model.dvdrental.stg_customer
        model.dvdrental.stg_payment
        model.dvdrental.fct_rental
        model.dvdrental.dim_customer
        model.dvdrental.fct_payment
        model.dvdrental.kpi_monthly
        test.dvdrental.assert_positive_payments
        exposure.dvdrental.weekly_dashboard
        ");
        // Unlike `+x+`, which leaves out the other parents of descendants.
        assert!(!names(&["+stg_payment+"]).contains(&"stg_rental".to_string()));
    }

    #[test]
    fn operators_apply_to_method_selectors() {
        assert_eq!(names(&["tag:kpi+"]), ["kpi_monthly", "weekly_dashboard"]);
        assert_eq!(
            names(&["1+path:models/marts/kpi"]),
            ["fct_rental", "fct_payment", "kpi_monthly"]
        );
    }

    // Set operations -----------------------------------------------------------

    #[test]
    fn space_means_union() {
        assert_eq!(names(&["fct_rental dim_customer"]), ["fct_rental", "dim_customer"]);
    }

    #[test]
    fn several_select_values_are_a_union() {
        assert_eq!(
            names(&["fct_rental", "tag:kpi", "fct_rental"]),
            ["fct_rental", "kpi_monthly"]
        );
    }

    #[test]
    fn comma_means_intersection() {
        // Each side brings the tests on its nodes, as dbt's eager selection
        // expands a criterion before intersecting: dbt-core 1.10's
        // `ls -s tag:marts,config.materialized:table` lists their tests.
        assert_eq!(
            names(&["tag:marts,config.materialized:table"]),
            ["fct_rental", "dim_customer", "not_null_fct_rental_rental_id"]
        );
        assert_eq!(
            names(&["+kpi_monthly,tag:finance"]),
            ["stg_payment", "fct_payment", "assert_positive_payments"]
        );
        assert_eq!(
            names(&["tag:staging,tag:finance tag:kpi"]),
            ["stg_payment", "kpi_monthly"]
        );
    }

    #[test]
    fn a_yaml_intersection_brings_each_members_tests_as_a_comma_does() {
        // dbt-core 1.10 evaluates a YAML `intersection:` with the same
        // SelectionIntersection as the CLI's comma, so the two select alike.
        let fixture = fixture();
        let graph = fixture.graph();
        let expression = Expr::Intersection(vec![
            Expr::Terms("tag:marts".into()),
            Expr::Terms("config.materialized:table".into()),
        ]);
        let mut selected: Vec<String> = select_expression(&graph, &expression)
            .unwrap()
            .into_iter()
            .map(|index| fixture.nodes[index].name.clone())
            .collect();
        let mut expected = names(&["tag:marts,config.materialized:table"]);
        expected.sort();
        selected.sort();
        assert_eq!(selected, expected);
        assert!(selected.contains(&"not_null_fct_rental_rental_id".to_string()));
    }

    #[test]
    fn exclude_is_subtracted() {
        assert_snapshot!(unique_ids(&["+kpi_monthly"], &["resource_type:seed", "resource_type:source"]), @r"
        model.dvdrental.stg_rental
        model.dvdrental.stg_customer
        model.dvdrental.stg_payment
        model.dvdrental.fct_rental
        model.dvdrental.dim_customer
        model.dvdrental.fct_payment
        model.dvdrental.kpi_monthly
        ");
    }

    #[test]
    fn exclude_with_operators_and_empty_select() {
        let fixture = fixture();
        let remaining = run(&[], &["staging+"]).unwrap();
        assert_eq!(
            remaining,
            [
                "raw_rental",
                "raw_customer",
                "rental_events",
                "payment_events",
                "date_spine"
            ]
        );
        assert!(remaining.len() < fixture.nodes.len());
        assert!(run(&["tag:marts"], &["*"]).unwrap().is_empty());
    }

    #[test]
    fn selector_matching_nothing_is_an_empty_set() {
        assert!(names(&["no_such_model"]).is_empty());
        assert!(names(&["tag:nope+"]).is_empty());
    }

    // Errors -------------------------------------------------------------------

    #[test]
    fn error_unknown_method_with_suggestion() {
        assert_snapshot!(error(&["tagg:nightly"]), @r"
        unknown selector method `tagg` in `tagg:nightly`
        hint: did you mean `tag`?
        ");
        assert_snapshot!(error(&["configs.materialized:table"]), @r"
        unknown selector method `configs` in `configs.materialized:table`
        hint: did you mean `config`?
        ");
    }

    #[test]
    fn error_unknown_method_without_suggestion() {
        assert_snapshot!(error(&["zzz:x"]), @r"
        unknown selector method `zzz` in `zzz:x`
        hint: valid methods are `fqn`, `tag`, `path`, `file`, `source`, `resource_type`, `config`, `package`, `exposure`, `test_type`, `state`, `version`, `source_status`
        ");
    }

    #[test]
    fn error_state_needs_state() {
        assert_snapshot!(error(&["state:modified+"]), @r"
        selector `state:modified+` compares with another run, but no `--state` was given
        hint: pass the target directory of that run, as in `--state prod/ --select state:modified+`
        ");
        // Rejected even when it sits in --exclude.
        assert!(matches!(
            run(&["tag:marts"], &["state:new"]),
            Err(SelectorError::StateNeedsState { .. })
        ));
    }

    #[test]
    fn error_unknown_state() {
        assert_snapshot!(error(&["state:modified.bdy"]), @r"
        unknown state `modified.bdy` in `state:modified.bdy`
        hint: did you mean `modified.body`?
        ");
        assert_snapshot!(error(&["state:changed"]), @r"
        unknown state `changed` in `state:changed`
        hint: expected one of `new`, `old`, `unmodified`, `modified`, `modified.body`, `modified.configs`, `modified.macros`, `modified.contract`, `modified.relation`
        ");
    }

    // State ------------------------------------------------------------------

    /// The fixture compared with a state where `stg_rental`'s body and
    /// `dim_customer`'s config changed, `date_spine` is new and the rest is as it was.
    fn run_with_state(select_args: &[&str], exclude_args: &[&str]) -> Vec<String> {
        let mut fixture = fixture();
        for node in &mut fixture.nodes {
            node.state = Some(match node.name.as_str() {
                "stg_rental" => Change::Modified([Modification::Body].into()),
                "dim_customer" => Change::Modified([Modification::Configs, Modification::Contract].into()),
                "date_spine" => Change::New,
                _ => Change::Unchanged,
            });
        }
        select(&fixture.graph(), &strings(select_args), &strings(exclude_args))
            .unwrap()
            .into_iter()
            .map(|index| fixture.nodes[index].name.clone())
            .collect()
    }

    #[test]
    fn state_methods_select_by_kind_of_change() {
        // As in dbt, a new node counts as modified in every way.
        assert_eq!(
            run_with_state(&["state:modified"], &[]),
            ["stg_rental", "dim_customer", "date_spine"]
        );
        assert_eq!(
            run_with_state(&["state:modified.body"], &[]),
            ["stg_rental", "date_spine"]
        );
        assert_eq!(
            run_with_state(&["state:modified.configs"], &[]),
            ["dim_customer", "date_spine"]
        );
        assert_eq!(
            run_with_state(&["state:modified.contract"], &[]),
            ["dim_customer", "date_spine"]
        );
        assert_eq!(run_with_state(&["state:modified.macros"], &[]), ["date_spine"]);
        assert_eq!(run_with_state(&["state:modified.relation"], &[]), ["date_spine"]);
        assert_eq!(run_with_state(&["state:new"], &[]), ["date_spine"]);
        let old = run_with_state(&["state:old"], &[]);
        assert_eq!(old.len(), fixture().nodes.len() - 1, "{old:?}");
        assert!(!old.contains(&"date_spine".to_string()));
        let unmodified = run_with_state(&["state:unmodified"], &[]);
        assert_eq!(unmodified.len(), fixture().nodes.len() - 3, "{unmodified:?}");
    }

    #[test]
    fn state_methods_combine_with_operators_unions_and_intersections() {
        assert_eq!(
            run_with_state(&["state:modified.body+"], &[]),
            [
                "stg_rental",
                "fct_rental",
                "kpi_monthly",
                "not_null_fct_rental_rental_id",
                "legacy_check",
                "weekly_dashboard",
                "rental_trends",
                "rental_export",
                "date_spine"
            ]
        );
        assert_eq!(
            run_with_state(&["+state:modified.configs"], &[]),
            ["raw_customer", "stg_customer", "dim_customer", "date_spine"]
        );
        // Each side of an intersection brings its nodes' tests, as dbt's
        // eager selection does (dbt-core 1.10 lists the tests too).
        assert_eq!(
            run_with_state(&["state:modified+,resource_type:model"], &[]),
            [
                "stg_rental",
                "fct_rental",
                "dim_customer",
                "fct_payment",
                "kpi_monthly",
                "not_null_fct_rental_rental_id",
                "assert_positive_payments",
                "legacy_check",
                "date_spine"
            ]
        );
        assert_eq!(
            run_with_state(&["state:modified.body state:modified.configs"], &[]),
            ["stg_rental", "dim_customer", "date_spine"]
        );
        assert_eq!(
            run_with_state(&["state:modified,tag:staging"], &[]),
            ["stg_rental", "legacy_check"]
        );
        assert_eq!(
            run_with_state(&["state:modified+"], &["resource_type:test"]),
            [
                "stg_rental",
                "fct_rental",
                "dim_customer",
                "fct_payment",
                "kpi_monthly",
                "weekly_dashboard",
                "rental_trends",
                "rental_export",
                "date_spine"
            ]
        );
    }

    #[test]
    fn error_malformed_operators() {
        assert_snapshot!(error(&["3+"]), @"selector `3+` has nothing to select: expected a name or `method:value`");
        assert_snapshot!(error(&["+"]), @"selector `+` has nothing to select: expected a name or `method:value`");
        assert_snapshot!(error(&["x+y"]), @r"
        unexpected `+` in selector `x+y`
        hint: graph operators go at the start (`+x`, `2+x`, `@x`) or the end (`x+`, `x+2`)
        ");
        assert_snapshot!(error(&["x@y"]), @r"
        unexpected `@` in selector `x@y`
        hint: graph operators go at the start (`+x`, `2+x`, `@x`) or the end (`x+`, `x+2`)
        ");
        assert_snapshot!(error(&["@+x"]), @"selector `@+x` combines `@` with a leading `+`; use one or the other");
        assert_snapshot!(error(&["99999999999999999999999+x"]), @"depth `99999999999999999999999` in selector `99999999999999999999999+x` is too large");
    }

    #[test]
    fn error_empty_pieces() {
        assert_snapshot!(error(&["a,,b"]), @"empty term in selector `a,,b`: a comma must sit between two selectors");
        assert_snapshot!(error(&["tag:marts,"]), @"empty term in selector `tag:marts,`: a comma must sit between two selectors");
        assert_snapshot!(error(&["  "]), @"empty selector: expected something like `fct_rental` or `tag:nightly`");
        assert_snapshot!(error(&["tag:"]), @"selector `tag:` has nothing to select: expected a name or `method:value`");
        assert_snapshot!(error(&[":x"]), @"selector `:x` has an empty method before `:`");
    }

    #[test]
    fn error_method_arguments() {
        assert_snapshot!(error(&["config:table"]), @"selector `config:table` needs a config key, as in `config.materialized:table`");
        assert_snapshot!(error(&["config.:table"]), @"selector `config.:table` needs a config key, as in `config.materialized:table`");
        assert_snapshot!(error(&["tag.x:y"]), @"selector method `tag` takes no `.` arguments, in `tag.x:y`");
    }

    #[test]
    fn error_invalid_values() {
        assert_snapshot!(error(&["source:a.b.c.d"]), @r"
        invalid source selector `source:a.b.c.d`
        hint: expected `source:<source>`, `source:<source>.<table>` or `source:<package>.<source>.<table>`
        ");
        assert_snapshot!(error(&["exposure:a.b.c"]), @r"
        invalid exposure selector `exposure:a.b.c`
        hint: expected `exposure:<name>` or `exposure:<package>.<name>`
        ");
        assert_snapshot!(error(&["resource_type:modle"]), @r"
        unknown resource type `modle` in `resource_type:modle`
        hint: did you mean `model`?
        ");
        assert_snapshot!(error(&["test_type:unitt"]), @r"
        unknown test type `unitt` in `test_type:unitt`
        hint: expected `generic` or `singular`
        ");
    }

    #[test]
    fn error_invalid_pattern_keeps_the_cause() {
        let error = run(&["tag:marts,path:models/[x"], &[]).unwrap_err();
        assert_snapshot!(error, @"invalid pattern `models/[x` in selector `path:models/[x`");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert!(source.is_some_and(|source| source.contains("unclosed")));
    }

    #[test]
    fn error_in_exclude_is_reported() {
        assert!(matches!(
            run(&[], &["tagg:x"]),
            Err(SelectorError::UnknownMethod { .. })
        ));
    }

    #[test]
    fn error_inconsistent_graph() {
        let fixture = fixture();
        let short = &fixture.children[1..];
        let graph = SelectionGraph {
            nodes: &fixture.nodes,
            parents: &fixture.parents,
            children: short,
        };
        assert_snapshot!(select(&graph, &[], &[]).unwrap_err(), @"selection graph is inconsistent: `19` nodes but `19` parent lists and `18` child lists");

        let mut parents = fixture.parents.clone();
        parents[3].push(99);
        let graph = SelectionGraph {
            nodes: &fixture.nodes,
            parents: &parents,
            children: &fixture.children,
        };
        assert_snapshot!(select(&graph, &[], &[]).unwrap_err(), @"selection graph is inconsistent: node `3` has an edge to `99`, which is out of range");
    }

    // Speed --------------------------------------------------------------------

    #[test]
    fn ten_thousand_nodes_select_quickly() {
        let count: usize = 10_000;
        let nodes: Vec<SelectableNode> = (0..count)
            .map(|index| SelectableNode {
                unique_id: format!("model.big.m{index}"),
                name: format!("m{index}"),
                resource_type: "model".to_string(),
                package_name: "big".to_string(),
                fqn: vec!["big".to_string(), format!("layer{}", index % 10), format!("m{index}")],
                original_file_path: format!("models/layer{}/m{index}.sql", index % 10),
                tags: vec![format!("t{}", index % 7)],
                materialized: Some("view".to_string()),
                source_name: None,
                config: json!({"materialized": if index % 2 == 0 { "table" } else { "view" }}),
                state: None,
                version: None,
                fresher: None,
            })
            .collect();
        // Each node depends on the one before it and the one ten before it.
        let parents: Vec<Vec<usize>> = (0..count)
            .map(|index| {
                [index.checked_sub(1), index.checked_sub(10)]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .collect();
        let mut children = vec![Vec::new(); count];
        for (child, node_parents) in parents.iter().enumerate() {
            for &parent in node_parents {
                children[parent].push(child);
            }
        }
        let graph = SelectionGraph {
            nodes: &nodes,
            parents: &parents,
            children: &children,
        };
        let selected = select(
            &graph,
            &strings(&[
                "+m5000+ @m9000 layer3.* path:models/layer4 tag:t1,config.materialized:table",
                "m1+",
            ]),
            &strings(&["m1234"]),
        )
        .unwrap();
        // Speed is measured by the benchmark, never in a test.
        assert_eq!(selected.len(), count - 1);
        assert!(!selected.contains(&1234));
    }

    /// Property tests: the selector grammar never panics, and a parsed
    /// selector printed in its canonical spelling parses back the same.
    /// `PROPTEST_CASES` runs more of them (`bench/fuzz.sh`).
    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        /// One criterion as a user might write it: operators, a method
        /// (or none, which is `fqn`), and a value.
        fn term() -> impl Strategy<Value = String> {
            let method = prop_oneof![
                Just(String::new()),
                Just("tag:".to_string()),
                Just("path:".to_string()),
                Just("fqn:".to_string()),
                Just("package:".to_string()),
                Just("config.materialized:".to_string()),
                Just("resource_type:".to_string()),
                Just("test_type:".to_string()),
                Just("state:".to_string()),
            ];
            let value = "[a-z_][a-z0-9_*]{0,8}(\\.[a-z0-9_*]{1,4})?";
            let parents = prop_oneof![
                Just(String::new()),
                Just("+".to_string()),
                (0u8..9).prop_map(|depth| format!("{depth}+"))
            ];
            let children = prop_oneof![
                Just(String::new()),
                Just("+".to_string()),
                (0u8..9).prop_map(|depth| format!("+{depth}"))
            ];
            (any::<bool>(), parents, method, value, children).prop_map(|(at, parents, method, value, children)| {
                let parents = if at { "@".to_string() } else { parents };
                format!("{parents}{method}{value}{children}")
            })
        }

        fn selector() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::collection::vec(term(), 1..4).prop_map(|terms| terms.join(",")),
                1..4,
            )
            .prop_map(|intersections| intersections.join(" "))
        }

        proptest! {
            #[test]
            fn fuzz_selector_parse_never_panics(text in "\\PC{0,40}") {
                let _ = parse(&text);
            }

            #[test]
            fn fuzz_selector_operators_never_panic(text in "[@+0-9a-z:,. *]{0,30}") {
                let _ = parse(&text);
            }

            #[test]
            fn fuzz_selector_round_trips(text in selector()) {
                // Not every generated selector is valid (`state:` takes
                // only its own values); every valid one round-trips.
                if let Ok(parsed) = parse(&text) {
                    let printed = parsed.to_string();
                    let reparsed = parse(&printed).map_err(|error| TestCaseError::fail(format!("`{printed}`: {error}")))?;
                    prop_assert_eq!(&reparsed, &parsed, "`{}` printed as `{}`", text, printed);
                    prop_assert_eq!(reparsed.to_string(), printed);
                }
            }
        }
    }
}
