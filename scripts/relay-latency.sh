#!/usr/bin/env bash
# What sync_relay adds to 2 x 1920x1080 rgb8 images at 30 Hz (ExactTime
# stereo pairs): a consumer subscribes to both images directly and to their
# relayed copies and reports, per image, relayed arrival minus direct
# arrival (p50/p99/max); the relay's CPU is read from /proc over the same
# window. Release builds, reliable QoS, Fast DDS. Runs twice: with Fast
# DDS's default transports (UDP loopback and its small shared-memory
# segments) and with config/fastdds-shm-large.xml (shared memory only, big
# segments).
#
#   scripts/with-ros scripts/relay-latency.sh [SECONDS]    # default 20
#
# Results: build/relay-latency.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
cargo build -q --release -p stamp_sync_nodes --bin sync_relay --bin camera_publisher -p stamp_sync_r2r --example relay_latency
bin=target/release
out=build/relay-latency.txt
: >"$out"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$((150 + $$ % 50))}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=(); }
trap cleanup EXIT
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One run: relay + camera + measuring consumer, with the current Fast DDS
# settings.
run() {
  echo "== $1" | tee -a "$out"
  "$bin/sync_relay" --ros-args -p "topics:=[/camera1/image, /camera2/image]" -p policy:=exact \
    -p qos:=reliable -p depth:=10 -p diagnostics_period:=0.0 >/dev/null 2>build/relay-latency.relay.log &
  local relay=$!
  pids+=("$relay")
  "$bin/camera_publisher" --ros-args -p rate:=30.0 -p width:=1920 -p height:=1080 -p color:=true \
    -p jitter_ms:=0.0 -p "only:=[camera1/image, camera2/image]" -p depth:=10 \
    -p count:=$(((secs + 8) * 30)) >/dev/null 2>build/relay-latency.publisher.log &
  pids+=("$!")
  # Warm-up: discovery and the first sets.
  sleep 3
  local c0 t0 c1 t1
  c0=$(cpu "$relay"); t0=$(date +%s.%N)
  "$bin/examples/relay_latency" "$secs" /camera1/image /camera2/image | tee -a "$out"
  c1=$(cpu "$relay"); t1=$(date +%s.%N)
  python3 - "$c0" "$c1" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY' | tee -a "$out"
import sys
c0, c1, t0, t1, hz = map(float, sys.argv[1:])
frames = (t1 - t0) * 60  # two images at 30 Hz
print(f"relay cpu {100 * (c1 - c0) / hz / (t1 - t0):.1f}% of one core, "
      f"{1e3 * (c1 - c0) / hz / frames:.3f} ms per image")
PY
  cleanup
}

unset FASTRTPS_DEFAULT_PROFILES_FILE
run "Fast DDS default transports"
FASTRTPS_DEFAULT_PROFILES_FILE="$PWD/config/fastdds-shm-large.xml" \
  run "config/fastdds-shm-large.xml"
