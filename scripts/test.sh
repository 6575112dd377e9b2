#!/usr/bin/env bash
# Runs every test: unit, snapshot, CLI, and the integration tests against the
# services they need on 127.0.0.1, which this script starts: a real PostgreSQL
# 15, a Kafka wire-protocol broker (dvt-mock-kafka, built from this
# repository), an S3 server (s3s-fs) for the lake and a Spark Connect server
# (one JVM for the whole run; pyspark installed once per machine). The
# embedded DuckDB needs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/start-postgres.sh
bash scripts/start-s3.sh
bash scripts/start-spark.sh
# The host as an explicit build target, as .ci/run sets it, so that the test
# build and `cargo clippy` share one run of DuckDB's C++ build.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
# The Kafka tests start a broker of their own each; this one is for the
# smoke test of the start script (and for demos afterwards).
bash scripts/start-kafka.sh --topic dvt_smoke --partitions 2
DVT_TEST_KAFKA_BOOTSTRAP="$(cat target/kafka/bootstrap)"
export DVT_TEST_KAFKA_BOOTSTRAP
# Every test project's target/ and logs/ are kept here as it is dropped,
# for the secrets scan below.
DVT_TEST_ARTIFACTS="$PWD/target/test-artifacts"
rm -rf "$DVT_TEST_ARTIFACTS"
export DVT_TEST_ARTIFACTS
cargo test "$@"

# After the whole suite (not when cargo test was given a subset to run):
if [[ $# -eq 0 ]]; then
    # The fault trials' short version (docs/reliability.md), on the debug dvt
    # and broker that cargo test built. The seed is printed; replay a failure
    # with `bash bench/faults/run.sh --trials 10 --seed N`.
    bin="${CARGO_TARGET_DIR:-target}/$CARGO_BUILD_TARGET/debug"
    DVT="$bin/dvt" DVT_MOCK_KAFKA="$bin/dvt-mock-kafka" \
        bash bench/faults/run.sh --trials 10 --seed "${DVT_FAULTS_SEED:-$RANDOM}"
    # No test password or key in what the trials' project and the tests wrote
    # (target/, with every test project's target/ and logs/ in
    # target/test-artifacts, and the cargo target dir but its build output), nor in the
    # services' logs; the scan plants each secret first and fails if it
    # misses one, or if it finds no file.
    python3 bench/faults/scan_secrets.py --self-check target "${CARGO_TARGET_DIR:-target}" \
        /tmp/dvt-s3.log /var/log/postgresql
fi
