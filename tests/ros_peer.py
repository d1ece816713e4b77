"""rclpy peers for the ROS 2 package tests (crates/stamp_sync_nodes/tests/it/ros_package.rs): nodes we
did not write, talking to the installed stamp_sync nodes.

  relay     publishes pre-serialized Image + CameraInfo pairs on two topics
            (--tick: stamp_sync_test_msgs/Tick on both, from the test
            overlay) and subscribes raw to <topic>/synced: prints what it
            sent and what came back, as hashes of the exact bytes
  publish   one topic of those (Image or CameraInfo), for a peer on
            another host: waits for a subscriber, then for `go` on stdin,
            then publishes; prints what it sent
  collect   subscribes raw to topics (Image or CameraInfo); prints
            `matched` once each has a publisher, then what came in
  params    the standard parameter services of a node: list, get, set
  rosout    waits for a /rosout record of a node that contains a text
  string    publishes std_msgs/String (a type without a header)

Every wait is bounded. Lines are flushed as they are printed.
"""

import argparse
import hashlib
import sys
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy, DurabilityPolicy
from rclpy.serialization import serialize_message


def out(line):
    print(line, flush=True)


def spin_until(node, done, timeout):
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        rclpy.spin_once(node, timeout_sec=0.01)
    return True


def digest(data):
    return hashlib.sha256(bytes(data)).hexdigest()[:16]


def relay(args):
    from builtin_interfaces.msg import Time
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    node = rclpy.create_node("relay_peer")
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     history=HistoryPolicy.KEEP_LAST)
    if args.tick:
        from stamp_sync_test_msgs.msg import Tick
        topics = [args.prefix + "/a", args.prefix + "/b"]
        types = [Tick, Tick]
    else:
        topics = [args.prefix + "/image", args.prefix + "/camera_info"]
        types = [Image, CameraInfo]
    pubs = [node.create_publisher(t, name, qos) for t, name in zip(types, topics)]
    got = []

    def on(k):
        def cb(data):
            got.append((k, bytes(data)))
        return cb

    subs = [node.create_subscription(t, name + "/synced", on(k), qos, raw=True)
            for k, (t, name) in enumerate(zip(types, topics))]
    # Lossless input: the relay's subscriptions have matched ours.
    if not spin_until(node, lambda: all(p.get_subscription_count() > 0 for p in pubs), args.wait):
        print("relay_peer: the relay never subscribed", file=sys.stderr, flush=True)
        return 1

    def send(ch, ns, k):
        h = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="peer")
        if args.tick:
            msg = Tick(header=h, seq=k, data=bytes((k + i + ch) % 256 for i in range(k % 7)))
        elif ch == 0:
            # Lengths vary, so does the CDR padding at the end.
            n = 8 + 3 * (k % 5)
            msg = Image(header=h, height=1, width=n, encoding="mono8", step=n,
                        data=bytes((k + i) % 256 for i in range(n)))
        else:
            msg = CameraInfo(header=h, height=1, width=k % 1000, distortion_model="plumb_bob")
        data = serialize_message(msg)
        pubs[ch].publish(data)
        out(f"sent {ch} {ns} {len(data)} {digest(data)}")
        # A moment between messages keeps their arrival order at the relay.
        rclpy.spin_once(node, timeout_sec=0.002)

    # Warm-up pairs (identical stamps, 2000 s) until one comes back: the
    # relay's outputs have matched too.
    k = 0
    while not got:
        ns = 2000 * 10**9 + k * 10**6
        send(0, ns, k)
        send(1, ns, k)
        k += 1
        if not spin_until(node, lambda: bool(got), 0.05) and k * 0.05 > args.wait:
            print("relay_peer: nothing came back", file=sys.stderr, flush=True)
            return 1
    period = 1.0 / args.rate
    for k in range(args.count):
        base = 3001 * 10**9 + k * int(period * 1e9)
        jitter = (k * 7919 % (2 * args.jitter_ns + 1) - args.jitter_ns) if args.jitter_ns else 0
        send(0, base, k)
        send(1, base + jitter, k)
        spin_until(node, lambda: False, period)
    out("sent_all")
    # Whatever comes back, for a while after the last message.
    spin_until(node, lambda: False, args.linger)
    print_got(got, types)
    return 0


