#!/usr/bin/env bash
# Ingest latency as a scheduler sees it (bench/README.md, "Ingest latency";
# issue 18): on the test broker (dvt-mock-kafka), EVENTS rental events, then
# for each warehouse and mode
#   - `nothing new`: a batch `dvt ingest` once everything is loaded
#   - `after kill -9`: a `dvt ingest --follow` SIGKILLed once KILL_AT rows
#     are loaded, then a batch `dvt ingest`: the time to its first committed
#     batch and to its end (it loads the rest)
# and checks that every event was loaded once. Prints a markdown table
# (appended to $BENCH_WORK/results.md).
#
#   bench/ingest_latency.sh [EVENTS]        default 50,000
#
# BIN names the directory of the `dvt` and `dvt-mock-kafka` binaries (release
# or debug); BEFORE, when set, names another `dvt` binary to measure the same
# way on PostgreSQL (the one before this change). MODES lists what to run:
# `postgres`, `postgres --group`, `duckdb` (default: all three). PostgreSQL
# on 127.0.0.1:$PGPORT (scripts/start-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

events="${1:-50000}"
kill_at="${KILL_AT:-20000}"
# Enough partitions that none passes the mock broker's 5 MiB retention.
partitions="${PARTITIONS:-16}"
bin="${BIN:-${CARGO_TARGET_DIR:-target}/release}"
work="${BENCH_WORK:-/tmp/dvt-bench-ingest-latency}"
export PGHOST=127.0.0.1 PGPORT="${PGPORT:-5432}" PGUSER=postgres PGPASSWORD="${PGPASSWORD:-postgres}"
database=dvt_bench_ingest_latency
topic=rental_events

source bench/ingest_common.sh
check_binaries

rm -rf "$work/logs" "$work/project" "$work"/broker.*
mkdir -p "$work/logs" "$work/project/models"

start_broker --topic "$topic" --partitions "$partitions"

cat >"$work/project/project.yml" <<YAML
name: bench_latency
profile: bench_latency
YAML
cat >"$work/project/profiles.yml" <<YAML
bench_latency:
  target: pg
  outputs:
    pg:
      type: postgres
      host: 127.0.0.1
      port: $PGPORT
      user: postgres
      password: "{{ env_var('PGPASSWORD') }}"
      dbname: $database
      schema: analytics
      threads: 2
      kafka_bootstrap_servers: "$bootstrap"
    duckdb:
      type: duckdb
      path: $work/project/warehouse.duckdb
      schema: analytics
      threads: 2
      kafka_bootstrap_servers: "$bootstrap"
YAML
cat >"$work/project/models/sources.yml" <<YAML
version: 2
sources:
  - name: events
    schema: bronze
    tables:
      - name: rental_events
        ingest:
          topics: [$topic]
          format: json
          mapping: typed
          columns:
            - {name: rental_id, type: bigint, path: \$.rental_id}
            - {name: amount, type: "numeric(6,2)", path: \$.amount}
YAML

now() { date +%s.%N; }
# timed DVT ARGS...: runs `DVT ingest ARGS`, prints "WALL FIRST" (seconds to
# the end, and to the first committed batch or `-`).
timed() {
    local dvt="$1" started first="-" line
    shift
    started="$(now)"
    while IFS= read -r line; do
        echo "$line" >>"$work/logs/run.log"
        if [[ "$first" == - && "$line" == *"batches so far"* ]]; then
            first="$(awk -v a="$(now)" -v b="$started" 'BEGIN { printf "%.2f", a - b }')"
        fi
    done < <("$dvt" ingest --project-dir "$work/project" --profiles-dir "$work/project" "$@" 2>&1 || echo "FAILED $?")
    if grep -q '^FAILED' "$work/logs/run.log"; then
        echo "error: dvt ingest $* failed:" >&2
        tail -20 "$work/logs/run.log" >&2
        exit 1
    fi
    awk -v a="$(now)" -v b="$started" -v first="$first" 'BEGIN { printf "%.2f %s\n", a - b, first }'
}

