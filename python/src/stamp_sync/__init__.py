"""stamp_sync: C++ message_filters' synchronization policies for Python.

The policies run in Rust (the ``stamp_sync`` crate). ``stamp_sync.message_filters``
is a drop-in for rclpy's ``message_filters``::

    import stamp_sync.message_filters as message_filters

Durations are float seconds; stamps are read from ``msg.header.stamp``.
"""

from stamp_sync._native import (
    ApproximateEpsilonTime,
    ApproximateTime,
    ExactTime,
    LatestTime,
    Slop,
    bag_stamps,
    header_stamp_ns,
    match_trace,
    stamp_ns,
)

__all__ = [
    "ApproximateEpsilonTime",
    "ApproximateTime",
    "ExactTime",
    "LatestTime",
    "Slop",
    "bag_stamps",
    "header_stamp_ns",
    "match_trace",
    "stamp_ns",
]
