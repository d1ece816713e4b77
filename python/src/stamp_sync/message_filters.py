"""A drop-in for rclpy's ``message_filters``: the same classes, methods and
arguments, with the synchronization step in Rust::

    import stamp_sync.message_filters as message_filters

``TimeSynchronizer`` gives C++ ExactTime's sets, ``ApproximateTimeSynchronizer``
the sets of Python's own ApproximateTimeSynchronizer (policy ``Slop``), and
``Synchronizer(fs, policy)`` runs any stamp_sync policy, above all the C++
algorithm, ``stamp_sync.ApproximateTime``. Callbacks run after the step,
outside any lock: a callback may signal the same synchronizer again. Every
synchronizer also has ``registerDropCallback`` and ``stats``.

``SimpleFilter`` (``registerCallback(cb, *args)``, ``signalMessage(*msg)``) is
in Rust too, so that a message passes from an input filter to the policy
without a Python call; subclass it as rclpy's.
"""

from __future__ import annotations

import bisect
import logging
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from stamp_sync import _native
from stamp_sync._native import (
    ApproximateEpsilonTime,
    ApproximateTime,
    ExactTime,
    LatestTime,
    SimpleFilter,
    Slop,
)

__all__ = [
    "SimpleFilter",
    "Subscriber",
    "Cache",
    "Synchronizer",
    "TimeSynchronizer",
    "ApproximateTimeSynchronizer",
    "ApproximateTime",
    "ApproximateEpsilonTime",
    "ExactTime",
    "LatestTime",
    "Slop",
]

_log = logging.getLogger("stamp_sync.message_filters")


class Subscriber(SimpleFilter):
    """An rclpy subscription as a filter:
    ``Subscriber(node, msg_type, topic, qos_profile=10, **kwargs)``; the
    keyword arguments go to ``node.create_subscription``. Other attributes
    are the subscription's."""

    def __init__(self, node: Any, msg_type: Any, topic: str, qos_profile: Any = 10, **kwargs: Any) -> None:
        SimpleFilter.__init__(self)
        self.node = node
        self.topic = topic
        self.sub = node.create_subscription(msg_type, topic, self.callback, qos_profile, **kwargs)

    def callback(self, msg: Any) -> None:
        self.signalMessage(msg)

    def getTopic(self) -> str:
        return self.topic

    def __getattr__(self, key: str) -> Any:
        if key == "sub":
            raise AttributeError(key)
        return getattr(self.sub, key)


def _clock_of(fs: Sequence[Any]) -> Callable[[], int]:
    """Nanoseconds now, for headerless messages: the clock of the first input's
    node (sim time included), else rclpy's ROS clock, else the system time."""
    for f in fs:
        node = getattr(f, "__dict__", {}).get("node")
        if node is not None and hasattr(node, "get_clock"):
            clock = node.get_clock()
            return lambda: clock.now().nanoseconds
    try:
        from rclpy.clock import ROSClock
    except ImportError:
        return time.time_ns
    ros = ROSClock()
    return lambda: ros.now().nanoseconds


def _time(ns: int) -> Any:
    """An ``rclpy.time.Time`` of ``ns`` (ROS time) if rclpy is there, else ``ns``."""
    try:
        from rclpy.clock import ClockType
        from rclpy.time import Time
    except ImportError:
        return ns
    return Time(nanoseconds=ns, clock_type=ClockType.ROS_TIME)


