"""stamp_sync.message_filters on real ROS 2 (Fast DDS on loopback): an rclpy
publisher process, this file run as ``python test_live.py --publish ...``,
and synchronizers on a node in the test process. Run through scripts/with-ros:

    scripts/with-ros build/ros-venv/bin/python -m pytest -q -s python/tests/test_live.py

Every wait is bounded: the node spins until the condition or a deadline.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Tuple

import pytest

rclpy = pytest.importorskip("rclpy", reason="needs ROS 2: run through scripts/with-ros")

import rclpy.time  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402

import stamp_sync  # noqa: E402
import stamp_sync.message_filters as message_filters  # noqa: E402

NS = 1_000_000_000
RATE = 30
# Sim time: tick k is at SIM_BASE + k * SIM_STEP, far from wall time.
SIM_BASE = 1000 * NS
SIM_STEP = NS // RATE
TARGET = 45  # sets each synchronizer must emit (1.5 s at 30 Hz)
DEADLINE = 20.0  # seconds, per wait
# Safety net: a publisher left behind exits on its own.
PUBLISH_LIMIT = 60.0


def _qos(reliability: str) -> QoSProfile:
    policy = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}
    return QoSProfile(depth=10, reliability=policy[reliability])


# ---------------------------------------------------------------- publisher


def _publish(argv: List[str]) -> int:
    """The publisher process: Image and CameraInfo on PREFIX/image and
    PREFIX/camera_info with one stamp per tick; with --sim also /clock (tick
    k = SIM_BASE + k * SIM_STEP, published first) and a headerless String
    on PREFIX/text. Exits when stdin closes."""
    p = argparse.ArgumentParser()
    p.add_argument("--publish", action="store_true")
    p.add_argument("--qos", choices=["reliable", "best_effort"], default="reliable")
    p.add_argument("--prefix", default="/live")
    p.add_argument("--sim", action="store_true")
    a = p.parse_args(argv)

    rclpy.init()
    node = rclpy.create_node("stamp_sync_live_pub")
    qos = _qos(a.qos)
    image_pub = node.create_publisher(Image, a.prefix + "/image", qos)
    info_pub = node.create_publisher(CameraInfo, a.prefix + "/camera_info", qos)
    clock_pub = node.create_publisher(Clock, "/clock", 10) if a.sim else None
    text_pub = node.create_publisher(String, a.prefix + "/text", qos) if a.sim else None

    image = Image(height=3, width=4, encoding="rgb8", step=12, data=bytes(range(36)))
    image.header.frame_id = "camera"
    info = CameraInfo(height=3, width=4, distortion_model="plumb_bob")
    info.header.frame_id = "camera"
    ticks = [0]

    def tick() -> None:
        k = ticks[0]
        if a.sim:
            ns = SIM_BASE + k * SIM_STEP
            stamp = rclpy.time.Time(nanoseconds=ns).to_msg()
            clock_pub.publish(Clock(clock=stamp))
        else:
            stamp = node.get_clock().now().to_msg()
        image.header.stamp = stamp
        info.header.stamp = stamp
        image_pub.publish(image)
        info_pub.publish(info)
        if a.sim:
            text_pub.publish(String(data=str(k)))
        ticks[0] = k + 1

    node.create_timer(1.0 / RATE, tick)
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("publishing", flush=True)
    start = time.monotonic()
    while not stop.is_set() and time.monotonic() - start < PUBLISH_LIMIT:
        rclpy.spin_once(node, timeout_sec=0.05)
    print(f"published {ticks[0]} ticks", flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


# ---------------------------------------------------------------- helpers


@contextmanager
def _domain() -> Iterator[int]:
    """A ROS domain for one test, held (a bound port) while the test runs.
    The top ten of crates/stamp_sync_testkit's per-pid range of 58: its Rust
    binaries take their domains from the bottom of the same range."""
    base = 1 + (os.getpid() % 4) * 58
    for slot in range(10):
        d = base + 57 - slot
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 32768 + d))
        except OSError:
            s.close()
            continue
        try:
            yield d
        finally:
            s.close()
        return
    raise RuntimeError("no free ROS domain")


@contextmanager
def _publisher(domain: int, *args: str) -> Iterator[Any]:
    """The publisher process in `domain`; closed (then killed) on exit.
    Yields a callable giving its output so far, for failure messages."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--publish", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def output() -> str:
        log.flush()
        log.seek(0)
        text = log.read()
        log.seek(0, os.SEEK_END)
        return f"publisher (exit {proc.poll()}):\n{text}"

    try:
        yield output
    finally:
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            log.close()