# loaded TARGET: rows in the bronze table (DuckDB's read once no dvt holds it).
loaded() {
    case "$1" in
        pg) psql -qAtX -d "$database" -c "select count(*) || ' ' || count(distinct partition || '/' || \"offset\") from bronze.rental_events" ;;
        duckdb) "$bin/dvt" show --project-dir "$work/project" --profiles-dir "$work/project" --target duckdb \
            --inline "select count(*) || ' ' || count(distinct partition || '/' || \"offset\") as loaded from bronze.rental_events" 2>/dev/null |
            grep -Eo '[0-9]+ [0-9]+' | tail -1 ;;
    esac
}

produced=0
produce() {
    "$bin/dvt" produce --bootstrap-servers "$bootstrap" --topic "$topic" --generate rentals \
        --count "$1" --seed "$((produced + 1))" >>"$work/logs/produce.log" 2>&1
    produced=$((produced + $1))
}

results=()
# measure NAME DVT TARGET ARGS...: from an empty warehouse, the two latencies.
measure() {
    local name="$1" dvt="$2" target="$3"
    shift 3
    echo "== $name" >&2
    : >"$work/logs/run.log"
    psql -qX -d postgres -c "drop database if exists $database with (force)" -c "create database $database"
    rm -f "$work/project/warehouse.duckdb" "$work/project/warehouse.duckdb.wal"
    # Everything so far, loaded; then a run with nothing new (after a clean exit).
    timed "$dvt" --target "$target" "$@" >/dev/null
    local idle
    idle="$(timed "$dvt" --target "$target" "$@" | cut -d' ' -f1)"
    # New events; a --follow killed with SIGKILL once KILL_AT of them are in.
    produce "$events"
    local log="$work/logs/${name// /_}.follow.log"
    "$dvt" ingest --project-dir "$work/project" --profiles-dir "$work/project" --target "$target" "$@" \
        --follow --batch-rows 2000 --batch-latency 10s >"$log" 2>&1 &
    local follower=$!
    local waited=0
    while :; do
        local in_all
        in_all="$(grep -Eo '\(([0-9,]+) rows in all\)' "$log" | tail -1 | tr -dc '0-9' || true)"
        [[ -n "$in_all" && "$in_all" -ge "$kill_at" ]] && break
        sleep 0.05
        waited=$((waited + 1))
        ((waited < 6000)) || { echo "error: the follower loaded nothing in 300 s:" >&2; tail "$log" >&2; exit 1; }
    done
    kill -9 "$follower"
    wait "$follower" 2>/dev/null || true
    local resume
    resume="$(timed "$dvt" --target "$target" "$@")"
    local rows
    rows="$(loaded "$target")"
    # The generator's events are all typed rows: every one loaded, once (by
    # its partition and offset; rental ids repeat across produce runs).
    if [[ "$rows" != "$produced $produced" ]]; then
        echo "error: $name: the bronze table holds $rows (rows, distinct ids), not $produced of each" >&2
        exit 1
    fi
    results+=("$(printf '| %s | %s | %s | %s | %s |' "$name" "$idle" "$(cut -d' ' -f2 <<<"$resume")" \
        "$(cut -d' ' -f1 <<<"$resume")" "$rows")")
    echo "${results[-1]}" >&2
}

produce "$events"
IFS=',' read -r -a modes <<<"${MODES:-postgres,postgres --group,duckdb}"
if [[ -n "${BEFORE:-}" ]]; then
    measure "before: postgres" "$BEFORE" pg
fi
for mode in "${modes[@]}"; do
    case "$mode" in
        postgres) measure "postgres" "$bin/dvt" pg ;;
        "postgres --group") measure "postgres --group" "$bin/dvt" pg --group ;;
        duckdb) measure "duckdb" "$bin/dvt" duckdb ;;
        *) echo "error: unknown mode \`$mode\`" >&2; exit 1 ;;
    esac
done

table="$(printf '%s\n' \
    "| Run | Nothing new, s | After kill -9: first batch, s | After kill -9: whole re-run, s | Rows, distinct offsets |" \
    "|---|---|---|---|---|" \
    "${results[@]}")"
{
    echo "### $(date -u +%Y-%m-%dT%H:%MZ): $events events a round on $partitions partitions, SIGKILL at $kill_at; $(basename "$(dirname "$bin/dvt")") binaries"
    echo
    echo "$table"
} | tee -a "$work/results.md"
