#!/usr/bin/env bash
# Builds oracle/stamp_oracle.cpp, the C++ message_filters runner used by
# crates/stamp_sync/tests/it/differential.rs, into OUT (default: build/stamp_oracle in the repo).
#
#   scripts/build-oracle.sh [OUT]
#
# Needs g++ and Debian bookworm's ROS 1 packages libmessage-filters-dev
# (1.15.15) and libgeometry-msgs-dev. Whatever is missing is installed with
# apt-get when we are root; otherwise this fails with a message saying what
# is missing. Idempotent: does nothing when OUT is newer
# than the source and this script. Exit status 0 = OUT is ready.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
src="$repo/oracle/stamp_oracle.cpp"
out=${1:-"$repo/build/stamp_oracle"}

fail() {
  echo "build-oracle: cannot build the message_filters oracle: $*" >&2
  exit 1
}

[ -f "$src" ] || fail "source $src not found"

headers=(
  /usr/include/message_filters/sync_policies/approximate_time.h
  /usr/include/message_filters/sync_policies/exact_time.h
  /usr/include/geometry_msgs/PointStamped.h
)
have_headers() {
  local h
  for h in "${headers[@]}"; do [ -f "$h" ] || return 1; done
}

missing=()
have_headers || missing+=(libmessage-filters-dev libgeometry-msgs-dev)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing ${missing[*]} (need ${headers[*]} and g++); install them as root: apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and there is no apt-get (need Debian 12 packages libmessage-filters-dev libgeometry-msgs-dev g++)"
  echo "build-oracle: installing ${missing[*]} with apt-get" >&2
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    fail "apt-get could not install ${missing[*]}"
  fi
  rm -f "$log"
  have_headers || fail "packages installed but headers still missing (${headers[*]})"
  command -v g++ >/dev/null 2>&1 || fail "g++ still missing after apt-get"
fi

if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
if ! g++ -O2 -std=c++17 -Wall -o "$tmp" "$src" \
    -lmessage_filters -lroscpp -lrosconsole -lrostime -lcpp_common -lboost_system; then
  fail "g++ failed compiling $src"
fi
mv -f "$tmp" "$out"
echo "build-oracle: built $out" >&2
