//! Synchronizes any 2 to 9 topics by header stamp without knowing their
//! types at compile time: raw (serialized CDR) subscriptions, the stamp
//! read from the first bytes of each message, a [`DynSynchronizer`].
//! The live counterpart of `stamp-sync match` on a bag.
//!
//! Parameters: `topics` and `types` (comma-separated, same order, e.g.
//! `/fix,/imu/data` and `sensor_msgs/msg/NavSatFix,sensor_msgs/msg/Imu`),
//! `policy` (`exact` or `approximate`), `queue_size` (10), `qos`, `depth`,
//! `max_sets` (0 = never exit), `expect` (exit once this many messages,
//! all topics together, have arrived; 0 = never).
//!
//! Prints `set <ns>,<ns>,...` per set (in `topics` order) on stdout, and
//! `drop <channel> <stamp ns> <reason>` on stderr. With `expect`, prints
//! `done received=<n> sets=<n>` last.
mod common;

use std::error::Error;
use std::time::Duration;

use common::{param_i64, param_str, print_set, qos_param, report_matched};
use futures::{FutureExt, StreamExt};
use stamp_sync::dynamic::VecQueues;
use stamp_sync::wire::stamp::cdr_header_stamp;
use stamp_sync::{ApproximateTime, DynSynchronizer, Event, ExactTime, Policy, Stamp};

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = r2r::Context::create()?;
    let node = r2r::Node::create(ctx, "bag_sync", "")?;
    let topics = param_str(&node, "topics", "")?;
    let types = param_str(&node, "types", "")?;
    let policy = param_str(&node, "policy", "approximate")?;
    let queue_size = param_i64(&node, "queue_size", 10)?.max(0) as usize;
    let max_sets = param_i64(&node, "max_sets", 0)?.max(0) as u64;
    let expect = param_i64(&node, "expect", 0)?.max(0) as u64;
    let qos = qos_param(&node)?;
    let topics: Vec<String> = topics.split(',').map(|t| t.trim().to_string()).collect();
    let types: Vec<String> = types.split(',').map(|t| t.trim().to_string()).collect();
    if topics.len() != types.len() || !(2..=9).contains(&topics.len()) {
        return Err(
            format!("need 2 to 9 topics and one type each; got {topics:?} / {types:?}").into(),
        );
    }
    match policy.as_str() {
        "exact" => run(
            node,
            &topics,
            &types,
            qos,
            ExactTime::new(queue_size)?,
            (max_sets, expect),
        ),
        "approximate" => run(
            node,
            &topics,
            &types,
            qos,
            ApproximateTime::new(queue_size)?,
            (max_sets, expect),
        ),
        other => Err(format!("policy must be exact or approximate, not {other:?}").into()),
    }
}

fn run<P: Policy<VecQueues<Stamp>>>(
    mut node: r2r::Node,
    topics: &[String],
    types: &[String],
    qos: r2r::QosProfile,
    policy: P,
    (max_sets, expect): (u64, u64),
) -> Result<(), Box<dyn Error>> {
    let mut subs = Vec::with_capacity(topics.len());
    for (t, ty) in topics.iter().zip(types) {
        let s = node
            .subscribe_raw(t, ty, qos.clone())
            .map_err(|e| format!("cannot subscribe to {t} as {ty}: {e}"))?;
        subs.push(s);
    }
    let mut sync = DynSynchronizer::new(topics.len(), policy)?;
    let watched: Vec<(&str, &r2r::QosProfile)> =
        topics.iter().map(|t| (t.as_str(), &qos)).collect();
    let mut matched = false;
    let mut sets = 0u64;
    let mut received = 0u64;
    while (max_sets == 0 || sets < max_sets) && (expect == 0 || received < expect) {
        report_matched(&node, &watched, &mut matched);
        node.spin_once(Duration::from_millis(5));
        // spin_once takes at most one message per subscription: drain them.
        for (ch, s) in subs.iter_mut().enumerate() {
            while let Some(Some(bytes)) = s.next().now_or_never() {
                received += 1;
                let stamp = match cdr_header_stamp(&bytes) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("bag_sync: {}: no stamp: {e}", topics[ch]);
                        continue;
                    }
                };
                for e in sync.push_stamped(ch, stamp, stamp)? {
                    match e {
                        Event::Set(set) => {
                            print_set(&set, "");
                            sets += 1;
                        }
                        Event::Drop(d) => {
                            eprintln!("drop {} {} {}", d.channel, d.stamp.as_nanos(), d.reason)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if expect > 0 {
        common::say(&format!("done received={received} sets={sets}"));
    }
    Ok(())
}
