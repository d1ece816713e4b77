//! ApproximateTime over a left and a right camera image; reports each
//! pair's skew.
//!
//! Topics: `left`, `right` (remap with `--ros-args -r left:=/camera1/image`).
//! Parameters: `queue_size` (10), `max_interval_ms` (unlimited if unset),
//! `age_penalty` (0.1), `qos`, `depth`, `max_sets` (0 = never exit).
//!
//! Prints `set <left ns>,<right ns> skew_us=<right - left>` per pair.
mod common;

use std::cell::Cell;
use std::error::Error;
use std::rc::Rc;
use std::time::Duration;

use common::{param_f64, param_i64, print_set, qos_param, report_matched};
use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use r2r::sensor_msgs::msg::Image;
use stamp_sync::{ApproximateTime, Stamped};

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = r2r::Context::create()?;
    let mut node = r2r::Node::create(ctx, "stereo_sync", "")?;
    let queue_size = param_i64(&node, "queue_size", 10)?.max(0) as usize;
    let max_interval_ms = param_f64(&node, "max_interval_ms", -1.0)?;
    let age_penalty = param_f64(&node, "age_penalty", 0.1)?;
    let max_sets = param_i64(&node, "max_sets", 0)?.max(0) as usize;
    let qos = qos_param(&node)?;

    let mut policy = ApproximateTime::builder()
        .queue_size(queue_size)
        .age_penalty(age_penalty);
    if max_interval_ms >= 0.0 {
        policy = policy.max_interval(Duration::from_secs_f64(max_interval_ms / 1e3).into());
    }
    let mut pairs = stamp_sync::r2r::subscribe_synced::<(Image, Image), _>(
        &mut node,
        [("left", qos.clone()), ("right", qos.clone())],
        policy.build()?,
    )?;

    let emitted = Rc::new(Cell::new(0usize));
    let n = emitted.clone();
    let mut pool = LocalPool::new();
    pool.spawner().spawn_local(async move {
        while let Some((left, right)) = pairs.next().await {
            let skew = right.stamp().since(left.stamp());
            print_set(
                &[left.stamp(), right.stamp()],
                &format!("skew_us={}", skew.as_nanos() / 1000),
            );
            n.set(n.get() + 1);
        }
    })?;
    let mut matched = false;
    while max_sets == 0 || emitted.get() < max_sets {
        report_matched(&node, &[("left", &qos), ("right", &qos)], &mut matched);
        node.spin_once(Duration::from_millis(5));
        pool.run_until_stalled();
    }
    Ok(())
}
