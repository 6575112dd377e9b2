//! The last ingest of each Kafka-fed source, for the docs site: the lag of
//! every partition when it ended, and how fresh its events were (from each
//! message's Kafka timestamp to the commit that made it visible: p50, p95 and
//! the worst). Read from `target/ingest_results.json`, which every
//! `dvt ingest` writes as it ends; offline, like the rest of the site.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// The panel of every source in `ingest_results`, by unique id.
pub fn from_ingest_results(ingest_results: &Value) -> BTreeMap<String, Value> {
    let metadata = &ingest_results["metadata"];
    let mut panels = BTreeMap::new();
    for source in ingest_results["sources"].as_array().into_iter().flatten() {
        let Some(unique_id) = source["unique_id"].as_str() else {
            continue;
        };
        let partitions: Vec<Value> = source["partitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|partition| {
                json!({
                    "topic": partition["topic"],
                    "partition": partition["partition"],
                    "committed_offset": partition["committed_offset"],
                    "high_watermark": partition["high_watermark"],
                    "lag": partition["lag"].as_i64().unwrap_or_default().max(0),
                })
            })
            .collect();
        let total_lag: i64 = partitions
            .iter()
            .filter_map(|partition| partition["lag"].as_i64())
            .sum();
        panels.insert(
            unique_id.to_string(),
            json!({
                "mode": if metadata["follow"].as_bool().unwrap_or(false) { "follow" } else { "batch" },
                "generated_at": metadata["generated_at"],
                "elapsed_seconds": metadata["elapsed_seconds"],
                "rows": source["rows"],
                "dead_letters": source["dead_letters"],
                "batches": source["batches"],
                "freshness": source["freshness"],
                "partitions": partitions,
                "lag": total_lag,
            }),
        );
    }
    panels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_gets_its_partitions_total_lag_and_freshness() {
        let results = json!({
            "metadata": {"follow": true, "generated_at": "2026-12-04T03:00:00Z", "elapsed_seconds": 12.5},
            "sources": [{
                "unique_id": "source.p.events.rentals", "rows": 900, "dead_letters": 3, "batches": 4,
                "partitions": [
                    {"topic": "t", "partition": 0, "committed_offset": 500, "high_watermark": 510, "lag": 10},
                    {"topic": "t", "partition": 1, "committed_offset": 400, "high_watermark": 400, "lag": 0}
                ],
                "freshness": {"samples": 900, "p50_seconds": 0.4, "p95_seconds": 1.1, "max_seconds": 2.0}
            }, {"rows": 1}]
        });
        let panels = from_ingest_results(&results);
        assert_eq!(panels.len(), 1, "an entry without a unique id is skipped");
        let panel = &panels["source.p.events.rentals"];
        assert_eq!(panel["mode"], "follow");
        assert_eq!(panel["lag"], 10);
        assert_eq!(panel["partitions"][0]["lag"], 10);
        assert_eq!(panel["freshness"]["p95_seconds"], 1.1);
        assert_eq!(panel["dead_letters"], 3);
    }

    #[test]
    fn a_negative_lag_is_shown_as_none() {
        let results = json!({"metadata": {}, "sources": [{"unique_id": "s", "partitions": [{"lag": -4}]}]});
        let panels = from_ingest_results(&results);
        assert_eq!(panels["s"]["mode"], "batch");
        assert_eq!(panels["s"]["lag"], 0);
    }
}
