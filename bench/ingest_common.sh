# Shared by bench/ingest.sh and bench/ingest_latency.sh (sourced, not run):
# the binaries' check and a dvt-mock-kafka broker of the benchmark's own.
# Expects `bin` and `work` to be set.

# check_binaries: fails unless $bin holds dvt and dvt-mock-kafka.
check_binaries() {
    for binary in "$bin/dvt" "$bin/dvt-mock-kafka"; do
        if [[ ! -x "$binary" ]]; then
            echo "error: $binary is missing" >&2
            echo "hint: cargo build --release (or set BIN to the directory holding it)" >&2
            exit 1
        fi
    done
}

# start_broker ARGS...: starts dvt-mock-kafka ARGS and sets `bootstrap`. It
# serves until its stdin, a fifo held open by fd 3, closes at exit.
start_broker() {
    mkfifo "$work/broker.in"
    # The log exists before the broker starts, so that the wait below never
    # reads it before the background shell has opened it (as start-kafka.sh).
    : >"$work/broker.log"
    "$bin/dvt-mock-kafka" --brokers 1 "$@" <"$work/broker.in" >"$work/broker.log" 2>&1 &
    broker_pid=$!
    exec 3>"$work/broker.in"
    trap 'exec 3>&-; wait "$broker_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do
        bootstrap="$(sed -n 's/^bootstrap=//p' "$work/broker.log")"
        [[ -n "$bootstrap" ]] && break
        sleep 0.1
    done
    [[ -n "$bootstrap" ]] || { echo "error: the broker did not start:" >&2; cat "$work/broker.log" >&2; exit 1; }
}
