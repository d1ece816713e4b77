#!/usr/bin/env bash
# The whole test suite, as CI runs it, from a fresh clone. Installs what it
# needs when run as root: Debian's libmessage-filters-dev (the C++ reference
# for the differential test) and ROS 2 Jazzy from PyPI wheels (for the r2r
# integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# The C++ differential test must run, never skip: this script builds the
# reference runner itself (set STAMP_SYNC_REQUIRE_ORACLE=0 to allow a skip).
export STAMP_SYNC_REQUIRE_ORACLE="${STAMP_SYNC_REQUIRE_ORACLE:-1}"
# A fresh clone builds once: incremental caches would only cost disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
scripts/build-oracle.sh
# The filter differential tests: C++ Cache runner, Python message_filters.
scripts/build-filters-oracle.sh
# C++ tf2 (Debian libtf2-dev) for tests/tf_differential.rs.
scripts/build-tf-oracle.sh
scripts/ros-setup.sh
cargo fmt --check
# The core builds with no ROS, no C toolchain and no optional dependency.
cargo build --no-default-features
cargo clippy --all-targets --features cli -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features cli
scripts/with-ros cargo clippy --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" scripts/with-ros cargo doc --no-deps --all-features
# The ROS 2 package as a user builds it (colcon), sharing target/ with the
# tests, which run the installed nodes.
scripts/with-ros scripts/colcon-install.sh
scripts/with-ros cargo test --all-features --no-fail-fast
# A 30-second soak on real ROS 2: RSS flat, every message accounted for.
scripts/soak.sh 30
