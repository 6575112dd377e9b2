//! Source freshness, `dvt source freshness`, as dbt-core 1.10 checks it: for
//! each selected source table with a `warn_after` or `error_after`, the
//! latest `loaded_at_field` (under its `filter`), or the value its
//! `loaded_at_query` returns, is compared with the warehouse's clock, and
//! the table passes, warns or errors. `target/sources.json` records every
//! check in dbt's v3 shape.
//!
//! - [`criteria`]: the thresholds, merged from the schema files as dbt merges them.
//! - [`check`] (here): the queries (`templates/common/collect_freshness*.sql`) and their results.
//! - [`artifact`]: `sources.json`, written and read back.
//! - [`fresher`]: dbt's `source_status:fresher` selector, comparing two `sources.json`.
//!
//! A source with an `ingest:` block and no `loaded_at_field` is checked on
//! the `ingested_at` column its bronze table has. Warehouse metadata is not
//! read: PostgreSQL and DuckDB report no last-modified time, so a source
//! with neither field nor query is a runtime error, as in dbt.
//! This module neither selects nor prints; `commands::source_freshness` does.

pub mod artifact;
pub mod criteria;
pub mod fresher;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::adapter::{self, render_template, Adapter, AdapterError};
use crate::manifest::SourceTable;

use criteria::{Status, Threshold};

/// The column of a Kafka-ingested bronze table that records when each row
/// was loaded ([`crate::ingest`]'s mappings).
pub const INGESTED_AT: &str = "ingested_at";

/// What one source's check queries: its latest load time, from a column or
/// from the SQL of its `loaded_at_query` (Jinja already rendered).
#[derive(Debug, Clone)]
pub enum LoadedAt {
    Field(String),
    Query(String),
}

/// A source table to check.
#[derive(Debug, Clone)]
pub struct Check {
    pub unique_id: String,
    pub source_name: String,
    pub table_name: String,
    pub relation: crate::manifest::Relation,
    pub criteria: Threshold,
    /// `None` when the table has neither a field nor a query to read.
    pub loaded_at: Option<LoadedAt>,
}

impl Check {
    /// The check of `source`: its field, else its query, else (for an
    /// ingested source) its bronze table's `ingested_at`. dbt prefers
    /// `loaded_at_query` when both are set.
    pub fn of(source: &SourceTable, ingested: bool, rendered_query: Option<String>) -> Self {
        let loaded_at = match (rendered_query, &source.loaded_at_field) {
            (Some(query), _) => Some(LoadedAt::Query(query)),
            (None, Some(field)) => Some(LoadedAt::Field(field.clone())),
            (None, None) if ingested => Some(LoadedAt::Field(crate::manifest::quote_identifier(INGESTED_AT))),
            (None, None) => None,
        };
        Self {
            unique_id: source.unique_id.clone(),
            source_name: source.source_name.clone(),
            table_name: source.name.clone(),
            relation: source.relation.clone(),
            criteria: Threshold::from_json(&source.freshness),
            loaded_at,
        }
    }
}

/// What a check found.
#[derive(Debug, Clone)]
pub enum Outcome {
    Checked {
        max_loaded_at: DateTime<Utc>,
        snapshotted_at: DateTime<Utc>,
        /// `snapshotted_at - max_loaded_at`, in seconds.
        age: f64,
        status: Status,
        adapter_response: Value,
    },
    /// The query failed or returned something that is not a time.
    RuntimeError(String),
}

/// One source's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: Check,
    pub outcome: Outcome,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub execution_time: f64,
}

impl CheckResult {
    /// dbt's status word: `pass`, `warn`, `error` or `runtime error`.
    pub fn status(&self) -> &'static str {
        match &self.outcome {
            Outcome::Checked { status, .. } => status.as_str(),
            Outcome::RuntimeError(_) => "runtime error",
        }
    }

    /// Whether the command fails because of it, as dbt's exit code does.
    pub fn is_failure(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::RuntimeError(_)
                | Outcome::Checked {
                    status: Status::Error,
                    ..
                }
        )
    }
}

