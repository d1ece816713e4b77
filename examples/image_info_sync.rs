//! ExactTime over an image and its camera_info, as a vision node would
//! pair them. For each pair it publishes the principal point (`cx`, `cy`
//! from `K`, `z` = focal length) as `geometry_msgs/PointStamped` on
//! `principal_point`, stamped with the set's stamp.
//!
//! Topics (remap with `--ros-args -r image:=/camera1/image`): `image`,
//! `camera_info`; output `principal_point`. Parameters: `queue_size` (10),
//! `qos` (`reliable` | `sensor_data`), `depth` (100), `max_sets` (exit
//! after that many sets; 0 = never), `latency_sets` (print the sync latency
//! percentiles after that many sets; 0 = never).
//!
//! Prints `set <image ns>,<info ns> <width>x<height>` per set on stdout;
//! diagnostics, drops and the latency line go to stderr. The latency
//! is the time from the moment the completing message leaves its
//! subscription stream to the moment the set is delivered here.
mod common;

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::rc::Rc;
use std::time::Instant;

use common::{param_i64, print_set, qos_param, report_matched};
use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use r2r::geometry_msgs::msg::{Point, PointStamped};
use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync::stream::SyncInputs;
use stamp_sync::{ExactTime, Stamped};

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = r2r::Context::create()?;
    let mut node = r2r::Node::create(ctx, "image_info_sync", "")?;
    let queue_size = param_i64(&node, "queue_size", 10)?.max(0) as usize;
    let max_sets = param_i64(&node, "max_sets", 0)?.max(0) as usize;
    let latency_sets = param_i64(&node, "latency_sets", 0)?.max(0) as usize;
    let qos = qos_param(&node)?;

    // The long form of `subscribe_synced`, to time each message as it
    // leaves its subscription stream.
    let left_stream = Rc::new(Cell::new(Instant::now()));
    let (t0, t1) = (left_stream.clone(), left_stream.clone());
    let images = stamp_sync::r2r::subscribe::<Image>(&mut node, "image", qos.clone())?
        .inspect(move |_| t0.set(Instant::now()));
    let infos = stamp_sync::r2r::subscribe::<CameraInfo>(&mut node, "camera_info", qos.clone())?
        .inspect(move |_| t1.set(Instant::now()));
    let mut sets = (images, infos)
        .synchronize(ExactTime::new(queue_size)?)?
        .on_drop(|d| {
            eprintln!(
                "drop channel {} stamp {} ({})",
                d.channel, d.stamp, d.reason
            )
        });
    let out = node.create_publisher::<PointStamped>("principal_point", qos.clone())?;
    let mut watch = stamp_sync::r2r::StallWatch::new(
        [("image", &qos), ("camera_info", &qos)],
        std::time::Duration::from_secs(5),
    );

    let emitted = Rc::new(Cell::new(0usize));
    let latencies = Rc::new(RefCell::new(Vec::with_capacity(latency_sets)));
    let mut pool = LocalPool::new();
    let (n, lat) = (emitted.clone(), latencies.clone());
    pool.spawner().spawn_local(async move {
        while let Some((image, info)) = sets.next().await {
            let delivered = Instant::now();
            if lat.borrow().len() < latency_sets {
                lat.borrow_mut()
                    .push((delivered - left_stream.get()).as_nanos() as u64);
            }
            let k = &info.k;
            let point = Point {
                x: k.get(2).copied().unwrap_or(0.0),
                y: k.get(5).copied().unwrap_or(0.0),
                z: k.first().copied().unwrap_or(0.0),
            };
            let derived = PointStamped {
                header: image.header.clone(),
                point,
            };
            if let Err(e) = out.publish(&derived) {
                eprintln!("publish principal_point: {e}");
            }
            print_set(
                &[image.stamp(), info.stamp()],
                &format!("{}x{}", image.width, image.height),
            );
            n.set(n.get() + 1);
            if latency_sets > 0 && lat.borrow().len() == latency_sets {
                print_latency(&mut lat.borrow_mut());
                lat.borrow_mut().push(0); // report once
            }
        }
    })?;

    let done = emitted.clone();
    let mut last = 0;
    let mut matched = false;
    while max_sets == 0 || done.get() < max_sets {
        report_matched(
            &node,
            &[("image", &qos), ("camera_info", &qos)],
            &mut matched,
        );
        node.spin_once(std::time::Duration::from_millis(5));
        pool.run_until_stalled();
        if done.get() != last {
            last = done.get();
            watch.delivered();
        } else if let Some(reports) = watch.check(&node) {
            for r in reports {
                eprintln!("image_info_sync: stalled: {r}");
            }
        }
    }
    Ok(())
}

fn print_latency(ns: &mut [u64]) {
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 - 1.0) * q).round() as usize];
    eprintln!(
        "latency n={} p50_ns={} p99_ns={} max_ns={}",
        ns.len(),
        p(0.50),
        p(0.99),
        ns[ns.len() - 1]
    );
}