def kinds(names):
    from sensor_msgs.msg import CameraInfo, Image
    return [{"image": Image, "info": CameraInfo}[k] for k in names.split(",")]


def one_message(kind, ns, k):
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header
    h = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="peer")
    if kind is Image:
        n = 8 + 3 * (k % 5)
        return Image(header=h, height=1, width=n, encoding="mono8", step=n,
                     data=bytes((k + i) % 256 for i in range(n)))
    return CameraInfo(header=h, height=1, width=k % 1000, distortion_model="plumb_bob")


def publish(args):
    [kind] = kinds(args.kind)
    node = rclpy.create_node("publish_peer")
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     history=HistoryPolicy.KEEP_LAST)
    pub = node.create_publisher(kind, args.topic, qos)
    if not spin_until(node, lambda: pub.get_subscription_count() > 0, args.wait):
        print("publish_peer: nobody subscribed", file=sys.stderr, flush=True)
        return 1
    out("subscribed")
    if sys.stdin.readline().strip() != "go":
        return 1
    period = 1.0 / args.rate
    for k in range(args.count):
        ns = args.start_sec * 10**9 + k * int(period * 1e9)
        data = serialize_message(one_message(kind, ns, k))
        pub.publish(data)
        out(f"sent {args.channel} {ns} {len(data)} {digest(data)}")
        spin_until(node, lambda: False, period)
    out("sent_all")
    spin_until(node, lambda: False, args.linger)
    out("done")
    return 0


def collect(args):
    from rclpy.serialization import deserialize_message
    types = kinds(args.kinds)
    topics = args.topics.split(",")
    node = rclpy.create_node("collect_peer")
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     history=HistoryPolicy.KEEP_LAST)
    got = []

    def on(k):
        def cb(data):
            got.append((k, bytes(data)))
        return cb

    subs = [node.create_subscription(t, name, on(k), qos, raw=True)
            for k, (t, name) in enumerate(zip(types, topics))]
    if not spin_until(node, lambda: all(node.count_publishers(t) > 0 for t in topics), args.wait):
        print("collect_peer: no publisher", file=sys.stderr, flush=True)
        return 1
    out("matched")
    spin_until(node, lambda: len(got) >= args.count * len(topics), args.seconds)
    spin_until(node, lambda: False, 0.2)
    del subs
    print_got(got, types)
    return 0


def print_got(got, types):
    """A `got` line per message taken, then `done`."""
    from rclpy.serialization import deserialize_message
    for ch, data in got:
        stamp = deserialize_message(data, types[ch]).header.stamp
        ns = stamp.sec * 10**9 + stamp.nanosec
        out(f"got {ch} {ns} {len(data)} {digest_prefixes(data)}")
    out("done")


def digest_prefixes(data):
    """Digests of the data without 0..3 trailing padding bytes."""
    return ",".join(digest(data[: len(data) - p]) for p in range(4) if len(data) - p > 0)


def params(args):
    from rcl_interfaces.msg import Parameter, ParameterValue, ParameterType
    from rcl_interfaces.srv import GetParameters, ListParameters, SetParameters

    node = rclpy.create_node("param_client")
    name = args.node

    def call(srv, service, req):
        cli = node.create_client(srv, f"/{name}/{service}")
        if not cli.wait_for_service(timeout_sec=args.wait):
            out(f"error no service /{name}/{service}")
            sys.exit(1)
        fut = cli.call_async(req)
        if not spin_until(node, fut.done, args.wait):
            out(f"error {service} timed out")
            sys.exit(1)
        return fut.result()

    for action in args.actions:
        if action == "list":
            r = call(ListParameters, "list_parameters", ListParameters.Request())
            out("list " + " ".join(sorted(r.result.names)))
        elif action.startswith("get:"):
            names = action[4:].split(",")
            r = call(GetParameters, "get_parameters", GetParameters.Request(names=names))
            for n, v in zip(names, r.values):
                out(f"get {n} {value_text(v)}")
        elif action.startswith("set:"):
            n, text = action[4:].split("=", 1)
            p = Parameter(name=n, value=parse_value(text))
            r = call(SetParameters, "set_parameters", SetParameters.Request(parameters=[p]))
            res = r.results[0]
            out(f"set {n} {'ok' if res.successful else 'refused'} {res.reason}")
        else:
            out(f"error unknown action {action}")
            return 2
    return 0


