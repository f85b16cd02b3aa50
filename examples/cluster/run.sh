#!/usr/bin/env bash
# A weft cluster on this machine: a head (the `weft` tool), a worker running the quickstart's
# program, two running the genetic-algorithm example and two running the actor example, all on
# 127.0.0.1. The quickstart, the GA and the actor example then run as drivers against it, by
# configuration only (WEFT_ADDRESS): their tasks go to workers, and so do the actor example's
# actors (its verifiers, auditor and counter live on the actor workers; the driver calls them
# there). Results are compared with in-process runs; `weft status` shows where the tasks and
# the named actors went; `weft stop` ends every process. Every process this script starts is
# killed on exit.
#
# usage: examples/cluster/run.sh [build-dir=build/default] [port=7070]
set -euo pipefail
build=${1:-build/default}
port=${2:-7070}
address=127.0.0.1:$port
weft=$build/src/cli/weft
quickstart=$build/examples/quickstart
evolve=$build/examples/evolve
actors=$build/examples/actors
for program in "$weft" "$quickstart" "$evolve" "$actors"; do
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

echo "== in-process runs (no WEFT_ADDRESS)"
"$quickstart" | tee "$logs/quickstart-local.txt"
"$evolve" 8 48 7 | tee "$logs/evolve-local.txt" | grep 'best strategy'
"$actors" 2000 4 | grep -v throughput | tee "$logs/actors-local.txt"

echo "== starting a head on $address and five workers"
"$weft" start --head --port "$port" >"$logs/head.log" 2>&1 &
pids+=($!)
wait_for_nodes 1
export WEFT_ADDRESS=$address
# Frequent heartbeats, so that `weft status` below shows the counts of the runs just ended.
export WEFT_HEARTBEAT_MS=200
WEFT_ROLE=worker WEFT_THREADS=1 "$quickstart" >"$logs/quickstart-worker.log" 2>&1 &
pids+=($!)
for i in 1 2; do
  WEFT_ROLE=worker WEFT_THREADS=1 "$evolve" >"$logs/evolve-worker-$i.log" 2>&1 &
  pids+=($!)
  WEFT_ROLE=worker WEFT_THREADS=1 "$actors" >"$logs/actors-worker-$i.log" 2>&1 &
  pids+=($!)
done
wait_for_nodes 6

echo "== the same programs as drivers (every registered task goes to a worker)"
export WEFT_OFFLOAD_THRESHOLD=0
"$quickstart" | tee "$logs/quickstart-cluster.txt"
"$evolve" 8 48 7 | tee "$logs/evolve-cluster.txt" | grep 'best strategy'
# The actor example joins too: with the threshold at 0 its actors are placed on the two
# workers that run its program (the others do not register its actor types).
"$actors" 2000 4 | grep -v throughput | tee "$logs/actors-cluster.txt"
unset WEFT_OFFLOAD_THRESHOLD

sleep 0.5  # the next heartbeats carry the workers' counts to the head
echo "== weft status (the 'served' column counts the tasks and actor calls each worker ran)"
"$weft" status --address "$address" | tee "$logs/status.txt"

echo "== comparing the results"
diff "$logs/quickstart-local.txt" "$logs/quickstart-cluster.txt"
diff <(grep 'best strategy' "$logs/evolve-local.txt") <(grep 'best strategy' "$logs/evolve-cluster.txt")
diff "$logs/actors-local.txt" "$logs/actors-cluster.txt"
served=$(awk '$2 == "worker" { total += $6 } END { print total + 0 }' "$logs/status.txt")
[ "$served" -gt 0 ] || { echo "run.sh: no task ran on a worker" >&2; exit 1; }
actor_calls=$(awk '$2 == "worker" && /actor:auditor/ { total += $6 } END { print total + 0 }' "$logs/status.txt")
[ "$actor_calls" -gt 0 ] || { echo "run.sh: no actor call ran on an actor worker" >&2; exit 1; }
echo "same results in-process and on the cluster; the workers ran $served tasks and actor calls ($actor_calls on the actor workers)"

echo "== weft stop"
"$weft" stop --address "$address"
for pid in "${pids[@]}"; do
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
echo "every process ended"
