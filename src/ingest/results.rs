//! `target/ingest_results.json`: what one `dvt ingest` run (batch or
//! `--follow`) loaded, for the docs site and for schedulers. Written at the
//! end of every run, atomically (a temporary file renamed into place), so a
//! reader sees the last run's file or the one before, never half of one.
//!
//! Per ingested source: rows, dead letters and batches committed by this
//! run; each partition's committed offset (the next offset to load, as
//! stored in the warehouse), high watermark and lag when the run ended; and
//! freshness, per loaded message the commit time minus its Kafka timestamp,
//! as percentiles over the run. This module only shapes and writes the
//! file; the driver gathers the numbers.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::freshness::Histogram;
use crate::diagnostic::Diagnostic;

/// The file's name in the target directory.
pub const FILE_NAME: &str = "ingest_results.json";

/// The whole artifact.
#[derive(Debug, Serialize)]
pub struct IngestResults {
    pub metadata: Metadata,
    pub sources: Vec<SourceResult>,
}

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub dvt_version: &'static str,
    /// RFC 3339, in UTC.
    pub generated_at: String,
    pub invocation_id: String,
    pub follow: bool,
    pub elapsed_seconds: f64,
}

impl Metadata {
    pub fn new(invocation_id: &str, follow: bool, elapsed_seconds: f64, now: DateTime<Utc>) -> Self {
        Self {
            dvt_version: env!("CARGO_PKG_VERSION"),
            generated_at: now.to_rfc3339_opts(SecondsFormat::Micros, true),
            invocation_id: invocation_id.to_string(),
            follow,
            elapsed_seconds,
        }
    }
}

/// One ingested source table.
#[derive(Debug, Serialize)]
pub struct SourceResult {
    /// `source.<package>.<source>.<table>`.
    pub unique_id: String,
    /// `"schema"."table"`.
    pub relation: String,
    pub rows: u64,
    pub dead_letters: u64,
    pub batches: u64,
    /// Sorted by topic and partition.
    pub partitions: Vec<PartitionResult>,
    pub freshness: FreshnessResult,
}

#[derive(Debug, Serialize)]
pub struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    /// The next offset to load as stored in the warehouse; the low
    /// watermark when nothing was ever stored.
    pub committed_offset: i64,
    pub high_watermark: i64,
    pub lag: i64,
}

/// Commit time minus Kafka timestamp, in seconds, over the run's messages.
#[derive(Debug, Serialize)]
pub struct FreshnessResult {
    pub samples: u64,
    pub p50_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
}

impl FreshnessResult {
    pub fn of(histogram: &Histogram) -> Self {
        let seconds = |millis: Option<u64>| millis.map(|millis| millis as f64 / 1000.0);
        Self {
            samples: histogram.count(),
            p50_seconds: seconds(histogram.percentile(0.5)),
            p95_seconds: seconds(histogram.percentile(0.95)),
            max_seconds: seconds(histogram.max()),
        }
    }
}

/// Writes the artifact to `<target_dir>/ingest_results.json`, atomically.
pub fn write(target_dir: &Path, results: &IngestResults) -> Result<(), Diagnostic> {
    let json = serde_json::to_vec_pretty(results)
        .map_err(|error| Diagnostic::error(format!("cannot encode {FILE_NAME}: {error}")))?;
    crate::artifacts::write_atomic(&target_dir.join(FILE_NAME), &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifact_has_the_documented_shape() {
        let mut histogram = Histogram::default();
        for latency in [120, 80, 2_500] {
            histogram.record(latency);
        }
        let now = DateTime::parse_from_rfc3339("2026-12-04T03:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap_or_default();
        let results = IngestResults {
            metadata: Metadata::new("abc", true, 1.5, now),
            sources: vec![SourceResult {
                unique_id: "source.p.events.rentals".into(),
                relation: "\"bronze\".\"rentals\"".into(),
                rows: 3,
                dead_letters: 0,
                batches: 1,
                partitions: vec![PartitionResult {
                    topic: "rentals".into(),
                    partition: 0,
                    committed_offset: 3,
                    high_watermark: 5,
                    lag: 2,
                }],
                freshness: FreshnessResult::of(&histogram),
            }],
        };
        let value = serde_json::to_value(&results).unwrap_or_default();
        assert_eq!(value["metadata"]["generated_at"], "2026-12-04T03:00:00.000000Z");
        assert_eq!(value["metadata"]["follow"], true);
        assert_eq!(value["sources"][0]["partitions"][0]["lag"], 2);
        assert_eq!(
            value["sources"][0]["freshness"],
            serde_json::json!({"samples": 3, "p50_seconds": 0.12, "p95_seconds": 2.5, "max_seconds": 2.5})
        );
        let empty = serde_json::to_value(FreshnessResult::of(&Histogram::default())).unwrap_or_default();
        assert_eq!(
            empty,
            serde_json::json!({"samples": 0, "p50_seconds": null, "p95_seconds": null, "max_seconds": null})
        );
    }
}
