"""A tf broadcaster driven by the camera, for crates/stamp_sync_nodes/tests/it/ros_tf.rs.

Publishes map -> odom on /tf_static (translation 1, 2, 3) and odom -> camera1
on /tf: first a sample 25 ms before image 0's stamp (x = -0.05), then, for
each image k that arrives on camera1/image with k <= --last, the sample 25 ms
after its stamp (x = 0.1 k + 0.05), so the transform that completes image k
is sent only after image k was published. Image k is the one stamped
--start-sec + k * --period-ms.

Prints "ready" once a /tf subscriber is matched and the first samples are
out, then "sent <k> <wall_ns>" (wall clock just before each publish).
"""

import argparse
import sys
import time

import rclpy
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Transform, TransformStamped, Vector3
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage


def stamped(ns, parent, child, x, y=0.0, z=0.0):
    return TransformStamped(
        header=Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=parent),
        child_frame_id=child,
        transform=Transform(translation=Vector3(x=x, y=y, z=z)),
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start-sec", type=int, required=True)
    ap.add_argument("--period-ms", type=int, required=True)
    ap.add_argument("--last", type=int, required=True)
    a = ap.parse_args()
    start = a.start_sec * 10**9
    period = a.period_ms * 10**6
    half = period // 2

    rclpy.init()
    node = rclpy.create_node("tf_broadcaster")
    reliable = dict(reliability=ReliabilityPolicy.RELIABLE)
    tf_pub = node.create_publisher(TFMessage, "/tf", QoSProfile(depth=100, **reliable))
    static_pub = node.create_publisher(
        TFMessage, "/tf_static",
        QoSProfile(history=HistoryPolicy.KEEP_ALL, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                   **reliable))

    def on_image(img):
        ns = img.header.stamp.sec * 10**9 + img.header.stamp.nanosec
        k = round((ns - start) / period)
        if k > a.last:
            return
        wall = time.time_ns()
        tf_pub.publish(TFMessage(transforms=[
            stamped(start + k * period + half, "odom", "camera1", 0.1 * k + 0.05)]))
        print(f"sent {k} {wall}", flush=True)

    node.create_subscription(Image, "camera1/image", on_image, QoSProfile(depth=100, **reliable))
    deadline = time.monotonic() + 30
    while tf_pub.get_subscription_count() < 1 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    static_pub.publish(TFMessage(transforms=[stamped(start, "map", "odom", 1.0, 2.0, 3.0)]))
    tf_pub.publish(TFMessage(transforms=[stamped(start - half, "odom", "camera1", -0.05)]))
    print("ready", flush=True)
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
