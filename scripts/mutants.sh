#!/usr/bin/env bash
# Mutation testing of the core with cargo-mutants: which changes to the code
# does no test notice? Not part of scripts/test-all.sh (hours, not minutes).
#
#   scripts/mutants.sh                     # every core file, mutated in place
#                                          # (do not edit the tree while it runs)
#   scripts/mutants.sh -f crates/stamp_sync/src/time.rs   # one file (repeatable)
#   scripts/mutants.sh --shard 0/4         # a quarter of the mutants
#   scripts/mutants.sh --copy              # mutate a copy of the tree, not this one
#   scripts/mutants.sh --jobs 2            # two mutants at once, each in its own copy
#   scripts/mutants.sh --summary           # only print the table of the results so far
#   scripts/mutants.sh --timeout 75        # seconds per full-suite test run
#   scripts/mutants.sh --full-only         # skip the screen: every mutant gets the whole suite
#
# Each mutant of the core crate (crates/stamp_sync) is judged by the whole
# non-ROS suite: the tests of the core, tf, bag and tools crates (unit,
# integration and doctests), in two passes that give the same verdicts as
# running the whole suite on every mutant, in a third of the time:
#   1. screen: the core's unit tests and the modules of its integration
#      tests (`tests/it`, `tests/alloc`) of the mutated file's floor
#      (policy or driver), as test-name filters. A mutant a part of the
#      suite catches, the whole suite catches.
#   2. confirm: what the screen missed, against the whole suite.
# Both passes use cargo-mutants' --iterate, so a stopped run resumes where it
# was: caught mutants are never tested twice. A mutant that makes the screen
# loop forever is a timeout, and is not run again (the whole suite would hang
# in the same test).
#
# Results: build/mutants/<name>/ (name: all, or shard-K-of-N). The table gives
# caught / missed / timeout / unviable per file over every pass; the missed
# mutants are listed in build/mutants/<name>/missed.txt. Mutants known to be
# equivalent are listed in docs/testing.md.
#
# Installs cargo-mutants (crates.io) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

core_files=(
  'crates/stamp_sync/src/policy/*.rs'
  'crates/stamp_sync/src/policy/exact/*.rs'
  'crates/stamp_sync/src/driver/*.rs'
)
# The screen: the integration tests of each floor (plus the lib's unit tests).
screen_policy=(scenarios scenarios_latest_epsilon differential differential_regressions
  counters options properties alloc exact_model slop_model latched getters setters)
screen_driver=(synchronizer stream dynamic drivers_agree counters options alloc
  adversarial getters setters latched)
# Policies with their own tests: only those (a third of the screen's time).
screen_held=(scenarios differential differential_regressions exact_model counters
  getters alloc properties options)
screen_latest=(scenarios_latest_epsilon adversarial counters latched getters setters)
screen_latched=(latched alloc drivers_agree counters getters setters options)
screen_slop=(slop_model slop_differential filters_scenarios filters_alloc getters setters)
screen_registry=(registry setters latched options dynamic)

files=()
shard=""
extra=()
summary_only=0
full_only=0
timeout=75
jobs=1
copy=0
while (($#)); do
  case "$1" in
    -f | --file) files+=("$2"); shift 2 ;;
    --shard) shard="$2"; shift 2 ;;
    --copy) copy=1; shift ;;
    --iterate) shift ;; # always on
    --summary) summary_only=1; shift ;;
    --full-only) full_only=1; shift ;;
    --timeout) timeout="$2"; shift 2 ;;
    --jobs) jobs="$2"; copy=1; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "mutants.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
