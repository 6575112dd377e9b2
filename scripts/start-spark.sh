#!/usr/bin/env bash
# Starts a Spark Connect server on 127.0.0.1 for dvt's Spark tests and demo:
# Spark 4.1 in `local[*]` mode, from PyPI's pyspark (which ships the jars,
# the Connect server among them, and spark-submit), on Debian's Java 17.
#
# pyspark is installed once into a venv outside the clone
# ($DVT_SPARK_VENV, default /var/cache/dvt-spark-venv) and reused by later
# runs. The warehouse and the Derby metastore live in $DVT_SPARK_HOME
# (default /tmp/dvt-spark), the log in $DVT_SPARK_HOME/server.log.
# Idempotent: a no-op when the port already answers.
set -euo pipefail

venv="${DVT_SPARK_VENV:-/var/cache/dvt-spark-venv}"
port="${DVT_SPARK_PORT:-15002}"
home="${DVT_SPARK_HOME:-/tmp/dvt-spark}"

answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

if answers; then
    echo "Spark Connect is already running on 127.0.0.1:$port"
    exit 0
fi

if ! command -v java >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
    echo "installing pyspark 4.1 into $venv (once per machine)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pyspark==4.1.*"
fi
spark_home="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
jar="$(ls "$spark_home"/jars/spark-connect_*.jar 2>/dev/null | head -n 1 || true)"
if [[ -z "$jar" ]]; then
    echo "error: no spark-connect jar under $spark_home/jars" >&2
    exit 1
fi

mkdir -p "$home/warehouse" "$home/tmp"
cd "$home"
# The server outlives this script: setsid detaches it from the caller's
# process group, so that a test run's end or Ctrl-C does not stop it.
SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 setsid nohup \
    "$spark_home/bin/spark-submit" \
    --class org.apache.spark.sql.connect.service.SparkConnectServer \
    --master 'local[*]' \
    --driver-memory "${DVT_SPARK_DRIVER_MEMORY:-1g}" \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$port" \
    --conf spark.sql.warehouse.dir="$home/warehouse" \
    --conf spark.sql.catalogImplementation=hive \
    --conf "spark.driver.extraJavaOptions=-Dderby.system.home=$home -Djava.io.tmpdir=$home/tmp" \
    --conf spark.local.dir="$home/tmp" \
    --conf spark.ui.enabled=false \
    --conf spark.sql.shuffle.partitions="${DVT_SPARK_SHUFFLE_PARTITIONS:-2}" \
    --jars "$jar" \
    >"$home/server.log" 2>&1 </dev/null &
echo $! >"$home/server.pid"

for _ in $(seq 1 180); do
    if answers; then
        echo "Spark Connect is running on 127.0.0.1:$port (log: $home/server.log)"
        exit 0
    fi
    if ! kill -0 "$(cat "$home/server.pid")" 2>/dev/null; then
        echo "error: the Spark Connect server exited; its log follows" >&2
        tail -n 40 "$home/server.log" >&2
        exit 1
    fi
    sleep 1
done
echo "error: Spark Connect did not answer on 127.0.0.1:$port within 180 s (log: $home/server.log)" >&2
exit 1
