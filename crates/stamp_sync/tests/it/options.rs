//! The driver options: each off by default (then nothing changes), each
//! doing what it says when on.

use proptest::prelude::*;
use stamp_sync::trace::{PolicyConfig, Trace, replay, replay_with_options};
use stamp_sync::{Duration, DynSynchronizer, Event, ExactTime, Options, Stamp, Synchronizer};

fn trace_strategy() -> impl Strategy<Value = (usize, Trace)> {
    (2usize..5).prop_flat_map(|n| {
        prop::collection::vec((0..n, 0i64..2_000), 0..150).prop_map(move |v| {
            (
                n,
                Trace::from_pairs(
                    v.into_iter()
                        .map(|(c, t)| (c, Stamp::from_nanos(t * 1_000_000))),
                ),
            )
        })
    })
}

fn configs() -> Vec<PolicyConfig> {
    vec![
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 5 }),
        PolicyConfig::approximate(5),
        PolicyConfig::Epsilon(stamp_sync::policy::EpsilonConfig {
            queue_size: 5,
            epsilon: Some(Duration::from_millis(20)),
            deadline: None,
        }),
        PolicyConfig::Latest(stamp_sync::policy::LatestConfig),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Options off = the policy alone, for every policy.
    #[test]
    fn options_off_change_nothing((n, trace) in trace_strategy()) {
        for c in configs() {
            let a = replay(&trace, n, &c).unwrap();
            let b = replay_with_options(&trace, n, &c, &Options::new()).unwrap();
            prop_assert_eq!(a.sets_csv(), b.sets_csv());
            prop_assert_eq!(a.drops, b.drops);
            prop_assert_eq!(a.stats, b.stats);
        }
    }

    /// A stamp offset on channel k is the same as shifting k's stamps.
    #[test]
    fn stamp_offset_equals_shifted_trace((n, trace) in trace_strategy(), k in 0usize..2, off in -50i64..50) {
        let d = Duration::from_millis(off);
        let shifted = Trace::from_pairs(trace.messages.iter().map(|m| {
            (m.channel, if m.channel == k { m.stamp + d } else { m.stamp })
        }));
        for c in configs().into_iter().take(3) {
            let a = replay_with_options(&trace, n, &c, &Options::new().stamp_offset(k, d)).unwrap();
            let b = replay(&shifted, n, &c).unwrap();
            let idx = |r: &stamp_sync::trace::Replay| -> Vec<Vec<usize>> {
                r.sets.iter().map(|s| s.iter().map(|m| m.index).collect()).collect()
            };
            prop_assert_eq!(idx(&a), idx(&b));
        }
    }

    /// After a jump back, no set mixes messages from before and after it.
    #[test]
    fn reset_on_jump_back_never_mixes_epochs((n, trace) in trace_strategy()) {
        // Two copies of the trace: the second starts 10 s earlier (a bag loop).
        let mut pairs: Vec<(usize, Stamp)> = trace.messages.iter().map(|m| (m.channel, m.stamp + Duration::from_secs(20))).collect();
        let split = pairs.len();
        pairs.extend(trace.messages.iter().map(|m| (m.channel, m.stamp + Duration::from_secs(10))));
        let looped = Trace::from_pairs(pairs);
        let opts = Options::new().reset_on_jump_back(Duration::from_secs(5));
        for c in configs().into_iter().take(3) {
            let r = replay_with_options(&looped, n, &c, &opts).unwrap();
            for s in &r.sets {
                let before = s.iter().filter(|m| m.index < split).count();
                prop_assert!(before == 0 || before == s.len(), "a set spans the loop: {:?}", s);
            }
            let emitted: u64 = r.stats.channels.iter().map(|c| c.emitted).sum();
            let queued: usize = r.queued.iter().sum();
            prop_assert_eq!(emitted + r.stats.dropped_total() + queued as u64, looped.messages.len() as u64);
        }
    }
}

