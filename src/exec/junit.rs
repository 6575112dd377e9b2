//! `--junit PATH`: the results of a run as JUnit XML, which CI systems show as
//! a test report.
//!
//! There is one `<testsuite>` per resource type (models, seeds, tests) and one
//! `<testcase>` per node, sorted by unique id so that the same run gives the
//! same file. A failed test is a `<failure>`, a node that errored an
//! `<error>`, a skipped node `<skipped/>`, and a test that only warned passes
//! with its message in `<system-out>`. A project error that stops the command
//! before anything runs is written as one errored case per problem, so that
//! the report still says why.
//!
//! The file is written atomically: a reader never sees half of it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::ResourceType;

use super::results::{RunResults, Status};
use super::Context;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    Passed,
    /// Passed with a warning.
    Warned(String),
    Failed {
        message: String,
        detail: String,
    },
    Errored {
        message: String,
        detail: String,
    },
    Skipped(String),
}

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The suite it belongs to: `models`, `seeds`, `tests`.
    pub suite: String,
    pub classname: String,
    pub name: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub time: Duration,
    pub outcome: CaseOutcome,
}

/// Writes the results of a run to `path`.
pub fn write(path: &Path, context: &Context, results: &RunResults) -> Result<(), Diagnostic> {
    let name = format!("dvt {}", context.options.command.as_str());
    let xml = to_xml(&name, &cases(context, results), results.elapsed);
    crate::artifacts::write_atomic(path, xml.as_bytes())
}

/// Writes the project errors that stopped `dvt <command>` before it ran.
pub fn write_errors(path: &Path, command: &str, diagnostics: &Diagnostics) -> Result<(), Diagnostic> {
    let cases: Vec<Case> = diagnostics
        .0
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .enumerate()
        .map(|(index, diagnostic)| {
            let location = diagnostic.location.as_ref();
            Case {
                suite: "project".into(),
                classname: "dvt".into(),
                name: diagnostic
                    .location_text()
                    .unwrap_or_else(|| format!("problem {}", index + 1)),
                file: location.map(|location| location.file.clone()),
                line: location.map(|location| location.line).filter(|line| *line > 0),
                time: Duration::ZERO,
                outcome: CaseOutcome::Errored {
                    message: diagnostic.message.clone(),
                    detail: diagnostic.to_string().trim_end().to_string(),
                },
            }
        })
        .collect();
    crate::artifacts::write_atomic(
        path,
        to_xml(&format!("dvt {command}"), &cases, Duration::ZERO).as_bytes(),
    )
}

/// A case for every result of the run.
pub fn cases(context: &Context, results: &RunResults) -> Vec<Case> {
    let manifest = &context.rendered.manifest;
    let mut cases: Vec<(String, Case)> = results
        .results
        .iter()
        .map(|result| {
            let node = manifest.nodes.get(&result.unique_id);
            let resource_type = match node {
                Some(node) => node.resource_type,
                None if manifest.exposures.contains_key(&result.unique_id) => ResourceType::Exposure,
                None => ResourceType::Model,
            };
            let suite = match resource_type {
                ResourceType::Model => "models",
                ResourceType::Seed => "seeds",
                ResourceType::Test => "tests",
                ResourceType::Analysis => "analyses",
                ResourceType::Source => "sources",
                ResourceType::Exposure => "exposures",
                ResourceType::Export => "exports",
                ResourceType::UnitTest => "unit_tests",
                ResourceType::Snapshot => "snapshots",
            };
            let classname = node
                .map(|node| match node.fqn.split_last() {
                    Some((_, parents)) if !parents.is_empty() => parents.join("."),
                    _ => node.package_name.clone(),
                })
                .unwrap_or_default();
            let name = node.map_or_else(|| result.unique_id.clone(), |node| node.name.clone());
            let detail = |message: &str| {
                let mut detail = result.diagnostic.as_ref().map_or_else(
                    || message.to_string(),
                    |diagnostic| diagnostic.to_string().trim_end().to_string(),
                );
                if let Some(path) = &result.compiled_path {
                    detail.push_str(&format!("\ncompiled code at {path}"));
                }
                detail.trim_end().to_string()
            };
            let outcome = match result.status {
                Status::Success | Status::Pass | Status::NoOp => CaseOutcome::Passed,
                Status::Warn => CaseOutcome::Warned(result.message.clone()),
                Status::Fail => CaseOutcome::Failed {
                    message: result.message.clone(),
                    detail: detail(&result.message),
                },
                Status::Error | Status::PartialSuccess => CaseOutcome::Errored {
                    message: result.message.clone(),
                    detail: detail(&result.message),
                },
                Status::Skipped => CaseOutcome::Skipped(result.message.clone()),
            };
            let case = Case {
                suite: suite.to_string(),
                classname,
                name,
                file: node.map(|node| node.original_file_path.clone()),
                line: context.rendered.test_lines.get(&result.unique_id).copied(),
                time: result.execution_time,
                outcome,
            };
            (result.unique_id.clone(), case)
        })
        .collect();
    cases.sort_by(|left, right| left.0.cmp(&right.0));
    cases.into_iter().map(|(_, case)| case).collect()
}

