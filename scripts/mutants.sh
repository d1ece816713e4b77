#!/usr/bin/env bash
# Mutation testing of the core with cargo-mutants: which changes to the code
# does no test notice? Not part of scripts/test-all.sh (hours, not minutes).
#
#   scripts/mutants.sh                     # every core file, in a copy of the tree
#   scripts/mutants.sh -f src/time.rs      # one file (repeatable)
#   scripts/mutants.sh --shard 0/4         # a quarter of the mutants
#   scripts/mutants.sh --iterate           # resume: skip mutants already caught
#   scripts/mutants.sh --in-place          # build in this tree (shares target/)
#   scripts/mutants.sh --summary           # only print the table of the last run
#   scripts/mutants.sh --timeout 240       # seconds per test run (default:
#                                          # 3x the baseline; raise it on a busy machine)
#   scripts/mutants.sh --jobs 2            # two mutants at once, each in its own copy
#
# The tests are the whole non-ROS suite: `cargo test --features cli` (unit,
# integration and doctests). Results go to build/mutants/<shard>/mutants.out;
# the table at the end gives caught / missed / timeout / unviable per file,
# and the missed mutants are listed in build/mutants/<shard>/mutants.out/missed.txt.
# Mutants known to be equivalent are listed in docs/testing.md.
#
# Installs cargo-mutants (crates.io) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

core_files=(
  'src/policy/*.rs'
  'src/policy/exact/*.rs'
  'src/driver/*.rs'
)
files=()
shard=""
extra=()
summary_only=0
timeout=""
jobs=1
while (($#)); do
  case "$1" in
    -f | --file) files+=("$2"); shift 2 ;;
    --shard) shard="$2"; shift 2 ;;
    --iterate | --in-place) extra+=("$1"); shift ;;
    --summary) summary_only=1; shift ;;
    --timeout) timeout="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "mutants.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
((${#files[@]})) || files=("${core_files[@]}")

name="all"
[[ -n "$shard" ]] && name="shard-${shard/\//-of-}"
out="build/mutants/$name"

summary() {
  local json="$out/mutants.out/outcomes.json"
  [[ -f "$json" ]] || { echo "mutants.sh: no results in $out yet" >&2; return 1; }
  python3 - "$json" "$out/mutants.out/missed.txt" <<'EOF'
import collections, json, sys
data = json.load(open(sys.argv[1]))
per = collections.defaultdict(collections.Counter)
missed = []
for o in data.get("outcomes", []):
    scen = o.get("scenario")
    if not isinstance(scen, dict) or "Mutant" not in scen:
        continue
    m = scen["Mutant"]
    f = m.get("file", "?")
    s = o.get("summary", "?")
    per[f][s] += 1
    if s == "MissedMutant":
        missed.append(m.get("name") or f"{f}: {m.get('replacement', '')}")
cols = [("CaughtMutant", "caught"), ("MissedMutant", "missed"), ("Timeout", "timeout"), ("Unviable", "unviable")]
print(f"{'file':<34}" + "".join(f"{c:>10}" for _, c in cols))
tot = collections.Counter()
for f in sorted(per):
    print(f"{f:<34}" + "".join(f"{per[f][k]:>10}" for k, _ in cols))
    tot.update(per[f])
print(f"{'total':<34}" + "".join(f"{tot[k]:>10}" for k, _ in cols))
open(sys.argv[2], "w").write("\n".join(missed) + ("\n" if missed else ""))
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
args=(--output "$out" --features cli --profile mutants --jobs "$jobs")
for f in "${files[@]}"; do args+=(-f "$f"); done
[[ -n "$shard" ]] && args+=(--shard "$shard")
if [[ -n "$timeout" ]]; then args+=(--timeout "$timeout"); else args+=(--timeout-multiplier 3); fi
mkdir -p "$out"
start=$(date +%s)
# cargo-mutants exits non-zero when a mutant is missed: the table says which.
cargo mutants "${args[@]}" "${extra[@]}" || true
echo "mutants.sh: $(($(date +%s) - start)) s"
summary
