//! The tf filter live, on real ROS 2 processes: the installed `camera_publisher`
//! (camera1 image + camera_info, 20 Hz, fixed stamps), an rclpy tf
//! broadcaster (`ros_tf_broadcaster.py`) that sends the transform completing
//! each image only after it received that image, and the installed
//! `tf_filter` node (ExactTime image + camera_info sets, then the tf filter,
//! target `map`, timeout 0.5 s on the ROS clock).
//!
//! * Every set the broadcaster covers comes out with its transform, whose
//!   values are the broadcaster's (map -> odom static, odom -> camera1
//!   interpolated half way).
//! * The sets after the broadcaster stops fail with `timeout` after the
//!   configured wait, never before.
//! * Prints the release latency (the completing transform's arrival at the
//!   node -> the release; and the broadcaster's publish -> the release) as
//!   p50/p99: docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::collections::HashMap;

use approx::assert_abs_diff_eq;
use ros_common::{Proc, domain};

const START_SEC: i64 = 1000;
const PERIOD_MS: i64 = 50;
const IMAGES: i64 = 40;
/// The broadcaster covers images 0..=LAST.
const LAST: i64 = 29;
const TIMEOUT_NS: i64 = 500_000_000;

fn percentile(v: &mut [i64], p: usize) -> i64 {
    v.sort_unstable();
    v[(p * v.len()).div_ceil(100).clamp(1, v.len()) - 1]
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

#[test]
fn sets_come_out_with_their_transforms_or_time_out_after_the_wait() {
    let d = domain();
    let mut filter = Proc::node(
        "tf_filter",
        d,
        &[
            "-p",
            "target_frames:=[map]",
            "-p",
            "timeout:=0.5",
            "-p",
            "sync_camera_info:=true",
            "-p",
            "qos:=reliable",
            "-r",
            "image:=camera1/image",
            "-r",
            "camera_info:=camera1/camera_info",
        ],
    );
    filter.wait_for("`ready`", |l| l == "ready");
    let mut tf = Proc::python(
        "ros_tf_broadcaster.py",
        d,
        &[
            "--start-sec",
            &START_SEC.to_string(),
            "--period-ms",
            &PERIOD_MS.to_string(),
            "--last",
            &LAST.to_string(),
        ],
    );
    tf.wait_for("`ready`", |l| l == "ready");
    let start = format!("start_sec:={START_SEC}");
    let count = format!("count:={IMAGES}");
    let _camera = Proc::node(
        "camera_publisher",
        d,
        &[
            "-p",
            "rate:=20.0",
            "-p",
            &count,
            "-p",
            &start,
            "-p",
            "qos:=reliable",
            "-p",
            "only:=[camera1/image, camera1/camera_info]",
            // tf_filter's image and camera_info, the broadcaster's image.
            "-p",
            "wait_subscribers:=3",
            "-p",
            "linger:=true",
        ],
    );
    let lines = filter.take("", IMAGES as usize);
    let sent: HashMap<i64, i64> = tf
        .take("sent ", (LAST + 1) as usize)
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();

    let (mut node_latency, mut end_to_end) = (Vec::new(), Vec::new());
    for (k, line) in (0..IMAGES).zip(&lines) {
        let stamp = START_SEC * 1_000_000_000 + k * PERIOD_MS * 1_000_000;
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f[1].parse::<i64>().unwrap(), stamp, "image {k}: {line}");
        assert_eq!(f[2], "camera1", "{line}");
        if k <= LAST {
            assert_eq!(f[0], "released", "image {k}: {line}");
            let v: Vec<f64> = f[3]
                .strip_prefix("map=")
                .unwrap()
                .split(',')
                .map(|x| x.parse().unwrap())
                .collect();
            // map -> odom (1, 2, 3), odom -> camera1 half way between
            // 0.1 k - 0.05 and 0.1 k + 0.05.
            let want = [1.0 + 0.1 * k as f64, 2.0, 3.0, 0.0, 0.0, 0.0, 1.0];
            for (got, want) in v.iter().zip(want) {
                assert_abs_diff_eq!(*got, want, epsilon = 1e-6);
            }
            if let Ok(ns) = field(line, "tf_to_release_ns=").parse::<i64>() {
                node_latency.push(ns);
            }
            let released: i64 = field(line, "release_wall_ns=").parse().unwrap();
            end_to_end.push(released - sent[&k]);
        } else {
            assert_eq!(
                &f[..4],
                ["failed", &stamp.to_string(), "camera1", "timeout"],
                "{line}"
            );
            let waited: i64 = field(line, "waited_ns=").parse().unwrap();
            assert!(waited >= TIMEOUT_NS, "image {k} failed early: {line}");
            assert!(
                waited < TIMEOUT_NS + 300_000_000,
                "image {k} failed late: {line}"
            );
        }
    }
    // Sets that arrived before the transform completing them (how many
    // depends on the machine's load; the others found it there).
    assert!(!node_latency.is_empty(), "{lines:?}");
    let (n, e) = (node_latency.len(), end_to_end.len());
    println!(
        "tf release latency: transform arrival at the node -> release: n={n} p50={} us p99={} us; \
         broadcaster publish -> release: n={e} p50={} us p99={} us",
        percentile(&mut node_latency, 50) / 1000,
        percentile(&mut node_latency, 99) / 1000,
        percentile(&mut end_to_end, 50) / 1000,
        percentile(&mut end_to_end, 99) / 1000,
    );
}
