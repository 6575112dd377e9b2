#!/usr/bin/env bash
# The ingest benchmark (bench/README.md, "ingest"): EVENTS JSON rental events
# of about 260 bytes on a Kafka topic, loaded into PostgreSQL side by side by
#   - dvt ingest, typed mapping (the example project's 12 columns from JSON
#     paths, models/streaming/_streaming.yml) and raw (jsonb), and the typed
#     mapping into DuckDB
#   - a raw COPY of the same rows from a file (the ceiling)
#   - a Python consumer as users write them (bench/ingest_consumer.py:
#     confluent-kafka + psycopg executemany)
# and prints a markdown table (appended to $BENCH_WORK/results.md).
#
#   bench/ingest.sh [EVENTS]        default 1,000,000
#
# Needs the release binaries (`cargo build --release`, with the default
# features duckdb and kafka; BIN names their directory), PostgreSQL on 127.0.0.1:$PGPORT (5432)
# (scripts/start-postgres.sh), and PYTHON with confluent_kafka and psycopg.
# The broker is a dvt-mock-kafka of its own (docs/kafka-broker.md), with
# PARTITIONS partitions so that no partition passes the mock's 5 MiB retention.
# REBALANCE_DELAY_MS sets the coordinator's group.initial.rebalance.delay.ms
# (Kafka's default, 3000, unless given; bench/README.md has a run with 0).
set -euo pipefail
cd "$(dirname "$0")/.."

events="${1:-1000000}"
partitions="${PARTITIONS:-64}"
bin="${BIN:-${CARGO_TARGET_DIR:-target}/release}"
python="${PYTHON:-/work/ingest-venv/bin/python}"
# SKIP_PYTHON=1 leaves the Python consumer out (when its packages are missing).
skip_python="${SKIP_PYTHON:-}"
work="${BENCH_WORK:-/tmp/dvt-bench-ingest}"
export PGHOST=127.0.0.1 PGPORT="${PGPORT:-5432}" PGUSER=postgres PGPASSWORD="${PGPASSWORD:-postgres}"
database=dvt_bench_ingest
topic=bench_events

source bench/ingest_common.sh
check_binaries
[[ -n "$skip_python" ]] || "$python" -c "import confluent_kafka, psycopg" || {
    echo "error: $python lacks confluent_kafka or psycopg" >&2
    echo "hint: python3 -m venv --system-site-packages /work/ingest-venv && /work/ingest-venv/bin/pip install 'psycopg[binary]' confluent-kafka" >&2
    exit 1
}

