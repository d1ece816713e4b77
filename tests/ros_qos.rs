//! The QoS pitfall, surfaced: a reliable subscription never matches a
//! best-effort publisher, and `qos_report` says so.
#![cfg(feature = "r2r")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ros_common;

use std::time::{Duration, Instant};

use r2r::QosProfile;
use ros_common::{Proc, WAIT, domain};
use stamp_sync::r2r::{QosMismatch, qos_report};

#[test]
fn reliable_subscription_vs_best_effort_publisher_is_reported() {
    let d = domain(6);
    // This process's own context joins the same domain (one test per binary).
    // SAFETY: no other thread of this test binary reads the environment now.
    unsafe { std::env::set_var("ROS_DOMAIN_ID", d.to_string()) };
    let ctx = r2r::Context::create().unwrap();
    let mut node = r2r::Node::create(ctx, "qos_probe", "").unwrap();

    let _publ = Proc::example(
        "camera_publisher",
        d,
        &["-p", "qos:=sensor_data", "-p", "rate:=10.0"],
    );
    // Bounded wait for the publisher to show up in the graph.
    let reliable = QosProfile::default();
    let deadline = Instant::now() + WAIT;
    let report = loop {
        let r = qos_report(&node, "/camera1/image", &reliable).unwrap();
        if r.publishers > 0 {
            break r;
        }
        assert!(Instant::now() < deadline, "publisher never discovered");
        node.spin_once(Duration::from_millis(20));
    };
    assert_eq!(report.publishers, 1);
    assert!(!report.ok());
    assert_eq!(report.incompatible[0].1, [QosMismatch::Reliability]);
    assert!(report.to_string().contains("BEST_EFFORT"), "{report}");

    let ok = qos_report(&node, "/camera1/image", &QosProfile::sensor_data()).unwrap();
    assert!(ok.ok(), "{ok}");
}