((${#files[@]})) || files=("${core_files[@]}")

name="all"
[[ -n "$shard" ]] && name="shard-${shard/\//-of-}"
out="build/mutants/$name"

summary() {
  ls "$out"/history/*.json >/dev/null 2>&1 || { echo "mutants.sh: no results in $out yet" >&2; return 1; }
  python3 - "$out" <<'EOF'
import collections, glob, json, os, sys
out = sys.argv[1]
verdict = {}  # mutant name -> (file, outcome); later passes override earlier ones
for path in sorted(glob.glob(os.path.join(out, "history", "*.json"))):
    for o in json.load(open(path)).get("outcomes", []):
        scen = o.get("scenario")
        if not isinstance(scen, dict) or "Mutant" not in scen:
            continue
        m = scen["Mutant"]
        verdict[m["name"]] = (m.get("file", "?"), o.get("summary", "?"))
per = collections.defaultdict(collections.Counter)
for f, s in verdict.values():
    per[f][s] += 1
cols = [("CaughtMutant", "caught"), ("MissedMutant", "missed"), ("Timeout", "timeout"), ("Unviable", "unviable")]
print(f"{'file':<34}" + "".join(f"{c:>10}" for _, c in cols))
tot = collections.Counter()
for f in sorted(per):
    print(f"{f:<34}" + "".join(f"{per[f][k]:>10}" for k, _ in cols))
    tot.update(per[f])
print(f"{'total':<34}" + "".join(f"{tot[k]:>10}" for k, _ in cols))
missed = sorted(n for n, (_, s) in verdict.items() if s == "MissedMutant")
open(os.path.join(out, "missed.txt"), "w").write("".join(m + "\n" for m in missed))
EOF
}

if ((summary_only)); then
  summary
  exit
fi

command -v cargo-mutants >/dev/null 2>&1 || cargo install --locked cargo-mutants

# src/tf imports nothing from the core, so its C++ differential (the slowest
# test, 2000 cases) cannot tell core mutants apart: 200 cases keep it honest.
export STAMP_SYNC_TF_CASES="${STAMP_SYNC_TF_CASES:-200}"
mkdir -p "$out/history"
common=(--output "$out" --package stamp_sync --profile mutants --iterate "${extra[@]}"
  --test-package stamp_sync --test-package stamp_sync_tf --test-package stamp_sync_bag
  --test-package stamp_sync_tools)
# A copy of the tree rebuilds every dependency (copied mtimes), about 7 minutes
# per pass on 2 cores: --in-place (the default) builds incrementally in target/.
if ((copy)); then common+=(--jobs "$jobs"); else common+=(--in-place); fi
[[ -n "$shard" ]] && common+=(--shard "$shard")

# Runs one cargo-mutants pass and keeps its outcomes for the summary.
pass() {
  # cargo-mutants exits non-zero when a mutant is missed: the table says which.
  cargo mutants "${common[@]}" "$@" || true
  local json="$out/mutants.out/outcomes.json"
  [[ -f "$json" ]] && cp "$json" "$out/history/$(date +%s%N).json"
  # A timeout is caught (the suite hangs in the same test): not run again.
  if [[ -f "$out/mutants.out/timeout.txt" ]]; then
    cat "$out/mutants.out/timeout.txt" >>"$out/mutants.out/caught.txt"
  fi
}

start=$(date +%s)
if ((!full_only)); then
  for f in "${files[@]}"; do
    case "$f" in
      */src/driver/*) tests=("${screen_driver[@]}") ;;
      */src/policy/exact/held.rs) tests=("${screen_held[@]}") ;;
      */src/policy/latest.rs) tests=("${screen_latest[@]}") ;;
      */src/policy/latched.rs) tests=("${screen_latched[@]}") ;;
      */src/policy/slop.rs) tests=("${screen_slop[@]}") ;;
      */src/policy/registry.rs) tests=("${screen_registry[@]}") ;;
      *) tests=("${screen_policy[@]}") ;;
    esac
    # The core's own tests only; the unit tests by their module paths.
    screen=(--test-package stamp_sync --cargo-arg=--lib --cargo-arg=--test=it
      --cargo-arg=--test=alloc --cargo-test-arg=policy:: --cargo-test-arg=driver::)
    for t in "${tests[@]}"; do screen+=("--cargo-test-arg=$t::"); done
    echo "mutants.sh: screen $f"
    pass -f "$f" "${screen[@]}" --timeout 30
  done
fi
file_args=()
for f in "${files[@]}"; do file_args+=(-f "$f"); done
echo "mutants.sh: confirm against the whole suite"
pass "${file_args[@]}" --timeout "$timeout"
echo "mutants.sh: $(($(date +%s) - start)) s"
summary
