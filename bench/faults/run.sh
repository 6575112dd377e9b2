#!/usr/bin/env bash
# Fault trials: each trial starts a dvt operation on PostgreSQL, Kafka or the
# lake, kills it with SIGKILL (or restarts PostgreSQL, or stops the S3 server)
# at a random moment, re-runs it, and checks the invariants that
# docs/reliability.md lists. One command, bounded and repeatable:
#
#   bash bench/faults/run.sh --trials 100 --seed 7
#
# The seed and each trial's kill delay are printed; the same seed replays the
# same trials. The trials get services of their own, so they can run beside
# the test suite and can restart them freely: a PostgreSQL 15 cluster
# `dvtfaults` on 127.0.0.1:5442, an s3s-fs on 127.0.0.1:9102 and a
# dvt-mock-kafka broker, each with a password or key of its own that the
# secrets scan (bench/faults/scan-secrets.sh) then looks for in everything the
# trials wrote.
#
# DVT names the dvt binary (default: the debug build in CARGO_TARGET_DIR,
# which `cargo test` builds); DVT_MOCK_KAFKA the broker, next to it by default.
# FAULTS_WORK is where the project, logs and lake go (default
# target/faults); it is emptied first.
set -euo pipefail
cd "$(dirname "$0")/../.."

trials=100
seed=""
kinds=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --trials) trials="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --kinds) kinds="$2"; shift 2 ;;
        *) echo "usage: bench/faults/run.sh [--trials N] [--seed N] [--kinds a,b]" >&2; exit 2 ;;
    esac
done

bin_dir="${CARGO_TARGET_DIR:-target}/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug"
dvt="$(realpath "${DVT:-$bin_dir/dvt}")"
mock_kafka="$(realpath "${DVT_MOCK_KAFKA:-$bin_dir/dvt-mock-kafka}")"
work="$(realpath -m "${FAULTS_WORK:-target/faults}")"
pg_port="${FAULTS_PG_PORT:-5442}"
pg_cluster=dvtfaults
s3_port="${FAULTS_S3_PORT:-9102}"
# Distinct from every other test secret, so that the scan finds only leaks.
pg_password="faults-pg-S3cret-4b1d"
s3_access="faultsaccess"
s3_secret="faults-s3-S3cret-77e0"

for file in "$dvt" "$mock_kafka"; do
    if [[ ! -x "$file" ]]; then
        echo "error: $file is not built; hint: cargo build --bin dvt --bin dvt-mock-kafka" >&2
        exit 1
    fi
done

rm -rf "$work"
mkdir -p "$work"
cp -r bench/faults/project "$work/project"

# PostgreSQL: a cluster of its own, which the trials restart.
if ! pg_lsclusters --no-header | awk -v c="$pg_cluster" '$1 == 15 && $2 == c { found = 1 } END { exit !found }'; then
    pg_createcluster 15 "$pg_cluster" -p "$pg_port" >/dev/null
    echo "listen_addresses = '127.0.0.1'" >>"/etc/postgresql/15/$pg_cluster/postgresql.conf"
fi
if ! pg_lsclusters --no-header | awk -v c="$pg_cluster" '$1 == 15 && $2 == c && $4 == "online" { found = 1 } END { exit !found }'; then
    pg_ctlcluster 15 "$pg_cluster" start
fi
for _ in $(seq 1 30); do
    su postgres -c "psql -p $pg_port -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -p $pg_port -qc \"alter user postgres password '${pg_password}'\"" >/dev/null
export PGPASSWORD="$pg_password"
psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qAtX -c "drop database if exists dvt_faults with (force)"
psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qAtX -c "create database dvt_faults"
psql -h 127.0.0.1 -p "$pg_port" -U postgres -d dvt_faults -qAtX -v ON_ERROR_STOP=1 <<'SQL'
create schema faults_src;
create table faults_src.snap_src as
select g as id, g % 997 as val, timestamp '2020-01-01' as updated_at from generate_series(1, 100000) as g;
SQL

# Kafka: a broker of its own, serving while its stdin (a fifo) stays open.
mkfifo "$work/kafka.stdin"
"$mock_kafka" --topic faults_events --partitions 3 --group-initial-rebalance-delay-ms 0 \
    >"$work/kafka.log" 2>&1 <"$work/kafka.stdin" &
kafka_pid=$!
sleep infinity >"$work/kafka.stdin" &
holder_pid=$!
cleanup() {
    kill "$kafka_pid" "$holder_pid" 2>/dev/null || true
}
trap cleanup EXIT
bootstrap=""
for _ in $(seq 1 100); do
    bootstrap="$(sed -n 's/^bootstrap=//p' "$work/kafka.log" 2>/dev/null)"
    [[ -n "$bootstrap" ]] && break
    sleep 0.1
done
if [[ -z "$bootstrap" ]]; then
    echo "error: dvt-mock-kafka did not start:" >&2
    cat "$work/kafka.log" >&2
    exit 1
fi

cat >"$work/project/profiles.yml" <<EOF
faults:
  target: dev
  outputs:
    dev:
      type: postgres
      host: 127.0.0.1
      port: ${pg_port}
      user: postgres
      password: "{{ env_var('DVT_PG_PASSWORD') }}"
      dbname: dvt_faults
      schema: analytics
      threads: 4
      kafka_bootstrap_servers: "${bootstrap}"
      kafka_session_timeout_ms: 6000
      kafka_heartbeat_interval_ms: 1000
      s3_endpoint: http://127.0.0.1:${s3_port}
      s3_region: us-east-1
      s3_bucket: faults
      s3_path_style: true
      s3_access_key_id: ${s3_access}
      s3_secret_access_key: "{{ env_var('DVT_FAULTS_S3_SECRET') }}"
EOF

python3 bench/faults/trials.py --trials "$trials" ${seed:+--seed "$seed"} ${kinds:+--kinds "$kinds"} \
    --dvt "$dvt" --work "$work" --pg-port "$pg_port" --pg-cluster "$pg_cluster" --pg-password "$pg_password" \
    --s3-port "$s3_port" --s3-access-key "$s3_access" --s3-secret-key "$s3_secret" --kafka-bootstrap "$bootstrap"
