//! The `microbatch` incremental strategy, as dbt-core 1.10 runs it: a model
//! configured with `event_time`, `batch_size`, `begin` and `lookback` is
//! built one window of event time at a time. Inside a batch, every `ref()`
//! or `source()` of a node with an `event_time` config reads only the rows
//! of that window (`render::narrow`), and the batch's rows replace the
//! window's in the table.
//!
//! - [`batch`]: the time arithmetic (truncate, offset, ceiling) and the
//!   windows between two times.
//! - here: the model's config as dbt checks it, which batches one run
//!   builds (`--event-time-start`/`--event-time-end`, `begin` on a first or
//!   full-refresh run, else the last `lookback` batches), and the per-batch
//!   results `run_results.json` records, which `dvt retry` reads back to
//!   run the failed batches only.
//!
//! Running the batches (first alone, the middle ones in parallel when they
//! are independent, the last alone) is `exec::microbatch`'s; building one
//! is `adapter::materialize`'s, with the batch's window.

pub mod batch;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub use batch::{Batch, BatchSize};

use crate::manifest::{Node, ResourceType};
use crate::validate::config::ConfigProblem;

/// The `incremental_strategy` value.
pub const STRATEGY: &str = "microbatch";

/// Whether `node` is built in batches.
pub fn is_microbatch(node: &Node) -> bool {
    node.resource_type == ResourceType::Model
        && node.materialized() == "incremental"
        && node.config_str("incremental_strategy") == Some(STRATEGY)
}

/// A microbatch model's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The model's own event-time column, which a batch's window bounds.
    pub event_time: String,
    pub batch_size: BatchSize,
    /// The earliest event time a first or full-refresh run builds from.
    pub begin: DateTime<Utc>,
    /// How many batches before the current one an incremental run rebuilds.
    pub lookback: u32,
    /// Whether the middle batches may run at once; unset, they may unless
    /// the model reads `this`.
    pub concurrent_batches: Option<bool>,
}

impl Config {
    /// The config of a microbatch model; a problem means the offline checks
    /// were skipped, and the message is the first of [`problems`].
    pub fn of(node: &Node) -> Result<Config, String> {
        if let Some(problem) = problems(&node.config).into_iter().next() {
            return Err(problem.message);
        }
        let text = |key: &str| node.config_str(key).unwrap_or_default();
        Ok(Config {
            event_time: text("event_time").to_string(),
            batch_size: BatchSize::parse(text("batch_size")).unwrap_or(BatchSize::Day),
            begin: batch::parse_time(text("begin")).unwrap_or_default(),
            lookback: node
                .config
                .get("lookback")
                .and_then(Value::as_u64)
                .map_or(1, |lookback| lookback.min(u64::from(u32::MAX)) as u32),
            concurrent_batches: node.config.get("concurrent_batches").and_then(Value::as_bool),
        })
    }
}

