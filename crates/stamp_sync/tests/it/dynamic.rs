//! The dynamic-N synchronizer: identical to the tuple version for N <= 9
//! (random traces), and working for N > 9.

use stamp_sync_testkit::frontends as support;

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use stamp_sync::trace::{PolicyConfig, Trace, replay};
use stamp_sync::{ApproximateTime, DynSynchronizer, Event, Stamp};

fn case() -> impl Strategy<Value = (usize, PolicyConfig, Trace)> {
    (2usize..=9).prop_flat_map(|n| {
        (
            prop_oneof![
                (1usize..8).prop_map(|q| PolicyConfig::Exact(stamp_sync::policy::ExactConfig {
                    queue_size: q
                })),
                (1usize..8, prop_oneof![Just(0.1), 0.0f64..2.0]).prop_map(|(q, a)| {
                    PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
                        queue_size: q,
                        age_penalty: a,
                        max_interval: None,
                        lower_bounds: vec![],
                        deadline: None,
                    })
                }),
            ],
            prop::collection::vec((0..n, 0i64..200), 0..200),
        )
            .prop_map(move |(c, v)| {
                (
                    n,
                    c,
                    Trace::from_pairs(
                        v.into_iter()
                            .map(|(ch, t)| (ch, Stamp::from_nanos(t * 1000))),
                    ),
                )
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn dynamic_equals_tuple_synchronizer((n, config, trace) in case()) {
        let dynamic = support::bare(&trace, n, &config);
        prop_assert_eq!(support::typed(&trace, n, &config), dynamic);
    }

    /// Without a drop callback the typed synchronizer only counts drops
    /// (they never become events): the counts, the sets and the drops
    /// themselves must equal those with a callback and the bare policy's.
    #[test]
    fn drop_accounting_is_the_same_with_and_without_a_drop_callback(
        (n, config, trace) in case()
    ) {
        let bare = replay(&trace, n, &config).unwrap();
        let (rows, drops, counts) = support::typed_accounting(&trace, n, &config, true);
        let (rows_nc, drops_nc, counts_nc) =
            support::typed_accounting(&trace, n, &config, false);
        prop_assert_eq!(&rows, &support::rows_of(&bare.sets));
        prop_assert_eq!(&rows_nc, &rows);
        let bare_drops: Vec<_> = bare.drops.iter().map(|d| (d.channel, d.reason, d.message.index)).collect();
        prop_assert_eq!(&drops, &bare_drops);
        prop_assert!(drops_nc.is_empty());
        let bare_counts: Vec<_> = bare.stats.channels.iter().map(|c| c.dropped).collect();
        prop_assert_eq!(&counts, &bare_counts);
        prop_assert_eq!(&counts_nc, &bare_counts);
    }
}

#[test]
fn twelve_cameras() {
    // 12 cameras at 30 Hz with per-camera jitter; ApproximateTime pairs each frame.
    let n = 12;
    let mut pairs = Vec::new();
    for k in 0..100i64 {
        for cam in 0..n {
            let jitter = ((cam as i64 * 7919 + k * 104_729) % 2_000_000) - 1_000_000;
            pairs.push((
                cam,
                Stamp::from_nanos(1_000_000_000 + k * 33_333_333 + jitter),
            ));
        }
    }
    let trace = Trace::from_pairs(pairs);
    let r = replay(&trace, n, &PolicyConfig::approximate(10)).unwrap();
    assert_eq!(
        r.sets.len(),
        99,
        "every frame but the last is provably matched"
    );
    for set in &r.sets {
        assert_eq!(set.len(), 12);
        let lo = set.iter().map(|m| m.stamp).min().unwrap();
        let hi = set.iter().map(|m| m.stamp).max().unwrap();
        assert!(hi - lo <= stamp_sync::Duration::from_millis(2));
    }
    assert_eq!(r.stats.dropped_total(), 0);
}

#[test]
fn unknown_channel_is_an_error_not_a_panic() {
    let mut sync = DynSynchronizer::new(10, ApproximateTime::new(3).unwrap()).unwrap();
    let e = sync.push(10, Stamp::ZERO).err().unwrap();
    assert_eq!(
        e.to_string(),
        "channel 10 does not exist: the synchronizer has 10 channels"
    );
    for ch in 0..10 {
        let events: Vec<_> = sync.push(ch, Stamp::from_nanos(5)).unwrap().collect();
        if ch == 9 {
            assert!(matches!(events.as_slice(), [Event::Set(s)] if s.len() == 10));
        }
    }
    let d = sync.diagnostics();
    assert_eq!(d.sets, 1);
    assert_eq!(d.channels.len(), 10);
}

#[test]
fn replacing_the_policy_drops_what_is_queued_and_keeps_counting() {
    use stamp_sync::DropReason;
    use stamp_sync::policy::PolicyConfig;
    let s = Stamp::from_nanos;
    let dropped: Arc<Mutex<Vec<(usize, Stamp, DropReason)>>> = Arc::default();
    let sink = dropped.clone();
    let mut sync = DynSynchronizer::builder(
        2,
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 2 })
            .build()
            .unwrap(),
    )
    .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.stamp, d.reason)))
    .build()
    .unwrap();
    let _ = sync.push(0, s(1)).unwrap().count();
    let _ = sync.push(0, s(2)).unwrap().count();
    let _ = sync.push(1, s(1)).unwrap().count(); // set (1, 1)
    assert_eq!(sync.queued(0), 1);
    let bigger = PolicyConfig::approximate(20).build().unwrap();
    sync.replace_policy(bigger).unwrap();
    assert_eq!(*dropped.lock().unwrap(), [(0, s(2), DropReason::Reset)]);
    assert_eq!(sync.stats().channels[0].dropped_for(DropReason::Reset), 1);
    assert_eq!(sync.stats().sets, 1, "the counters carry on");
    // The new policy holds 20 per channel (the queues grew).
    for t in 0..20 {
        let _ = sync.push(0, s(100 + t)).unwrap().count();
    }
    assert_eq!(sync.queued(0), 20);
    // A policy that does not fit is refused and nothing changes.
    let bad = stamp_sync::ApproximateTime::builder()
        .lower_bound(5, stamp_sync::Duration::ZERO)
        .build()
        .unwrap();
    assert!(
        sync.replace_policy(stamp_sync::policy::AnyPolicy::Approximate(bad))
            .is_err()
    );
    assert_eq!(sync.queued(0), 20);
}

