"""An rclpy peer for crates/stamp_sync_r2r/tests/it/ros_raw.rs: publishes or receives messages of a
type named on the command line as serialized bytes.

  pub TYPE TOPIC COUNT   serialize COUNT messages (header stamp sec=100+k
                         when the type has a header; `seq` = k when it has
                         one), print "bytes <k> <hex>", wait (bounded) for a
                         subscription and a line on stdin, publish the bytes
                         as they are, then spin until killed.
  sub TYPE TOPIC COUNT   raw subscription: print "ready", then "got <hex>"
                         for COUNT messages (each also deserialized, to check
                         it is a valid message), then exit.
"""

import importlib
import sys
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message


def msg_class(name):
    pkg, _, ty = name.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), ty)


def sample(cls, k):
    m = cls()
    if hasattr(m, "header"):
        m.header.stamp.sec = 100 + k
        m.header.stamp.nanosec = 1000 * k
        m.header.frame_id = f"f{k}"
    if hasattr(m, "seq"):
        m.seq = k
    if hasattr(m, "data") and cls.__name__ == "Tick":
        m.data = bytes(range(k % 7 + 1))
    if cls.__name__ == "Image":
        m.height, m.width, m.encoding, m.step = 2, 3, "mono8", 3
        m.data = bytes(range(6))
    return m


def main() -> int:
    mode, type_name, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cls = msg_class(type_name)
    rclpy.init()
    node = rclpy.create_node("raw_peer")
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    if mode == "pub":
        pub = node.create_publisher(cls, topic, qos)
        data = [serialize_message(sample(cls, k)) for k in range(count)]
        for k, d in enumerate(data):
            print(f"bytes {k} {d.hex()}", flush=True)
        deadline = time.monotonic() + 40
        while pub.get_subscription_count() < 1:
            if time.monotonic() > deadline:
                print("no subscriber", file=sys.stderr)
                return 1
            rclpy.spin_once(node, timeout_sec=0.01)
        print("matched", flush=True)
        sys.stdin.readline()
        for d in data:
            pub.publish(d)
        print("published", flush=True)
        while rclpy.ok():
            rclpy.spin_once(node, timeout_sec=0.1)
        return 0
    got = []

    def on_msg(raw):
        deserialize_message(raw, cls)  # raises if not a valid message
        got.append(raw)
        print(f"got {raw.hex()}", flush=True)

    node.create_subscription(cls, topic, on_msg, qos, raw=True)
    print("ready", flush=True)
    deadline = time.monotonic() + 40
    while len(got) < count and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    return 0 if len(got) >= count else 1


if __name__ == "__main__":
    sys.exit(main())
