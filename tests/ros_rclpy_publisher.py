"""A camera stand-in written with rclpy, for crates/stamp_sync_nodes/tests/it/ros_rclpy.rs.

Publishes sensor_msgs/Image and CameraInfo with identical stamps on
<prefix>/image and <prefix>/camera_info, after waiting (bounded) for a
subscription on each (and, with --start-on-stdin, for a line on stdin).
Prints "pub <index> <stamp ns>" per pair, then keeps spinning until killed.
"""

import argparse
import sys
import time

import rclpy
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--wait", type=float, default=30.0)
    ap.add_argument("--best-effort", action="store_true",
                    help="publish best effort (as most camera drivers do)")
    ap.add_argument("--start-on-stdin", action="store_true",
                    help="after the subscriptions matched, also wait for a line on stdin")
    args = ap.parse_args()

    rclpy.init()
    node = rclpy.create_node("rclpy_camera")
    qos = 100
    if args.best_effort:
        from rclpy.qos import qos_profile_sensor_data
        qos = qos_profile_sensor_data
    img_pub = node.create_publisher(Image, f"{args.prefix}/image", qos)
    info_pub = node.create_publisher(CameraInfo, f"{args.prefix}/camera_info", qos)

    deadline = time.monotonic() + args.wait
    while img_pub.get_subscription_count() < 1 or info_pub.get_subscription_count() < 1:
        if time.monotonic() > deadline:
            print("no subscriber", file=sys.stderr)
            return 1
        rclpy.spin_once(node, timeout_sec=0.01)

    if args.start_on_stdin:
        sys.stdin.readline()

    period = 1.0 / args.rate
    next_t = time.monotonic()
    for k in range(args.count):
        ns = 2000 * 10**9 + k * int(period * 1e9)
        header = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="py")
        img = Image(header=header, height=3, width=4, encoding="mono8", step=4, data=bytes(12))
        info = CameraInfo(header=header, height=3, width=4, distortion_model="plumb_bob")
        img_pub.publish(img)
        info_pub.publish(info)
        print(f"pub {k} {ns}", flush=True)
        next_t += period
        # Frame pacing of the stand-in camera.
        time.sleep(max(0.0, next_t - time.monotonic()))

    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
