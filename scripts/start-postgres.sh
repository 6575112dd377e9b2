#!/usr/bin/env bash
# Starts the locally installed PostgreSQL 15 for dvt's tests and demo, and gives
# the `postgres` role a password so that TCP connections on 127.0.0.1 work.
# Idempotent: safe to run when the server is already up.
set -euo pipefail

password="${DVT_PG_PASSWORD:-postgres}"

if ! command -v pg_ctlcluster >/dev/null; then
    echo "error: PostgreSQL is not installed (expected the Debian package postgresql-15)" >&2
    echo "hint: apt-get install -y postgresql-15, or point profiles.yml at your own server" >&2
    exit 1
fi

if ! pg_lsclusters --no-header | awk '$1 == 15 && $2 == "main" { found = 1 } END { exit !found }'; then
    pg_createcluster 15 main >/dev/null
fi
if ! pg_lsclusters --no-header | awk '$1 == 15 && $2 == "main" && $4 == "online" { found = 1 } END { exit !found }'; then
    pg_ctlcluster 15 main start
fi

for _ in $(seq 1 30); do
    if su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then
        break
    fi
    sleep 1
done
su postgres -c "psql -qc \"alter user postgres password '${password}'\"" >/dev/null
echo "PostgreSQL 15 is running on 127.0.0.1:5432 (user postgres)"