rm -rf "$work/logs" "$work/project" "$work"/*.csv "$work"/broker.*  # the DuckDB file is in project/
mkdir -p "$work/logs" "$work/project/models"

start_broker --topic "$topic" --partitions "$partitions" \
    --group-initial-rebalance-delay-ms "${REBALANCE_DELAY_MS:-3000}"

psql -qX -d postgres -c "drop database if exists $database with (force)" -c "create database $database"
sql() { psql -qAtX -d "$database" "$@"; }

cat >"$work/project/project.yml" <<YAML
name: bench_ingest
profile: bench_ingest
YAML
cat >"$work/project/profiles.yml" <<YAML
bench_ingest:
  target: dev
  outputs:
    dev:
      type: postgres
      host: 127.0.0.1
      port: $PGPORT
      user: postgres
      password: "{{ env_var('PGPASSWORD') }}"
      dbname: $database
      schema: analytics
      threads: 2
      kafka_bootstrap_servers: "$bootstrap"
    duck:
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
        ingest: &typed
          topics: [$topic]
          format: json
          mapping: typed
          columns:
            - {name: event_type, type: text, path: \$.event_type}
            - {name: rental_id, type: bigint, path: \$.rental_id}
            - {name: inventory_id, type: integer, path: \$.inventory_id}
            - {name: film_id, type: integer, path: \$.film_id}
            - {name: customer_id, type: integer, path: \$.customer_id}
            - {name: staff_id, type: integer, path: \$.staff_id}
            - {name: store_id, type: integer, path: \$.store_id}
            - {name: rental_date, type: timestamptz, path: \$.rental_date}
            - {name: return_date, type: timestamptz, path: \$.return_date}
            - {name: rental_rate, type: "numeric(4,2)", path: \$.rental_rate}
            - {name: amount, type: "numeric(6,2)", path: \$.amount}
            - {name: event_time, type: timestamptz, path: \$.event_time}
      # The same typed load by two consumers in one process (--consumers 2).
      - name: rental_events_2
        ingest: *typed
      - name: rental_events_raw
        ingest:
          topics: [$topic]
          format: json
          mapping: raw
YAML

results=()
# measure NAME ROWS_SQL COMMAND...: runs COMMAND under /usr/bin/time, then
# counts the rows it loaded with ROWS_SQL (on the DuckDB target when it
# starts with `duckdb:`).
measure() {
    local name="$1" rows_sql="$2"
    shift 2
    local load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    echo "== $name" >&2
    # PostgreSQL's CPU time meanwhile, sampled until fd 4 closes.
    exec 4> >(python3 bench/pg_cpu.py >"$work/logs/$name.pg_cpu")
    /usr/bin/time -f "%e %M %U %S" -o "$work/logs/$name.time" "$@" >"$work/logs/$name.log" 2>&1 || {
        echo "error: $name failed; its output:" >&2
        tail -20 "$work/logs/$name.log" >&2
        exit 1
    }
    exec 4>&-
    for _ in $(seq 1 50); do
        [[ -s "$work/logs/$name.pg_cpu" ]] && break
        sleep 0.1
    done
    local wall rss user system rows pg_cpu
    read -r wall rss user system <"$work/logs/$name.time"
    pg_cpu="$(cat "$work/logs/$name.pg_cpu")"
    if [[ "$rows_sql" == duckdb:* ]]; then
        rows="$("$bin/dvt" show --project-dir "$work/project" --profiles-dir "$work/project" --target duck \
            --inline "${rows_sql#duckdb:}" 2>/dev/null | grep -Eo '[0-9]+' | tail -1)"
    else
        rows="$(sql -c "$rows_sql")"
    fi
    results+=("$(awk -v name="$name" -v rows="$rows" -v wall="$wall" -v rss="$rss" -v user="$user" -v sys_time="$system" -v pg="$pg_cpu" -v load="$load" \
        'BEGIN { printf "| %s | %d | %.2f | %.0f | %.0f | %.1f | %.1f | %s |", name, rows, wall, rows / wall, rss / 1024, user + sys_time, pg, load }')")
    echo "${results[-1]}" >&2
}

echo "== loading $events events into $topic ($partitions partitions)" >&2
/usr/bin/time -f "%e %M" -o "$work/logs/produce.time" \
    "$bin/dvt" produce --bootstrap-servers "$bootstrap" --topic "$topic" --generate rentals \
    --count "$events" --seed 1 >"$work/logs/produce.log" 2>&1
tail -1 "$work/logs/produce.log" >&2

measure "dvt ingest, typed" "select count(*) from bronze.rental_events" \
    "$bin/dvt" ingest --project-dir "$work/project" --profiles-dir "$work/project" --select source:events.rental_events
measure "dvt ingest, typed, --consumers 2" "select count(*) from bronze.rental_events_2" \
    "$bin/dvt" ingest --project-dir "$work/project" --profiles-dir "$work/project" --select source:events.rental_events_2 --consumers 2
measure "dvt ingest, raw" "select count(*) from bronze.rental_events_raw" \
    "$bin/dvt" ingest --project-dir "$work/project" --profiles-dir "$work/project" --select source:events.rental_events_raw
measure "dvt ingest, typed, DuckDB" "duckdb:select count(*) as loaded from bronze.rental_events" \
    "$bin/dvt" ingest --project-dir "$work/project" --profiles-dir "$work/project" --target duck --select source:events.rental_events

# The ceiling: the rows dvt loaded, as a file, loaded again with COPY through psql.
sql -c "create schema ceiling"
for mapping in typed raw; do
    table="bronze.rental_events$([[ $mapping == raw ]] && echo _raw || true)"
    sql -c "\\copy (select * from $table) to '$work/$mapping.csv' csv"
    sql -c "create table ceiling.$mapping (like $table including all)"
    measure "COPY from a file, $mapping" "select count(*) from ceiling.$mapping" \
        psql -qX -d "$database" -c "\\copy ceiling.$mapping from '$work/$mapping.csv' csv"
done

sql -c "create schema python" -c "create table python.rental_events (like bronze.rental_events including all)"
[[ -n "$skip_python" ]] || measure "Python: confluent-kafka + psycopg executemany" "select count(*) from python.rental_events" \
    "$python" bench/ingest_consumer.py --bootstrap "$bootstrap" --topic "$topic" \
    --dsn "host=$PGHOST port=$PGPORT user=$PGUSER password=$PGPASSWORD dbname=$database" --table python.rental_events

# Every loader holds the same rows, and all of them (the mock broker drops
# the oldest messages of a partition past 5 MiB).
if [[ "$(sql -c "select count(*) from bronze.rental_events")" != "$events" ]]; then
    echo "error: dvt loaded fewer than the $events events: did the broker drop some? Raise PARTITIONS" >&2
    exit 1
fi
# Every loader holds the same rows.
checksum="count(*), sum(rental_id), sum(amount), count(return_date)"
typed="$(sql -c "select $checksum from bronze.rental_events")"
python_rows="$(sql -c "select $checksum from python.rental_events")"
[[ -z "$skip_python" ]] || python_rows="$typed"
raw="$(sql -c "select count(*), sum((payload->>'rental_id')::bigint), sum((payload->>'amount')::numeric), count(payload->>'return_date') from bronze.rental_events_raw")"
if [[ "$typed" != "$python_rows" || "$typed" != "$raw" ]]; then
    echo "error: the loads differ: typed $typed, raw $raw, python $python_rows" >&2
    exit 1
fi

table="$(printf '%s\n' \
    "| Loader | Rows | Wall s | Events/s | Peak RSS MiB | Loader CPU s | PostgreSQL CPU s | Load at start |" \
    "|---|---|---|---|---|---|---|---|" \
    "${results[@]}")"
{
    echo "### $(date -u +%Y-%m-%dT%H:%MZ): $events events, $partitions partitions; $(tail -1 "$work/logs/produce.log")"
    echo
    echo "$table"
    echo
    echo "Checksums (count, sum rental_id, sum amount, returns) agree: $typed"
} | tee -a "$work/results.md"
