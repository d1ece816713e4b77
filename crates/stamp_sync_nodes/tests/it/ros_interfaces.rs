//! The interface packages `scripts/ros-setup.sh` adds to the wheels:
//! tf2_msgs is generated from its message definition (ros/interfaces/) into
//! build/ros-interfaces/install, and r2r and rclpy both get it; rosgraph_msgs
//! is in `IDL_PACKAGE_FILTER`, so r2r compiles its `TimeSource` (/clock).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use r2r::QosProfile;
use r2r::tf2_msgs::msg::TFMessage;
use ros_common::{Proc, WAIT, domain};

#[test]
fn rclpy_tf_message_reaches_r2r() {
    let d = domain();
    // This process's own context joins the domain: in a process of its own.
    if !stamp_sync_testkit::ros::isolated("ros_interfaces::rclpy_tf_message_reaches_r2r", d) {
        return;
    }
    let ctx = r2r::Context::create().unwrap();
    let mut node = r2r::Node::create(ctx, "tf_probe", "").unwrap();
    // Only compiles when r2r generated rosgraph_msgs/Clock (sim time).
    let _clock_source = node.get_time_source();
    let qos = QosProfile::default().transient_local().keep_last(1);
    let mut tf = node.subscribe::<TFMessage>("/tf_static", qos).unwrap();

    let mut py = Proc::python("ros_tf_publisher.py", d, &[]);
    py.wait_for("`pub`", |l| l == "pub");
    let deadline = Instant::now() + WAIT;
    let msg = loop {
        node.spin_once(Duration::from_millis(20));
        if let Some(Some(m)) = tf.next().now_or_never() {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no TFMessage within {WAIT:?}; rclpy stderr:\n{}",
            py.stderr()
        );
    };
    assert_eq!(msg.transforms.len(), 3);
    for (k, t) in msg.transforms.iter().enumerate() {
        let k32 = u32::try_from(k).unwrap();
        assert_eq!(t.header.frame_id, "world");
        assert_eq!(t.child_frame_id, format!("link{k}"));
        assert_eq!(
            t.header.stamp.sec,
            1_700_000_000 + i32::try_from(k).unwrap()
        );
        assert_eq!(t.header.stamp.nanosec, 250 * k32);
        // The wire carries the exact bits rclpy wrote.
        let tr = &t.transform.translation;
        let got = [tr.x, tr.y, tr.z, t.transform.rotation.w].map(f64::to_bits);
        let want = [1.5 * f64::from(k32), -2.0, 0.25, 1.0].map(f64::to_bits);
        assert_eq!(got, want, "transform {k}");
    }
}
