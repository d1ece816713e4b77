"""Throughput of stamp_sync's Python binding against Debian's Python
message_filters (ROS 1, python3-message-filters 1.15.15), in one process:

    scripts/with-ros build/ros-venv/bin/python python/bench.py [--messages N]

One random camera-rig trace (3 inputs at 30 Hz, a few ms of offset and
jitter, latency, 1% loss), its messages built before timing, fed through
SimpleFilter inputs; queue 10, slop 10 ms. Repetitions alternate between
the implementations; the table gives the median of --repeat runs. Checks
that Debian's and stamp_sync's ApproximateTimeSynchronizer give the same
sets (and that match_trace gives the synchronizers' sets).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import sys
import time
import types
from typing import Any, Callable, List, Sequence, Tuple

import numpy as np

_here = os.path.dirname(os.path.abspath(__file__))

import stamp_sync  # noqa: E402
import stamp_sync.message_filters as ss_filters  # noqa: E402

NS = 1_000_000_000
N = 3
QUEUE = 10
SLOP = 0.01
PERIOD_NS = NS // 30
DEBIAN = "/usr/lib/python3/dist-packages"
HUSKY = ["/fix", "/husky_velocity_controller/odom", "/imu/data"]


# ---------------------------------------------------------------- Debian's


def load_debian() -> Tuple[Any, Any]:
    """Debian's message_filters and rospy.Time, without rospy's node
    machinery (and without ROS 1 packages shadowing ROS 2's): a stub
    ``rospy`` package holding the real rospy.rostime on the wall clock,
    as oracle/slop_oracle.py sets it up (set_rostime_initialized)."""
    sys.path.append(DEBIAN)
    try:
        rospy = types.ModuleType("rospy")
        rospy.__path__ = [DEBIAN + "/rospy"]
        sys.modules["rospy"] = rospy
        import rospy.rostime as rostime  # noqa: E402  (the real file)

        rostime.set_rostime_initialized(True)
        rospy.rostime = rostime
        rospy.Time = rostime.Time
        rospy.Duration = rostime.Duration
        rospy.logwarn = rospy.loginfo = rospy.logdebug = lambda *a, **k: None
        spec = importlib.util.spec_from_file_location(
            "debian_message_filters", DEBIAN + "/message_filters/__init__.py"
        )
        mf = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mf)
    finally:
        sys.path.remove(DEBIAN)
    return mf, rospy.Time


# ---------------------------------------------------------------- traces


def camera_trace(rng: np.random.Generator, messages: int, exact: bool) -> Tuple[np.ndarray, np.ndarray]:
    """(channels, stamps_ns) in arrival order: N cameras at 30 Hz. Approximate:
    offsets 0/2/4 ms and 1.5 ms of jitter on each stamp; exact: one stamp
    per tick on every input. Latency 5/8/11 ms plus exponential 1 ms;
    1% of the messages lost. Stamps strictly increase per input."""
    ticks = int(messages / N / 0.98) + 2  # enough after the loss
    base = 1_700_000_000 * NS
    chans, stamps, arrivals = [], [], []
    for ch in range(N):
        k = np.arange(ticks, dtype=np.int64)
        s = base + k * PERIOD_NS
        if not exact:
            s = s + ch * 2_000_000 + rng.normal(0, 1_500_000, ticks).astype(np.int64)
            s = np.maximum.accumulate(s) + k  # strictly increasing
        arrive = s + (5 + 3 * ch) * 1_000_000 + rng.exponential(1_000_000, ticks).astype(np.int64)
        keep = rng.random(ticks) >= 0.01
        chans.append(np.full(keep.sum(), ch, dtype=np.int64))
        stamps.append(s[keep])
        arrivals.append(arrive[keep])
    order = np.argsort(np.concatenate(arrivals), kind="stable")
    return np.concatenate(chans)[order][:messages], np.concatenate(stamps)[order][:messages]


class Header:
    __slots__ = ("stamp",)


class Ros1Msg:
    """A ROS 1 style message: header.stamp a rospy.Time."""

    __slots__ = ("header", "idx")


def ros1_messages(chans: np.ndarray, stamps: np.ndarray, Time: Any) -> List[Tuple[int, Any]]:
    out = []
    for i, (ch, ns) in enumerate(zip(chans.tolist(), stamps.tolist())):
        m = Ros1Msg()
        m.header = Header()
        m.header.stamp = Time(ns // NS, ns % NS)
        m.idx = i
        out.append((ch, m))
    return out


def ros2_messages(chans: np.ndarray, stamps: np.ndarray) -> List[Tuple[int, Any]]:
    """sensor_msgs/Temperature, header.stamp a builtin_interfaces Time;
    `variance` holds the arrival index."""
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Temperature

    out = []
    for i, (ch, ns) in enumerate(zip(chans.tolist(), stamps.tolist())):
        m = Temperature(temperature=20.0, variance=float(i))
        m.header.stamp = Time(sec=ns // NS, nanosec=ns % NS)
        m.header.frame_id = "cam%d" % ch
        out.append((ch, m))
    return out


def index_of(m: Any) -> int:
    return m.idx if isinstance(m, Ros1Msg) else int(m.variance)


# ---------------------------------------------------------------- runs


class Case:
    """One implementation: `run()` feeds the messages once and returns
    (seconds, sets as tuples of arrival indices)."""

    def __init__(self, name: str, baseline: str, messages: int, run: Callable[[], Tuple[float, List[tuple]]]):
        self.name, self.baseline, self.messages, self.run = name, baseline, messages, run
        self.times: List[float] = []
        self.sets: List[tuple] = []


def feeder(make_inputs: Callable[[], List[Any]], make_sync: Callable[[List[Any]], Any], msgs: Sequence[Tuple[int, Any]]):
    def run() -> Tuple[float, List[tuple]]:
        inputs = make_inputs()
        sync = make_sync(inputs)
        out: List[tuple] = []
        sync.registerCallback(lambda *m: out.append(m))
        feed = [(inputs[ch].signalMessage, m) for ch, m in msgs]
        gc.collect()
        t0 = time.perf_counter()
        for signal, m in feed:
            signal(m)
        dt = time.perf_counter() - t0
        return dt, [tuple(index_of(m) for m in s) for s in out]

    return run


def offline(chans: np.ndarray, stamps: np.ndarray, policy: Any):
    def run() -> Tuple[float, List[tuple]]:
        gc.collect()
        t0 = time.perf_counter()
        sets = stamp_sync.match_trace(chans, stamps, N, policy)
        return time.perf_counter() - t0, sets

    return run


def stamps_of(sets: List[tuple], stamps: np.ndarray) -> List[tuple]:
    s = stamps.tolist()
    return [tuple(s[i] for i in st) for st in sets]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=100_000, help="messages of the synchronizer traces")
    p.add_argument("--offline-messages", type=int, default=1_000_000, help="messages of the match_trace trace")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--husky-repeat", type=int, default=6, help="plays of the Husky bag (16,806 messages each)")
    a = p.parse_args()

    mf, RosTime = load_debian()
    rng = np.random.default_rng(a.seed)
    ach, ast = camera_trace(rng, a.messages, exact=False)
    ech, est = camera_trace(rng, a.messages, exact=True)
    och, ost = camera_trace(rng, a.offline_messages, exact=False)
    t0 = time.perf_counter()
    a1, a2 = ros1_messages(ach, ast, RosTime), ros2_messages(ach, ast)
    e1, e2 = ros1_messages(ech, est, RosTime), ros2_messages(ech, est)
    print(f"built {len(a1) + len(a2) + len(e1) + len(e2)} messages in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    deb_in = lambda: [mf.SimpleFilter() for _ in range(N)]  # noqa: E731
    ss_in = lambda: [ss_filters.SimpleFilter() for _ in range(N)]  # noqa: E731
    approx = "Debian ApproximateTimeSynchronizer"
    exact = "Debian TimeSynchronizer (exact trace)"
    cases = [
        Case(approx, approx, len(a1), feeder(deb_in, lambda fs: mf.ApproximateTimeSynchronizer(fs, QUEUE, SLOP), a1)),
        Case(
            "stamp_sync ApproximateTimeSynchronizer",
            approx,
            len(a2),
            feeder(ss_in, lambda fs: ss_filters.ApproximateTimeSynchronizer(fs, QUEUE, SLOP), a2),
        ),
        Case(
            "stamp_sync ApproximateTimeSynchronizer, Debian's messages (rospy.Time)",
            approx,
            len(a1),
            feeder(ss_in, lambda fs: ss_filters.ApproximateTimeSynchronizer(fs, QUEUE, SLOP), a1),
        ),
        Case(
            "stamp_sync Synchronizer(ApproximateTime(10))",
            approx,
            len(a2),
            feeder(ss_in, lambda fs: ss_filters.Synchronizer(fs, stamp_sync.ApproximateTime(QUEUE)), a2),
        ),
        Case(exact, exact, len(e1), feeder(deb_in, lambda fs: mf.TimeSynchronizer(fs, QUEUE), e1)),
        Case(
            "stamp_sync TimeSynchronizer (exact trace)",
            exact,
            len(e2),
            feeder(ss_in, lambda fs: ss_filters.TimeSynchronizer(fs, QUEUE), e2),
        ),
        Case(
            "stamp_sync.match_trace, ApproximateTime(10), numpy int64",
            approx,
            len(och),
            offline(och, ost, stamp_sync.ApproximateTime(QUEUE)),
        ),
        Case(
            "stamp_sync.match_trace, Slop(10, 0.01), numpy int64",
            approx,
            len(och),
            offline(och, ost, stamp_sync.Slop(QUEUE, SLOP)),
        ),
    ]

    # A real robot: the bundled Husky bag (GPS, odometry, IMU), played
    # `--husky-repeat` times end to end.
    bag = os.path.join(os.path.dirname(_here), "tests/data/bags/rl_husky_gps_odom_imu/test1.bag")
    hch, hst = (np.array(v) for v in stamp_sync.bag_stamps(bag, HUSKY))
    span = int(hst.max() - hst.min()) + NS
    hch = np.tile(hch, a.husky_repeat)
    hst = np.concatenate([hst + k * span for k in range(a.husky_repeat)])
    h1, h2 = ros1_messages(hch, hst, RosTime), ros2_messages(hch, hst)
    husky = "Debian ApproximateTimeSynchronizer, Husky bag"
    cases += [
        Case(husky, husky, len(h1), feeder(deb_in, lambda fs: mf.ApproximateTimeSynchronizer(fs, QUEUE, SLOP), h1)),
        Case(
            "stamp_sync ApproximateTimeSynchronizer, Husky bag",
            husky,
            len(h2),
            feeder(ss_in, lambda fs: ss_filters.ApproximateTimeSynchronizer(fs, QUEUE, SLOP), h2),
        ),
    ]

    for rep in range(a.repeat):
        for c in cases:
            dt, sets = c.run()
            c.times.append(dt)
            if rep == 0:
                c.sets = sets
            else:
                assert sets == c.sets, f"{c.name}: repetition {rep} gave other sets"
        print(f"repetition {rep + 1}/{a.repeat} done", file=sys.stderr)

    # Same sets: Debian's and stamp_sync's ApproximateTimeSynchronizer.
    deb, ss, ss1, cpp = (c.sets for c in cases[:4])
    assert deb == ss, f"Debian {len(deb)} sets, stamp_sync {len(ss)}; first difference at " + str(
        next((i for i, (x, y) in enumerate(zip(deb, ss)) if x != y), min(len(deb), len(ss)))
    )
    assert ss1 == deb, "stamp_sync on rospy.Time stamps gave other sets"
    # match_trace on the same trace gives the synchronizers' sets.
    assert stamp_sync.match_trace(ach, ast, N, stamp_sync.Slop(QUEUE, SLOP)) == stamps_of(ss, ast)
    assert stamp_sync.match_trace(ach, ast, N, stamp_sync.ApproximateTime(QUEUE)) == stamps_of(cpp, ast)
    assert all(len(set(s)) == 1 for s in stamps_of(cases[5].sets, est)), "an exact set of unequal stamps"
    same_exact = cases[4].sets == cases[5].sets
    assert cases[-2].sets == cases[-1].sets, "Husky bag: Debian's and stamp_sync's sets differ"

    med = {c.name: statistics.median(c.times) for c in cases}
    print()
    print(f"Traces: {N} inputs at 30 Hz, seed {a.seed}, and the Husky bag played {a.husky_repeat} times; "
          f"queue {QUEUE}, slop {SLOP * 1000:.0f} ms; median of {a.repeat} alternating repetitions.")
    print()
    print("| implementation | messages | sets | seconds | msgs/s | ratio to Debian's Python |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in cases:
        s = med[c.name]
        rate = c.messages / s
        base = cases[[x.name for x in cases].index(c.baseline)]
        ratio = rate / (base.messages / med[base.name])
        print(f"| {c.name} | {c.messages:,} | {len(c.sets):,} | {s:.3f} | {rate:,.0f} | {ratio:.1f}x |")
    print()
    print(f"Checked: Debian's and stamp_sync's ApproximateTimeSynchronizer gave the same {len(deb):,} sets; "
          f"match_trace gave the synchronizers' sets. Exact trace: Debian {len(cases[4].sets):,} sets, "
          f"stamp_sync {len(cases[5].sets):,} ({'the same' if same_exact else 'not the same'}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
