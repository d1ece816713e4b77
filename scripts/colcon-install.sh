#!/usr/bin/env bash
# Builds and installs this repository as the ROS 2 package `stamp_sync` with
# colcon, the way a user does (`colcon build` in a workspace holding it under
# src/), into build/ws/install. The integration tests run the installed
# nodes from there, resolved through the ament index as `ros2 run` does.
#
#   scripts/colcon-install.sh          # build/ws: src/stamp_sync -> this repo
#
# Build once: the package's CMakeLists.txt runs cargo with its target
# directory set to this repository's target/ and the dev profile
# (CMAKE_BUILD_TYPE=Debug), so colcon and `cargo test` under with-ros share
# their build outputs (the same packages and features: the nodes, and the
# tool with `watch`). A user's plain `colcon build` builds release.
# Run through scripts/with-ros (it is, when called by test-all.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ws="${STAMP_SYNC_WS:-$root/build/ws}"
target="$(cd "$root" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
mkdir -p "$ws/src"
ln -sfn "$root" "$ws/src/stamp_sync"
cd "$ws"
start=$(date +%s)
# colcon warns that the wheel venv has no local_setup.*: harmless.
colcon --log-base "$ws/log" build --base-paths src --event-handlers console_direct- \
  --cmake-args -DCMAKE_BUILD_TYPE=Debug -DSTAMP_SYNC_CARGO_TARGET_DIR="$target" 2>&1 \
  | grep -v "doesn't contain any 'local_setup" || true
exe="$ws/install/stamp_sync/lib/stamp_sync"
for n in sync_relay camera_publisher image_info_sync stereo_sync rgbd_sync bag_player stamp-sync tf_filter imu_camera_sync; do
  [[ -x "$exe/$n" ]] || { echo "colcon-install: $exe/$n is missing" >&2; exit 1; }
done
# What a user's shell gets from `source install/setup.bash` (colcon-bash).
# shellcheck disable=SC1091
found="$(bash -c "source '$ws/install/setup.bash' && printenv AMENT_PREFIX_PATH")"
[[ ":$found:" == *":$ws/install/stamp_sync:"* ]] ||
  { echo "colcon-install: install/setup.bash does not put stamp_sync on AMENT_PREFIX_PATH ($found)" >&2; exit 1; }
echo "colcon-install: installed into $ws/install in $(($(date +%s) - start)) s" >&2
