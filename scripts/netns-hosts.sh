#!/usr/bin/env bash
# Test hosts on this machine (as root): a network namespace per host named
# on the command line, joined by an emulated link (delay, jitter, loss,
# partitions; this kernel has no tc netem). Prints `host NAME NAMESPACE
# ADDRESS` per host, then reads commands on stdin until it ends:
#   set a delay=20ms jitter=5ms loss=0.02
#   down a / up a
#   counts
# and tears everything down. Run ROS 2 processes in a host with
#   ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET FASTDDS_BUILTIN_TRANSPORTS=UDPv4 \
#     ip netns exec NAMESPACE scripts/with-ros CMD
# The integration tests (crates/stamp_sync_nodes/tests/it/ros_hosts.rs) use
# the same code as a library (stamp_sync_testkit::net).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p stamp_sync_testkit --bin netns-hosts -- "$@"