/// The problems dbt's parser raises for a microbatch model's config, each
/// under the key whose line it points at. Empty for other models.
pub fn problems(config: &Map<String, Value>) -> Vec<ConfigProblem> {
    let strategy = config.get("incremental_strategy").and_then(Value::as_str);
    let materialized = config.get("materialized").and_then(Value::as_str);
    if strategy != Some(STRATEGY) || materialized != Some("incremental") {
        return Vec::new();
    }
    let present = |key: &str| config.get(key).filter(|value| !value.is_null());
    let mut problems = Vec::new();
    let mut problem = |key: &'static str, message: String, hint: &str| {
        problems.push(ConfigProblem {
            key,
            message,
            label: None,
            hint: hint.to_string(),
        })
    };
    match present("event_time") {
        None => problem(
            "incremental_strategy",
            "a microbatch model must provide an `event_time` (string) config that names its event time column".into(),
            "add `event_time: occurred_at` to the model's config",
        ),
        Some(value) if !value.is_string() => problem(
            "event_time",
            format!("a microbatch model's `event_time` must be a column name, not `{value}`"),
            "write `event_time: occurred_at`",
        ),
        Some(_) => {}
    }
    match present("begin") {
        None => problem(
            "incremental_strategy",
            "a microbatch model must provide a `begin` (datetime) config: the earliest time it is built from".into(),
            "add `begin: '2024-01-01'` to the model's config",
        ),
        Some(value) if value.as_str().and_then(batch::parse_time).is_none() => problem(
            "begin",
            format!("a microbatch model's `begin` must be a datetime in ISO format, not `{value}`"),
            "write `begin: '2024-01-01'` or `begin: '2024-01-01T06:00:00'`",
        ),
        Some(_) => {}
    }
    let batch_size = present("batch_size");
    if batch_size.and_then(Value::as_str).and_then(BatchSize::parse).is_none() {
        let shown = batch_size.map_or("nothing".to_string(), |value| format!("`{value}`"));
        problem(
            if batch_size.is_some() {
                "batch_size"
            } else {
                "incremental_strategy"
            },
            format!(
                "a microbatch model must provide a `batch_size` config that is one of {}, but got {shown}",
                batch::BATCH_SIZES.join(", ")
            ),
            "add `batch_size: day` to the model's config",
        );
    }
    if let Some(value) = present("lookback") {
        if value.as_u64().is_none() {
            problem(
                "lookback",
                format!("a microbatch model's `lookback` must be a whole number of batches, not `{value}`"),
                "write `lookback: 1` (the default) to rebuild the batch before the current one too",
            );
        }
    }
    if let Some(value) = present("concurrent_batches") {
        if !value.is_boolean() {
            problem(
                "concurrent_batches",
                format!("a microbatch model's `concurrent_batches` must be true or false, not `{value}`"),
                "write `concurrent_batches: false` to build its batches one at a time",
            );
        }
    }
    problems
}

/// What bounds the batches of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// `--event-time-start` and `--event-time-end`.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// When the invocation started: the end of the last batch, rounded up,
    /// when no `--event-time-end` is given. A retry uses the original run's.
    pub started_at: Option<DateTime<Utc>>,
    /// For `dvt retry`: each model's batches in the run it repeats.
    pub previous: BTreeMap<String, BatchResults>,
}

/// The batches a run builds, as dbt's `MicrobatchBuilder` chooses them.
/// `is_incremental` is whether the table exists and no full refresh is asked.
pub fn batches(config: &Config, is_incremental: bool, window: &Window) -> Vec<Batch> {
    let size = config.batch_size;
    let end = size.ceiling(window.end.or(window.started_at).unwrap_or_else(Utc::now));
    let start = match window.start {
        Some(start) => size.truncate(start),
        None if !is_incremental => size.truncate(config.begin),
        None => {
            // dbt counts the lookback from the end; an end on a batch boundary
            // closes the batch before it, so one more is taken.
            let lookback = config.lookback + u32::from(end == size.truncate(end));
            size.offset(end, -(lookback.min(i32::MAX as u32) as i32))
        }
    };
    batch::between(size, start, end)
}

/// Which batches of a model succeeded and which failed (or never ran).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResults {
    pub successful: Vec<Batch>,
    pub failed: Vec<Batch>,
}

impl BatchResults {
    /// `run_results.json`'s `batch_results`, each list sorted as dbt sorts it.
    pub fn to_json(&self) -> Value {
        let mut successful = self.successful.clone();
        let mut failed = self.failed.clone();
        successful.sort();
        failed.sort();
        json!({
            "successful": successful.into_iter().map(Batch::to_json).collect::<Vec<_>>(),
            "failed": failed.into_iter().map(Batch::to_json).collect::<Vec<_>>(),
        })
    }

    pub fn from_json(value: &Value) -> Option<BatchResults> {
        let list =
            |key: &str| -> Option<Vec<Batch>> { value.get(key)?.as_array()?.iter().map(Batch::from_json).collect() };
        Some(BatchResults {
            successful: list("successful")?,
            failed: list("failed")?,
        })
    }
}

