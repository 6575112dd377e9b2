#!/usr/bin/env bash
# The main job: the whole pipeline of the example DVD-rental project on the
# embedded DuckDB default (target/dev.duckdb), with nothing to install or
# configure. With no profiles.yml found, dvt says so and uses DuckDB, with
# the lake in target/lake/.
#
#   1. starts a local Kafka broker (dvt-mock-kafka, in memory, on 127.0.0.1)
#   2. produces rental events into the topic `rental_events`
#   3. ingests them exactly once into the bronze table bronze.rental_events
#   4. builds the seeds, staging, the star schema, the KPIs and the streaming
#      silver and gold models, and runs their tests
#   5. exports the gold marts to the lake, and reads one export back
#   6. writes the docs site
#   7. stops the broker it started, and prints a summary
#
# A second run is incremental: the broker keeps its topic in memory only, so
# each run replays the topic's log from the start (the same seed gives the
# same events) and appends DVT_DEMO_EVENTS new ones; `dvt ingest` skips every
# offset it has already committed, so no event is loaded twice.
#
# Flags go to `dvt build`. To run the same project on PostgreSQL: copy
# profiles.yml.example to profiles.yml, start the server (`bash
# scripts/start-postgres.sh` does it here), and run
# `DVT_TARGET=pg bash scripts/demo.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

events_per_run="${DVT_DEMO_EVENTS:-3000}"
seed=20261204
topic=rental_events
state=target/demo
export DVT_KAFKA_DIR="$state/kafka"

# The release binaries: dvt and the broker (or those in $DVT_BIN_DIR, as the
# example-project test runs this script with its debug build).
if [[ -n "${DVT_BIN_DIR:-}" ]]; then
    bin="$DVT_BIN_DIR"
else
    cargo build --release --quiet --bins
    bin="${CARGO_TARGET_DIR:-target}/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release"
fi
dvt() { "$bin/dvt" "$@"; }
mkdir -p "$state"
# The project's package (packages/dvdrental_utils) into dbt_packages/.
dvt deps

step() { printf '\n==> %s\n' "$*"; }

# 1. The broker. A broker left by an interrupted demo holds a log that no
# longer matches what was loaded, so it is replaced.
step "Starting the local Kafka broker"
DVT_MOCK_KAFKA="$bin/dvt-mock-kafka" bash scripts/start-kafka.sh stop >/dev/null
DVT_MOCK_KAFKA="$bin/dvt-mock-kafka" bash scripts/start-kafka.sh --topic "$topic" --partitions 4
trap 'bash scripts/start-kafka.sh stop >/dev/null' EXIT
DVT_KAFKA_BOOTSTRAP="$(cat "$DVT_KAFKA_DIR/bootstrap")"
export DVT_KAFKA_BOOTSTRAP

# 2. The topic's log: every event of the earlier runs, then the new ones.
earlier=0
[[ -f "$state/events" ]] && earlier="$(cat "$state/events")"
total=$((earlier + events_per_run))
step "Producing $events_per_run new rental events ($total in the topic's log)"
dvt produce --topic "$topic" --generate rentals --seed "$seed" --count "$total"
echo "$total" >"$state/events"

# 3. Bronze, exactly once.
step "Ingesting into bronze"
dvt ingest

# 4-5. Everything else, with the tests and the exports of the gold marts.
step "Building the project (seeds, models, snapshots, tests, exports)"
dvt build "$@" 2>&1 | tee "$state/build.log"
cp target/run_results.json "$state/build_results.json"
built_of() { grep -c "\"unique_id\": *\"$1\." "$state/build_results.json" || true; }

scalar() { dvt show --inline "$1" --limit 1 2>/dev/null | sed -n 3p | tr -dc '0-9.'; }
step "Reading an export back from the lake"
lake_files="$(find target/lake -type f -name '*.parquet' 2>/dev/null | wc -l)"
exported=""
if [[ -d target/lake/lake/gold/fct_rental ]]; then
    # DuckDB reads the lake's Parquet with no download (on another target
    # this query is not DuckDB's, and the line is left out).
    exported="$(scalar "select count(*) from read_parquet('target/lake/lake/gold/fct_rental/**/*.parquet')" || true)"
fi
if [[ -n "$exported" ]]; then
    echo "fct_rental: $exported rows read back from target/lake/lake/gold/fct_rental/ ($(scalar "select count(*) from {{ ref('fct_rental') }}") in the warehouse)"
else
    echo "No export in target/lake/ to read back (the target has no local lake)"
fi

# 6. The docs.
step "Writing the docs site"
dvt docs generate

# 7. The broker stops on exit; the summary.
this_run="$(grep -o '"rows": *[0-9]*' target/ingest_results.json 2>/dev/null | head -1 | tr -dc '0-9')"
loaded="$(scalar "select count(*) from {{ source('events', 'rental_events') }}")"
dead="$(scalar "select count(*) from bronze.rental_events__dead_letter" || true)"
silver="$(scalar "select count(*) from {{ ref('silver_rental_events') }}")"
done_line="$(grep -E '^Done\.' "$state/build.log" | tail -1)"
cat <<EOF

==> Summary
  events produced   $events_per_run new this run, $total in the topic
  events in bronze  ${loaded:-?} (each once; ${this_run:-?} loaded this run), ${dead:-0} dead letters; ${silver:-?} in silver_rental_events
  built             $(built_of model) models, $(built_of seed) seeds, $(built_of snapshot) snapshot, $(built_of test) data tests and $(built_of unit_test) unit tests, $(built_of export) exports
                    ${done_line:-see $state/build.log}
  lake              $lake_files Parquet files in target/lake/${exported:+; fct_rental read back: $exported rows}
  look at           target/docs/index.html (serve it: $bin/dvt docs serve),
                    target/run_results.json, target/ingest_results.json, target/dev.duckdb
EOF