/// The XML document: a `<testsuites>` named `name`, a suite per kind of case.
pub fn to_xml(name: &str, cases: &[Case], elapsed: Duration) -> String {
    let mut suites: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in cases {
        suites.entry(case.suite.as_str()).or_default().push(case);
    }
    let count =
        |cases: &[&Case], matches: fn(&CaseOutcome) -> bool| cases.iter().filter(|case| matches(&case.outcome)).count();
    let is_failure = |outcome: &CaseOutcome| matches!(outcome, CaseOutcome::Failed { .. });
    let is_error = |outcome: &CaseOutcome| matches!(outcome, CaseOutcome::Errored { .. });
    let is_skipped = |outcome: &CaseOutcome| matches!(outcome, CaseOutcome::Skipped(_));
    let all: Vec<&Case> = cases.iter().collect();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
        escape(name),
        all.len(),
        count(&all, is_failure),
        count(&all, is_error),
        count(&all, is_skipped),
        seconds(elapsed),
    ));
    for (suite, cases) in &suites {
        let time: Duration = cases.iter().map(|case| case.time).sum();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
            escape(suite),
            cases.len(),
            count(cases, is_failure),
            count(cases, is_error),
            count(cases, is_skipped),
            seconds(time),
        ));
        for case in cases {
            let mut attributes = format!(
                "name=\"{}\" classname=\"{}\"",
                escape(&case.name),
                escape(&case.classname)
            );
            if let Some(file) = &case.file {
                attributes.push_str(&format!(" file=\"{}\"", escape(file)));
            }
            if let Some(line) = case.line {
                attributes.push_str(&format!(" line=\"{line}\""));
            }
            attributes.push_str(&format!(" time=\"{}\"", seconds(case.time)));
            match &case.outcome {
                CaseOutcome::Passed => xml.push_str(&format!("    <testcase {attributes}/>\n")),
                CaseOutcome::Warned(message) => xml.push_str(&format!(
                    "    <testcase {attributes}>\n      <system-out>WARN: {}</system-out>\n    </testcase>\n",
                    escape_text(message)
                )),
                CaseOutcome::Skipped(message) => xml.push_str(&format!(
                    "    <testcase {attributes}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(message)
                )),
                CaseOutcome::Failed { message, detail } | CaseOutcome::Errored { message, detail } => {
                    let element = if is_failure(&case.outcome) { "failure" } else { "error" };
                    xml.push_str(&format!(
                        "    <testcase {attributes}>\n      <{element} type=\"{element}\" message=\"{}\">{}</{element}>\n    </testcase>\n",
                        escape(message),
                        escape_text(detail)
                    ));
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// Escapes the text of an element: only `&` and `<` must be, and `>` for
/// `]]>`; quotes and line breaks stay as they are.
fn escape_text(text: &str) -> String {
    escape(text)
        .replace("&#10;", "\n")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
}

/// Escapes text for an XML attribute, dropping the control characters XML
/// 1.0 cannot hold.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\n' => escaped.push_str("&#10;"),
            '\r' => escaped.push_str("&#13;"),
            '\t' => escaped.push('\t'),
            character if (character as u32) < 0x20 => {}
            character => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a < b & \"c\"\n'd'\u{1b}[31m"),
            "a &lt; b &amp; &quot;c&quot;&#10;&apos;d&apos;[31m"
        );
    }

    #[test]
    fn cases_become_suites_with_counts() {
        let case = |suite: &str, name: &str, outcome: CaseOutcome| Case {
            suite: suite.into(),
            classname: "shop".into(),
            name: name.into(),
            file: Some(format!("models/{name}.sql")),
            line: None,
            time: Duration::from_millis(1500),
            outcome,
        };
        let cases = vec![
            case("models", "orders", CaseOutcome::Passed),
            case(
                "models",
                "broken",
                CaseOutcome::Errored {
                    message: "relation \"nope\" does not exist".into(),
                    detail: "error: model `broken`: relation \"nope\" does not exist".into(),
                },
            ),
            case("models", "child", CaseOutcome::Skipped("skipped: parent failed".into())),
            case(
                "tests",
                "unique_orders_id",
                CaseOutcome::Failed {
                    message: "Got 2 results".into(),
                    detail: "Got 2 results".into(),
                },
            ),
        ];
        insta::assert_snapshot!(to_xml("dvt build", &cases, Duration::from_secs(3)), @r#"
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="dvt build" tests="4" failures="1" errors="1" skipped="1" time="3.000">
          <testsuite name="models" tests="3" failures="0" errors="1" skipped="1" time="4.500">
            <testcase name="orders" classname="shop" file="models/orders.sql" time="1.500"/>
            <testcase name="broken" classname="shop" file="models/broken.sql" time="1.500">
              <error type="error" message="relation &quot;nope&quot; does not exist">error: model `broken`: relation "nope" does not exist</error>
            </testcase>
            <testcase name="child" classname="shop" file="models/child.sql" time="1.500">
              <skipped message="skipped: parent failed"/>
            </testcase>
          </testsuite>
          <testsuite name="tests" tests="1" failures="1" errors="0" skipped="0" time="1.500">
            <testcase name="unique_orders_id" classname="shop" file="models/unique_orders_id.sql" time="1.500">
              <failure type="failure" message="Got 2 results">Got 2 results</failure>
            </testcase>
          </testsuite>
        </testsuites>
        "#);
    }
}
