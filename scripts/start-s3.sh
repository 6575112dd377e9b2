#!/usr/bin/env bash
# Starts an S3-compatible server for dvt's lake tests and demo: s3s-fs from
# the Rust registry, on 127.0.0.1, with MinIO's default credentials and a
# `lake` bucket. Installs it first when it is missing (about 2 minutes).
# Idempotent: a second call finds the server answering and leaves it be.
set -euo pipefail

host="${DVT_S3_HOST:-127.0.0.1}"
port="${DVT_S3_PORT:-9100}"
data="${DVT_S3_DATA:-/tmp/dvt-s3-data}"
log="${DVT_S3_LOG:-/tmp/dvt-s3.log}"
version="0.14.1" # newer versions need a newer rustc than 1.95

answering() {
    # Any HTTP answer will do: without credentials, S3 says 403.
    curl -s -o /dev/null --max-time 2 "http://${host}:${port}/" 2>/dev/null
}

if answering; then
    echo "S3 (s3s-fs) is running on http://${host}:${port} (access key minioadmin)"
    exit 0
fi

if ! command -v s3s-fs >/dev/null; then
    echo "Installing s3s-fs ${version} (about 2 minutes)..." >&2
    cargo install --locked "s3s-fs@${version}" --features binary >&2
fi

mkdir -p "${data}/lake"
nohup s3s-fs --host "$host" --port "$port" --access-key minioadmin --secret-key minioadmin "$data" \
    >"$log" 2>&1 </dev/null &
for _ in $(seq 1 50); do
    if answering; then
        echo "S3 (s3s-fs) is running on http://${host}:${port} (access key minioadmin, data in ${data})"
        exit 0
    fi
    sleep 0.2
done
echo "error: s3s-fs did not start on ${host}:${port}; see ${log}" >&2
exit 1
