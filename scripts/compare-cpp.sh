#!/usr/bin/env bash
# Throughput of stamp_sync against C++ message_filters on the same traces,
# in the same run, as a markdown table.
#
#   scripts/compare-cpp.sh [OUT.md]
#
# Environment (defaults in brackets):
#   MESSAGES  messages per trace [1000000]
#   RUNS      timed runs of each engine per row [5]
#   CHANNELS  channel counts [2 3 4 5 6 7 8 9]
#   QUEUE     queue size [10]
#   PROFILE   cargo profile for stamp-sync [release: what users build;
#             `perf` adds fat LTO and one codegen unit]
#   TRACES    directory for the generated traces [build/traces]
#
# For every policy and N it generates one trace with scripts/gen_trace.py
# (ApproximateTime: `jitter`, ExactTime: `exact`, seed 1), then alternates
# `stamp-sync bench` and the reference runner's `--bench 1` on it RUNS
# times. Each row gives the median msgs/s of each engine and the median of
# the per-run ratios (run i of Rust / run i of C++, measured back to back,
# so a noisy neighbour affects both sides of a ratio alike).
#
# If the reference runner cannot be built (scripts/build-oracle.sh), the
# C++ columns say `n/a` and only stamp_sync is timed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
MESSAGES=${MESSAGES:-1000000}
RUNS=${RUNS:-5}
CHANNELS=${CHANNELS:-"2 3 4 5 6 7 8 9"}
QUEUE=${QUEUE:-10}
PROFILE=${PROFILE:-release}
TRACES=${TRACES:-"$repo/build/traces"}
out=${1:-/dev/stdout}

oracle="$repo/build/stamp_oracle"
if ! scripts/build-oracle.sh "$oracle" >&2; then
  echo "compare-cpp: no reference runner; timing stamp_sync only" >&2
  oracle=""
fi

echo "compare-cpp: building stamp-sync (profile $PROFILE)" >&2
cargo build -q --profile "$PROFILE" --bin stamp-sync
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
if [ "$PROFILE" = dev ]; then sub=debug; else sub=$PROFILE; fi
bin="$target_dir/$sub/stamp-sync"

mkdir -p "$TRACES"
rate() { sed -n 's/.*msgs_per_s=\([0-9.]*\).*/\1/p'; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for policy in approximate exact; do
  if [ $policy = approximate ]; then kind=jitter; cpp=approx; else kind=exact; cpp=exact; fi
  for n in $CHANNELS; do
    trace="$TRACES/$kind-n$n-m$MESSAGES.csv"
    if [ ! -s "$trace" ]; then
      python3 scripts/gen_trace.py $kind "$n" "$MESSAGES" 1 >"$trace.tmp"
      mv "$trace.tmp" "$trace"
    fi
    for r in $(seq "$RUNS"); do
      rs=$("$bin" bench "$trace" --policy $policy --queue-size "$QUEUE" | rate)
      if [ -n "$oracle" ]; then
        cs=$("$oracle" $cpp "$n" "$QUEUE" --bench 1 <"$trace" 2>&1 >/dev/null | rate)
      else
        cs=""
      fi
      echo "compare-cpp: $policy N=$n run $r: stamp_sync $rs, C++ ${cs:-n/a}" >&2
      echo "$policy $n $rs ${cs:-nan}" >>"$results"
    done
  done
done

python3 - "$results" "$MESSAGES" "$QUEUE" "$RUNS" >"$out" <<'EOF'
import math, statistics, sys
path, messages, queue, runs = sys.argv[1:5]
rows = {}
for line in open(path):
    policy, n, rs, cs = line.split()
    rows.setdefault((policy, int(n)), []).append((float(rs), float(cs)))
name = {"approximate": "ApproximateTime", "exact": "ExactTime"}
print(f"| policy | N | stamp_sync (M msgs/s) | C++ message_filters (M msgs/s) | ratio |")
print("|---|---|---|---|---|")
for (policy, n), v in rows.items():
    rs = statistics.median(r for r, _ in v) / 1e6
    have_c = not any(math.isnan(c) for _, c in v)
    if have_c:
        cs = statistics.median(c for _, c in v) / 1e6
        ratio = statistics.median(r / c for r, c in v)
        print(f"| {name[policy]} | {n} | {rs:.1f} | {cs:.2f} | {ratio:.1f}x |")
    else:
        print(f"| {name[policy]} | {n} | {rs:.1f} | n/a | n/a |")
print()
print(f"{messages} messages per trace, queue {queue}, median of {runs} runs; "
      "ratio = median of per-run ratios.")
EOF