#[test]
fn stale_channel_is_reported_once_per_timeout_and_partial_sets_have_holes() {
    let opts = Options::new()
        .stale_after(Duration::from_millis(100))
        .partial_sets(true);
    let mut sync = DynSynchronizer::builder(3, ExactTime::new(10).unwrap())
        .options(opts)
        .build()
        .unwrap();
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let mut stale = Vec::new();
    let mut partial = Vec::new();
    let mut sets = 0;
    for k in 0..50i64 {
        let t = ms(10 * k);
        for ch in 0..3 {
            // Channel 2 dies after 100 ms and comes back at 400 ms.
            if ch == 2 && (10..40).contains(&k) {
                continue;
            }
            for e in sync.push(ch, t).unwrap() {
                match e {
                    Event::Set(_) => sets += 1,
                    Event::Stale(s) => stale.push((s.channel, s.at)),
                    Event::Partial(p) => {
                        partial.push(p.members.iter().map(Option::is_some).collect::<Vec<_>>())
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(stale.iter().all(|&(ch, _)| ch == 2), "{stale:?}");
    // Silent from 90 ms to 400 ms: reported once more than 100 ms passed
    // (at 200 ms), then again more than 100 ms after that report (310 ms).
    let at: Vec<i64> = stale.iter().map(|s| s.1.as_nanos() / 1_000_000).collect();
    assert_eq!(at, [200, 310]);
    assert_eq!(partial.len(), 2);
    assert!(
        partial.iter().all(|p| p == &[true, true, false]),
        "{partial:?}"
    );
    assert!(
        sets >= 10 + 10,
        "sets resume after the channel returns: {sets}"
    );
}

#[test]
fn typed_partial_sets_are_tuples_of_options() {
    use std::sync::{Arc, Mutex};
    type Pairs = Vec<(Option<Stamp>, Option<Stamp>)>;
    let got: Arc<Mutex<Pairs>> = Arc::default();
    let sink = got.clone();
    let opts = Options::new()
        .stale_after(Duration::from_millis(50))
        .partial_sets(true);
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(100).unwrap())
        .options(opts)
        .on_partial(move |p| sink.lock().unwrap().push(p))
        .build()
        .unwrap();
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    sync.add::<1>(ms(5));
    for k in 0..20 {
        sync.add::<0>(ms(10 * k));
    }
    let got = std::mem::take(&mut *got.lock().unwrap());
    assert!(!got.is_empty());
    assert!(got.iter().all(|(a, _)| a.is_some()));
    assert_eq!(
        got[0].1,
        Some(ms(5)),
        "channel 1's held message goes out in the first partial set"
    );
    assert_eq!(sync.poll(ms(1000)), 0);
    assert!(sync.stats().stale >= 2);
}

#[test]
fn arrival_stamps_match_on_the_arrival_clock() {
    // Header stamps are useless (all 0 on channel 1); arrival times pair up.
    let mut sync = DynSynchronizer::builder(2, ExactTime::new(5).unwrap())
        .options(Options::new().arrival_stamps(true))
        .build()
        .unwrap();
    let mut sets = Vec::new();
    for k in 1..=3i64 {
        let at = Stamp::from_nanos(k * 1_000);
        sets.extend(
            sync.push_stamped(0, k, Stamp::from_nanos(k * 777), at)
                .unwrap()
                .filter_map(|e| e.into_set()),
        );
        sets.extend(
            sync.push_stamped(1, -k, Stamp::ZERO, at)
                .unwrap()
                .filter_map(|e| e.into_set()),
        );
    }
    let sets: Vec<Vec<i64>> = sets.into_iter().map(|s| s.to_vec()).collect();
    assert_eq!(sets, vec![vec![1, -1], vec![2, -2], vec![3, -3]]);
}

#[test]
fn options_are_checked() {
    assert!(
        Options::new()
            .stamp_offset(3, Duration::ZERO)
            .check(2)
            .is_err()
    );
    assert!(
        Options::new()
            .stale_after(Duration::from_nanos(-1))
            .check(2)
            .is_err()
    );
    assert!(
        DynSynchronizer::<Stamp, _>::builder(2, ExactTime::new(1).unwrap())
            .options(Options::new().stamp_offset(2, Duration::ZERO))
            .build()
            .is_err()
    );
}

/// `reset_on_jump_back(th)` resets on a jump back of more than `th`: a jump
/// of exactly `th` keeps the queues, one nanosecond more clears them.
#[test]
fn a_jump_back_of_exactly_the_threshold_does_not_reset() {
    let th = Duration::from_millis(100);
    for (jump, resets) in [(th, 0), (th + Duration::from_nanos(1), 1)] {
        let opts = Options::new().reset_on_jump_back(th);
        let mut sync = DynSynchronizer::builder(2, ExactTime::new(10).unwrap())
            .options(opts)
            .build()
            .unwrap();
        let t = Stamp::from_nanos(1_000_000_000);
        assert_eq!(sync.push(0, t).unwrap().count(), 0);
        let reset = sync
            .push(0, t - jump)
            .unwrap()
            .filter(|e| matches!(e, Event::Drop(d) if d.reason == stamp_sync::DropReason::Reset))
            .count();
        assert_eq!(sync.stats().resets, resets, "jump back by {jump}");
        assert_eq!(reset as u64, resets, "jump back by {jump:?}");
        // Without a reset the first message is still there to match.
        let sets = sync
            .push(1, t)
            .unwrap()
            .filter(|e| matches!(e, Event::Set(_)))
            .count();
        assert_eq!(sets as u64, 1 - resets, "jump back by {jump:?}");
    }
}

/// Offsets on two channels both apply, and a second offset for a channel
/// replaces its first.
#[test]
fn stamp_offsets_on_several_channels_all_apply_and_the_last_one_wins() {
    let ms = |v: i64| Stamp::from_nanos(v * 1_000_000);
    // Raw stamps 90, 80, 100 ms: equal only after +10 ms on 0 and +20 ms on 1.
    let trace = Trace::from_pairs([(0, ms(90)), (1, ms(80)), (2, ms(100))]);
    let exact = PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 5 });
    let sets = |o: Options| {
        replay_with_options(&trace, 3, &exact, &o)
            .unwrap()
            .sets
            .len()
    };
    let both = Options::new()
        .stamp_offset(0, Duration::from_millis(10))
        .stamp_offset(1, Duration::from_millis(20));
    assert_eq!(sets(both), 1, "both offsets apply");
    let one = Options::new().stamp_offset(0, Duration::from_millis(10));
    assert_eq!(sets(one), 0, "channel 1 is still 20 ms early");
    let replaced = Options::new()
        .stamp_offset(0, Duration::from_millis(10))
        .stamp_offset(1, Duration::from_millis(5))
        .stamp_offset(1, Duration::from_millis(20));
    assert_eq!(sets(replaced), 1, "the last offset for channel 1 wins");
    let stale = Options::new()
        .stamp_offset(0, Duration::from_millis(10))
        .stamp_offset(1, Duration::from_millis(20))
        .stamp_offset(1, Duration::from_millis(5));
    assert_eq!(sets(stale), 0, "the first offset for channel 1 is gone");
}

#[test]
fn emitted_csv_prints_partial_sets_in_order_with_empty_fields() {
    let trace = Trace::parse("channel,stamp_ns\n0,0\n1,0\n0,10\n0,20\n0,30\n1,30\n", 1).unwrap();
    let opts = Options::new()
        .stale_after(Duration::from_nanos(5))
        .partial_sets(true);
    let r = replay_with_options(&trace, 2, &PolicyConfig::exact(10), &opts).unwrap();
    assert_eq!(r.sets_csv(), "0,0\n");
    assert_eq!(r.partials_after, [1, 1, 1]);
    assert_eq!(r.emitted_csv(), "0,0\n10,\n20,\n30,\n");
    // Without partial sets: the sets alone.
    let r = replay_with_options(&trace, 2, &PolicyConfig::exact(10), &Options::new()).unwrap();
    assert_eq!(r.emitted_csv(), r.sets_csv());
    assert!(r.partials.is_empty());
}
