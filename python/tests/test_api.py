"""The Python API: stamps, policies, errors, callbacks, counters, offline."""

import os
import subprocess

import numpy as np
import pytest

import stamp_sync
import stamp_sync.message_filters as mf
from support import REPO, Msg

HUSKY = ["/fix", "/husky_velocity_controller/odom", "/imu/data"]
HUSKY_BAG = REPO / "tests/data/bags/rl_husky_gps_odom_imu/test1.bag"


class Ros1Time:
    def __init__(self, secs, nsecs):
        self.secs, self.nsecs = secs, nsecs


def test_every_stamp_kind_reads_as_nanoseconds():
    from builtin_interfaces.msg import Time as TimeMsg
    from rclpy.time import Time

    assert stamp_sync.stamp_ns(TimeMsg(sec=3, nanosec=5)) == 3_000_000_005
    assert stamp_sync.stamp_ns(Time(seconds=2, nanoseconds=7)) == 2_000_000_007
    assert stamp_sync.stamp_ns(Ros1Time(4, 9)) == 4_000_000_009
    assert stamp_sync.stamp_ns(-12) == -12
    assert stamp_sync.header_stamp_ns(Msg(11)) == 11
    assert stamp_sync.header_stamp_ns(object()) is None


def test_bad_stamps_are_type_or_value_errors():
    with pytest.raises(TypeError, match="a stamp of type float"):
        stamp_sync.stamp_ns(1.5)
    with pytest.raises(ValueError, match="out of the range"):
        stamp_sync.stamp_ns(2**70)
    with pytest.raises(ValueError, match="out of range"):
        stamp_sync.stamp_ns(Ros1Time(2**62, 0))

    class NoStamp:
        header = object()

    ts = mf.TimeSynchronizer([mf.SimpleFilter(), mf.SimpleFilter()], 5)
    with pytest.raises(TypeError, match="header has no stamp"):
        ts.add(NoStamp(), 0)
    with pytest.raises(TypeError, match="a stamp of type str"):
        ts.add(Msg("noon"), 1)
    with pytest.raises(ValueError, match="input -1"):
        ts.add(Msg(1), -1)
    with pytest.raises(IndexError, match="input 2"):
        ts.add(Msg(1), 2)
    # Nothing half-done: the synchronizer still works.
    got = []
    ts.registerCallback(lambda a, b: got.append((a.header.stamp, b.header.stamp)))
    ts.add(Msg(1), 0)
    ts.add(Msg(1), 1)
    assert got == [(1, 1)]


@pytest.mark.parametrize(
    "make, error, text",
    [
        (lambda: stamp_sync.ApproximateTime(-1), ValueError, "queue_size -1: must not be negative"),
        (lambda: stamp_sync.ApproximateTime(0), ValueError, "queue"),
        (lambda: stamp_sync.ApproximateTime("10"), TypeError, "queue_size"),
        (lambda: stamp_sync.ApproximateTime(10, max_interval=-0.5), ValueError, "max_interval -0.5"),
        (lambda: stamp_sync.ApproximateTime(10, max_interval=float("nan")), ValueError, "finite"),
        (lambda: stamp_sync.ApproximateTime(10, age_penalty=-1.0), ValueError, "age"),
        (lambda: stamp_sync.ApproximateTime(10, lower_bounds=[0.0, -1.0]), ValueError, "lower_bounds"),
        (lambda: stamp_sync.ApproximateEpsilonTime(10, "x"), TypeError, "epsilon"),
        (lambda: stamp_sync.ApproximateEpsilonTime(10, float("inf")), ValueError, "finite"),
        (lambda: stamp_sync.Slop(10, -0.1), ValueError, "slop -0.1"),
        (lambda: mf.Synchronizer([mf.SimpleFilter(), mf.SimpleFilter()], "approximate"), TypeError, "policy: expected"),
        (lambda: mf.Synchronizer([mf.SimpleFilter()], stamp_sync.ExactTime(3)), ValueError, "channel"),
        (lambda: mf.Cache(mf.SimpleFilter(), 0), ValueError, "cache_size 0"),
        (lambda: stamp_sync.match_trace([0, 1], [1], 2, stamp_sync.ExactTime(3)), ValueError, "one of each"),
        (lambda: stamp_sync.match_trace([0, 2], [1, 1], 2, stamp_sync.ExactTime(3)), ValueError, "channel 2"),
        (lambda: stamp_sync.match_trace([0, "a"], [1, 1], 2, stamp_sync.ExactTime(3)), TypeError, "not an int"),
        (lambda: stamp_sync.match_trace(5, [1], 2, stamp_sync.ExactTime(3)), TypeError, "sequence"),
        (lambda: stamp_sync.match_trace([0], [1], -2, stamp_sync.ExactTime(3)), ValueError, "n -2"),
        (lambda: stamp_sync.bag_stamps(str(HUSKY_BAG), ["/nope"]), ValueError, 'no topic "/nope"'),
        (lambda: stamp_sync.bag_stamps("/nonexistent.bag", ["/a"]), ValueError, "nonexistent"),
    ],
)
def test_bad_arguments_say_why(make, error, text):
    with pytest.raises(error, match=text):
        make()