class Cache(SimpleFilter):
    """The newest ``cache_size`` messages of a filter, queried by stamp:
    ``Cache(f, cache_size=1, allow_headerless=False)``. A headerless message is
    stamped with the clock's time when ``allow_headerless``, else logged and
    counted (``headerless``), not stored. Queries take and return stamps as
    rclpy's do (``rclpy.time.Time``); any stamp stamp_sync reads is accepted."""

    def __init__(self, f: Any, cache_size: int = 1, allow_headerless: bool = False) -> None:
        SimpleFilter.__init__(self)
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size {cache_size!r}: expected an int of at least 1")
        self.cache_size = cache_size
        self.allow_headerless = allow_headerless
        self.cache_msgs: List[Any] = []
        self.cache_times: List[Any] = []
        self._ns: List[int] = []
        self.headerless = 0
        self._clock = _clock_of([f])
        self.connectInput(f)

    def connectInput(self, f: Any) -> None:
        self.incoming_connection = f.registerCallback(self.add)

    def add(self, msg: Any) -> None:
        """Stores ``msg`` (dropping the oldest beyond ``cache_size``), then
        passes it on."""
        ns = _native.header_stamp_ns(msg)
        if ns is None:
            if not self.allow_headerless:
                self.headerless += 1
                _log.warning(
                    "Cache: a %s has no header.stamp and is not stored; "
                    "allow_headerless=True stamps such messages on arrival",
                    type(msg).__name__,
                )
                return
            ns = self._clock()
            stamp = _time(ns)
        else:
            stamp = msg.header.stamp
            if not hasattr(stamp, "nanoseconds"):
                stamp = _time(ns)
        self.cache_msgs.append(msg)
        self.cache_times.append(stamp)
        self._ns.append(ns)
        if len(self.cache_msgs) > self.cache_size:
            del self.cache_msgs[0]
            del self.cache_times[0]
            del self._ns[0]
        self.signalMessage(msg)

    def getInterval(self, from_stamp: Any, to_stamp: Any) -> List[Any]:
        """The messages stamped from ``from_stamp`` to ``to_stamp``, both included."""
        lo, hi = _native.stamp_ns(from_stamp), _native.stamp_ns(to_stamp)
        if lo > hi:
            raise ValueError("getInterval: from_stamp is after to_stamp")
        return [m for m, t in zip(self.cache_msgs, self._ns) if lo <= t <= hi]

    def getElemAfterTime(self, stamp: Any) -> Any:
        """The oldest message stamped at or after ``stamp``, or None."""
        s = _native.stamp_ns(stamp)
        return next((m for m, t in zip(self.cache_msgs, self._ns) if t >= s), None)

    def getElemBeforeTime(self, stamp: Any) -> Any:
        """The newest message stamped at or before ``stamp``, or None."""
        s = _native.stamp_ns(stamp)
        older = [m for m, t in zip(self.cache_msgs, self._ns) if t <= s]
        return older[-1] if older else None

    def getLastestTime(self) -> Any:
        """The newest stamp held, or None (rclpy's spelling)."""
        return self.cache_times[-1] if self.cache_times else None

    def getOldestTime(self) -> Any:
        """The oldest stamp held, or None."""
        return self.cache_times[0] if self.cache_times else None

    def getLast(self) -> Any:
        """The newest message held, or None."""
        return self.cache_msgs[-1] if self.cache_msgs else None


class Synchronizer(SimpleFilter):
    """``Synchronizer(fs, policy)``: the inputs ``fs`` synchronized by any
    stamp_sync policy (``ApproximateTime``, ``ExactTime``,
    ``ApproximateEpsilonTime``, ``LatestTime``, ``Slop``). Each set goes to
    the callbacks as ``cb(msg_0, ..., msg_n-1, *args)``."""

    def __init__(self, fs: Sequence[Any], policy: Any) -> None:
        SimpleFilter.__init__(self)
        self.policy = policy
        self._drop_callbacks: List[Callable[[int, int, str], Any]] = []
        self._core: Any = None
        self.connectInput(fs)

    def connectInput(self, fs: Sequence[Any]) -> None:
        """Connects the inputs ``fs`` (anything with ``registerCallback``);
        starts with empty queues."""
        fs = list(fs)
        clock = _clock_of(fs) if getattr(self.policy, "allow_headerless", False) else None
        self._core = _native.Core(len(fs), self.policy, self, clock)
        for cb in self._drop_callbacks:
            self._core.on_drop(cb)
        self.input_connections = [f.registerCallback(self._core.input(i)) for i, f in enumerate(fs)]

    def add(self, msg: Any, my_queue_index: int) -> None:
        """Feeds ``msg`` on input ``my_queue_index`` (what the inputs do)."""
        self._core.add(my_queue_index, msg)

    def registerDropCallback(self, cb: Callable[[int, int, str], Any]) -> None:
        """Calls ``cb(input, stamp_ns, reason)`` for every message dropped, with
        the reason as the report spells it (``queue_overflow``, ``not_chosen``...)."""
        self._drop_callbacks.append(cb)
        self._core.on_drop(cb)

    def stats(self) -> Dict[str, Any]:
        """The counters: ``sets``, ``received``, ``emitted``, ``dropped``,
        ``queued``, and per input (``inputs``) the same with
        ``dropped_by_reason``."""
        return self._core.stats()

    def reset(self) -> None:
        """Drops every queued message (reason ``reset``)."""
        self._core.reset()


class TimeSynchronizer(Synchronizer):
    """``TimeSynchronizer(fs, queue_size)``: sets of equal stamps, as C++
    ExactTime emits them."""

    def __init__(self, fs: Sequence[Any], queue_size: int) -> None:
        self.queue_size = queue_size
        Synchronizer.__init__(self, fs, ExactTime(queue_size))


class ApproximateTimeSynchronizer(Synchronizer):
    """``ApproximateTimeSynchronizer(fs, queue_size, slop, allow_headerless=False)``:
    exactly the sets of Python message_filters' ApproximateTimeSynchronizer
    (policy ``Slop``); ``slop`` in seconds."""

    def __init__(self, fs: Sequence[Any], queue_size: int, slop: float, allow_headerless: bool = False) -> None:
        self.queue_size = queue_size
        self.slop = slop
        self.allow_headerless = allow_headerless
        Synchronizer.__init__(self, fs, Slop(queue_size, slop, allow_headerless))
