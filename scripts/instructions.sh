#!/usr/bin/env bash
# Instructions per message of `stamp-sync bench`'s feeding loop (the
# synchronizer's add and delivery, nothing else), counted by callgrind:
# repeatable whatever else the machine does, and available where perf has
# no hardware counters (this project's VMs). Markdown on stdout.
#
#   scripts/instructions.sh [OUT.md]
#
# Environment: MESSAGES per trace [200000], CHANNELS ["2 3 4 5 6 7 8 9"],
# QUEUE [10]. Builds the release profile with line tables into build/prof.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
MESSAGES=${MESSAGES:-200000}
CHANNELS=${CHANNELS:-"2 3 4 5 6 7 8 9"}
QUEUE=${QUEUE:-10}
out=${1:-/dev/stdout}
command -v valgrind >/dev/null || { echo "instructions: needs valgrind" >&2; exit 2; }
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build -q --release --bin stamp-sync --target-dir build/prof
bin=build/prof/release/stamp-sync
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "| policy | N | instructions per message | sets per 1000 messages |"
  echo "|---|---|---|---|"
  for policy in approximate exact; do
    if [ $policy = approximate ]; then kind=jitter; else kind=exact; fi
    for n in $CHANNELS; do
      python3 scripts/gen_trace.py $kind "$n" "$MESSAGES" 1 >"$work/t.csv"
      line=$(valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bin" bench "$work/t.csv" \
        --policy $policy --queue-size "$QUEUE" 2>/dev/null)
      # The loop is Core::add inlined into the benchmark's visit.
      callgrind_annotate --inclusive=yes "$work/cg" >"$work/annotated" 2>/dev/null
      loop=$(awk '/driver\/core.rs:<stamp_sync_tools::bench::Run/ {gsub(",", "", $1); print $1; exit}' "$work/annotated")
      python3 - "$line" "$loop" "$policy" "$n" <<'PY'
import re, sys
line, loop, policy, n = sys.argv[1:]
m = int(re.search(r"messages=(\d+)", line).group(1))
e = int(re.search(r"emitted=(\d+)", line).group(1))
name = {"approximate": "ApproximateTime", "exact": "ExactTime"}[policy]
print(f"| {name} | {n} | {int(loop) / m:.0f} | {1000 * e / m:.1f} |")
PY
    done
  done
} >"$out"
