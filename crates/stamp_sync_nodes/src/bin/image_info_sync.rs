//! `image_info_sync`: ExactTime over an image and its camera_info, as a
//! vision node pairs them. For each pair it publishes the principal point
//! (`cx`, `cy` from `K`, `z` = focal length) as `geometry_msgs/PointStamped`
//! on `principal_point`, stamped with the set's stamp.
//!
//! Topics (remap with `--ros-args -r image:=/camera1/image`): `image`,
//! `camera_info`; output `principal_point`. Parameters: those of every
//! stamp_sync node (`policy` = `exact`, `queue_size`, `qos` =
//! `sensor_data`, ..., see `docs/ros2.md`) and `latency_sets` (print the
//! set-completion latency percentiles after that many sets; 0 = never).
//!
//! Prints `set <image ns>,<info ns> <width>x<height>` per set on stdout;
//! the latency line (`latency n= p50_ns= p99_ns= max_ns=`) on stderr. The
//! latency is the time from the moment the completing message leaves its
//! subscription stream to the moment the set reaches the callback.

use std::error::Error;

use r2r::QosProfile;
use r2r::geometry_msgs::msg::{Point, PointStamped};
use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync_nodes::{SyncNode, SyncParams, print_set};
use stamp_sync_r2r::HasHeader;
use stamp_sync_r2r::params::Key;

/// `latency_sets`: print the latency percentiles after this many sets.
const LATENCY_SETS: Key<i64> = Key::int(
    "latency_sets",
    0,
    0,
    "print latency percentiles after this many sets (0 = never)",
)
.start_up();

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code("image_info_sync", run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut node = SyncNode::<(Image, CameraInfo)>::start(
        "image_info_sync",
        SyncParams::declare("exact").with(&LATENCY_SETS),
        &["image", "camera_info"],
    )?;
    let want = usize::try_from(node.rt.params().get(&LATENCY_SETS)).unwrap_or(0);
    let qos: QosProfile = node.params().qos.clone();
    let out = node
        .rt
        .node
        .create_publisher::<PointStamped>("principal_point", qos)?;
    let left = node.left.clone();
    let mut latencies = Vec::with_capacity(want);
    node.run(move |p, (image, info)| {
        let ns = left.since();
        let k = &info.k;
        let derived = PointStamped {
            header: image.header.clone(),
            point: Point {
                x: k.get(2).copied().unwrap_or(0.0),
                y: k.get(5).copied().unwrap_or(0.0),
                z: k.first().copied().unwrap_or(0.0),
            },
        };
        if let Err(e) = out.publish(&derived) {
            log::warn!("publish principal_point: {e}");
        }
        if p.print_sets {
            print_set(
                &[image.stamp(), info.stamp()],
                &format!("{}x{}", image.width, image.height),
            );
        }
        // After the set's line, so a reader of both sees it first.
        if latencies.len() < want {
            latencies.push(ns);
            if latencies.len() == want {
                print_latency(&mut latencies);
            }
        }
    })
}

fn print_latency(ns: &mut [u64]) {
    if ns.is_empty() {
        return;
    }
    let mut v = ns.to_vec();
    v.sort_unstable();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    eprintln!(
        "latency n={} p50_ns={} p99_ns={} max_ns={}",
        v.len(),
        p(0.50),
        p(0.99),
        v[v.len() - 1]
    );
}
