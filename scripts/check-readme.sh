#!/usr/bin/env bash
# Checks that every line of the README's C++ code blocks appears in one of examples/*.cpp
# (ignoring indentation; "// ..." lines mark elisions), so the README never shows code that
# CI did not compile.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=$(cat examples/*.cpp | sed 's/^[[:space:]]*//')
status=0
in_block=0
while IFS= read -r line; do
  if [[ $line == '```cpp' ]]; then in_block=1; continue; fi
  if [[ $line == '```' ]]; then in_block=0; continue; fi
  [[ $in_block == 1 ]] || continue
  trimmed=$(sed 's/^[[:space:]]*//' <<<"$line")
  [[ -z $trimmed || $trimmed == '// ...' ]] && continue
  if ! grep -qxF -- "$trimmed" <<<"$examples"; then
    echo "README.md: not found in examples/: $line" >&2
    status=1
  fi
done < README.md
[[ $status == 0 ]] && echo "check-readme: every README code line is in an example"
exit $status
