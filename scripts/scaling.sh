#!/usr/bin/env bash
# How stamp_sync's cost per message grows with the number of channels
# (2..9, queue 10) and with the queue size (1..1000, N = 3), and the dynamic
# synchronizer's from 2 to 32 channels and queue 1..1000 at N = 32, as
# markdown.
#
#   scripts/scaling.sh [OUT.md]
#
# Environment (defaults in brackets):
#   MESSAGES  messages per trace [300000]
#   RUNS      timed runs per cell, the median is shown [3]
#   PROFILE   cargo profile for stamp-sync [release]
#   TRACES    directory for the generated traces [build/traces]
#
# Traces come from scripts/gen_trace.py (seed 1): `jitter` for
# ApproximateTime, `exact` for ExactTime. Cells are nanoseconds per message
# as measured by `stamp-sync bench` (typed PointStamped-like messages, only
# the feeding loop timed).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
MESSAGES=${MESSAGES:-300000}
RUNS=${RUNS:-3}
PROFILE=${PROFILE:-release}
TRACES=${TRACES:-"$repo/build/traces"}
out=${1:-/dev/stdout}

cargo build -q --profile "$PROFILE" --bin stamp-sync
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
if [ "$PROFILE" = dev ]; then sub=debug; else sub=$PROFILE; fi
bin="$target_dir/$sub/stamp-sync"
mkdir -p "$TRACES"

trace() { # KIND N -> path
  local t="$TRACES/$1-n$2-m$MESSAGES.csv"
  if [ ! -s "$t" ]; then
    python3 scripts/gen_trace.py "$1" "$2" "$MESSAGES" 1 >"$t.tmp"
    mv "$t.tmp" "$t"
  fi
  echo "$t"
}

# Median ns/message of RUNS runs: TRACE POLICY QUEUE [--dynamic]
cell() {
  for _ in $(seq "$RUNS"); do
    "$bin" bench "$1" --policy "$2" --queue-size "$3" ${4:-}
  done | python3 -c '
import re, statistics, sys
v = [float(re.search(r"msgs_per_s=([0-9.]+)", l).group(1)) for l in sys.stdin]
print(f"{1e9 / statistics.median(v):.1f}")'
}

{
  echo "ns per message by number of channels (queue 10):"
  echo
  printf "| policy |"; for n in 2 3 4 5 6 7 8 9; do printf " N=%s |" $n; done; echo
  printf "|---|"; for _ in 2 3 4 5 6 7 8 9; do printf -- "---|"; done; echo
  for p in approximate exact; do
    if [ $p = approximate ]; then kind=jitter; else kind=exact; fi
    printf "| %s |" $p
    for n in 2 3 4 5 6 7 8 9; do printf " %s |" "$(cell "$(trace $kind $n)" $p 10)"; done
    echo
  done
  echo
  echo "ns per message by queue size (N = 3):"
  echo
  qs="1 3 10 30 100 300 1000"
  printf "| policy |"; for q in $qs; do printf " q=%s |" $q; done; echo
  printf "|---|"; for _ in $qs; do printf -- "---|"; done; echo
  for p in approximate exact; do
    if [ $p = approximate ]; then kind=jitter; else kind=exact; fi
    printf "| %s |" $p
    for q in $qs; do printf " %s |" "$(cell "$(trace $kind 3)" $p $q)"; done
    echo
  done
  echo
  echo "Dynamic synchronizer (\`bench --dynamic\`), ns per message by number of channels (queue 10):"
  echo
  ns="2 4 8 16 32"
  printf "| policy |"; for n in $ns; do printf " N=%s |" $n; done; echo
  printf "|---|"; for _ in $ns; do printf -- "---|"; done; echo
  for p in approximate exact; do
    if [ $p = approximate ]; then kind=jitter; else kind=exact; fi
    printf "| %s |" $p
    for n in $ns; do printf " %s |" "$(cell "$(trace $kind $n)" $p 10 --dynamic)"; done
    echo
  done
  echo
  echo "Dynamic synchronizer, ns per message by queue size (N = 32):"
  echo
  printf "| policy |"; for q in $qs; do printf " q=%s |" $q; done; echo
  printf "|---|"; for _ in $qs; do printf -- "---|"; done; echo
  for p in approximate exact; do
    if [ $p = approximate ]; then kind=jitter; else kind=exact; fi
    printf "| %s |" $p
    for q in $qs; do printf " %s |" "$(cell "$(trace $kind 32)" $p $q --dynamic)"; done
    echo
  done
  echo
  echo "$MESSAGES messages per trace, median of $RUNS runs, profile $PROFILE."
} >"$out"
