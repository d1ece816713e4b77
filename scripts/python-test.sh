#!/usr/bin/env bash
# The Python package: `pip install ./python` (maturin, into the shared
# target/) in the ROS venv and in a plain venv, then its tests with pytest:
# rclpy's own message_filters tests unchanged, the API, the differential
# tests against C++ and Debian's Python message_filters, live rclpy graphs.
# Run after scripts/ros-setup.sh (and, for the differential tests,
# scripts/build-oracle.sh and scripts/build-filters-oracle.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/ros-venv
pip=(-m pip install -q --disable-pip-version-check)
"$venv/bin/python" "${pip[@]}" pytest numpy
"$venv/bin/python" "${pip[@]}" ./python
# A plain venv (no ROS): the wheel installs and its offline API works.
plain=build/plain-venv
[ -x "$plain/bin/python" ] || python3 -m venv "$plain"
"$plain/bin/python" "${pip[@]}" ./python
"$plain/bin/python" - <<'PY'
import stamp_sync
import stamp_sync.message_filters as mf

sets = stamp_sync.match_trace([0, 1, 0, 1], [5, 5, 9, 9], 2, stamp_sync.ExactTime(3))
assert sets == [(5, 5), (9, 9)], sets

class H:
    pass

class M:
    def __init__(self, t):
        self.header = H()
        self.header.stamp = t

a, b = mf.SimpleFilter(), mf.SimpleFilter()
got = []
ts = mf.ApproximateTimeSynchronizer([a, b], 5, 0.1, allow_headerless=True)
ts.registerCallback(lambda x, y: got.append((x, y)))
import time
m = M(time.time_ns())
a.signalMessage(m)
b.signalMessage("headerless")
assert got == [(m, "headerless")], got
print("python-test: plain venv: stamp_sync imports and synchronizes without ROS")
PY
# pytest exits non-zero when it collects no test.
scripts/with-ros "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
