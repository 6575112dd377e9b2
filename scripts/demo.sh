#!/usr/bin/env bash
# The main job: seeds, builds, tests and documents the example DVD-rental
# project on the embedded DuckDB default (target/dev.duckdb). No server and
# no profiles.yml are needed: with none found, dvt says so and uses DuckDB.
# To run the same project on PostgreSQL: copy profiles.yml.example to
# profiles.yml, start the server (`bash scripts/start-postgres.sh` does it
# here), and run `DVT_TARGET=pg bash scripts/demo.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The project's package (packages/dvdrental_utils) into dbt_packages/.
cargo run --release --quiet -- deps
cargo run --release --quiet -- build "$@"
cargo run --release --quiet -- docs generate
echo "The lineage site is in target/docs/index.html; serve it with: cargo run --release -- docs serve"
