#!/usr/bin/env bash
# Runs every test: unit, snapshot, CLI, and the integration tests against a real
# PostgreSQL 15 on 127.0.0.1 and an S3 server (s3s-fs) for the lake, which this
# script starts, and the embedded DuckDB.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/start-postgres.sh
bash scripts/start-s3.sh
# The host as an explicit build target, as .ci/run sets it, so that the test
# build and `cargo clippy` share one run of DuckDB's C++ build.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
cargo test "$@"
