#!/usr/bin/env bash
# Builds oracle/stamp_oracle.cpp, the C++ message_filters runner used by
# tests/differential.rs, into OUT (default: build/stamp_oracle in the repo).
#
#   scripts/build-oracle.sh [OUT]
#
# Needs g++ and Debian bookworm's ROS 1 packages libmessage-filters-dev
# (1.15.15) and libgeometry-msgs-dev. If their headers are missing and we
# are root with apt-get, they are installed; otherwise this fails with a
# message saying what is missing. Idempotent: does nothing when OUT is newer
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

if ! have_headers; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "ROS 1 headers missing (${headers[*]}); install libmessage-filters-dev and libgeometry-msgs-dev as root"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "ROS 1 headers missing and there is no apt-get (need Debian 12 packages libmessage-filters-dev libgeometry-msgs-dev)"
  echo "build-oracle: installing libmessage-filters-dev libgeometry-msgs-dev with apt-get" >&2
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libmessage-filters-dev libgeometry-msgs-dev; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    fail "apt-get could not install libmessage-filters-dev libgeometry-msgs-dev"
  fi
  rm -f "$log"
  have_headers || fail "packages installed but headers still missing (${headers[*]})"
fi

if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi

command -v g++ >/dev/null 2>&1 || fail "g++ not found (apt-get install g++)"
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
if ! g++ -O2 -std=c++17 -Wall -o "$tmp" "$src" \
    -lmessage_filters -lroscpp -lrosconsole -lrostime -lcpp_common -lboost_system; then
  fail "g++ failed compiling $src"
fi
mv -f "$tmp" "$out"
echo "build-oracle: built $out" >&2
