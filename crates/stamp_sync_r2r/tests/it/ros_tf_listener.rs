//! `r2r::tf::TfListener` in this process: the rclpy broadcaster
//! (`ros_tf_broadcaster.py`) sends map -> odom on `/tf_static` and one
//! odom -> camera1 sample on `/tf` once a `/tf` subscriber is matched; the
//! listener's shared buffer answers the lookup through both, and a late
//! second listener still gets the static transform (transient local).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::time::{Duration, Instant};

use approx::assert_abs_diff_eq;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use ros_common::{Proc, WAIT, domain};
use stamp_sync::Stamp;
use stamp_sync_r2r::tf::{TfBuffer, TfListener};

/// Spins until `ready(buffer)` or panics after `WAIT`.
fn spin_until(
    node: &mut r2r::Node,
    pool: &mut LocalPool,
    buffer: &TfBuffer,
    what: &str,
    ready: impl Fn(&TfBuffer) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !ready(buffer) {
        assert!(Instant::now() < deadline, "no {what} within {WAIT:?}");
        node.spin_once(Duration::from_millis(20));
        pool.run_until_stalled();
    }
}

#[test]
fn listener_buffer_answers_lookups_through_static_and_dynamic_links() {
    let d = domain();
    // This process's own context joins the domain: in a process of its own.
    if !stamp_sync_testkit::ros::isolated(
        "ros_tf_listener::listener_buffer_answers_lookups_through_static_and_dynamic_links",
        d,
    ) {
        return;
    }
    let ctx = r2r::Context::create().unwrap();
    let mut node = r2r::Node::create(ctx, "tf_listener_test", "").unwrap();
    let mut pool = LocalPool::new();
    let (listener, feed) = TfListener::new(&mut node).unwrap();
    pool.spawner().spawn_local(feed).unwrap();

    let mut py = Proc::python(
        "ros_tf_broadcaster.py",
        d,
        &["--start-sec", "1000", "--period-ms", "50", "--last", "0"],
    );
    py.wait_for("`ready`", |l| l == "ready");
    let sample = Stamp::from_nanos(1000 * 1_000_000_000 - 25_000_000);
    let buffer = listener.buffer().clone();
    spin_until(&mut node, &mut pool, &buffer, "map <- camera1", |b| {
        b.can_transform("map", "camera1", sample)
    });
    let t = buffer.lookup_transform("map", "camera1", sample).unwrap();
    assert_eq!(t.stamp, sample);
    let v = t.transform.translation;
    for (got, want) in [v.x, v.y, v.z].into_iter().zip([0.95, 2.0, 3.0]) {
        assert_abs_diff_eq!(got, want, epsilon = 1e-12);
    }
    // No data at other stamps: tf2's extrapolation error.
    let later = Stamp::from_nanos(sample.as_nanos() + 1);
    assert!(buffer.lookup_transform("map", "camera1", later).is_err());

    // A listener created now still receives the static transform.
    let (late, feed) = TfListener::new(&mut node).unwrap();
    pool.spawner().spawn_local(feed).unwrap();
    let late = late.buffer().clone();
    spin_until(&mut node, &mut pool, &late, "the static map <- odom", |b| {
        b.can_transform("map", "odom", Stamp::ZERO)
    });
    assert!(
        !late.with(|b| b.has_frame("camera1")),
        "the dynamic sample was volatile"
    );
}
