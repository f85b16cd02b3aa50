#!/usr/bin/env bash
# Runs every libFuzzer harness over its seed corpus (tests/fuzz/corpus/<harness>/) under
# ASan + UBSan, each for SECONDS or RUNS executions, with memory limits: any crash, leak,
# undefined behaviour, timeout or out-of-memory fails the run, and the input that caused it is
# kept in BUILD/fuzz-artifacts/ (turn it into a regular test case).
#
#   tests/fuzz/run.sh [BUILD_DIR] [SECONDS]          CI: bash tests/fuzz/run.sh build/fuzz 15
#   FUZZ_RUNS=10000000 tests/fuzz/run.sh build/fuzz  the long run recorded in the README
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/fuzz}
seconds=${2:-15}
harnesses=(frame_reader handshake messages value_codec)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
limit=(-max_total_time="$seconds")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
failed=0
for h in "${harnesses[@]}"; do
  mkdir -p "$work/$h"
  if "$build/tests/fuzz/${h}_fuzz" "${limit[@]}" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/$h-" \
      "$work/$h" "$root/tests/fuzz/corpus/$h" > "$work/$h.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
    cov=$(grep -o 'cov: [0-9]*' "$work/$h.log" | tail -n 1)
    echo "fuzz $h: $runs executions, $cov, no crash"
  else
    echo "fuzz $h FAILED; the input is in $artifacts/:" >&2
    grep -v '^#' "$work/$h.log" | tail -n 40 >&2
    failed=1
  fi
done
exit "$failed"