/// The batch a model is rendered for: what `model.batch` shows and what the
/// filters of its inputs read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchContext {
    pub batch: Batch,
    /// dbt's `model.batch.id`: `20240102` for a daily batch.
    pub id: String,
}

impl BatchContext {
    pub fn new(batch: Batch, size: BatchSize) -> BatchContext {
        BatchContext {
            batch,
            id: size.batch_id(batch.start),
        }
    }

    /// `model.batch` as templates read it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "event_time_start": Batch::sql_bound(self.batch.start),
            "event_time_end": Batch::sql_bound(self.batch.end),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entries: Value) -> Map<String, Value> {
        let mut config = json!({"materialized": "incremental", "incremental_strategy": "microbatch"});
        if let (Some(config), Value::Object(entries)) = (config.as_object_mut(), entries) {
            config.extend(entries);
        }
        config.as_object().cloned().unwrap_or_default()
    }

    fn keys(entries: Value) -> Vec<&'static str> {
        problems(&config(entries))
            .into_iter()
            .map(|problem| problem.key)
            .collect()
    }

    fn time(text: &str) -> DateTime<Utc> {
        batch::parse_time(text).unwrap_or_default()
    }

    fn daily(lookback: u32) -> Config {
        Config {
            event_time: "occurred_at".into(),
            batch_size: BatchSize::Day,
            begin: time("2024-01-01"),
            lookback,
            concurrent_batches: None,
        }
    }

    #[test]
    fn configs_are_checked_as_dbt_parses_them() {
        let valid = json!({"event_time": "at", "begin": "2024-01-01", "batch_size": "day"});
        assert!(keys(valid.clone()).is_empty());
        assert_eq!(keys(json!({})), ["incremental_strategy"; 3]);
        assert_eq!(
            keys(
                json!({"event_time": 3, "begin": "soon", "batch_size": "week", "lookback": -1, "concurrent_batches": "yes"})
            ),
            ["event_time", "begin", "batch_size", "lookback", "concurrent_batches"]
        );
        let mut other = config(valid);
        other.insert("incremental_strategy".into(), json!("merge"));
        assert!(problems(&other).is_empty());
    }

    // What dbt-core 1.10.23 built on 2026-12-03 (pinned by hand from its
    // progress lines): an incremental run without bounds rebuilds the
    // current batch and `lookback` before it; the first run starts at `begin`.
    #[test]
    fn batches_are_chosen_as_dbt_chooses_them() {
        let starts = |batches: Vec<Batch>| -> Vec<String> {
            batches
                .iter()
                .map(|batch| BatchSize::Day.format_start(batch.start))
                .collect()
        };
        let now = Window {
            started_at: Some(time("2026-12-03 23:48:27")),
            ..Window::default()
        };
        assert_eq!(starts(batches(&daily(1), true, &now)), ["2026-12-02", "2026-12-03"]);
        assert_eq!(starts(batches(&daily(0), true, &now)), ["2026-12-03"]);
        assert_eq!(batches(&daily(1), false, &now).len(), 1068);
        let bounded = Window {
            start: Some(time("2024-01-01")),
            end: Some(time("2024-01-06")),
            ..now
        };
        assert_eq!(
            starts(batches(&daily(1), true, &bounded)),
            ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
        );
    }

    #[test]
    fn batch_results_round_trip_through_run_results() {
        let results = BatchResults {
            successful: vec![Batch {
                start: time("2024-01-01"),
                end: time("2024-01-02"),
            }],
            failed: vec![Batch {
                start: time("2024-01-03"),
                end: time("2024-01-04"),
            }],
        };
        assert_eq!(
            results.to_json(),
            json!({"successful": [["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00"]],
                   "failed": [["2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00"]]})
        );
        assert_eq!(BatchResults::from_json(&results.to_json()), Some(results));
    }
}