class _Node:
    """A node of its own context in `domain`, and its executor."""

    def __init__(self, domain: int, name: str, sim_time: bool = False) -> None:
        os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context, domain_id=domain)
        overrides = [Parameter("use_sim_time", Parameter.Type.BOOL, True)] if sim_time else []
        self.node = rclpy.create_node(name, context=self.context, parameter_overrides=overrides)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, done: Any, deadline: float = DEADLINE) -> bool:
        """Spins until `done()` or `deadline` seconds; returns `done()`."""
        end = time.monotonic() + deadline
        while not done() and time.monotonic() < end:
            rclpy.spin_once(self.node, executor=self.executor, timeout_sec=0.05)
        return done()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@contextmanager
def _node(domain: int, name: str, sim_time: bool = False) -> Iterator[_Node]:
    n = _Node(domain, name, sim_time)
    try:
        yield n
    finally:
        n.close()


class _Recorder:
    """Counts what a synchronizer emits and drops, and what its inputs got."""

    def __init__(self, sync: Any, inputs: List[Any]) -> None:
        self.sync = sync
        self.sets: List[Tuple[Any, ...]] = []  # header stamps (None: headerless)
        self.msgs: List[Tuple[Any, ...]] = []
        self.dropped: List[Tuple[int, int]] = []
        self.times: List[float] = []
        self.drops: Dict[str, int] = {}
        self.arrived = [0] * len(inputs)
        sync.registerCallback(self._set)
        sync.registerDropCallback(self._drop)
        for i, f in enumerate(inputs):
            f.registerCallback(self._arrived, i)

    def _set(self, *msgs: Any) -> None:
        self.sets.append(tuple(stamp_sync.header_stamp_ns(m) for m in msgs))
        self.msgs.append(msgs)
        self.times.append(time.monotonic())

    def _drop(self, channel: int, stamp_ns: int, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        self.dropped.append((channel, stamp_ns))

    def _arrived(self, msg: Any, i: int) -> None:
        self.arrived[i] += 1

    def rate(self) -> float:
        if len(self.times) < 2:
            return 0.0
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])

    def check_stats(self, label: str) -> Dict[str, Any]:
        """stats() against itself and against what the callbacks saw."""
        s = self.sync.stats()
        print(
            f"  {label}: {s['sets']} sets at {self.rate():.1f}/s; received {s['received']}, "
            f"emitted {s['emitted']}, dropped {s['dropped']} {self.drops}, queued {s['queued']}, "
            f"headerless {s['headerless']}"
        )
        assert s["sets"] == len(self.sets), (label, s)
        for k, i in enumerate(s["inputs"]):
            assert i["received"] == i["emitted"] + i["dropped"] + i["queued"], (label, k, i)
            assert i["emitted"] == s["sets"], (label, k, i)
            assert i["received"] == self.arrived[k], (label, k, i, self.arrived)
            assert sum(i["dropped_by_reason"].values()) == i["dropped"], (label, k, i)
        assert s["received"] == sum(i["received"] for i in s["inputs"]), (label, s)
        assert s["received"] == s["emitted"] + s["dropped"] + s["queued"], (label, s)
        assert s["dropped"] == sum(self.drops.values()), (label, s, self.drops)
        assert s["headerless"] == 0, (label, s)
        return s


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("reliability", ["best_effort", "reliable"])
def test_image_and_camera_info_at_30_hz(reliability: str) -> None:
    """Both synchronizers, each on Subscribers of its own, get the
    publisher's sets: one per tick, the two stamps equal."""
    prefix = "/live_" + reliability
    qos = _qos(reliability)
    with _domain() as d, _publisher(d, "--qos", reliability, "--prefix", prefix) as output, _node(
        d, "stamp_sync_live_sub"
    ) as n:
        subs_a = [
            message_filters.Subscriber(n.node, Image, prefix + "/image", qos),
            message_filters.Subscriber(n.node, CameraInfo, prefix + "/camera_info", qos),
        ]
        subs_b = [
            message_filters.Subscriber(n.node, Image, prefix + "/image", qos_profile=qos),
            message_filters.Subscriber(n.node, CameraInfo, prefix + "/camera_info", qos_profile=qos),
        ]
        ats = _Recorder(message_filters.ApproximateTimeSynchronizer(subs_a, 10, slop=0.01), subs_a)
        approx = _Recorder(message_filters.Synchronizer(subs_b, stamp_sync.ApproximateTime(10)), subs_b)
        start = time.monotonic()
        ok = n.spin_until(lambda: len(ats.sets) >= TARGET and len(approx.sets) >= TARGET)
        took = time.monotonic() - start
        print(f"\n{reliability}, domain {d}: {TARGET} sets each after {took:.2f} s (discovery included)")
        assert ok, (len(ats.sets), len(approx.sets), output())
        for label, r in [("ApproximateTimeSynchronizer", ats), ("Synchronizer(ApproximateTime(10))", approx)]:
            assert all(a == b for a, b in r.sets), (label, [s for s in r.sets if s[0] != s[1]][:5])
            assert len(set(r.sets)) == len(r.sets), (label, "a stamp emitted twice")
            r.check_stats(label)
            assert r.rate() > RATE / 2, (label, r.rate())


