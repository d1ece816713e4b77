"""slop_oracle: runs stamp traces through Python message_filters'
ApproximateTimeSynchronizer (ROS 1, Debian bookworm's python3-message-filters
1.15.15) so stamp_sync's SlopTime can be checked set for set against it.
Run with /usr/bin/python3 (scripts/build-filters-oracle.sh installs the
package); driven by crates/stamp_sync/tests/it/slop_differential.rs.

stdin, any number of cases:
    case N QUEUE SLOP_NS [headerless CH]...
    CH,STAMP_NS,RECEIVED_NS        zero or more lines, in arrival order
    run
  A message on a `headerless` channel has no header: the synchronizer
  (built with allow_headerless=True) stamps it with ROS time, which this
  runner sets to RECEIVED_NS for each arrival (received times must not go
  back: rospy then clears every queue, rclpy does not).
  SLOP_NS is set on the synchronizer as rospy.Duration(0, SLOP_NS): the
  constructor's float seconds would truncate (0.3 s -> 299999999 ns).
stdout, per case: one line per emitted set, in emission order,
    K:STAMPS;IDS
  K = 0-based index (within the case) of the arrival that emitted it,
  STAMPS = the stamps (ns) the set was matched on, in channel order,
  IDS = the arrival indices of its messages; then a line `end`.
  A bad case prints `error TEXT` before its `end`.
"""

import sys

import message_filters
import rospy
import rospy.rostime

rospy.rostime.set_rostime_initialized(True)  # no master, no sim time

_now = [rospy.Time(0, 0)]
# The synchronizer's clock (headerless stamps, rospy's jump-back check).
rospy.Time.now = staticmethod(lambda: _now[0])

NS = 1_000_000_000


def to_time(ns):
    return rospy.Time(ns // NS, ns % NS)


class Header:
    __slots__ = ("stamp",)


class Msg:
    __slots__ = ("header", "idx", "used")

    def __init__(self, idx, ns):
        self.header = Header()
        self.header.stamp = to_time(ns)
        self.idx = idx
        self.used = ns


class Headerless:
    __slots__ = ("idx", "used")

    def __init__(self, idx, ns):
        self.idx = idx
        self.used = ns


def run_case(words, lines, out):
    n, queue, slop_ns = int(words[0]), int(words[1]), int(words[2])
    headerless = set()
    rest = words[3:]
    while rest:
        if rest[0] != "headerless" or len(rest) < 2:
            raise ValueError("unknown option %r" % rest[0])
        headerless.add(int(rest[1]))
        rest = rest[2:]
    if n < 1 or queue < 1 or slop_ns < 0 or any(c >= n for c in headerless):
        raise ValueError("bad case %r" % " ".join(words))
    inputs = [message_filters.SimpleFilter() for _ in range(n)]
    sync = message_filters.ApproximateTimeSynchronizer(
        inputs, queue, 0.0, allow_headerless=bool(headerless))
    sync.slop = rospy.Duration(0, slop_ns)
    arrival = [0]

    def emitted(*msgs):
        stamps = ",".join(str(m.used) for m in msgs)
        ids = ",".join(str(m.idx) for m in msgs)
        out.append("%d:%s;%s" % (arrival[0], stamps, ids))

    sync.registerCallback(emitted)
    for k, line in enumerate(lines):
        ch, stamp, received = (int(x) for x in line.split(","))
        if not 0 <= ch < n:
            raise ValueError("channel %d out of range" % ch)
        arrival[0] = k
        _now[0] = to_time(received)
        if ch in headerless:
            msg = Headerless(k, received)
        else:
            msg = Msg(k, stamp)
        inputs[ch].signalMessage(msg)


def main():
    out = sys.stdout
    words, lines = None, []
    for raw in sys.stdin:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("case "):
            words, lines = line.split()[1:], []
        elif line == "run":
            result = []
            try:
                if words is None:
                    raise ValueError("run without case")
                run_case(words, lines, result)
            except Exception as e:  # report, keep the batch going
                result.append("error %s" % str(e).replace("\n", " "))
            result.append("end")
            out.write("\n".join(result) + "\n")
            out.flush()
            words, lines = None, []
        else:
            lines.append(line)


main()
