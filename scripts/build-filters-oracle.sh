#!/usr/bin/env bash
# Prepares the reference runners of the filter differential tests:
#   * builds oracle/cache_oracle.cpp (C++ message_filters::Cache, Debian's
#     libmessage-filters-dev 1.15.15) into OUT_DIR/cache_oracle, for
#     crates/stamp_sync/tests/it/cache_differential.rs;
#   * makes sure /usr/bin/python3 can import Debian's python3-message-filters
#     (ROS 1 Python message_filters 1.15.15), which oracle/slop_oracle.py
#     drives for crates/stamp_sync/tests/it/slop_differential.rs.
#
#   scripts/build-filters-oracle.sh [OUT_DIR]     (default: build/ in the repo)
#
# Whatever is missing (g++, libmessage-filters-dev, libgeometry-msgs-dev,
# python3-message-filters) is installed with apt-get when we are root;
# otherwise this fails saying what is missing. Idempotent. Exit status 0 =
# both runners are ready.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
src="$repo/oracle/cache_oracle.cpp"
out_dir=${1:-"$repo/build"}
out="$out_dir/cache_oracle"
python=/usr/bin/python3

fail() {
  echo "build-filters-oracle: $*" >&2
  exit 1
}

[ -f "$src" ] || fail "source $src not found"
[ -f "$repo/oracle/slop_oracle.py" ] || fail "oracle/slop_oracle.py not found"

headers=(
  /usr/include/message_filters/cache.h
  /usr/include/geometry_msgs/PointStamped.h
)
have_headers() {
  local h
  for h in "${headers[@]}"; do [ -f "$h" ] || return 1; done
}
# Debian's ROS 1 Python, never the ROS 2 wheels that scripts/with-ros puts
# on PYTHONPATH (their rosgraph_msgs hides ROS 1's): the tests run it so too.
have_python() {
  [ -x "$python" ] && env -u PYTHONPATH -u PYTHONHOME "$python" -c 'import message_filters, rospy' >/dev/null 2>&1
}

missing=()
have_headers || missing+=(libmessage-filters-dev libgeometry-msgs-dev)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
have_python || missing+=(python3-message-filters)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing ${missing[*]}; install them as root: apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and there is no apt-get (need the Debian 12 packages)"
  echo "build-filters-oracle: installing ${missing[*]} with apt-get" >&2
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    fail "apt-get could not install ${missing[*]}"
  fi
  rm -f "$log"
  have_headers || fail "packages installed but headers still missing (${headers[*]})"
  command -v g++ >/dev/null 2>&1 || fail "g++ still missing after apt-get"
  have_python || fail "$python still cannot import message_filters and rospy"
fi

if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi

mkdir -p "$out_dir"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
if ! g++ -O2 -std=c++17 -Wall -o "$tmp" "$src" \
    -lmessage_filters -lroscpp -lrosconsole -lrostime -lcpp_common -lboost_system; then
  fail "g++ failed compiling $src"
fi
mv -f "$tmp" "$out"
echo "build-filters-oracle: built $out" >&2