def test_policies_describe_themselves():
    p = stamp_sync.ApproximateTime(7, max_interval=0.02)
    assert p.queue_size == 7
    assert "queue size 7" in repr(p) and "20ms" in repr(p)
    s = stamp_sync.Slop(4, 0.1, allow_headerless=True)
    assert (s.queue_size, s.allow_headerless) == (4, True)
    assert stamp_sync.ExactTime(3).queue_size == 3
    assert stamp_sync.ApproximateEpsilonTime(5, 0.001).queue_size == 5


def test_drops_and_counters_account_for_every_message():
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.TimeSynchronizer([a, b], 2)
    drops, sets = [], []
    ts.registerDropCallback(lambda ch, ns, reason: drops.append((ch, ns, reason)))
    ts.registerCallback(lambda x, y, tag: sets.append((x.header.stamp, tag)), "t")
    for t in (1, 2, 3):
        a.signalMessage(Msg(t))
    # Queue 2: stamp 1 overflowed.
    assert drops == [(0, 1, "queue_overflow")]
    b.signalMessage(Msg(3))
    # The set at 3 makes the older partial set (2) useless.
    assert sets == [(3, "t")]
    assert drops[1:] == [(0, 2, "older_than_last_set")]
    b.signalMessage(Msg(9))
    s = ts.stats()
    assert s["sets"] == 1 and s["received"] == 5
    for i in s["inputs"]:
        assert i["received"] == i["emitted"] + i["dropped"] + i["queued"], s
    assert s["inputs"][0]["dropped_by_reason"]["queue_overflow"] == 1
    assert s["queued"] == 1 and s["emitted"] == 2
    ts.reset()
    assert ts.stats()["queued"] == 0
    assert ts.stats()["inputs"][1]["dropped_by_reason"] == {"reset": 1}


def test_a_callback_may_signal_the_same_synchronizer():
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.TimeSynchronizer([a, b], 10)
    got = []

    def cb(x, y):
        got.append(x.header.stamp)
        if x.header.stamp < 5:
            # From inside the callback: completes the next set at once.
            a.signalMessage(Msg(x.header.stamp + 1))
            b.signalMessage(Msg(x.header.stamp + 1))

    ts.registerCallback(cb)
    a.signalMessage(Msg(1))
    b.signalMessage(Msg(1))
    assert got == [1, 2, 3, 4, 5]


