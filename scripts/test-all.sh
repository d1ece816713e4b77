#!/usr/bin/env bash
# The whole test suite, as CI runs it, from a fresh clone. Installs what it
# needs when run as root: Debian's libmessage-filters-dev (the C++ reference
# for the differential test) and ROS 2 Jazzy from PyPI wheels (for the r2r
# integration tests), then builds the Python wheel and runs its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { echo "test-all: $* ($((SECONDS - t0)) s)" >&2; }
# The C++ differential test must run, never skip: this script builds the
# reference runner itself (set STAMP_SYNC_REQUIRE_ORACLE=0 to allow a skip).
export STAMP_SYNC_REQUIRE_ORACLE="${STAMP_SYNC_REQUIRE_ORACLE:-1}"
# A fresh clone builds once: incremental caches would only cost disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
scripts/build-oracle.sh
# The filter differential tests: C++ Cache runner, Python message_filters.
scripts/build-filters-oracle.sh
# C++ tf2 (Debian libtf2-dev) for the tf differential test.
scripts/build-tf-oracle.sh
scripts/ros-setup.sh
step "set up"
cargo fmt --all --check
# The ROS-free `stamp-sync` (the README's build command, in the test
# profile's debug build): no ROS, and the core with no C toolchain.
cargo build --bin stamp-sync
step "ROS-free build"
RUSTDOCFLAGS="-D warnings" scripts/with-ros cargo doc --workspace --no-deps --all-features
scripts/with-ros cargo clippy --workspace --all-targets --all-features -- -D warnings
step "docs and clippy"
# The ROS 2 package as a user builds it (colcon), sharing target/ with the
# tests, which run the installed nodes.
scripts/with-ros scripts/colcon-install.sh
step "colcon"
scripts/with-ros cargo test --workspace --all-features --no-fail-fast
step "tests"
# The Python package (maturin, sharing target/) and its pytest suite.
scripts/python-test.sh
step "python"
# What crates.io would take: dependencies, packages, sizes.
scripts/with-ros scripts/publish-check.sh
# A 30-second soak on real ROS 2: RSS flat, every message accounted for.
scripts/soak.sh 30
step "done"
