"""Differential tests: stamp_sync's Python API against the reference runners
on random traces, set for set.

* C++ message_filters 1.15.15 (ROS 1, Debian): build/stamp_oracle, built
  by scripts/build-oracle.sh from oracle/stamp_oracle.cpp, batch protocol
  (``--batch --timed``) described at the top of that file. It has
  ApproximateTime (age penalty, max interval, lower bounds) and ExactTime;
  ROS 1 has no ApproximateEpsilonTime, so that policy is not covered here.
* Debian's python3-message-filters 1.15.15 (rospy), driven by
  oracle/slop_oracle.py under /usr/bin/python3 (scripts/build-filters-oracle.sh).

Tests: ApproximateTime through Synchronizer and match_trace, ExactTime
through TimeSynchronizer and match_trace (C++); ApproximateTimeSynchronizer
on random streams and on traces probing the slop boundary (rospy).
Per case the sets must be identical: which messages (by arrival index),
their stamps in channel order, their order, and the arrival that emitted
each. ``match_trace`` returns stamps only, so for it the stamps are compared.

Environment: STAMP_SYNC_DIFF_SEED (seed base, default below),
STAMP_SYNC_DIFF_CASE=INDEX (run only that case of each test, for a
reproduction), STAMP_SYNC_REQUIRE_ORACLE=0 (skip, not fail, when a runner
is missing).
"""

import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

try:
    import numpy
except ImportError:  # match_trace is then fed lists only
    numpy = None
import rclpy.clock
import rclpy.time
from builtin_interfaces.msg import Time

import stamp_sync
import stamp_sync.message_filters as mf

ROOT = Path(__file__).resolve().parents[2]
CPP = ROOT / "build" / "stamp_oracle"
SLOP_RUNNER = ROOT / "oracle" / "slop_oracle.py"
DEBIAN_PY = "/usr/bin/python3"
SEED = int(os.environ.get("STAMP_SYNC_DIFF_SEED", "0x5EED2024"), 0)
ONLY = os.environ.get("STAMP_SYNC_DIFF_CASE")
NS = 1_000_000_000
MS = 1_000_000
THIS = "python/tests/test_differential.py"

APPROX_CASES = 1500
EXACT_CASES = 800
SLOP_CASES = 1000
BOUNDARY_CASES = 450


# ---------------------------------------------------------------------------
# The runners: present, or fail (skip with STAMP_SYNC_REQUIRE_ORACLE=0).


def _missing(what):
    if os.environ.get("STAMP_SYNC_REQUIRE_ORACLE", "1") == "0":
        pytest.skip(what)
    pytest.fail(what + " (STAMP_SYNC_REQUIRE_ORACLE=0 skips instead)", pytrace=False)


