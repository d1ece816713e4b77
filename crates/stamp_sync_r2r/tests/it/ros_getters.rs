//! r2r message types without a `Stamped` impl, synchronized with stamp
//! getters from a crate other than stamp_sync (this test is one): a closure
//! on a headerless type (`builtin_interfaces/Time` as the whole message), a
//! closure reading `header.stamp`, and a getter type made with
//! `stamp_getter!` here, where `impl Stamped for r2r::..` would break the
//! orphan rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::{LocalSpawnExt, SpawnExt};
use r2r::QosProfile;
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::PointStamped;
use ros_common::{WAIT, domain};
use stamp_sync::{ExactTime, SharedSynchronizer, Stamp};

// A named getter for an r2r type, defined outside stamp_sync.
stamp_sync::stamp_getter!(PointStamp: PointStamped);

#[test]
fn r2r_types_without_stamped_sync_by_getters() {
    let d = domain();
    // This process's own context joins the domain: in a process of its own.
    if !stamp_sync_testkit::ros::isolated(
        "ros_getters::r2r_types_without_stamped_sync_by_getters",
        d,
    ) {
        return;
    }
    let ctx = r2r::Context::create().unwrap();
    let mut node = r2r::Node::create(ctx, "getters_probe", "").unwrap();
    let qos = QosProfile::default().keep_last(100);

    // The stream: a closure for the headerless type, another for the header.
    let mut sets = stamp_sync_r2r::subscribe_synced_with::<(Time, PointStamped), _>(
        &mut node,
        [("ticks", qos.clone()), ("points", qos.clone())],
        ExactTime::new(50).unwrap(),
    )
    .unwrap()
    .stamp_with((
        |t: &Time| stamp_sync_r2r::stamp_of_time(t),
        |p: &PointStamped| stamp_sync_r2r::stamp_of_time(&p.header.stamp),
    ))
    .build()
    .unwrap();

    // A shared synchronizer fed from the same topics, with the named getter.
    let shared_sets = Arc::new(Mutex::new(Vec::new()));
    let sink = shared_sets.clone();
    let shared =
        SharedSynchronizer::<(Time, PointStamped), _>::builder(ExactTime::new(50).unwrap())
            .stamp_with((|t: &Time| stamp_sync_r2r::stamp_of_time(t), PointStamp))
            .on_set(move |(t, p)| {
                sink.lock()
                    .unwrap()
                    .push((stamp_sync_r2r::stamp_of_time(&t), p.point.x))
            })
            .build()
            .unwrap();
    let f0 =
        stamp_sync_r2r::feed_with::<0, _, _, _>(&mut node, "ticks", qos.clone(), shared.clone())
            .unwrap();
    let f1 =
        stamp_sync_r2r::feed_with::<1, _, _, _>(&mut node, "points", qos.clone(), shared).unwrap();

    let ticks = node.create_publisher::<Time>("ticks", qos.clone()).unwrap();
    let points = node
        .create_publisher::<PointStamped>("points", qos)
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    let mut pool = LocalPool::new();
    pool.spawner().spawn(f0).unwrap();
    pool.spawner().spawn(f1).unwrap();
    pool.spawner()
        .spawn_local(async move {
            while let Some((t, p)) = sets.next().await {
                seen.lock().unwrap().push((
                    stamp_sync_r2r::stamp_of_time(&t),
                    stamp_sync_r2r::stamp_of_time(&p.header.stamp),
                    p.point.x,
                ));
            }
        })
        .unwrap();

    let deadline = Instant::now() + WAIT;
    let mut k = 0i32;
    while got.lock().unwrap().len() < 5 || shared_sets.lock().unwrap().len() < 5 {
        assert!(
            Instant::now() < deadline,
            "no sets: {:?}",
            got.lock().unwrap()
        );
        k += 1;
        let t = Time {
            sec: 100 + k,
            nanosec: 7,
        };
        let mut p = PointStamped::default();
        p.header.stamp = t.clone();
        p.point.x = f64::from(k);
        // Publish the point first: the sets must come from the stamps.
        points.publish(&p).unwrap();
        ticks.publish(&t).unwrap();
        for _ in 0..5 {
            node.spin_once(StdDuration::from_millis(5));
            pool.run_until_stalled();
        }
    }
    for &(a, b, x) in got.lock().unwrap().iter() {
        assert_eq!(a, b);
        assert_eq!(a, Stamp::from_ros(100 + x as i32, 7));
    }
    for &(a, x) in shared_sets.lock().unwrap().iter() {
        assert_eq!(a, Stamp::from_ros(100 + x as i32, 7));
    }
}
