"""An rclpy publisher for tests/ros_watch.rs: a message type of the test
overlay (stamp_sync_test_msgs/msg/Tick, which stamp_sync's build never saw)
on several topics, every tick with the same wall-clock stamp on each.

  ros_watch_peer.py --rate 20 /tick/a /tick/b

Prints "publishing" once, then publishes until killed.
"""

import argparse
import sys
import time

import rclpy


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("topics", nargs="+")
    args = ap.parse_args()
    from stamp_sync_test_msgs.msg import Tick

    rclpy.init()
    node = rclpy.create_node("tick_peer")
    pubs = [node.create_publisher(Tick, t, 10) for t in args.topics]
    print("publishing", flush=True)
    period = 1.0 / args.rate
    next_t = time.monotonic()
    k = 0
    while rclpy.ok():
        ns = time.time_ns()
        for p in pubs:
            m = Tick()
            m.header.stamp.sec = ns // 10**9
            m.header.stamp.nanosec = ns % 10**9
            m.header.frame_id = "tick"
            m.seq = k
            m.data = bytes(range(k % 7 + 1))
            p.publish(m)
        k += 1
        next_t += period
        # The publisher's own pacing, not a synchronization.
        time.sleep(max(0.0, next_t - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
