#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs (as root):
# the C++ reference (Debian's libmessage-filters-dev) for the differential test.
set -euo pipefail
cd "$(dirname "$0")/.."
export STAMP_SYNC_REQUIRE_ORACLE="${STAMP_SYNC_REQUIRE_ORACLE:-${CI:+1}}"
if [ -x scripts/build-oracle.sh ]; then scripts/build-oracle.sh; fi
cargo fmt --check
cargo clippy --all-targets --features cli -- -D warnings
cargo build --no-default-features
cargo test --features cli
