#!/usr/bin/env bash
# Starts dvt-mock-kafka in the background: a Kafka wire-protocol broker on
# 127.0.0.1 (librdkafka's mock cluster, see docs/kafka-broker.md), for demos and
# benchmarks. The integration tests start their own broker instead.
#
#   scripts/start-kafka.sh [FLAGS...]   start; FLAGS go to dvt-mock-kafka,
#                                       e.g. --brokers 3 --topic events --partitions 8
#   scripts/start-kafka.sh stop         stop it (its topics, all in memory, are gone)
#
# It writes, under target/kafka/ (or $DVT_KAFKA_DIR, so that scripts/demo.sh
# runs a broker of its own beside one started by hand):
#   bootstrap   the bootstrap.servers value, host:port[,host:port...]
#   pid         the broker's process id
#   commands    a fifo: `echo "down 1" > target/kafka/commands` sends a command
#               (create <topic> [partitions], down <id>, up <id>)
#   log         the broker's output: its bootstrap line, then `ok` or `error: ...`
#               for each command
#
# Idempotent: when the broker is already running it only prints its address
# (FLAGS are then ignored; stop it first to change them). The binary is built
# with `cargo build --bin dvt-mock-kafka` (the build the tests reuse),
# honouring CARGO_TARGET_DIR and CARGO_BUILD_TARGET; DVT_MOCK_KAFKA names a
# binary to use instead.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${DVT_KAFKA_DIR:-target/kafka}"
mkdir -p "$dir"

running() {
    [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null
}

if [[ "${1:-}" == "stop" ]]; then
    if running; then
        kill "$(cat "$dir/pid")"
        echo "Kafka mock broker stopped (pid $(cat "$dir/pid"))"
    else
        echo "Kafka mock broker was not running"
    fi
    rm -f "$dir/pid" "$dir/bootstrap" "$dir/commands"
    exit 0
fi

if running && [[ -s "$dir/bootstrap" ]]; then
    echo "Kafka mock broker is running on $(cat "$dir/bootstrap") (pid $(cat "$dir/pid"))"
    exit 0
fi

binary="${DVT_MOCK_KAFKA:-${CARGO_TARGET_DIR:-target}/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug/dvt-mock-kafka}"
if [[ -z "${DVT_MOCK_KAFKA:-}" ]]; then
    cargo build --quiet --bin dvt-mock-kafka
fi

rm -f "$dir/pid" "$dir/bootstrap" "$dir/commands"
# The log exists before the broker starts, so that the wait below can read it
# before the background shell has opened it.
: >"$dir/log"
mkfifo "$dir/commands"
# The broker serves until its stdin closes. It blocks opening the fifo until a
# writer opens it: the holder below, which keeps it open for as long as the
# broker lives, so that each `echo ... > commands` is not the last writer.
"$binary" "$@" <"$dir/commands" >"$dir/log" 2>&1 &
pid=$!
echo "$pid" >"$dir/pid"
(while kill -0 "$pid" 2>/dev/null; do sleep 1; done) </dev/null >"$dir/commands" 2>/dev/null &

bootstrap=""
for _ in $(seq 1 100); do
    bootstrap="$(sed -n 's/^bootstrap=//p' "$dir/log")"
    if [[ -n "$bootstrap" ]] || ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [[ -z "$bootstrap" ]]; then
    echo "error: dvt-mock-kafka did not start; its output:" >&2
    cat "$dir/log" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/commands"
    exit 1
fi

# Wait until every broker accepts connections.
IFS=',' read -ra listeners <<<"$bootstrap"
for listener in "${listeners[@]}"; do
    for attempt in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/${listener%:*}/${listener##*:}") 2>/dev/null; then
            break
        fi
        if [[ "$attempt" == 50 ]]; then
            echo "error: $listener does not accept connections" >&2
            exit 1
        fi
        sleep 0.1
    done
done

echo "$bootstrap" >"$dir/bootstrap"
echo "Kafka mock broker is running on $bootstrap (pid $pid)"
