#!/usr/bin/env bash
# Transform lookups per second: stamp_sync::tf::BufferCore against C++ tf2
# 0.7.6 (build/tf_oracle, g++ -O2) on the same trace. Builds both
# (stamp-sync with cargo profile PROFILE, default perf as in
# scripts/compare-cpp.sh; PROFILE=release works too), writes
# the trace with scripts/gen_tf_trace.py, runs each side RUNS times
# alternately and prints every run and the medians.
#
#   RUNS=7 REPEAT=3 PROFILE=perf scripts/compare-tf-cpp.sh [gen_tf_trace.py options]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
repeat=${REPEAT:-3}
profile=${PROFILE:-perf}
scripts/build-tf-oracle.sh
cargo build --profile "$profile" --bin stamp-sync --quiet
bin=target/$profile/stamp-sync
[ "$profile" = dev ] && bin=target/debug/stamp-sync
trace=build/tf-bench.csv
python3 scripts/gen_tf_trace.py "$@" > "$trace"
echo "stamp-sync profile $profile; trace: $trace ($(grep -c '^lookup' "$trace") lookups, $(grep -c '^tf' "$trace") transforms), $runs runs x $repeat passes"
rate() { sed -n 's/.*lookups_per_s=\([0-9]*\).*/\1/p'; }
rust=() cpp=() ratio=()
for i in $(seq "$runs"); do
  r=$("$bin" tf "$trace" --bench "$repeat" 2>&1 >/dev/null | rate)
  c=$(build/tf_oracle --bench "$repeat" < "$trace" 2>&1 >/dev/null | rate)
  rust+=("$r") cpp+=("$c")
  ratio+=("$(python3 -c "print(f'{$r / $c:.2f}')")")
  echo "run $i: stamp_sync $r/s, C++ tf2 $c/s, ratio ${ratio[-1]}x"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: stamp_sync $(median "${rust[@]}")/s, C++ tf2 $(median "${cpp[@]}")/s, ratio $(median "${ratio[@]}")x"
