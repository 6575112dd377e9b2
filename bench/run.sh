#!/usr/bin/env bash
# Side-by-side benchmark of dvt against dbt-core on local PostgreSQL.
#
# Usage:
#   bench/run.sh [parse|compile|run|seed|duckdb|all] [--dvt PATH] [--sizes "1000 10000"]
#                [--views N] [--rows N] [--dbt-runs N] [--dvt-runs N] [--run-repeats N]
#                [--skip-dbt]   (time dvt only)
#
#   parse, compile  generate an N-model project per size (gen_project.py) into
#                   $BENCH_WORK, recreate the database, time a cold
#                   `dbt parse|compile --no-partial-parse` (target/ removed
#                   before every run), then the same with dvt.
#   run             500 cheap views (gen_project.py 500 --views), --threads 4.
#                   One untimed-for-comparison first run creates the schema,
#                   then --run-repeats timed re-runs (each its own row).
#                   Logs are scanned for `deadlock detected`.
#   seed            the example project's seeds (/work/main/seeds/*.csv, if any)
#                   and a --rows (1M) row CSV from gen_big_csv.py; the bench
#                   schema is dropped before every run, so each load is cold.
#   duckdb          `build` of the whole example project (seeds, models, tests)
#                   into a fresh embedded DuckDB file each run: dbt-duckdb
#                   against dvt's DuckDB adapter. Rows are checked after.
#   all             parse, compile, run, seed, duckdb (default).
#
# Environment: DBT (default /work/dbt-venv/bin/dbt), BENCH_WORK (default
# /tmp/dvt-bench), BENCH_DB (default dvt_bench), BENCH_PG_PASSWORD (postgres).
# Timing uses hyperfine when installed (--runs 1 for dbt, 3 for dvt), else
# /usr/bin/time; peak RSS always comes from /usr/bin/time -f %M.
# Results: markdown table on stdout, also $BENCH_WORK/results.md; per-run
# tool output in $BENCH_WORK/logs/.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")

WHAT=all
DVT=""
SIZES="1000 10000"
VIEWS=500
ROWS=1000000
DBT_RUNS=1
DVT_RUNS=3
RUN_REPEATS=2
SKIP_DBT=0
THREADS=4

while [ $# -gt 0 ]; do
  case "$1" in
    parse|compile|run|seed|duckdb|all) WHAT=$1 ;;
    --dvt) DVT=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    --views) VIEWS=$2; shift ;;
    --rows) ROWS=$2; shift ;;
    --dbt-runs) DBT_RUNS=$2; shift ;;
    --dvt-runs) DVT_RUNS=$2; shift ;;
    --run-repeats) RUN_REPEATS=$2; shift ;;
    --skip-dbt) SKIP_DBT=1 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

DBT=${DBT:-/work/dbt-venv/bin/dbt}
WORK=${BENCH_WORK:-/tmp/dvt-bench}

# The prepare step for a cold run: move target/ aside rather than delete it.
# Deleting 40,000 compiled files right before a timed run makes the kernel's
# cleanup (ext4 with online discard here) land inside the measurement: it
# added about 10 s of system time to a 3 s dvt compile. Moved-aside folders are
# deleted at the end.
clear_target() {
  echo "mkdir -p '$WORK/trash' && { [ ! -e '$1/target' ] || mv '$1/target' \"\$(mktemp -d '$WORK/trash/XXXXXX')/\"; }; rm -rf '$1/logs'"
}
trap 'rm -rf "$WORK/trash"' EXIT
export BENCH_DB=${BENCH_DB:-dvt_bench}
export BENCH_PG_PASSWORD=${BENCH_PG_PASSWORD:-postgres}
export PGPASSWORD=$BENCH_PG_PASSWORD
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_VERSION_CHECK=false DBT_USE_COLORS=false
PSQL=(psql -h 127.0.0.1 -p 5432 -U postgres -X -q -v ON_ERROR_STOP=1)

