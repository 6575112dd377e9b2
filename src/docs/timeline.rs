//! The last run as a timeline, for the docs site: a bar per node from
//! `run_results.json`'s `execute` timing, laid out on as few rows as the
//! run's concurrency needed (a node goes on the first row free when it
//! started, so each row is one worker's sequence), coloured by status in
//! the site. Offline: only the artifact is read.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The timeline of `run_results`, or `null` when no node has timings.
pub fn from_run_results(run_results: &Value) -> Value {
    let mut bars: Vec<(String, String, f64, f64)> = Vec::new();
    let mut start_of_run: Option<DateTime<Utc>> = None;
    let mut timed = Vec::new();
    for result in run_results["results"].as_array().into_iter().flatten() {
        let Some(execute) = result["timing"]
            .as_array()
            .and_then(|timing| timing.iter().find(|entry| entry["name"] == "execute"))
        else {
            continue;
        };
        let time = |key: &str| {
            execute[key]
                .as_str()
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                .map(|time| time.with_timezone(&Utc))
        };
        let (Some(started), Some(completed)) = (time("started_at"), time("completed_at")) else {
            continue;
        };
        start_of_run = Some(start_of_run.map_or(started, |earliest| earliest.min(started)));
        let id = result["unique_id"].as_str().unwrap_or_default().to_string();
        let status = result["status"].as_str().unwrap_or_default().to_string();
        timed.push((id, status, started, completed));
    }
    let Some(start_of_run) = start_of_run else {
        return Value::Null;
    };
    let seconds = |time: DateTime<Utc>| (time - start_of_run).num_microseconds().unwrap_or_default() as f64 / 1e6;
    for (id, status, started, completed) in timed {
        bars.push((id, status, seconds(started), seconds(completed).max(seconds(started))));
    }
    bars.sort_by(|left, right| left.2.total_cmp(&right.2).then_with(|| left.0.cmp(&right.0)));
    let mut row_ends: Vec<f64> = Vec::new();
    let mut laid_out = Vec::with_capacity(bars.len());
    for (id, status, start, end) in bars {
        let row = match row_ends.iter().position(|free_at| *free_at <= start) {
            Some(row) => row,
            None => {
                row_ends.push(end);
                row_ends.len() - 1
            }
        };
        row_ends[row] = end;
        laid_out.push(json!({ "id": id, "status": status, "row": row, "start": start, "end": end }));
    }
    let elapsed = run_results["elapsed_time"]
        .as_f64()
        .unwrap_or_else(|| row_ends.iter().copied().fold(0.0, f64::max));
    json!({
        "command": run_results["args"]["which"],
        "generated_at": run_results["metadata"]["generated_at"],
        "elapsed": elapsed,
        "rows": row_ends.len(),
        "bars": laid_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, status: &str, started: &str, completed: &str) -> Value {
        json!({"unique_id": id, "status": status, "timing": [
            {"name": "execute", "started_at": format!("2026-01-01T00:00:{started}Z"), "completed_at": format!("2026-01-01T00:00:{completed}Z")}
        ]})
    }

    #[test]
    fn bars_share_rows_as_the_workers_did() {
        let run = json!({"elapsed_time": 9.0, "args": {"which": "build"}, "results": [
            result("model.p.a", "success", "00", "04"),
            result("model.p.b", "success", "01", "02"),
            result("model.p.c", "error", "02", "05"),
            result("model.p.d", "success", "04", "09"),
            {"unique_id": "model.p.skipped", "status": "skipped", "timing": []},
        ]});
        let timeline = from_run_results(&run);
        let rows: Vec<(String, u64)> = timeline["bars"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|bar| {
                (
                    bar["id"].as_str().unwrap_or_default().to_string(),
                    bar["row"].as_u64().unwrap_or(99),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [("model.p.a", 0), ("model.p.b", 1), ("model.p.c", 1), ("model.p.d", 0)]
                .map(|(id, row)| (id.to_string(), row))
        );
        assert_eq!(timeline["rows"], 2);
        assert_eq!(timeline["bars"][3]["end"], 9.0);
        assert_eq!(from_run_results(&json!({"results": []})), Value::Null);
    }
}
