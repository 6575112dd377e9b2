#!/usr/bin/env bash
# Lake export benchmark: one PostgreSQL table of ROWS rows exported to S3
# (s3s-fs on loopback) as zstd Parquet three ways, one after the other:
#   1. a raw `COPY (select ...) TO STDOUT (FORMAT binary)` to /dev/null: the read ceiling
#   2. `dvt export` (release build)
#   3. export_pandas.py: pandas over psycopg, pyarrow, boto3
# Prints one JSON line per run with rows/s and peak RSS.
#
#   DVT=/path/to/release/dvt PYTHON=/work/lake-venv/bin/python bash bench/lake/run.sh [ROWS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${1:-10000000}"
dvt="${DVT:-$root/cargo-target/release/dvt}"
python="${PYTHON:-python3}"
work="${BENCH_WORK:-/tmp/dvt-lake-bench}"
database=dvt_lake_bench

export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGPASSWORD="${DVT_PG_PASSWORD:-postgres}" PGDATABASE=$database
export AWS_ENDPOINT_URL=http://127.0.0.1:9100 AWS_ACCESS_KEY_ID=minioadmin AWS_SECRET_ACCESS_KEY=minioadmin AWS_DEFAULT_REGION=us-east-1

bash "$root/scripts/start-postgres.sh" >&2
bash "$root/scripts/start-s3.sh" >&2

if [ "$(psql -d postgres -qAtc "select count(*) from pg_database where datname = '$database'")" = 0 ]; then
    psql -d postgres -qc "create database $database"
fi
if [ "$(psql -qAtc "select coalesce((select count(*) from bench.orders), -1)" 2>/dev/null || echo -1)" != "$rows" ]; then
    echo "Creating bench.orders with $rows rows..." >&2
    psql -q <<SQL
drop schema if exists bench cascade;
create schema bench;
create table bench.orders as
select
    i::bigint as order_id,
    (i % 50000)::integer as customer_id,
    (i % 7)::smallint as store_id,
    round((i % 100000) / 100.0, 2)::numeric(10,2) as amount,
    timestamptz '2024-01-01 00:00:00+00' + (i % 31536000) * interval '1 second' as ordered_at,
    (array['new', 'paid', 'shipped', 'returned'])[i % 4 + 1] as status,
    'order ' || i as note
from generate_series(1, $rows) as g(i);
analyze bench.orders;
SQL
fi

mkdir -p "$work/project/models"
cat >"$work/project/project.yml" <<YAML
name: lake_bench
profile: lake_bench
YAML
cat >"$work/project/profiles.yml" <<YAML
lake_bench:
  target: pg
  outputs:
    pg:
      type: postgres
      host: 127.0.0.1
      port: 5432
      user: postgres
      password: "{{ env_var('PGPASSWORD') }}"
      dbname: $database
      schema: bench
      threads: 1
      s3_endpoint: http://127.0.0.1:9100
      s3_bucket: lake
      s3_path_style: true
      s3_access_key_id: minioadmin
      s3_secret_access_key: "{{ env_var('AWS_SECRET_ACCESS_KEY') }}"
YAML
cat >"$work/project/models/orders_out.sql" <<SQL
{{ config(materialized='view', export={'prefix': 'bench/orders_out'}) }}
select * from bench.orders
SQL
"$dvt" run --project-dir "$work/project" --profiles-dir "$work/project" -q >&2

"$python" "$here/measure.py" "raw COPY TO STDOUT (FORMAT binary)" "$rows" -- \
    psql -qc "copy (select * from bench.orders) to stdout (format binary)" -o /dev/null
"$python" "$here/measure.py" "dvt export" "$rows" -- \
    "$dvt" export --project-dir "$work/project" --profiles-dir "$work/project"
"$python" "$here/measure.py" "pandas + pyarrow + boto3" "$rows" -- \
    "$python" "$here/export_pandas.py" bench.orders lake bench/orders_pandas.parquet