case "$WORK" in "$REPO_DIR"|"$REPO_DIR"/*) echo "BENCH_WORK must be outside the repo" >&2; exit 2 ;; esac
mkdir -p "$WORK/logs"
RESULTS="$WORK/results.md"

if [ -n "$DVT" ] && [ ! -x "$DVT" ]; then
  echo "note: --dvt $DVT does not exist or is not executable; dvt rows skipped" >&2
  DVT=""
fi
if command -v hyperfine >/dev/null 2>&1; then HYPERFINE=1; else HYPERFINE=0; fi

# ---------------------------------------------------------------- helpers
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

reset_db() {
  "${PSQL[@]}" -d postgres -c "drop database if exists \"$BENCH_DB\" with (force)" \
                           -c "create database \"$BENCH_DB\"" || exit 1
}
RESET_DB_CMD="psql -h 127.0.0.1 -U postgres -X -q -d postgres -c 'drop database if exists \"$BENCH_DB\" with (force)' -c 'create database \"$BENCH_DB\"' >/dev/null"

loadavg() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'; }

# measure BENCH SIZE TOOL RUNS PREPARE CMD
# Appends one row to $RESULTS. CMD's output goes to $WORK/logs/<id>.log.
measure() {
  local bench=$1 size=$2 tool=$3 runs=$4 prepare=$5 cmd=$6
  local id="${bench// /_}_${size}_${tool}"
  id=${id//[^A-Za-z0-9_.-]/_}
  local logf="$WORK/logs/$id.log" rssf="$WORK/logs/$id.time" jsonf="$WORK/logs/$id.json"
  : >"$logf"; : >"$rssf"; rm -f "$jsonf"
  local wrapped="/usr/bin/time -a -o '$rssf' -f '%e %M %x %U %S' $cmd >>'$logf' 2>&1"
  local prep="echo '=== run' >>'$logf'"
  [ -n "$prepare" ] && prep="$prep; $prepare"
  local load; load=$(loadavg)
  log "$bench n=$size $tool x$runs (load $load): $cmd"
  if [ "$HYPERFINE" = 1 ]; then
    hyperfine --style basic -i --runs "$runs" --prepare "$prep" --export-json "$jsonf" "$wrapped" >&2
  else
    for _ in $(seq "$runs"); do bash -c "$prep"; bash -c "$wrapped"; done
  fi
  local load_after; load_after=$(loadavg)
  # stats: from hyperfine JSON when present, else from /usr/bin/time lines
  local stats
  stats=$(python3 - "$rssf" "$jsonf" <<'PY'
import json, os, sys
rssf, jsonf = sys.argv[1], sys.argv[2]
times, rss, codes, cpu = [], [], [], []
for line in open(rssf):
    p = line.split()
    if len(p) == 5 and p[0].replace('.', '', 1).isdigit():
        times.append(float(p[0])); rss.append(int(p[1])); codes.append(int(p[2]))
        cpu.append(float(p[3]) + float(p[4]))
if os.path.exists(jsonf):
    r = json.load(open(jsonf))["results"][0]
    times = r["times"]
    codes = r.get("exit_codes", codes)
if not times:
    print("n/a\tn/a\tn/a\tn/a\tno timing"); sys.exit()
mean = sum(times) / len(times)
rng = "%.2f" % times[0] if len(times) == 1 else "%.2f–%.2f" % (min(times), max(times))
bad = [c for c in codes if c != 0]
status = "ok" if not bad else "FAILED %d/%d (exit %s)" % (len(bad), len(codes), ",".join(map(str, sorted(set(bad)))))
print("%.2f\t%s\t%s\t%s\t%s" % (mean, rng, "%.1f" % (sum(cpu) / len(cpu)) if cpu else "n/a",
                                "%.0f" % (max(rss) / 1024) if rss else "n/a", status))
PY
)
  local mean range cpu rss status
  IFS=$'\t' read -r mean range cpu rss status <<<"$stats"
  local dl; dl=$(grep -c 'deadlock detected' "$logf" || true)
  [ "${dl:-0}" -gt 0 ] && status="$status; deadlock detected ×$dl"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$bench" "$size" "$tool" "$runs" "$mean" "$range" "$cpu" "$rss" "$status" "$load → $load_after" >>"$RESULTS"
  log "  -> mean ${mean}s ($range) cpu ${cpu}s rss ${rss}MB $status"
}

# ---------------------------------------------------------------- header
{
  echo
  echo "## Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname)"
  echo
  echo "- machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM; uptime: $(uptime | sed 's/^ *//')"
  echo "- dbt: $("$DBT" --version 2>/dev/null | grep -E 'installed|postgres:' | sed 's/^ *- *//; s/ *- Update.*//' | tr '\n' ' ')"
  echo "- PostgreSQL: $("${PSQL[@]}" -d postgres -Atc 'show server_version' 2>/dev/null)"
  [ -n "$DVT" ] && echo "- dvt: $DVT ($("$DVT" --version 2>/dev/null | head -1))"
  echo "- timing: $([ "$HYPERFINE" = 1 ] && hyperfine --version || echo /usr/bin/time); dbt runs=$DBT_RUNS, dvt runs=$DVT_RUNS"
  echo
  echo "| bench | size | tool | runs | wall s (mean) | wall min–max s | CPU s (user+sys, mean) | peak RSS MB | status | load avg 1/5/15 before → after |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >>"$RESULTS"
