#!/usr/bin/env bash
# Measures what including weft costs a program: preprocessed lines and -fsyntax-only time
# (median of 5) of each benchmarks/compile_cost/*.cpp, against the headers of the checkout
# given as the first argument (default: this one). Used for benchmarks/README.md's "compile
# cost" section; run it for two checkouts one right after the other to compare.
set -euo pipefail
checkout="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
programs="$(cd "$(dirname "$0")/.." && pwd)/benchmarks/compile_cost"
cxx="${CXX:-c++}"
flags=(-std=c++20 -O0 -I"$checkout/include")
for program in "$programs"/*.cpp; do
  lines=$("$cxx" "${flags[@]}" -E -P "$program" | wc -l)           # code lines
  marked=$("$cxx" "${flags[@]}" -E "$program" | wc -l)             # with line markers
  times=()
  for _ in 1 2 3 4 5; do
    start=$(date +%s.%N)
    "$cxx" "${flags[@]}" -fsyntax-only "$program"
    times+=("$(echo "$(date +%s.%N) - $start" | bc)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  printf '%-12s %7d lines (%7d with markers) %5.2f s\n' "$(basename "$program" .cpp)" \
    "$lines" "$marked" "$median"
done
