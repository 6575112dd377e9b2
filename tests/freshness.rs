//! End-to-end tests of `dvt source freshness` on PostgreSQL and DuckDB
//! ([`matrix!`]): pass, warn and error against `warn_after`/`error_after`
//! inherited from the source, `filter`, `loaded_at_query`, `freshness: null`,
//! a missing table, the Kafka-ingested source read on `ingested_at`,
//! `--select`, `--output`, and `source_status:fresher+` against the
//! `sources.json` of another run.
//!
//! The expected statuses, the `sources.json` entries (which sources are in
//! it, their `criteria`) and the exit codes are dbt-core 1.10.23's, from
//! `dbt source freshness` with dbt-postgres and dbt-duckdb on the same
//! sources and rows.

#![cfg(feature = "duckdb")]

#[path = "support/command.rs"]
mod command;
mod common;
#[path = "support/engine.rs"]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/profile.rs"]
mod profile;
#[path = "support/project.rs"]
mod project;
#[path = "support/run_output.rs"]
mod run_output;

use engine::Engine;
use fixture::Project;
use serde_json::{json, Value};

/// A table of `raw` whose one row was loaded `age` ago.
fn loaded_table(name: &str, age: &str) -> String {
    format!("create table raw.{name} as select 1 as id, cast(now() as timestamp) - interval '{age}' as loaded_at;")
}

const SOURCES: &str = "version: 2
sources:
  - name: raw
    schema: raw
    loaded_at_field: loaded_at
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 1, period: day}
    tables:
      - name: fresh_t
      - name: stale_t
      - name: old_t
      - name: filtered_t
        freshness:
          filter: \"kind = 'good'\"
      - name: query_t
        loaded_at_query: \"select max(loaded_at) from raw.query_t\"
      - name: off_t
        freshness: null
      - name: missing_t
  - name: other
    schema: raw
    tables:
      - name: no_fresh
        loaded_at_field: loaded_at
      - name: table_only
        loaded_at_field: loaded_at
        freshness:
          error_after: {count: 2, period: minute}
";

fn freshness_project(engine: Engine) -> Project {
    let project = Project::new("fresh", engine);
    project.write("models/sources.yml", SOURCES);
    project.write(
        "models/reads_fresh.sql",
        "select * from {{ source('raw', 'fresh_t') }}\n",
    );
    let mut sql = String::from("create schema raw;");
    for (name, age) in [
        ("fresh_t", "5 minutes"),
        ("stale_t", "2 hours"),
        ("old_t", "3 days"),
        ("query_t", "3 hours"),
        ("off_t", "3 days"),
        ("no_fresh", "3 days"),
        ("table_only", "3 days"),
    ] {
        sql.push_str(&loaded_table(name, age));
    }
    // The latest row is new, but the filter keeps only the old one.
    sql.push_str(
        "create table raw.filtered_t as select 'good' as kind, cast(now() as timestamp) - interval '5 days' as loaded_at \
         union all select 'bad', now();",
    );
    project.execute(&sql);
    project
}

fn artifact(project: &Project, path: &str) -> Value {
    serde_json::from_str(&project.read(path)).expect("sources.json is JSON")
}

