#!/usr/bin/env bash
# The examples on a weft cluster on this machine: a head (the `weft` tool) and workers running
# the examples' own programs, all on 127.0.0.1 — one quickstart worker, and two workers each
# for the genetic algorithm, the governance service and the graph processors (those two with
# graph_unit and vector_unit resources), and one for the library example. Every example then
# runs as a driver against it, by configuration only (WEFT_ADDRESS): its registered tasks and
# actors go to the workers that run its program, and the library example runs as two drivers,
# one after the other, sharing its detached catalogue. Results are compared with in-process
# runs; any difference, crash or hang (each run is bounded by a timeout) fails the script.
# `weft status` shows where the work went; `weft stop` ends every process, and every process
# this script starts is killed on exit whatever happens.
#
# usage: examples/cluster/run.sh [build-dir=build/default] [port=7070]
set -euo pipefail
build=${1:-build/default}
port=${2:-7070}
address=127.0.0.1:$port
weft=$build/src/cli/weft
examples=$build/examples
limit=300  # seconds any one run may take
for program in "$weft" "$examples"/{quickstart,evolve,governance,graph_processors,library_init}; do
  [ -x "$program" ] || { echo "run.sh: $program is missing; build first (cmake --build --preset default)" >&2; exit 1; }
done

logs=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT

# Runs an example with a time limit, keeping what it prints (stdout) in $logs/$1.txt.
run() {
  local name=$1
  shift
  if ! timeout "$limit" "$@" >"$logs/$name.txt" 2>"$logs/$name.err"; then
    echo "run.sh: '$*' failed or did not finish within $limit s; its output:" >&2
    cat "$logs/$name.txt" "$logs/$name.err" >&2
    exit 1
  fi
  cat "$logs/$name.txt"
}

# What of an example's output must be the same everywhere: not its timings, rates or the
# resources of the machine it ran on.
stable() {
  grep -v -e '^throughput' -e '^latency' -e '^serial ' -e '^arena:' -e '^resources:' \
    -e '^evolve: ' "$1"
}

# Waits (at most 20 s) until the head lists $1 nodes.
wait_for_nodes() {
  for _ in $(seq 200); do
    if "$weft" status --address "$address" 2>/dev/null | grep -q "^cluster 'weft': $1 node(s)"; then
      return 0
    fi
    sleep 0.1
  done
  echo "run.sh: the cluster did not reach $1 nodes; logs:" >&2
  tail -n 20 "$logs"/*.log >&2
  exit 1
}

# Every example, in-process and as a driver, with the same arguments.
run_examples() {
  local where=$1
  run "quickstart-$where" "$examples/quickstart"
  run "evolve-$where" "$examples/evolve" 8 48 7
  EVOLVE_STORAGE=local run "evolve-local-storage-$where" "$examples/evolve" 8 48 7
  run "governance-$where" "$examples/governance" 2000 4 500 1
  run "graph-$where" "$examples/graph_processors" 2000 100 2
  if [ "$where" = local ]; then
    run "library-$where" "$examples/library_init" both
  else
    # Two drivers, one after the other: the second finds what the first left in the catalogue.
    run "library-first" "$examples/library_init" first
    run "library-second" "$examples/library_init" second
    cat "$logs/library-first.txt" "$logs/library-second.txt" >"$logs/library-$where.txt"
  fi
}

echo "== in-process runs (no WEFT_ADDRESS)"
run_examples local

echo "== starting a head on $address and eight workers"
"$weft" start --head --port "$port" >"$logs/head.log" 2>&1 &
pids+=($!)
wait_for_nodes 1
export WEFT_ADDRESS=$address
# Frequent heartbeats, so that `weft status` below shows the counts of the runs just ended.
export WEFT_HEARTBEAT_MS=200
start_worker() {
  local name=$1
  shift
  WEFT_ROLE=worker WEFT_THREADS=1 "$@" >"$logs/$name.log" 2>&1 &
  pids+=($!)
}
start_worker quickstart-worker "$examples/quickstart"
for i in 1 2; do
  start_worker "evolve-worker-$i" "$examples/evolve"
  start_worker "governance-worker-$i" "$examples/governance"
  WEFT_RESOURCES=graph_unit=2,vector_unit=2 start_worker "graph-worker-$i" "$examples/graph_processors"
done
start_worker library-worker "$examples/library_init"
wait_for_nodes 9

echo "== the same programs as drivers (every registered task and actor goes to a worker)"
export WEFT_OFFLOAD_THRESHOLD=0
run_examples cluster
unset WEFT_OFFLOAD_THRESHOLD

sleep 0.5  # the next heartbeats carry the workers' counts to the head
echo "== weft status (the 'served' column counts the tasks and actor calls each worker ran)"
"$weft" status --address "$address" | tee "$logs/status.txt"

echo "== comparing the results"
for example in quickstart evolve evolve-local-storage governance graph library; do
  if ! diff <(stable "$logs/$example-local.txt") <(stable "$logs/$example-cluster.txt"); then
    echo "run.sh: $example printed something else on the cluster than in-process" >&2
    exit 1
  fi
done
diff <(grep 'best strategy' "$logs/evolve-local.txt") \
  <(grep 'best strategy' "$logs/evolve-local-storage-local.txt")
served_by() {  # tasks and actor calls served by the workers whose row mentions $1
  awk -v what="$1" '$2 == "worker" && index($0, what) { total += $6 } END { print total + 0 }' \
    "$logs/status.txt"
}
served=$(awk '$2 == "worker" { total += $6 } END { print total + 0 }' "$logs/status.txt")
[ "$served" -gt 0 ] || { echo "run.sh: no task ran on a worker" >&2; exit 1; }
for what in actor:auditor actor:distributor actor:kg::catalogue score_slice; do
  [ "$(served_by "$what")" -gt 0 ] || {
    echo "run.sh: no task or actor call ran on the workers registering $what" >&2
    exit 1
  }
done
echo "same results in-process and on the cluster; the workers ran $served tasks and actor calls"

echo "== weft stop"
"$weft" stop --address "$address"
for pid in "${pids[@]}"; do
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
echo "every process ended"
