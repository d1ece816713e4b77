//! An RGB-D node: ApproximateTime over three topics, `rgb`, `depth` and
//! `camera_info` (remap, e.g. `-r rgb:=/camera1/image`).
//!
//! Parameters: `queue_size` (10), `max_interval_ms` (unlimited if unset),
//! `qos`, `depth`, `max_sets` (0 = never exit).
//!
//! Prints `set <rgb ns>,<depth ns>,<info ns> span_us=<newest - oldest>`.
mod common;

use std::cell::Cell;
use std::error::Error;
use std::rc::Rc;
use std::time::Duration;

use common::{param_f64, param_i64, print_set, qos_param, report_matched};
use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync::{ApproximateTime, Stamped};

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = r2r::Context::create()?;
    let mut node = r2r::Node::create(ctx, "rgbd_sync", "")?;
    let queue_size = param_i64(&node, "queue_size", 10)?.max(0) as usize;
    let max_interval_ms = param_f64(&node, "max_interval_ms", -1.0)?;
    let max_sets = param_i64(&node, "max_sets", 0)?.max(0) as usize;
    let qos = qos_param(&node)?;

    let mut policy = ApproximateTime::builder().queue_size(queue_size);
    if max_interval_ms >= 0.0 {
        policy = policy.max_interval(Duration::from_secs_f64(max_interval_ms / 1e3).into());
    }
    let mut sets = stamp_sync::r2r::subscribe_synced::<(Image, Image, CameraInfo), _>(
        &mut node,
        [
            ("rgb", qos.clone()),
            ("depth", qos.clone()),
            ("camera_info", qos.clone()),
        ],
        policy.build()?,
    )?;

    let emitted = Rc::new(Cell::new(0usize));
    let n = emitted.clone();
    let mut pool = LocalPool::new();
    pool.spawner().spawn_local(async move {
        while let Some((rgb, depth, info)) = sets.next().await {
            let stamps = [rgb.stamp(), depth.stamp(), info.stamp()];
            let (lo, hi) = (stamps.iter().min(), stamps.iter().max());
            let span = match (lo, hi) {
                (Some(lo), Some(hi)) => hi.since(*lo).as_nanos() / 1000,
                _ => 0,
            };
            print_set(&stamps, &format!("span_us={span}"));
            n.set(n.get() + 1);
        }
    })?;
    let mut matched = false;
    let topics = [("rgb", &qos), ("depth", &qos), ("camera_info", &qos)];
    while max_sets == 0 || emitted.get() < max_sets {
        report_matched(&node, &topics, &mut matched);
        node.spin_once(Duration::from_millis(5));
        pool.run_until_stalled();
    }
    Ok(())
}