fn statuses(artifact: &Value) -> Vec<(String, String)> {
    artifact["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            (
                result["unique_id"].as_str().unwrap_or_default().to_string(),
                result["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

matrix!(freshness_passes_warns_and_errors_as_dbt_does);
fn freshness_passes_warns_and_errors_as_dbt_does(engine: Engine) {
    let project = freshness_project(engine);
    // dbt exits 1 when a source is past error_after or fails to run.
    let output = project.dvt_exits(1, &["source", "freshness"]);
    let sources = artifact(&project, "target/sources.json");
    // dbt-core 1.10: `off_t` (freshness: null) and `no_fresh` (no
    // threshold) are not checked; the table inherits the source's
    // thresholds and overrides one; the filter keeps the 5-day-old row; a
    // missing table is a runtime error, printed but left out of the file.
    assert_eq!(
        statuses(&sources),
        [
            ("source.fresh.other.table_only", "error"),
            ("source.fresh.raw.filtered_t", "error"),
            ("source.fresh.raw.fresh_t", "pass"),
            ("source.fresh.raw.old_t", "error"),
            ("source.fresh.raw.query_t", "warn"),
            ("source.fresh.raw.stale_t", "warn"),
        ]
        .map(|(id, status)| (id.to_string(), status.to_string()))
    );
    let results = sources["results"].as_array().expect("results");
    assert_eq!(
        results[0]["criteria"],
        json!({"warn_after": {"count": null, "period": null}, "error_after": {"count": 2, "period": "minute"}, "filter": null})
    );
    assert_eq!(
        results[1]["criteria"],
        json!({"warn_after": {"count": 1, "period": "hour"}, "error_after": {"count": 1, "period": "day"}, "filter": "kind = 'good'"})
    );
    let fresh = &results[2];
    let age = fresh["max_loaded_at_time_ago_in_s"].as_f64().expect("an age");
    assert!((290.0..900.0).contains(&age), "{fresh}");
    assert!(
        fresh["max_loaded_at"]
            .as_str()
            .is_some_and(|time| time.ends_with("+00:00")),
        "{fresh}"
    );
    assert_eq!(
        sources["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/sources/v3.json"
    );
    // dbt-postgres answers the query's status; dbt-duckdb only `OK`.
    assert_eq!(
        fresh["adapter_response"],
        engine.pick(
            json!({"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1}),
            json!({"_message": "OK"})
        )
    );
    for key in ["snapshotted_at", "timing", "thread_id", "execution_time"] {
        assert!(fresh.get(key).is_some(), "{key} in {fresh}");
    }
    // Progress lines as dbt prints them.
    for line in [
        "PASS freshness of raw.fresh_t",
        "WARN freshness of raw.stale_t",
        "ERROR STALE freshness of raw.old_t",
        "ERROR freshness of raw.missing_t",
    ] {
        assert!(output.stderr.contains(line), "{line} in {}", output.stderr);
    }
    assert!(
        output.stderr.contains("Runtime Error in source missing_t"),
        "{}",
        output.stderr
    );

    // Selecting passing and warning sources only: dbt exits 0 on a warning.
    project.dvt_exits(
        0,
        &[
            "source",
            "freshness",
            "--select",
            "source:raw.fresh_t",
            "source:raw.stale_t",
            "-o",
            "out/selected.json",
        ],
    );
    assert_eq!(
        statuses(&artifact(&project, "out/selected.json")),
        [
            ("source.fresh.raw.fresh_t", "pass"),
            ("source.fresh.raw.stale_t", "warn")
        ]
        .map(|(id, status)| (id.to_string(), status.to_string()))
    );
}

matrix!(source_status_fresher_selects_sources_loaded_since_the_other_run);
fn source_status_fresher_selects_sources_loaded_since_the_other_run(engine: Engine) {
    let project = freshness_project(engine);
    project.dvt_exits(0, &["parse"]);
    project.dvt_exits(1, &["source", "freshness"]);
    let state = project.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    for file in ["manifest.json", "sources.json"] {
        std::fs::copy(project.path().join("target").join(file), state.join(file)).expect("copy the artifacts");
    }
    // A new row in fresh_t only.
    project.execute("insert into raw.fresh_t select 2, now();");
    project.dvt_exits(1, &["source", "freshness"]);
    // dbt's `source_status:fresher+`: the sources whose max_loaded_at grew,
    // and what is built on them.
    let output = project.dvt_exits(0, &["ls", "--select", "source_status:fresher+", "--state", "state"]);
    assert_eq!(
        output.stdout.lines().collect::<Vec<_>>(),
        ["fresh.reads_fresh", "source:fresh.raw.fresh_t"],
        "{}",
        output.stdout
    );
    // Without --state, the selector has nothing to compare with.
    let output = project.dvt_exits(2, &["ls", "--select", "source_status:fresher"]);
    assert!(output.stderr.contains("no `--state` was given"), "{}", output.stderr);
}

matrix!(an_ingested_source_is_fresh_by_its_ingested_at);
fn an_ingested_source_is_fresh_by_its_ingested_at(engine: Engine) {
    let project = Project::new("fresh", engine);
    project.write(
        "models/sources.yml",
        "version: 2
sources:
  - name: events
    schema: bronze
    freshness:
      error_after: {count: 1, period: hour}
    tables:
      - name: rental_events
        ingest:
          topics: [rental_events]
          format: json
          mapping: typed
          columns:
            - {name: rental_id, type: bigint, path: $.rental_id}
",
    );
    project.write(
        "models/silver.sql",
        "select * from {{ source('events', 'rental_events') }}\n",
    );
    // The run creates the empty bronze table.
    project.dvt_exits(0, &["run"]);
    // No rows: loaded infinitely long ago, as dbt reads a null max.
    project.dvt_exits(1, &["source", "freshness"]);
    let sources = artifact(&project, "target/sources.json");
    assert_eq!(sources["results"][0]["status"], "error");
    assert_eq!(sources["results"][0]["max_loaded_at"], "0001-01-01T00:00:00+00:00");
    project.execute(
        "insert into bronze.rental_events (rental_id, topic, \"partition\", \"offset\", ingested_at) \
         values (1, 'rental_events', 0, 0, cast(now() as timestamp) - interval '10 minutes');",
    );
    project.dvt_exits(0, &["source", "freshness"]);
    let sources = artifact(&project, "target/sources.json");
    assert_eq!(sources["results"][0]["status"], "pass");
    let age = sources["results"][0]["max_loaded_at_time_ago_in_s"]
        .as_f64()
        .expect("an age");
    assert!((590.0..1200.0).contains(&age), "{sources}");
}
