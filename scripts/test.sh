#!/usr/bin/env bash
# Runs every test: unit, snapshot, CLI, and the integration tests against a real
# PostgreSQL 15 on 127.0.0.1, which this script starts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/start-postgres.sh
cargo test "$@"
