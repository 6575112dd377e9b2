//! `target/sources.json`, dbt's freshness artifact (schema v3): one entry per
//! checked source with its latest load, the time of the check, the age,
//! status, criteria, timing and adapter response. As in dbt-core 1.10, a
//! source whose check failed to run is left out of the file (it is printed
//! and fails the command).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{CheckResult, Outcome};
use crate::diagnostic::Diagnostic;

/// dbt's name for the thread of a single-threaded run.
const THREAD_ID: &str = "Thread-1 (worker)";

/// The artifact for `results`, sorted by unique id.
pub fn to_json(results: &[CheckResult], invocation_id: &str, started_at: DateTime<Utc>, elapsed: f64) -> Value {
    let mut entries: Vec<&CheckResult> = results.iter().collect();
    entries.sort_by(|left, right| left.check.unique_id.cmp(&right.check.unique_id));
    let entries: Vec<Value> = entries
        .into_iter()
        .filter_map(|result| {
            let Outcome::Checked {
                max_loaded_at,
                snapshotted_at,
                age,
                status,
                adapter_response,
            } = &result.outcome
            else {
                return None;
            };
            Some(json!({
                "unique_id": result.check.unique_id,
                "max_loaded_at": python_isoformat(max_loaded_at),
                "snapshotted_at": python_isoformat(snapshotted_at),
                "max_loaded_at_time_ago_in_s": age,
                "status": status.as_str(),
                "criteria": result.check.criteria.to_json(),
                "adapter_response": adapter_response,
                "timing": [
                    {"name": "compile", "started_at": zulu(&result.started_at), "completed_at": zulu(&result.started_at)},
                    {"name": "execute", "started_at": zulu(&result.started_at), "completed_at": zulu(&result.completed_at)},
                ],
                "thread_id": THREAD_ID,
                "execution_time": result.execution_time,
            }))
        })
        .collect();
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "dbt_version": concat!("dvt-", env!("CARGO_PKG_VERSION")),
            "generated_at": zulu(&Utc::now()),
            "invocation_id": invocation_id,
            "invocation_started_at": zulu(&started_at),
            "env": {},
        },
        "results": entries,
        "elapsed_time": elapsed,
    })
}

/// Writes the artifact, creating the folder it goes in.
pub fn write(path: &Path, artifact: &Value) -> Result<(), Diagnostic> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| {
            Diagnostic::error(format!("cannot create `{}`: {error}", parent.display()))
                .hint("check that the output path is writable")
        })?;
    }
    let bytes = serde_json::to_vec_pretty(artifact)
        .map_err(|error| Diagnostic::error(format!("cannot encode sources.json: {error}")))?;
    crate::artifacts::write_atomic(path, &bytes)
}

/// `2026-11-30T18:36:36.504039+00:00`, as Python's `isoformat()` writes an
/// aware datetime: the microseconds only when there are some.
fn python_isoformat(time: &DateTime<Utc>) -> String {
    if time.timestamp_subsec_micros() == 0 {
        time.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        time.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// `2026-12-03T18:36:43.146562Z`, as dbt writes the times of its metadata.
fn zulu(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Each source's `max_loaded_at` in a `sources.json`, by unique id; the
/// sources whose check failed to run have none, and are listed apart.
#[derive(Debug, Default)]
pub struct LoadTimes {
    pub loaded: std::collections::BTreeMap<String, DateTime<Utc>>,
    pub runtime_errors: std::collections::BTreeSet<String>,
}

/// Reads a `sources.json` written by dvt or dbt.
pub fn read_load_times(path: &Path) -> Result<LoadTimes, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|error| {
        Diagnostic::error(format!("cannot read `{}`: {error}", path.display()))
            .hint("`source_status:` compares the sources.json of `--state` with target/sources.json; run `dvt source freshness` in both")
    })?;
    let artifact: Value = serde_json::from_slice(&bytes).map_err(|error| {
        Diagnostic::error(format!("`{}` is not a sources.json: {error}", path.display()))
            .hint("write it again with `dvt source freshness`")
    })?;
    let mut times = LoadTimes::default();
    for result in artifact.get("results").and_then(Value::as_array).into_iter().flatten() {
        let Some(unique_id) = result.get("unique_id").and_then(Value::as_str) else {
            continue;
        };
        let loaded = result
            .get("max_loaded_at")
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
        match loaded {
            Some(time) => {
                times.loaded.insert(unique_id.to_string(), time.with_timezone(&Utc));
            }
            None => {
                times.runtime_errors.insert(unique_id.to_string());
            }
        }
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_python_writes_them() {
        let time = DateTime::parse_from_rfc3339("2026-11-30T18:36:36.504039Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(python_isoformat(&time), "2026-11-30T18:36:36.504039+00:00");
        assert_eq!(zulu(&time), "2026-11-30T18:36:36.504039Z");
        let whole = DateTime::parse_from_rfc3339("2026-11-30T18:36:36Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(python_isoformat(&whole), "2026-11-30T18:36:36+00:00");
    }
}