def test_an_exception_in_a_callback_reaches_the_caller_and_the_synchronizer_goes_on():
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.ApproximateTimeSynchronizer([a, b], 10, 0.5)
    got = []

    def cb(x, y):
        got.append(x.header.stamp)
        if x.header.stamp == 2_000_000_000:
            raise RuntimeError("callback failed")

    ts.registerCallback(cb)
    for t in (1, 2, 3):
        a.signalMessage(Msg(t * 1_000_000_000))
        if t == 2:
            with pytest.raises(RuntimeError, match="callback failed"):
                b.signalMessage(Msg(t * 1_000_000_000))
        else:
            b.signalMessage(Msg(t * 1_000_000_000))
    assert got == [1_000_000_000, 2_000_000_000, 3_000_000_000]
    assert ts.stats()["sets"] == 3


def test_headerless_without_allow_is_counted_not_raised(caplog):
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.ApproximateTimeSynchronizer([a, b], 10, 0.1)
    a.signalMessage(object())
    a.signalMessage(object())
    s = ts.stats()
    assert s["headerless"] == 2 and s["inputs"][0]["headerless"] == 2
    assert s["received"] == 0
    assert sum("has no header.stamp" in r.getMessage() for r in caplog.records) == 1


def test_headerless_with_allow_takes_the_clock():
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.ApproximateTimeSynchronizer([a, b], 10, 1.0, allow_headerless=True)
    got = []
    ts.registerCallback(lambda x, y: got.append((x, y)))
    from rclpy.clock import ROSClock

    now = ROSClock().now().nanoseconds
    stamped = Msg(now)
    a.signalMessage(stamped)
    plain = object()
    b.signalMessage(plain)
    assert got == [(stamped, plain)]


def test_latest_time_and_epsilon_run_from_python():
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.Synchronizer([a, b], stamp_sync.ApproximateEpsilonTime(5, 0.002))
    got = []
    ts.registerCallback(lambda x, y: got.append((x.header.stamp, y.header.stamp)))
    a.signalMessage(Msg(10_000_000))
    b.signalMessage(Msg(11_000_000))
    a.signalMessage(Msg(20_000_000))
    b.signalMessage(Msg(25_000_000))
    assert got == [(10_000_000, 11_000_000)]
    latest = mf.Synchronizer([a, b], stamp_sync.LatestTime())
    assert latest.policy.queue_size == 0


def test_match_trace_reads_numpy_without_copy_and_lists_alike():
    rng = np.random.default_rng(7)
    n = 30_000
    channels = rng.integers(0, 3, n).astype(np.int64)
    stamps = np.cumsum(rng.integers(1, 3_000_000, n)).astype(np.int64)
    p = stamp_sync.ApproximateTime(10)
    from_np = stamp_sync.match_trace(channels, stamps, 3, p)
    from_lists = stamp_sync.match_trace(channels.tolist(), stamps.tolist(), 3, p)
    assert from_np == from_lists and len(from_np) > 1000
    assert stamp_sync.match_trace(channels.astype(np.int32), stamps, 3, p) == from_np
    # A strided view is read element by element, with the same answer.
    assert stamp_sync.match_trace(channels[::2], stamps[::2], 3, p) == stamp_sync.match_trace(
        channels[::2].tolist(), stamps[::2].tolist(), 3, p
    )


def test_bag_stamps_read_every_format_and_match_the_cli():
    c1, s1 = stamp_sync.bag_stamps(str(HUSKY_BAG), HUSKY)
    c2, s2 = stamp_sync.bag_stamps(str(REPO / "tests/data/bags/ros2/rl_husky_mcap"), HUSKY)
    assert len(c1) == 16806 and (c1, s1) == (c2, s2)
    assert [c1.count(k) for k in range(3)] == [c1.count(0), c1.count(1), c1.count(2)]
    sets = stamp_sync.match_trace(c1, s1, 3, stamp_sync.ApproximateTime(10))
    assert len(sets) == 989
    cli = REPO / "target/debug/stamp-sync"
    if not cli.exists():
        if os.environ.get("STAMP_SYNC_REQUIRE_CLI", "1") != "0":
            pytest.fail(f"{cli} is missing: cargo build --bin stamp-sync first")
        pytest.skip("no stamp-sync binary")
    args = [str(cli), "match", str(HUSKY_BAG), "--policy", "approximate", "--queue-size", "10"]
    for t in HUSKY:
        args += ["--topic", t]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    assert [tuple(int(x) for x in line.split(",")) for line in out.splitlines()] == sets


