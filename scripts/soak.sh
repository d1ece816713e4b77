#!/usr/bin/env bash
# Soak test on real ROS 2: camera_publisher -> rgbd_sync at 100 Hz x 3
# topics for SECONDS (default 600). Samples the sync node's RSS and counters
# every second and writes build/soak-report.md (and .json). Exits non-zero
# if RSS grows past the tolerance after warm-up or any message is
# unaccounted for (see crates/stamp_sync_nodes/tests/it/ros_soak.rs).
#
#   scripts/soak.sh          # 10 minutes
#   scripts/soak.sh 30       # what CI runs (scripts/test-all.sh)
#
# Tolerances: STAMP_SYNC_SOAK_RSS_TOL_KB (4096), STAMP_SYNC_SOAK_RSS_TOL_PCT (10).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/soak.sh [SECONDS]" >&2; exit 2; }
scripts/ros-setup.sh >/dev/null
# The test runs the installed nodes: install them first.
scripts/with-ros scripts/colcon-install.sh
export STAMP_SYNC_SOAK_SECS="$secs"
export STAMP_SYNC_SOAK_REPORT="${STAMP_SYNC_SOAK_REPORT:-$PWD/build/soak-report.md}"
# Run the test binary itself, not `cargo test`, which would hold the build
# directory lock for the whole soak.
exe="$(scripts/with-ros cargo test -q -p stamp_sync_nodes --test it --no-run --message-format=json |
  grep -o '"executable":"[^"]*/it-[^"]*"' | tail -1 | cut -d'"' -f4)"
[[ -x "$exe" ]] || { echo "soak: cannot find the nodes' test binary" >&2; exit 1; }
scripts/with-ros "$exe" --ignored --nocapture --exact ros_soak::soak
