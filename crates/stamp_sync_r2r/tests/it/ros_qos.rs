//! The QoS pitfall, surfaced: a reliable subscription never matches a
//! best-effort publisher, and `qos_report` says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::executor::LocalPool;
use futures::task::SpawnExt;
use r2r::QosProfile;
use r2r::sensor_msgs::msg::{CameraInfo, Image};
use ros_common::{Proc, WAIT, domain};
use stamp_sync::{ExactTime, SharedSynchronizer};
use stamp_sync_r2r::feed;
use stamp_sync_r2r::{QosMismatch, qos_report};

#[test]
fn qos_mismatch_is_reported_and_a_matching_feed_delivers() {
    let d = domain();
    // This process's own context joins the domain: in a process of its own.
    if !stamp_sync_testkit::ros::isolated(
        "ros_qos::qos_mismatch_is_reported_and_a_matching_feed_delivers",
        d,
    ) {
        return;
    }
    let ctx = r2r::Context::create().unwrap();
    let mut node = r2r::Node::create(ctx, "qos_probe", "").unwrap();

    let _publ = Proc::node(
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

    // With a matching QoS, `feed` delivers into a SharedSynchronizer.
    let sets = Arc::new(AtomicUsize::new(0));
    let seen = sets.clone();
    let sync = SharedSynchronizer::<(Image, CameraInfo), _>::builder(ExactTime::new(10).unwrap())
        .on_set(move |(img, info)| {
            assert_eq!(img.header.stamp, info.header.stamp);
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .stamp_with(stamp_sync_r2r::RosHeader)
        .build()
        .unwrap();
    let be = QosProfile::sensor_data();
    let images = feed::<0, _, _>(&mut node, "/camera1/image", be.clone(), sync.clone()).unwrap();
    let infos = feed::<1, _, _>(&mut node, "/camera1/camera_info", be, sync).unwrap();
    let mut pool = LocalPool::new();
    pool.spawner().spawn(images).unwrap();
    pool.spawner().spawn(infos).unwrap();
    let deadline = Instant::now() + WAIT;
    while sets.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "feed delivered no sets");
        node.spin_once(Duration::from_millis(20));
        pool.run_until_stalled();
    }
}