def _rosidl_like():
    """Classes laid out as rosidl generates them: `__slots__` `_x` behind
    properties `x`, and `_fields_and_field_types`."""

    def prop(name):
        return property(lambda self: getattr(self, name), lambda self, v: setattr(self, name, v))

    class Time:
        __slots__ = ["_sec", "_nanosec", "_check_fields"]
        _fields_and_field_types = {"sec": "int32", "nanosec": "uint32"}
        sec, nanosec = prop("_sec"), prop("_nanosec")

        def __init__(self, ns):
            self._sec, self._nanosec = divmod(ns, 1_000_000_000)

    class Head:
        __slots__ = ["_stamp", "_frame_id", "_check_fields"]
        _fields_and_field_types = {"stamp": "builtin_interfaces/Time", "frame_id": "string"}
        stamp = prop("_stamp")

        def __init__(self, ns):
            self._stamp, self._frame_id = Time(ns), ""

    class Image:
        __slots__ = ["_header", "_data", "_check_fields"]
        _fields_and_field_types = {"header": "std_msgs/Header", "data": "sequence<uint8>"}
        header = prop("_header")

        def __init__(self, ns):
            self._header, self._data = Head(ns), b""

    return Image


def test_rosidl_messages_are_read_from_their_slots_and_bad_ones_still_raise():
    from sensor_msgs.msg import Temperature

    Image = _rosidl_like()
    a, b = mf.SimpleFilter(), mf.SimpleFilter()
    ts = mf.TimeSynchronizer([a, b], 5)
    got = []
    ts.registerCallback(lambda x, y: got.append((stamp_sync.header_stamp_ns(x), stamp_sync.header_stamp_ns(y))))
    t = Temperature()
    t.header.stamp.sec, t.header.stamp.nanosec = 1, 5
    a.signalMessage(t)
    b.signalMessage(Image(1_000_000_005))
    # Later messages are read by the plan made from the first ones.
    for ns in (2_000_000_007, 3_999_999_999):
        t = Temperature()
        t.header.stamp.sec, t.header.stamp.nanosec = divmod(ns, 1_000_000_000)
        a.signalMessage(t)
        m = Image(0)
        m.header.stamp.sec, m.header.stamp.nanosec = divmod(ns, 1_000_000_000)
        b.signalMessage(m)
    assert got == [(1_000_000_005,) * 2, (2_000_000_007,) * 2, (3_999_999_999,) * 2]
    # An unset slot raises what Python raises, and nothing is queued.
    m = Image(5_000_000_000)
    del m._header
    with pytest.raises(AttributeError):
        b.signalMessage(m)
    m = Image(5_000_000_000)
    del m.header.stamp._nanosec
    with pytest.raises(AttributeError):
        b.signalMessage(m)
    m = Image(5_000_000_000)
    m.header.stamp._sec = "five"
    with pytest.raises(TypeError):
        b.signalMessage(m)
    # A header of another type than planned takes the general path.
    m = Image(0)
    m._header = __import__("support").Header(6_000_000_000)
    b.signalMessage(m)
    t = Temperature()
    t.header.stamp.sec = 6
    a.signalMessage(t)
    assert got[-1] == (6_000_000_000,) * 2
    assert ts.stats()["inputs"][1]["received"] == 4


def test_a_filter_in_a_callback_cycle_is_collected():
    import gc
    import weakref

    class Relay(mf.SimpleFilter):
        pass

    f = Relay()
    f.registerCallback(lambda m: f.signalMessage(m))
    gone = weakref.ref(f)
    del f
    gc.collect()
    assert gone() is None