def test_headerless_on_sim_time() -> None:
    """use_sim_time on the subscriber node and /clock from the publisher:
    headerless String messages, synchronized with allow_headerless=True
    against a stamped Image, are stamped with the sim clock (a set's text
    is within 10 ms of its image, stamped on the sim grid)."""
    prefix = "/live_sim"
    with _domain() as d, _publisher(d, "--sim", "--prefix", prefix) as output, _node(
        d, "stamp_sync_live_sim", sim_time=True
    ) as n:
        subs = [
            message_filters.Subscriber(n.node, Image, prefix + "/image", 10),
            message_filters.Subscriber(n.node, String, prefix + "/text", 10),
        ]
        sync = message_filters.ApproximateTimeSynchronizer(subs, 10, slop=0.01, allow_headerless=True)
        r = _Recorder(sync, subs)
        cache = message_filters.Cache(subs[1], 100, allow_headerless=True)
        start = time.monotonic()
        ok = n.spin_until(lambda: len(r.sets) >= TARGET)
        took = time.monotonic() - start
        sim_now = n.node.get_clock().now().nanoseconds
        print(f"\nsim time, domain {d}: {len(r.sets)} sets after {took:.2f} s; sim clock {sim_now / NS:.3f} s")
        assert ok, (len(r.sets), r.sync.stats(), output())
        assert abs(sim_now - SIM_BASE) < 600 * NS, sim_now  # the node is on the sim clock
        wall = time.time_ns()
        ticks = []
        for (image_ns, no_stamp), (_, text) in zip(r.sets, r.msgs):
            # The image on the published clock's grid, far from wall time.
            assert no_stamp is None, no_stamp
            assert image_ns >= SIM_BASE and (image_ns - SIM_BASE) % SIM_STEP == 0, image_ns
            assert image_ns <= sim_now and abs(image_ns - wall) > 1000 * 1000 * NS, (image_ns, wall)
            # Text k got within the slop (under one step) of image j: it was
            # stamped with a /clock value of about tick k (the newest one
            # the node had, T_k-1 to T_k+1), not with wall time.
            j, k = (image_ns - SIM_BASE) // SIM_STEP, int(text.data)
            assert abs(j - k) <= 2, (j, k)
            ticks.append((j, k))
        print(f"  sets on ticks {ticks[0][0]}..{ticks[-1][0]}; text tick - image tick: "
              f"{sorted({k - j for j, k in ticks})}")
        # The drops' stamps of input 1 (headerless) are the sim clock's too.
        assert all(ns == 0 or (ns - SIM_BASE) % SIM_STEP == 0 for ch, ns in r.dropped if ch == 1), r.dropped
        # A Cache on the headerless input stamps with the same clock.
        last = cache.getLastestTime()
        assert last is not None and (last.nanoseconds - SIM_BASE) % SIM_STEP == 0, last
        assert SIM_BASE <= last.nanoseconds <= sim_now, (last, sim_now)
        r.check_stats("ApproximateTimeSynchronizer(allow_headerless=True)")


if __name__ == "__main__":
    if "--publish" in sys.argv[1:]:
        sys.exit(_publish(sys.argv[1:]))
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