/// `add` hands each set to `on_set` and each drop to `on_drop`.
#[test]
fn add_hands_sets_and_drops_to_the_callbacks() {
    use stamp_sync::{DropReason, ExactTime};
    let s = Stamp::from_nanos;
    let sets: Arc<Mutex<Vec<Vec<Stamp>>>> = Arc::default();
    let drops: Arc<Mutex<Vec<(usize, Stamp, DropReason)>>> = Arc::default();
    let (set_sink, drop_sink) = (sets.clone(), drops.clone());
    let mut sync = DynSynchronizer::builder(2, ExactTime::new(1).unwrap())
        .on_set(move |set| set_sink.lock().unwrap().push(set.to_vec()))
        .on_drop(move |d| {
            drop_sink
                .lock()
                .unwrap()
                .push((d.channel, d.message, d.reason))
        })
        .build()
        .unwrap();
    let mut emitted = 0;
    for (ch, t) in [(0, 1), (0, 2), (1, 2)] {
        emitted += sync.add(ch, s(t)).unwrap();
    }
    assert_eq!(emitted, 1);
    assert_eq!(*sets.lock().unwrap(), [vec![s(2), s(2)]]);
    assert_eq!(
        *drops.lock().unwrap(),
        [(0, s(1), DropReason::QueueOverflow)]
    );
    assert_eq!(
        sync.add(2, s(3)),
        Err(stamp_sync::driver::dynamic::NoSuchChannel {
            channel: 2,
            channels: 2
        })
    );
}
