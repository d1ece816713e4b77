#!/usr/bin/env bash
# The crates meant for crates.io, checked as `cargo publish` would take
# them (nothing is uploaded):
#   1. the core's normal dependencies are futures, smallvec, thiserror and
#      log only (no ROS, no C toolchain);
#   2. `cargo publish --dry-run` of every published crate, in dependency
#      order against a local registry of the others; the core, tf and wire
#      crates are built from their packages, the others packaged and
#      checked without a build unless --verify (r2r needs ROS to build: run
#      through scripts/with-ros, as test-all.sh does);
#   3. no package holds test data, images or bags; the core's .crate is at
#      most 200 KB.
#
#   scripts/with-ros scripts/publish-check.sh            # what CI runs
#   scripts/with-ros scripts/publish-check.sh --verify   # build every package
set -euo pipefail
cd "$(dirname "$0")/.."
verify=0
[[ "${1:-}" == "--verify" ]] && verify=1
published=(stamp_sync stamp_sync_tf stamp_sync_wire stamp_sync_bag stamp_sync_r2r stamp_sync_tools)
say() { echo "publish-check: $*" >&2; }

deps="$(cargo tree -p stamp_sync -e normal --prefix none --depth 1 --format '{p}' | awk 'NR>1 {print $1}' | sort -u)"
for d in $deps; do
  case "$d" in futures | smallvec | thiserror | log) ;;
  *) say "the core depends on $d (allowed: futures, smallvec, thiserror, log)"; exit 1 ;;
  esac
done
say "core dependencies: $(echo $deps | tr '\n' ' ')"

args=()
for p in "${published[@]}"; do args+=(-p "$p"); done
if ((verify)); then
  cargo publish --dry-run --allow-dirty "${args[@]}"
else
  cargo publish --dry-run --allow-dirty -p stamp_sync -p stamp_sync_tf -p stamp_sync_wire
  cargo publish --dry-run --allow-dirty --no-verify "${args[@]}"
fi

target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
version="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)["packages"] if p["name"]=="stamp_sync"][0]["version"])')"
for p in "${published[@]}"; do
  list="$(cargo package --list --allow-dirty -p "$p" 2>/dev/null)"
  if grep -Eq '(^|/)tests/data/|\.(bag|mcap|db3|png|svg|csv)$' <<<"$list"; then
    say "$p packages test data:"; grep -E '(^|/)tests/data/|\.(bag|mcap|db3|png|svg|csv)$' <<<"$list" >&2; exit 1
  fi
  crate="$target/package/tmp-registry/$p-$version.crate"
  [[ -f "$crate" ]] && say "$p: $(wc -l <<<"$list") files, $(stat -c %s "$crate") bytes"
done
size=$(stat -c %s "$target/package/tmp-registry/stamp_sync-$version.crate")
((size <= 200 * 1024)) || { say "the core's .crate is $size bytes (at most 200 KB)"; exit 1; }
say "ok"
