//! An rclpy publisher (a peer we did not write) → the Rust ExactTime node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use ros_common::{Proc, domain, handshake, set_stamps};

#[test]
fn rclpy_publisher_to_rust_sync_node() {
    let d = domain();
    let n = 100;
    let max = format!("max_sets:={n}");
    let mut sync = Proc::node(
        "image_info_sync",
        d,
        &[
            "-r",
            "image:=/py/image",
            "-r",
            "camera_info:=/py/camera_info",
            "-p",
            &max,
        ],
    );
    let mut py = Proc::python(
        "ros_rclpy_publisher.py",
        d,
        &[
            "--count",
            &n.to_string(),
            "--rate",
            "200",
            "--prefix",
            "/py",
            "--start-on-stdin",
        ],
    );
    handshake(&mut sync, &mut py);
    let published: Vec<i64> = py
        .take("pub ", n)
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap().parse().unwrap())
        .collect();
    let sets: Vec<Vec<i64>> = sync.take("set ", n).iter().map(|l| set_stamps(l)).collect();
    let expected: Vec<Vec<i64>> = published.iter().map(|&s| vec![s, s]).collect();
    assert_eq!(sets, expected);
    // The rclpy CameraInfo/Image fields came through intact.
    assert!(
        sync.seen.iter().any(|l| l.ends_with(" 4x3")),
        "{:?}",
        &sync.seen[..3]
    );
    assert!(sync.wait_exit(), "{}", sync.stderr());
}
