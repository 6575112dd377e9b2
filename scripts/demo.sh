#!/usr/bin/env bash
# The main job: seeds, builds, tests and documents the example DVD-rental project.
# Until the embedded DuckDB target lands, it runs on the locally installed
# PostgreSQL 15, which this script starts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/start-postgres.sh
su postgres -c "psql -qAtc \"select 1 from pg_database where datname = 'dvdrental'\"" | grep -q 1 \
    || su postgres -c "psql -qc 'create database dvdrental'"
[ -f profiles.yml ] || cp profiles.yml.example profiles.yml

cargo run --release --quiet -- build "$@"
cargo run --release --quiet -- docs generate
echo "The lineage site is in target/docs/index.html; serve it with: cargo run --release -- docs serve"
