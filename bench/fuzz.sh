#!/usr/bin/env bash
# The parsers' property tests (proptest) run for longer than `cargo test`
# runs them: each target in rounds of many cases, until its share of the
# time budget is spent. A round is the target's `fuzz_*` tests with
# PROPTEST_CASES cases each, from a fresh random seed.
#
# Usage: bash bench/fuzz.sh [SECONDS]     (default 600, shared by the targets)
#
# Environment: FUZZ_ROUND_CASES (cases per test per round, default 5000),
# CARGO_TARGET_DIR and CARGO_BUILD_TARGET as for any build.
# Prints a markdown table: cases run per target, minutes, failures. A failure
# prints proptest's minimal failing input and stops that target; proptest
# also records it under proptest-regressions/, to keep as a regression test.
set -uo pipefail

BUDGET=${1:-600}
ROUND_CASES=${FUZZ_ROUND_CASES:-5000}
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR" || exit 2

# The module of each target, as the test names spell it.
TARGETS=(
  "select::tests::fuzz::"
  "seed::tests::fuzz::"
  "ingest::mapping::tests::fuzz::"
  "yaml::tests::fuzz::"
  "validate::source_map::tests::fuzz::"
)

BINARY=$(cargo test --lib --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
if [ -z "$BINARY" ] || [ ! -x "$BINARY" ]; then
  echo "could not build the library's tests (cargo test --lib --no-run)" >&2
  exit 2
fi

SHARE=$((BUDGET / ${#TARGETS[@]}))
TOTAL_FAILURES=0
echo "| target | tests | cases | minutes | failures |"
echo "|---|---|---|---|---|"
for TARGET in "${TARGETS[@]}"; do
  TESTS=$("$BINARY" "$TARGET" --list 2>/dev/null | grep -c ': test$')
  START=$(date +%s)
  CASES=0
  FAILURES=0
  while [ $(( $(date +%s) - START )) -lt "$SHARE" ]; do
    if ! OUTPUT=$(PROPTEST_CASES=$ROUND_CASES "$BINARY" "$TARGET" --test-threads 2 2>&1); then
      FAILURES=$((FAILURES + 1))
      echo "$OUTPUT" | grep -E "panicked|minimal failing input|Test failed" -A12 >&2
      break
    fi
    CASES=$((CASES + ROUND_CASES * TESTS))
  done
  ELAPSED=$(( $(date +%s) - START ))
  TOTAL_FAILURES=$((TOTAL_FAILURES + FAILURES))
  printf '| `%s` | %d | %d | %d.%d | %d |\n' "${TARGET%::tests::fuzz::}" "$TESTS" "$CASES" \
    $((ELAPSED / 60)) $(( (ELAPSED % 60) * 10 / 60 )) "$FAILURES"
done
[ "$TOTAL_FAILURES" -eq 0 ]