def _build(script):
    r = subprocess.run(["bash", str(ROOT / "scripts" / script)], capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()[-800:]


def _debian_env():
    # Debian's ROS 1 Python without the ROS 2 paths of scripts/with-ros.
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def cpp_runner():
    src = ROOT / "oracle" / "stamp_oracle.cpp"
    if not (CPP.exists() and CPP.stat().st_mtime >= src.stat().st_mtime):
        ok, err = _build("build-oracle.sh")
        if not ok or not CPP.exists():
            _missing(f"C++ message_filters runner {CPP} is missing; "
                     f"scripts/build-oracle.sh: {err or 'no runner built'}")
    return CPP


def debian_filters():
    def importable():
        try:
            r = subprocess.run([DEBIAN_PY, "-c", "import message_filters, rospy"],
                               env=_debian_env(), capture_output=True)
        except OSError:
            return False
        return r.returncode == 0

    if not SLOP_RUNNER.exists():
        _missing(f"{SLOP_RUNNER} not found")
    if not importable():
        ok, err = _build("build-filters-oracle.sh")
        if not ok or not importable():
            _missing(f"{DEBIAN_PY} cannot import Debian's message_filters and rospy "
                     f"and scripts/build-filters-oracle.sh failed: {err}")
    return SLOP_RUNNER


class Background:
    """A runner fed `text` on stdin while we work; `wait()` gives stdout."""

    def __init__(self, cmd, text, env=None):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.out = self.err = None
        self.thread = threading.Thread(target=self._talk, args=(text,))
        self.thread.start()

    def _talk(self, text):
        self.out, self.err = self.proc.communicate(text)

    def wait(self):
        self.thread.join()
        if self.proc.returncode != 0:
            pytest.fail(f"{' '.join(map(str, self.cmd))} exited with {self.proc.returncode}: "
                        f"{(self.err or '')[-800:]}", pytrace=False)
        return self.out


def parse_answers(out, count, what):
    """Per case: (set lines `K:STAMPS;IDS`, outcome); outcome "end", "crash S" or "error T"."""
    answers, lines, error = [], [], None
    for line in out.splitlines():
        if line == "end" or line.startswith("crash "):
            answers.append((lines, error or line))
            lines, error = [], None
        elif line.startswith("error "):
            error = line
        else:
            lines.append(line)
    assert len(answers) == count, f"{what} answered {len(answers)} of {count} cases"
    return answers


# ---------------------------------------------------------------------------
# Messages.


class Header:
    __slots__ = ("stamp",)


class Msg:
    __slots__ = ("header", "idx", "ns")

    def __init__(self, idx, ns, as_time):
        self.header = Header()
        self.header.stamp = Time(sec=ns // NS, nanosec=ns % NS) if as_time else ns
        self.idx = idx
        self.ns = ns


class Bare:
    """A headerless message; `ns` is filled in with the clock's time."""

    __slots__ = ("idx", "ns")

    def __init__(self, idx, ns):
        self.idx = idx
        self.ns = ns


def stamp_style(rng):
    return rng.choice(["time", "int", "mixed"])


def as_time(style, ch):
    return style == "time" or (style == "mixed" and ch % 2 == 0)


def feed(sync, fs, msgs, channels, before=None):
    """Signals the messages in order; the sets as `K:STAMPS;IDS` lines."""
    out = []
    at = [0]

    def emitted(*set_):
        out.append("%d:%s;%s" % (at[0], ",".join(str(m.ns) for m in set_),
                                 ",".join(str(m.idx) for m in set_)))

    sync.registerCallback(emitted)
    for k, (ch, m) in enumerate(zip(channels, msgs)):
        at[0] = k
        if before is not None:
            before(k)
        fs[ch].signalMessage(m)
    return out


def first_difference(ours, ref):
    i = next((i for i, (a, b) in enumerate(zip(ours, ref)) if a != b), min(len(ours), len(ref)))
    get = lambda xs: xs[i] if i < len(xs) else "<none>"  # noqa: E731
    return (f"first difference at set {i}: stamp_sync {get(ours)!r}, reference {get(ref)!r} "
            f"(stamp_sync {len(ours)} sets, reference {len(ref)})")


# ---------------------------------------------------------------------------
# Random traces: lists of (channel, stamp_ns) in arrival order.


def gen_len(rng):
    r = rng.random()
    if r < 0.05:
        return rng.randint(400, 800)
    if r < 0.3:
        return rng.randint(150, 400)
    return rng.randint(20, 150)


def gen_base(rng, unit=1):
    if rng.random() < 0.8:
        b = 1_700_000_000 * NS + rng.randint(0, 100_000) * NS + rng.randrange(NS)
    else:
        b = rng.randint(1, 5) * NS + rng.randrange(NS)
    return b - b % unit


def jittered(rng, n, kind):
    unit = {"whole_ms": MS, "nanos": 1}.get(kind)
    total = gen_len(rng)
    base = gen_base(rng, unit or 1)
    per = total // n + 1
    stall = rng.randrange(n) if kind == "burst" else None
    events, periods = [], []
    for ch in range(n):
        if unit:
            period = rng.choice([4, 6, 10, 20, 25, 30, 40, 50, 100]) * unit
        else:
            period = NS // rng.choice([10, 15, 20, 30, 50, 100, rng.randint(10, 100)])
        periods.append(period)
        jitter = rng.choice([0, period // 50, period // 10, period // 10])
        offset = rng.randint(0, period)
        u = unit or MS
        latency = rng.randint(0, 30) * u + (0 if unit else rng.randint(0, MS))
        lat_jitter = 0 if rng.random() < 0.3 else rng.randint(1, 8) * u
        drop = 0.0 if rng.random() < 0.2 else 0.02
        s_from, s_len = (rng.randint(per // 8, per // 2), rng.randint(3, 60)) if ch == stall else (per + 1, 0)
        last = -1
        for k in range(per):
            stamp = base + offset + k * period + (rng.randint(-jitter, jitter) if jitter else 0)
            if rng.random() < drop:
                continue
            lat = latency + (rng.randint(0, lat_jitter) if lat_jitter else 0)
            if s_from <= k < s_from + s_len:
                lat += (s_from + s_len - k) * period  # held back, then a burst
            if unit:
                stamp -= stamp % unit
                lat -= lat % unit
            arrival = max(stamp + lat, last + 1)  # FIFO per topic
            last = arrival
            events.append((arrival, ch, max(stamp, 0)))
    events.sort(key=lambda e: (e[0], e[1]))
    trace = [(ch, s) for _, ch, s in events[:total]]
    arrivals = [a for a, _, _ in events[:total]]
    if kind == "reorder":
        p = rng.choice([0.05, 0.2, 0.5])
        i = 0
        while i + 1 < len(trace):
            if trace[i][0] != trace[i + 1][0] and rng.random() < p:
                trace[i], trace[i + 1] = trace[i + 1], trace[i]
                arrivals[i], arrivals[i + 1] = arrivals[i + 1], arrivals[i]
                i += 2
            else:
                i += 1
    elif kind == "duplicates":
        p, last = rng.choice([0.02, 0.1, 0.3]), {}
        for i, (ch, s) in enumerate(trace):
            if ch in last and rng.random() < p:
                trace[i] = (ch, last[ch])
            last[ch] = trace[i][1]
    elif kind == "out_of_order":
        p, last = rng.choice([0.01, 0.05, 0.15]), {}
        for i, (ch, s) in enumerate(trace):
            if ch in last and rng.random() < p:
                j = last[ch]
                if rng.random() < 0.5:
                    trace[i], trace[j] = (ch, trace[j][1]), (ch, s)
                else:
                    trace[i] = (ch, max(s - rng.randint(0, 200) * MS, 0))
            last[ch] = i
    return trace, periods, arrivals


def identical(rng, n):
    """Shared stamps, 5% drops, per-channel latency; some resends."""
    total = gen_len(rng)
    whole = rng.random() < 0.5
    base = gen_base(rng, MS if whole else 1)
    period = rng.choice([10, 20, 33, 50, 100]) * MS if whole else NS // rng.randint(10, 100)
    lat = [rng.randint(0, 25) * MS for _ in range(n)]
    spread = rng.randint(0, 20) * MS
    resend = 0.05 if rng.random() < 0.3 else 0.0
    events, last, k = [], [-1] * n, 0
    while len(events) < total:
        stamp = base + k * period
        for ch in range(n):
            if rng.random() < 0.05:
                continue
            arrival = max(stamp + lat[ch] + rng.randint(0, spread), last[ch] + 1)
            last[ch] = arrival
            events.append((arrival, ch, stamp))
            if rng.random() < resend:
                last[ch] = arrival + rng.randint(1, 2 * period)
                events.append((last[ch], ch, stamp))
        k += 1
    events.sort(key=lambda e: (e[0], e[1]))
    return [(ch, s) for _, ch, s in events[:total]], [period] * n, [a for a, _, _ in events[:total]]


def tiny(rng, n):
    """Up to 16 messages, stamps from a small set: ties everywhere."""
    base = gen_base(rng, MS)
    step = rng.choice([1, 1000, MS, 10 * MS])
    distinct = rng.randint(1, 8)
    trace = [(rng.randrange(n), base + rng.randrange(distinct) * step) for _ in range(rng.randint(0, 16))]
    return trace, [max(step, MS)] * n, None


def tie_probe(rng):
    """3 channels where the age-penalty comparison is decided by 1 ns (ROS 1
    Duration * double rounding), then rounds of later messages."""
    base = gen_base(rng)
    decades = 8 + rng.random() * 3 if rng.random() < 0.5 else rng.random() * 11
    e = max(int(10 ** decades), 1)
    age = rng.choice([0.5, 0.25, 0.75, 1.5, 0.1, 0.3, 1.0])
    s = max(round(e * (1 + age)) + rng.randint(-1, 0), 1)
    p = s + rng.choice([1, 2, 3, 1000, e])
    first, mid, pivot = rng.sample(range(3), 3)
    trace = [(first, base), (mid, base + s), (pivot, base + p), (first, base + p + e)]
    step = p + e + 1
    for k in range(1, rng.randint(1, 3) + 1):
        for ch in rng.sample(range(3), 3):
            trace.append((ch, base + p + e + k * step + rng.randint(0, 2)))
    return trace, [step] * 3, age


def gen_trace(rng, kind, n):
    if kind == "identical":
        return identical(rng, n)
    if kind == "tiny":
        return tiny(rng, n)
    return jittered(rng, n, kind)


# ---------------------------------------------------------------------------
# C++ policies.


def gen_age_penalty(rng, kind):
    if kind in ("whole_ms", "nanos", "tiny") and rng.random() < 0.6:
        return rng.choice([0.0, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0])
    r = rng.randrange(20)
    if r < 5:
        return 0.1
    if r < 8:
        return 0.0
    if r < 11:
        return [0.5, 1.0, 0.25][r - 8]
    if r < 14:
        return rng.randint(0, 200) / 100
    return rng.random() * 2


def gen_queue(rng):
    return rng.randint(1, 3) if rng.random() < 0.2 else rng.randint(1, 20)


def approx_case(index):
    rng = random.Random(f"{SEED}/approx/{index}")
    kind = rng.choices(["jitter", "identical", "burst", "reorder", "duplicates", "out_of_order",
                        "whole_ms", "nanos", "tiny", "tie_probe"],
                       [20, 12, 10, 10, 9, 9, 12, 10, 8, 12])[0]
    age = None
    if kind == "tie_probe":
        n = 3
        trace, periods, age = tie_probe(rng)
    else:
        n = rng.randint(2, 9)
        trace, periods, _ = gen_trace(rng, kind, n)
    if age is None or rng.random() < 0.1:
        age = gen_age_penalty(rng, kind)
    u = 1 if kind == "nanos" else MS
    top = max(periods)
    max_interval = None
    if rng.random() < 0.35:
        max_interval = rng.choice([0, rng.randint(0, 5) * u, top // 2, top, top,
                                   rng.randint(0, 2 * top), rng.randint(0, 100) * u])
    bounds = [0] * n
    r = rng.randrange(10)
    if r == 6:
        d = rng.randint(0, 50) * MS if kind == "whole_ms" else rng.randint(0, top)
        bounds = [d] * n
    elif r > 6:
        for ch, p in enumerate(periods):
            bounds[ch] = rng.choice([0, 0, p // 2, p * rng.randint(80, 110) // 100,
                                     rng.randint(0, 3 * p), rng.randint(0, 5) * NS])
            if kind == "whole_ms":
                bounds[ch] -= bounds[ch] % MS
    return dict(index=index, kind=kind, n=n, queue=gen_queue(rng), age_penalty=age,
                max_interval_ns=max_interval, lower_bounds_ns=bounds, style=stamp_style(rng),
                trace=trace)


def exact_case(index):
    rng = random.Random(f"{SEED}/exact/{index}")
    kind = rng.choices(["identical", "whole_ms", "duplicates", "tiny", "nanos", "jitter", "reorder"],
                       [40, 15, 12, 12, 8, 5, 8])[0]
    n = rng.randint(2, 9)
    trace, _, _ = gen_trace(rng, kind, n)
    return dict(index=index, kind=kind, n=n, queue=gen_queue(rng), style=stamp_style(rng), trace=trace)


def oracle_words(c):
    if "age_penalty" not in c:
        return f"exact {c['n']} {c['queue']}"
    w = f"approx {c['n']} {c['queue']} --age-penalty {c['age_penalty']!r}"
    if c["max_interval_ns"] is not None:
        w += f" --max-interval-ns {c['max_interval_ns']}"
    for ch, d in enumerate(c["lower_bounds_ns"]):
        if d:
            w += f" --lower-bound-ns {ch}:{d}"
    return w


def approx_policy(c):
    # Seconds; stamp_sync rounds them to the nearest ns, which gives back
    # the ns the runner is given.
    mi = c["max_interval_ns"]
    lb = c["lower_bounds_ns"]
    return stamp_sync.ApproximateTime(c["queue"], max_interval=None if mi is None else mi / NS,
                                      age_penalty=c["age_penalty"],
                                      lower_bounds=[d / NS for d in lb] if any(lb) else None)


def cases_of(make, count):
    indices = [int(ONLY)] if ONLY is not None else range(count)
    return [make(i) for i in indices]


def describe(name, c):
    params = {k: v for k, v in c.items() if k not in ("trace", "index", "received")}
    return (f"repro: STAMP_SYNC_DIFF_SEED={SEED:#x} STAMP_SYNC_DIFF_CASE={c['index']} scripts/with-ros "
            f"build/ros-venv/bin/python -m pytest -q {THIS}::{name}  # {params}, "
            f"{len(c['trace'])} messages")


def trace_text(c, line):
    if len(c["trace"]) > 40:
        return ""
    return "\ntrace (channel,stamp_ns): " + " ".join(line(m) for m in c["trace"])


def check_cpp(name, cases, run_ours, started, extra=""):
    runner = cpp_runner()
    script = "".join(f"case {oracle_words(c)}\n" + "".join(f"{ch},{s}\n" for ch, s in c["trace"]) + "run\n"
                     for c in cases)
    bg = Background([str(runner), "--batch", "--timed"], script)
    ours = [run_ours(c) for c in cases]
    answers = parse_answers(bg.wait(), len(cases), str(runner))
    failures, crashes, sets, with_sets, messages = [], 0, 0, 0, 0
    for c, (timed, stamps), (ref, outcome) in zip(cases, ours, answers):
        ref_stamps = [tuple(int(x) for x in line.split(":", 1)[1].split(";")[0].split(",")) for line in ref]
        messages += len(c["trace"])
        sets += len(ref)
        with_sets += bool(ref)
        if outcome.startswith("error"):
            failures.append((c, f"the runner rejected the case: {outcome}"))
        elif outcome.startswith("crash"):
            # C++ hit a ROS_ASSERT: compared up to it only.
            crashes += 1
            if timed[:len(ref)] != ref or stamps[:len(ref)] != ref_stamps:
                failures.append((c, f"before C++ {outcome}: " + first_difference(timed, ref)))
        elif timed != ref:
            failures.append((c, "Synchronizer: " + first_difference(timed, ref)))
        elif stamps != ref_stamps:
            failures.append((c, "match_trace: " + first_difference(stamps, ref_stamps)))
    summary = (f"differential {name}: {len(cases)} traces, {messages} messages, {sets} sets, "
               f"{with_sets} traces with sets, {crashes} C++ assertions{extra}, {time.monotonic() - started:.1f} s")
    print(summary)
    if failures:
        c, why = failures[0]
        pytest.fail(f"{len(failures)} of {len(cases)} traces differ from C++ message_filters "
                    f"(cases {[f[0]['index'] for f in failures[:20]]}); first: case {c['index']}: {why}\n"
                    f"{describe(name, c)}\nrunner words: {oracle_words(c)}"
                    + trace_text(c, lambda m: f"{m[0]},{m[1]}") + f"\n{summary}", pytrace=False)
    return len(cases), sets, with_sets, summary


def trace_arrays(c):
    """match_trace's inputs: lists, or numpy arrays (int32/int64, and
    non-contiguous ones, which are read element by element)."""
    chans = [ch for ch, _ in c["trace"]]
    stamps = [s for _, s in c["trace"]]
    way = c["index"] % 4
    if numpy is None or way == 0:
        return chans, stamps
    if way == 3:
        return (numpy.repeat(numpy.array(chans, numpy.int64), 2)[::2],
                numpy.repeat(numpy.array(stamps, numpy.int64), 2)[::2])
    return numpy.array(chans, [numpy.int32, numpy.int64][way - 1]), numpy.array(stamps, numpy.int64)


def build_msgs(c):
    return [Msg(k, s, as_time(c["style"], ch)) for k, (ch, s) in enumerate(c["trace"])]


def test_approximate_time_matches_cpp():
    started = time.monotonic()
    cases = cases_of(approx_case, APPROX_CASES)

    def ours(c):
        fs = [mf.SimpleFilter() for _ in range(c["n"])]
        sync = mf.Synchronizer(fs, approx_policy(c))
        timed = feed(sync, fs, build_msgs(c), [ch for ch, _ in c["trace"]])
        stamps = stamp_sync.match_trace(*trace_arrays(c), c["n"], approx_policy(c))
        return timed, stamps

    extra = (f"; {sum(c['max_interval_ns'] is not None for c in cases)} with max_interval, "
             f"{sum(any(c['lower_bounds_ns']) for c in cases)} with lower bounds, "
             f"{sum(c['age_penalty'] != 0.1 for c in cases)} with another age penalty")
    n, sets, with_sets, summary = check_cpp("test_approximate_time_matches_cpp", cases, ours, started, extra)
    if ONLY is None:
        assert n == APPROX_CASES and sets > 5 * n and with_sets > 0.6 * n, summary
        assert {c["n"] for c in cases} == set(range(2, 10)), summary


def test_exact_time_matches_cpp():
    started = time.monotonic()
    cases = cases_of(exact_case, EXACT_CASES)

    def ours(c):
        fs = [mf.SimpleFilter() for _ in range(c["n"])]
        sync = mf.TimeSynchronizer(fs, c["queue"])
        timed = feed(sync, fs, build_msgs(c), [ch for ch, _ in c["trace"]])
        stamps = stamp_sync.match_trace(*trace_arrays(c), c["n"], stamp_sync.ExactTime(c["queue"]))
        return timed, stamps

    n, sets, with_sets, summary = check_cpp("test_exact_time_matches_cpp", cases, ours, started)
    if ONLY is None:
        assert n == EXACT_CASES and sets > 8 * n and with_sets > 0.35 * n, summary
        assert {c["n"] for c in cases} == set(range(2, 10)), summary


# ---------------------------------------------------------------------------
# Python's ApproximateTimeSynchronizer (slop) against rospy's.


def slop_case(index):
    rng = random.Random(f"{SEED}/slop/{index}")
    kind = rng.choice(["jitter", "jitter", "identical", "duplicates", "out_of_order", "reorder", "tiny", "grid"])
    n = rng.choice([2, 2, 2, 3, 3, 4, 5, 6])
    queue = rng.choice([1, 2, 3, 4, 5, 8, 8, 20] if n <= 4 else [1, 2, 3, 4, 5])
    if kind in ("tiny", "grid"):
        # A stamp grid (1 ns .. 33 ms): equal distances everywhere, so the
        # tie order matters.
        base = rng.choice([1 * NS, 1_700_000_000 * NS + rng.randrange(NS)])
        step = rng.choice([1, 1, 7, 1000, MS, 33 * MS])
        count = rng.randint(2, 40) if kind == "tiny" else rng.randint(40, 200)
        top = 8 if kind == "tiny" else count // n + 4
        trace = [(rng.randrange(n), base + rng.randint(0, top) * step) for _ in range(count)]
        slop = rng.choice([0, 1, 1, 2, 2, 3, 4, 6]) * step / NS
        received = grid_clock(rng, base, step, count)
    else:
        trace, periods, arrivals = gen_trace(rng, kind, n)
        # Received = arrival (+ a delay), never going back: rospy clears
        # every queue when ROS time goes back, rclpy (so stamp_sync) does not.
        delay, received = rng.choice([0, 0, MS, 20 * MS]), []
        for a in arrivals:
            received.append(max(a + delay, received[-1] if received else 0))
        p = min(periods)
        slop = rng.choice([0.0 if rng.random() < 0.5 else p / NS, p / 10 / NS, p / 2 / NS, p / NS, 2 * p / NS,
                           rng.randint(1, 3 * MS) / NS, rng.choice([0.01, 0.02, 0.05, 0.1, 1 / 30]),
                           round(rng.random() * p / NS, 3)])
    return slop_extras(rng, dict(index=index, kind=kind, n=n, queue=queue, slop=slop, trace=trace,
                                 received=received))


def boundary_case(index):
    """Stamps on a grid of slop_ns - 1, slop_ns or slop_ns + 1: distances
    on both sides of the slop, for slops from 1 ns to 1 s passed as float
    seconds (slop_ns / 1e9), as a user writes them."""
    rng = random.Random(f"{SEED}/slop-boundary/{index}")
    n = rng.choice([2, 2, 3, 3, 4])
    how = rng.choice(["decimal", "log", "inexact"])
    if how == "decimal":
        slop_ns = rng.randint(1, 99) * 10 ** rng.randint(0, 7)
    else:
        slop_ns = int(10 ** rng.uniform(1, 8))
        # "inexact": a slop whose float seconds times 1e9 falls below the ns.
        while how == "inexact" and int(slop_ns / NS * NS) == slop_ns:
            slop_ns = int(10 ** rng.uniform(1, 8))
    step = slop_ns + rng.choice([-1, -1, 0, 1])
    base = rng.choice([1 * NS, 1_700_000_000 * NS + rng.randrange(NS)])
    count = rng.randint(10, 80)
    trace = [(rng.randrange(n), base + rng.randint(0, count // n + 2) * step) for _ in range(count)]
    return slop_extras(rng, dict(index=index, kind="boundary-" + how, n=n, queue=rng.choice([1, 2, 3, 5, 8]),
                                 slop=slop_ns / NS, trace=trace, received=grid_clock(rng, base, step, count)))


def grid_clock(rng, base, step, count):
    t, out = base, []
    for _ in range(count):
        out.append(t)
        t += rng.choice([0, step, 2 * step])
    return out


def slop_extras(rng, c):
    """Headerless inputs (about 40% of cases), the clock, the stamp type."""
    n, headerless = c["n"], []
    if rng.random() < 0.4:
        headerless = rng.sample(range(n), 2 if n > 2 and rng.random() < 0.2 else 1)
    c.update(headerless=sorted(headerless), allow_headerless=bool(headerless) or rng.random() < 0.2,
             clock=rng.choice(["node", "rclpy"]), style=stamp_style(rng))
    return c


def rospy_slop_ns(slops):
    """What rospy's ApproximateTimeSynchronizer(fs, q, slop) makes of the
    float slops: its constructor's rospy.Duration.from_sec, in ns."""
    code = ("import sys, rospy\n"
            "for l in sys.stdin: print(rospy.Duration.from_sec(float(l)).to_nsec())\n")
    r = subprocess.run([DEBIAN_PY, "-c", code], input="".join(f"{s!r}\n" for s in slops),
                       capture_output=True, text=True, env=_debian_env())
    assert r.returncode == 0, r.stderr
    return dict(zip(slops, (int(x) for x in r.stdout.split())))


def slop_script(c, slop_ns):
    words = f"case {c['n']} {c['queue']} {slop_ns}" + "".join(f" headerless {h}" for h in c["headerless"])
    lines = "".join(f"{ch},{s},{r}\n" for (ch, s), r in zip(c["trace"], c["received"]))
    return f"{words}\n{lines}run\n"


def slop_trace_text(c):
    if len(c["trace"]) > 40:
        return ""
    return "\nmessages (channel,stamp_ns,received_ns): " + " | ".join(slop_script(c, "SLOP").splitlines()[1:-1])


class FakeClock:
    """A node clock (the `node` of an rclpy Subscriber) under our control."""

    class Now:
        __slots__ = ("nanoseconds",)

    def __init__(self):
        self.t = self.Now()
        self.t.nanoseconds = 0

    def now(self):
        return self.t


class NodeFilter(mf.SimpleFilter):
    def __init__(self, clock):
        mf.SimpleFilter.__init__(self)
        self.node = self
        self._clock = clock

    def get_clock(self):
        return self._clock


def run_slop(c, monkeypatch):
    # Headerless messages are stamped with the clock's time on arrival; rospy
    # (in the runner) with rospy.Time.now(), set to the arrival's received
    # time. stamp_sync's clock (_clock_of) is the first input's node clock,
    # else rclpy's ROSClock: "node" cases give the inputs a node whose clock
    # we set, "rclpy" cases make ROSClock() a real ROS clock in sim time
    # whose override we set. Both before each arrival, to its received time.
    if c["clock"] == "node":
        clock = FakeClock()
        fs = [NodeFilter(clock) for _ in range(c["n"])]

        def tick(k):
            clock.t.nanoseconds = c["received"][k]
    else:
        ros = rclpy.clock.ROSClock()
        ros._set_ros_time_is_active(True)
        monkeypatch.setattr(rclpy.clock, "ROSClock", lambda: ros)
        fs = [mf.SimpleFilter() for _ in range(c["n"])]

        def tick(k):
            ros.set_ros_time_override(rclpy.time.Time(nanoseconds=c["received"][k],
                                                      clock_type=rclpy.clock.ClockType.ROS_TIME))
    sync = mf.ApproximateTimeSynchronizer(fs, c["queue"], c["slop"], allow_headerless=c["allow_headerless"])
    monkeypatch.undo()
    msgs = []
    for k, (ch, s) in enumerate(c["trace"]):
        if ch in c["headerless"]:
            msgs.append(Bare(k, c["received"][k]))
        else:
            msgs.append(Msg(k, s, as_time(c["style"], ch)))
    return feed(sync, fs, msgs, [ch for ch, _ in c["trace"]], tick)


def check_slop(name, cases, monkeypatch, started):
    runner = debian_filters()
    ns_of = rospy_slop_ns(sorted({c["slop"] for c in cases}))
    script = "".join(slop_script(c, ns_of[c["slop"]]) for c in cases)
    bg = Background([DEBIAN_PY, str(runner)], script, env=_debian_env())
    ours = [run_slop(c, monkeypatch) for c in cases]
    answers = parse_answers(bg.wait(), len(cases), str(runner))
    failures, sets, with_sets, messages = [], 0, 0, 0
    for c, timed, (ref, outcome) in zip(cases, ours, answers):
        messages += len(c["trace"])
        sets += len(ref)
        with_sets += bool(ref)
        if outcome != "end":
            failures.append((c, f"the runner: {outcome}"))
        elif timed != ref:
            failures.append((c, first_difference(timed, ref)))
    headerless = sum(bool(c["headerless"]) for c in cases)
    summary = (f"differential {name}: {len(cases)} traces ({headerless} with headerless inputs), "
               f"{messages} messages, {sets} sets, {with_sets} traces with sets, "
               f"{time.monotonic() - started:.1f} s")
    print(summary)
    if failures:
        c, why = failures[0]
        note = ""
        rounded = round(c["slop"] * NS)
        if rounded != ns_of[c["slop"]]:
            # Is it the slop's conversion? rospy given stamp_sync's ns:
            again = subprocess.run([DEBIAN_PY, str(runner)], input=slop_script(c, rounded),
                                   capture_output=True, text=True, env=_debian_env()).stdout
            same = run_slop(c, monkeypatch) == again.splitlines()[:-1]
            note = (f"\nslop {c['slop']!r} s: rospy's constructor (Duration.from_sec) makes it "
                    f"{ns_of[c['slop']]} ns, the nearest ns is {rounded}; given {rounded} ns rospy's sets "
                    f"{'equal' if same else 'still differ from'} stamp_sync's")
        conv = sum(round(f[0]["slop"] * NS) != ns_of[f[0]["slop"]] for f in failures)
        pytest.fail(f"{len(failures)} of {len(cases)} traces differ from rospy's ApproximateTimeSynchronizer "
                    f"({conv} of them with a slop that rospy's Duration.from_sec truncates to slop_ns - 1; "
                    f"cases {[f[0]['index'] for f in failures[:20]]}); first: case {c['index']}: {why}\n"
                    f"{describe(name, c)}\nrunner input: {slop_script(c, ns_of[c['slop']]).splitlines()[0]}"
                    + note + slop_trace_text(c) + f"\n{summary}", pytrace=False)
    return len(cases), headerless, sets, with_sets, summary


def test_approximate_time_synchronizer_matches_rospy(monkeypatch):
    started = time.monotonic()
    cases = cases_of(slop_case, SLOP_CASES)
    n, headerless, sets, with_sets, summary = check_slop(
        "test_approximate_time_synchronizer_matches_rospy", cases, monkeypatch, started)
    if ONLY is None:
        assert n == SLOP_CASES and headerless > 0.3 * n and sets > 8 * n and with_sets > 0.5 * n, summary
        assert {c["clock"] for c in cases if c["headerless"]} == {"node", "rclpy"}, summary


def test_slop_boundary_matches_rospy(monkeypatch):
    started = time.monotonic()
    cases = cases_of(boundary_case, BOUNDARY_CASES)
    n, headerless, sets, with_sets, summary = check_slop(
        "test_slop_boundary_matches_rospy", cases, monkeypatch, started)
    if ONLY is None:
        assert n == BOUNDARY_CASES and headerless > 0.3 * n and sets > 2 * n and with_sets > 0.6 * n, summary
