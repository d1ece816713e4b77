#!/usr/bin/env bash
# Installs ROS 2 Jazzy (rcl + Fast DDS + the message packages stamp_sync
# uses) from the ros-jazzy-* Python wheels into a venv under build/, so that
# `scripts/with-ros cargo test --all-features` works on a plain Debian 12
# machine with no ROS install.
#
# Idempotent: a second run checks a stamp file keyed on the package list and
# returns in well under a second.
#
#   scripts/ros-setup.sh            # install or verify
#   STAMP_SYNC_ROS_VENV=/path ...   # put the venv elsewhere
#
# With a regular ROS 2 install you do not need this script: run
# `source /opt/ros/jazzy/setup.bash` and call cargo directly (see docs/ros2.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${STAMP_SYNC_ROS_VENV:-$root/build/ros-venv}"

debs=(libclang-dev clang libpython3.11 python3.11-venv)
wheels=(
  # core
  ros-jazzy-rcl ros-jazzy-rcl-action ros-jazzy-rcl-yaml-param-parser ros-jazzy-rcutils
  ros-jazzy-rmw ros-jazzy-rmw-implementation ros-jazzy-rmw-fastrtps-cpp
  ros-jazzy-rosidl-runtime-c ros-jazzy-rosidl-typesupport-c
  ros-jazzy-rosidl-typesupport-introspection-c
  # interfaces
  ros-jazzy-builtin-interfaces ros-jazzy-std-msgs ros-jazzy-sensor-msgs
  ros-jazzy-geometry-msgs ros-jazzy-rcl-interfaces ros-jazzy-action-msgs
  ros-jazzy-unique-identifier-msgs ros-jazzy-lifecycle-msgs
  ros-jazzy-type-description-interfaces ros-jazzy-service-msgs ros-jazzy-rosgraph-msgs
  # a Python ROS 2 peer for the interop test
  ros-jazzy-rclpy
)

key="$(printf '%s\n' "v1" "${debs[@]}" "${wheels[@]}" | sha256sum | cut -c1-16)"
stamp="$venv/.stamp-sync-ros-$key"
if [[ -f "$stamp" && -x "$venv/bin/python" && -e "$venv/lib/librmw_implementation.so" ]]; then
  echo "ros-setup: ROS 2 Jazzy already installed in $venv"
  exit 0
fi

say() { echo "ros-setup: $*" >&2; }

# 1. Debian packages (bindgen needs libclang; see workaround 2 for libpython).
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. A CPython 3.11 venv (the wheels are cp311). Debian's own python3.11
#    is preferred: its libpython3.11.so.1.0 is the one we link (workaround 2).
py=""
for c in /usr/bin/python3.11 "$(command -v python3.11 || true)"; do
  if [[ -n "$c" && -x "$c" ]]; then py="$c"; break; fi
done
[[ -n "$py" ]] || { say "no python3.11 found"; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  say "creating venv $venv with $py"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
fi

# 3. The wheels. The ros-jazzy-* meta names pin Jazzy (bare ros-* names are Kilted).
say "installing ${#wheels[@]} ROS 2 Jazzy wheels (about 54 MB)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${wheels[@]}"

# 4. Workaround 1: the wheels have no librmw_implementation.so (RMW runtime
#    selection is compiled out); r2r links -lrmw_implementation.
if [[ ! -e "$venv/lib/librmw_implementation.so" ]]; then
  ln -sf librmw_fastrtps_cpp.so "$venv/lib/librmw_implementation.so"
fi
for f in librcl.so librmw_fastrtps_cpp.so; do
  [[ -e "$venv/lib/$f" ]] || { say "missing $venv/lib/$f after install"; exit 1; }
done

rm -f "$venv"/.stamp-sync-ros-*
date -u +%FT%TZ >"$stamp"
say "done: ROS 2 Jazzy in $venv; run commands with scripts/with-ros <cmd>"