RESULTS_START=$(grep -n '^## Run ' "$RESULTS" | tail -1 | cut -d: -f1)

# ---------------------------------------------------------------- benches
# The example project built end to end on an embedded DuckDB file, which is
# deleted (with target/) before every run, so each build is cold.
bench_duckdb() {
  local proj="$WORK/duckdb_example" tool bin extra runs db payments
  rm -rf "$proj"; mkdir -p "$proj/tests"
  cp -r "$REPO_DIR/models" "$REPO_DIR/seeds" "$REPO_DIR/macros" "$proj/"
  cp "$REPO_DIR"/tests/*.sql "$proj/tests/"
  cp "$REPO_DIR/project.yml" "$proj/dbt_project.yml"
  db="$proj/bench.duckdb"
  printf 'dvdrental:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: %s\n      schema: main\n      threads: %s\n' \
    "$db" "$THREADS" >"$proj/profiles.yml"
  for tool in dbt dvt; do
    if [ "$tool" = dbt ]; then [ "$SKIP_DBT" = 1 ] && continue; bin=$DBT; extra="--no-partial-parse"; runs=$DBT_RUNS
    else [ -n "$DVT" ] || continue; bin=$DVT; extra=""; runs=$DVT_RUNS; fi
    measure "build (example project, DuckDB)" "26 models, 15 seeds, 172 tests" "$tool" "$runs" \
      "rm -rf '$proj/target' '$proj/logs' '$db' '$db.wal'" \
      "'$bin' build $extra --project-dir '$proj' --profiles-dir '$proj'"
    payments=$(python3 -c 'import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).sql("select count(*) from main_marts.fct_payment").fetchall()[0][0])' "$db" 2>/dev/null || echo "?")
    log "$tool: main_marts.fct_payment has $payments rows"
  done
}

bench_parse_compile() {  # $1 = parse|compile
  local cmd=$1 size proj
  for size in $SIZES; do
    proj="$WORK/proj_$size"
    python3 "$BENCH_DIR/gen_project.py" "$size" "$proj" >&2 || exit 1
    reset_db
    [ "$SKIP_DBT" = 1 ] || measure "$cmd" "$size" dbt "$DBT_RUNS" "$(clear_target "$proj")" \
      "'$DBT' $cmd --no-partial-parse --project-dir '$proj' --profiles-dir '$proj'"
    if [ -n "$DVT" ]; then
      measure "$cmd" "$size" dvt "$DVT_RUNS" "$(clear_target "$proj")" \
        "'$DVT' $cmd --project-dir '$proj' --profiles-dir '$proj'"
    fi
  done
}

bench_run() {
  local proj="$WORK/views_$VIEWS" tool bin extra runs i
  python3 "$BENCH_DIR/gen_project.py" "$VIEWS" "$proj" --views >&2 || exit 1
  for tool in dbt dvt; do
    if [ "$tool" = dbt ]; then [ "$SKIP_DBT" = 1 ] && continue; bin=$DBT; extra="--no-partial-parse"; runs=1
    else [ -n "$DVT" ] || continue; bin=$DVT; extra=""; runs=$DVT_RUNS; fi
    reset_db
    local run="'$bin' run --threads $THREADS $extra --project-dir '$proj' --profiles-dir '$proj'"
    local prep="rm -rf '$proj/target' '$proj/logs'"
    measure "run (first: creates views)" "$VIEWS" "$tool" 1 "$prep" "$run"
    if [ "$tool" = dbt ]; then
      for i in $(seq "$RUN_REPEATS"); do
        measure "run (re-run #$i)" "$VIEWS" dbt 1 "$prep" "$run"
      done
    else
      measure "run (re-run)" "$VIEWS" dvt "$runs" "$prep" "$run"
    fi
  done
}

# count_rows TABLE...: total rows of the tables (found in any bench* schema)
count_rows() {
  local t total=0 n
  for t in "$@"; do
    n=$("${PSQL[@]}" -d "$BENCH_DB" -Atc "select table_schema from information_schema.tables where table_name = '$t' and table_schema like 'bench%' limit 1" 2>/dev/null)
    [ -n "$n" ] || { echo "?($t missing)"; return; }
    n=$("${PSQL[@]}" -d "$BENCH_DB" -Atc "select count(*) from \"$n\".\"$t\"" 2>/dev/null) || { echo "?"; return; }
    total=$((total + n))
  done
  echo "$total"
}

# seed_one LABEL SIZE PROJECT_DIR EXPECTED_ROWS TABLE...
seed_one() {
  local label=$1 size=$2 sp=$3 expected=$4 tool bin extra runs got
  shift 4
  for tool in dbt dvt; do
    if [ "$tool" = dbt ]; then [ "$SKIP_DBT" = 1 ] && continue; bin=$DBT; extra="--no-partial-parse"; runs=$DBT_RUNS
    else [ -n "$DVT" ] || continue; bin=$DVT; extra=""; runs=$DVT_RUNS; fi
    # every run loads into a freshly created database
    measure "$label" "$size" "$tool" "$runs" "rm -rf '$sp/target' '$sp/logs'; $RESET_DB_CMD" \
      "'$bin' seed $extra --project-dir '$sp' --profiles-dir '$sp'"
    got=$(count_rows "$@")
    log "$tool: rows loaded $got (expected $expected)"
    [ "$got" = "$expected" ] || \
      echo "| $label: row check | $size | $tool | – | – | – | – | – | MISMATCH: $got rows loaded, expected $expected | – |" >>"$RESULTS"
  done
}

bench_seed() {
  local sp
  # (a) the example project's seeds, with the example project's seed configs
  #     (column_types, +schema: raw), seeds/*.yml and macros/ (generic tests).
  shopt -s nullglob
  local example=("$REPO_DIR"/seeds/*.csv)
  shopt -u nullglob
  if [ ${#example[@]} -gt 0 ] && [ -f "$REPO_DIR/project.yml" -o -f "$REPO_DIR/dbt_project.yml" ]; then
    sp="$WORK/seed_example"
    rm -rf "$sp"; mkdir -p "$sp"
    cp -r "$REPO_DIR/seeds" "$sp/seeds"
    [ -d "$REPO_DIR/macros" ] && cp -r "$REPO_DIR/macros" "$sp/macros"
    local pf="$REPO_DIR/dbt_project.yml"; [ -f "$pf" ] || pf="$REPO_DIR/project.yml"
    sed -E 's/^profile:.*/profile: bench/' "$pf" >"$sp/dbt_project.yml"
    cp "$sp/dbt_project.yml" "$sp/project.yml"   # dvt may read either name
    cp "$BENCH_DIR/seed_project/profiles.yml" "$sp/profiles.yml"
    local nrows tables=() f
    nrows=$(python3 -c 'import csv,sys; print(sum(sum(1 for _ in csv.reader(open(f, newline=""))) - 1 for f in sys.argv[1:]))' "${example[@]}")
    for f in "${example[@]}"; do tables+=("$(basename "$f" .csv)"); done
    seed_one "seed (example project: ${#example[@]} CSVs, $nrows rows)" "$nrows" "$sp" "$nrows" "${tables[@]}"
  else
    log "no $REPO_DIR/seeds/*.csv yet: example seed bench skipped"
    echo "| seed (example project) | – | – | – | – | – | – | – | skipped: no $REPO_DIR/seeds/*.csv yet | $(loadavg) |" >>"$RESULTS"
  fi
  # (b) the big CSV, column types inferred
  local csv="$WORK/big_orders_$ROWS.csv"
  [ -s "$csv" ] || python3 "$BENCH_DIR/gen_big_csv.py" "$ROWS" "$csv" >&2 || exit 1
  sp="$WORK/seed_big"
  rm -rf "$sp"; cp -r "$BENCH_DIR/seed_project" "$sp"; mkdir -p "$sp/seeds"
  ln "$csv" "$sp/seeds/big_orders.csv" 2>/dev/null || cp "$csv" "$sp/seeds/big_orders.csv"
  seed_one "seed (big_orders.csv, 11 cols)" "$ROWS" "$sp" "$ROWS" big_orders
}

case "$WHAT" in
  parse) bench_parse_compile parse ;;
  compile) bench_parse_compile compile ;;
  run) bench_run ;;
  seed) bench_seed ;;
  duckdb) bench_duckdb ;;
  all) bench_parse_compile parse; bench_parse_compile compile; bench_run; bench_seed; bench_duckdb ;;
esac

echo
tail -n +"$RESULTS_START" "$RESULTS"
echo
echo "(appended to $RESULTS; tool output in $WORK/logs/)"
