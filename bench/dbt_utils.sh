#!/usr/bin/env bash
# dvt against dbt-core on a real project: dbt-utils' own integration suite
# (../shared/third_party/dbt-utils), parsed cold and built on PostgreSQL.
#
# Usage: bench/dbt_utils.sh [--dvt PATH] [--runs N] [--skip-build]
#
#   parse   `dbt parse --no-partial-parse` and `dvt parse`, target/ removed
#           before every run, N runs each (default 3); the packages are
#           installed once first (`deps`).
#   build   `build --full-refresh` of the whole suite (75 seeds, 50 models,
#           112 tests) into a database of each tool's own, once each.
#
# Environment: DBT (default /work/dbt-venv/bin/dbt), BENCH_WORK (default
# /tmp/dvt-bench-dbt-utils), BENCH_PG_PASSWORD (postgres), PGPORT (5432).
# Prints a markdown table; each tool's output goes to $BENCH_WORK/logs/.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
SUITE="$REPO_DIR/../shared/third_party/dbt-utils"
DBT=${DBT:-/work/dbt-venv/bin/dbt}
WORK=${BENCH_WORK:-/tmp/dvt-bench-dbt-utils}
PASSWORD=${BENCH_PG_PASSWORD:-postgres}
PORT=${PGPORT:-5432}
DVT=""
RUNS=3
BUILD=1

while [ $# -gt 0 ]; do
  case "$1" in
    --dvt) DVT=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --skip-build) BUILD=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$DVT" ]; then
  cargo build --release --quiet --manifest-path "$REPO_DIR/Cargo.toml" || exit 1
  DVT="${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/dvt"
  [ -x "$DVT" ] || DVT="$(ls "${CARGO_TARGET_DIR:-$REPO_DIR/target}"/*/release/dvt 2>/dev/null | head -1)"
fi
[ -d "$SUITE" ] || { echo "error: $SUITE is missing" >&2; exit 1; }
[ -x "$DBT" ] || { echo "error: dbt not found at $DBT (pip install dbt-core==1.10.* dbt-postgres==1.9.*)" >&2; exit 1; }

mkdir -p "$WORK/logs"
psql_admin() { PGPASSWORD=$PASSWORD PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$PORT" -U postgres -qAt -d postgres -c "$1"; }

# One copy of the suite per tool, each with its own database.
prepare() {
  local tool=$1
  rm -rf "${WORK:?}/$tool"
  cp -r "$SUITE" "$WORK/$tool"
  psql_admin "drop database if exists bench_utils_$tool with (force)" >/dev/null
  psql_admin "create database bench_utils_$tool" >/dev/null
  cat >"$WORK/$tool/integration_tests/profiles.yml" <<EOF
integration_tests:
  target: postgres
  outputs:
    postgres:
      type: postgres
      host: 127.0.0.1
      port: $PORT
      user: postgres
      pass: "{{ env_var('BENCH_PG_PASSWORD', 'postgres') }}"
      dbname: bench_utils_$tool
      schema: dbt_utils_integration_tests_postgres
      threads: 2
EOF
}

# Seconds and peak RSS (MB) of one command, run in the suite's folder.
measure() {
  local tool=$1 log=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  (cd "$WORK/$tool/integration_tests" && DBT_PROFILES_DIR=. /usr/bin/time -f "%M" -o "$WORK/logs/$log.rss" "$@" >"$WORK/logs/$log.log" 2>&1)
  local status=$?
  end=$(date +%s.%N)
  printf '%.3f %d %d\n' "$(echo "$end - $start" | bc)" "$(($(tail -1 "$WORK/logs/$log.rss") / 1024))" "$status"
}

echo "| What | Tool | Runs | Mean s | Peak RSS MB | Exit |"
echo "|---|---|---|---|---|---|"
for tool in dbt dvt; do
  prepare "$tool"
  if [ "$tool" = dbt ]; then command=("$DBT"); else command=("$DVT"); fi
  measure "$tool" "$tool-deps" "${command[@]}" deps >/dev/null
  total=0; rss=0; status=0
  for run in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/$tool/integration_tests/target"
    if [ "$tool" = dbt ]; then
      read -r seconds mb code < <(measure "$tool" "$tool-parse-$run" "${command[@]}" parse --no-partial-parse)
    else
      read -r seconds mb code < <(measure "$tool" "$tool-parse-$run" "${command[@]}" parse)
    fi
    total=$(echo "$total + $seconds" | bc); rss=$((mb > rss ? mb : rss)); status=$((code > status ? code : status))
  done
  printf '| parse | %s | %d | %.3f | %d | %d |\n' "$tool" "$RUNS" "$(echo "$total / $RUNS" | bc -l)" "$rss" "$status"
  if [ "$BUILD" = 1 ]; then
    read -r seconds mb code < <(measure "$tool" "$tool-build" "${command[@]}" build --full-refresh)
    printf '| build --full-refresh | %s | 1 | %.3f | %d | %d |\n' "$tool" "$seconds" "$mb" "$code"
  fi
done