def value_text(v):
    from rcl_interfaces.msg import ParameterType as T
    return {
        T.PARAMETER_BOOL: lambda: str(v.bool_value).lower(),
        T.PARAMETER_INTEGER: lambda: str(v.integer_value),
        T.PARAMETER_DOUBLE: lambda: repr(v.double_value),
        T.PARAMETER_STRING: lambda: v.string_value,
        T.PARAMETER_STRING_ARRAY: lambda: "[" + ",".join(v.string_array_value) + "]",
        T.PARAMETER_DOUBLE_ARRAY: lambda: "[" + ",".join(map(repr, v.double_array_value)) + "]",
    }.get(v.type, lambda: f"type{v.type}")()


def parse_value(text):
    from rcl_interfaces.msg import ParameterType as T, ParameterValue
    kind, _, raw = text.partition(":")
    if kind == "int":
        return ParameterValue(type=T.PARAMETER_INTEGER, integer_value=int(raw))
    if kind == "double":
        return ParameterValue(type=T.PARAMETER_DOUBLE, double_value=float(raw))
    if kind == "str":
        return ParameterValue(type=T.PARAMETER_STRING, string_value=raw)
    if kind == "bool":
        return ParameterValue(type=T.PARAMETER_BOOL, bool_value=raw == "true")
    raise SystemExit(f"bad value {text}: use int:, double:, str: or bool:")


def rosout(args):
    from rcl_interfaces.msg import Log

    node = rclpy.create_node("rosout_listener")
    # /rosout is reliable and transient local: late joiners get history.
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL,
                     history=HistoryPolicy.KEEP_LAST)
    found = []

    def cb(m):
        if m.name == args.node and args.contains in m.msg:
            found.append(m)

    node.create_subscription(Log, "/rosout", cb, qos)
    out("listening")
    if not spin_until(node, lambda: found, args.wait):
        out("error no matching record")
        return 1
    m = found[0]
    out(f"log level={m.level} name={m.name} msg={m.msg}")
    return 0


def string(args):
    from std_msgs.msg import String

    node = rclpy.create_node("string_peer")
    pub = node.create_publisher(String, args.topic, 10)
    out("publishing")
    while rclpy.ok():
        pub.publish(String(data="no header here"))
        rclpy.spin_once(node, timeout_sec=0.05)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--prefix", default="/peer")
    r.add_argument("--count", type=int, default=50)
    r.add_argument("--rate", type=float, default=50.0)
    r.add_argument("--jitter-ns", type=int, default=0)
    r.add_argument("--wait", type=float, default=30.0)
    r.add_argument("--linger", type=float, default=2.0)
    r.add_argument("--tick", action="store_true")
    u = sub.add_parser("publish")
    u.add_argument("--topic", required=True)
    u.add_argument("--kind", choices=["image", "info"], required=True)
    u.add_argument("--channel", type=int, required=True)
    u.add_argument("--count", type=int, default=100)
    u.add_argument("--rate", type=float, default=20.0)
    u.add_argument("--start-sec", type=int, default=3001)
    u.add_argument("--wait", type=float, default=30.0)
    u.add_argument("--linger", type=float, default=1.0)
    c = sub.add_parser("collect")
    c.add_argument("--topics", required=True)
    c.add_argument("--kinds", required=True)
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--seconds", type=float, default=30.0)
    c.add_argument("--wait", type=float, default=30.0)
    p = sub.add_parser("params")
    p.add_argument("node")
    p.add_argument("actions", nargs="+")
    p.add_argument("--wait", type=float, default=30.0)
    o = sub.add_parser("rosout")
    o.add_argument("--node", required=True)
    o.add_argument("--contains", required=True)
    o.add_argument("--wait", type=float, default=40.0)
    s = sub.add_parser("string")
    s.add_argument("--topic", required=True)
    args = ap.parse_args()
    rclpy.init()
    try:
        cmds = {"relay": relay, "publish": publish, "collect": collect, "params": params,
                "rosout": rosout, "string": string}
        return cmds[args.cmd](args)
    finally:
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    sys.exit(main())