/// Runs one check on a connection of `adapter`.
pub async fn check(adapter: &dyn Adapter, check: Check) -> CheckResult {
    let started_at = Utc::now();
    let clock = std::time::Instant::now();
    let outcome = match run_query(adapter, &check).await {
        Ok((max_loaded_at, snapshotted_at)) => {
            let age = (snapshotted_at - max_loaded_at).num_microseconds().map_or_else(
                || (snapshotted_at - max_loaded_at).num_seconds() as f64,
                |micros| micros as f64 / 1e6,
            );
            Outcome::Checked {
                max_loaded_at,
                snapshotted_at,
                age,
                status: check.criteria.status(age),
                adapter_response: adapter_response(adapter.kind()),
            }
        }
        Err(message) => Outcome::RuntimeError(message),
    };
    CheckResult {
        check,
        outcome,
        started_at,
        completed_at: Utc::now(),
        execution_time: clock.elapsed().as_secs_f64(),
    }
}

/// The response dbt's adapters give for the freshness query.
fn adapter_response(kind: &str) -> Value {
    match kind {
        "postgres" => json!({"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1}),
        _ => json!({"_message": "OK"}),
    }
}

async fn run_query(adapter: &dyn Adapter, check: &Check) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let relation = minijinja::Value::from_serialize(&check.relation);
    let sql = match &check.loaded_at {
        Some(LoadedAt::Field(field)) => render_template(
            adapter.templates(),
            adapter::template_names::COLLECT_FRESHNESS,
            minijinja::context! { relation, loaded_at_field => field, filter => check.criteria.filter },
        ),
        Some(LoadedAt::Query(query)) => render_template(
            adapter.templates(),
            adapter::template_names::COLLECT_FRESHNESS_CUSTOM_SQL,
            minijinja::context! { relation, loaded_at_query => query },
        ),
        None => {
            return Err(format!(
                "Could not compute freshness for source {}: no 'loaded_at_field' provided and {} adapter does not support metadata-based freshness checks.",
                check.table_name,
                adapter.kind()
            ))
        }
    }
    .map_err(|error: AdapterError| error.to_string())?;
    let mut connection = adapter.connection().await.map_err(|error| error.to_string())?;
    let result = connection.query(&sql, None).await.map_err(|error| error.to_string())?;
    let [row] = result.rows.as_slice() else {
        return Err(format!(
            "the freshness query returned {} rows instead of one",
            result.rows.len()
        ));
    };
    let [max_loaded_at, snapshotted_at] = row.as_slice() else {
        return Err(format!(
            "the freshness query returned {} columns instead of two",
            row.len()
        ));
    };
    // No rows (or only nulls) means loaded infinitely long ago, as in dbt.
    let max_loaded_at = match max_loaded_at {
        None => epoch_one(),
        Some(text) => parse_time(text).ok_or_else(|| not_a_time("max_loaded_at", text, check))?,
    };
    let snapshotted_at = snapshotted_at
        .as_deref()
        .and_then(parse_time)
        .ok_or_else(|| "the freshness query returned no snapshotted_at".to_string())?;
    Ok((max_loaded_at, snapshotted_at))
}

/// `0001-01-01T00:00:00+00:00`, dbt's time for a table never loaded.
fn epoch_one() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |time| time.and_utc())
}

fn not_a_time(field: &str, text: &str, check: &Check) -> String {
    format!(
        "Expected a timestamp value when querying field '{field}' of table {} but received value '{text}' instead",
        check.relation
    )
}

/// A timestamp as PostgreSQL or DuckDB print one: with an offset it is
/// converted to UTC, without one it is taken as UTC, as dbt does.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(time) = DateTime::parse_from_str(text, format) {
            return Some(time.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_the_warehouses_print_them_are_read_in_utc() {
        let expected = "2026-12-03T16:31:36.472370Z";
        for text in [
            "2026-12-03 16:31:36.47237",
            "2026-12-03 16:31:36.47237+00",
            "2026-12-03 18:31:36.47237+02",
            "2026-12-03 21:01:36.47237+04:30",
        ] {
            let time = parse_time(text).map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            assert_eq!(time.as_deref(), Some(expected), "{text}");
        }
        assert_eq!(parse_time("2026-12-03"), None);
    }
}
