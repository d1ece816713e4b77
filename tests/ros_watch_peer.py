"""rclpy peers for crates/stamp_sync_nodes/tests/it/ros_watch.rs.

  tick [--rate HZ] TOPIC...   publishes a message type of the test overlay
                              (stamp_sync_test_msgs/msg/Tick, which
                              stamp_sync's build never saw) on each TOPIC,
                              every tick with the same wall-clock stamp;
                              prints "publishing" once, runs until killed
  diagnostics --node NAME     prints every /diagnostics array of node NAME:
                              "diag <receipt s> <n statuses>", then per
                              status "status <level> <name>|<message>|k=v;k=v";
                              prints "listening" first, runs until killed
"""

import argparse
import sys
import time

import rclpy


def out(line):
    print(line, flush=True)


def tick(args):
    from stamp_sync_test_msgs.msg import Tick

    node = rclpy.create_node("tick_peer")
    pubs = [node.create_publisher(Tick, t, 10) for t in args.topics]
    out("publishing")
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


def diagnostics(args):
    from diagnostic_msgs.msg import DiagnosticArray

    node = rclpy.create_node("diagnostics_listener")

    def on(msg):
        mine = [s for s in msg.status if s.hardware_id == args.node]
        if not mine:
            return
        out(f"diag {time.monotonic():.3f} {len(mine)}")
        for s in mine:
            kv = ";".join(f"{v.key}={v.value}" for v in s.values)
            level = s.level if isinstance(s.level, int) else int.from_bytes(s.level, "little")
            out(f"status {level} {s.name}|{s.message}|{kv}")

    node.create_subscription(DiagnosticArray, "/diagnostics", on, 10)
    out("listening")
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.1)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tick")
    t.add_argument("--rate", type=float, default=20.0)
    t.add_argument("topics", nargs="+")
    d = sub.add_parser("diagnostics")
    d.add_argument("--node", required=True)
    args = ap.parse_args()
    rclpy.init()
    return {"tick": tick, "diagnostics": diagnostics}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
