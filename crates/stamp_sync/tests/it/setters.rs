//! Run-time policy setters: each validated as the builder validates (the
//! policy unchanged on error), each taking effect from the next message
//! without dropping anything at once; `AnyPolicy::apply`; and
//! `replace_policy` on every driver.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use futures::{StreamExt, stream};
use proptest::prelude::*;
use stamp_sync::policy::{AnyPolicy, PolicyConfig, Settings, Value};
use stamp_sync::{
    ApproximateEpsilonTime, ApproximateTime, ConfigError, DropReason, Duration, DynSynchronizer,
    Event, ExactTime, SharedSynchronizer, SlopTime, Stamp, Synchronizer,
};

fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

/// Events of `trace` through a 3-channel dyn synchronizer: sets as their
/// stamps, drops as (channel, stamp, reason).
fn run(sync: &mut DynSynchronizer<Stamp, AnyPolicy>, trace: &[(usize, i64)]) -> Vec<String> {
    let mut out = Vec::new();
    for &(ch, t) in trace {
        for e in sync.push(ch, ms(t)).unwrap() {
            match e {
                Event::Set(s) => out.push(format!("set {:?}", s.as_slice())),
                Event::Drop(d) => out.push(format!("drop {} {} {}", d.channel, d.stamp, d.reason)),
                _ => {}
            }
        }
    }
    out
}

fn trace_strategy() -> impl Strategy<Value = Vec<(usize, i64)>> {
    prop::collection::vec((0usize..3, 0i64..300), 0..120)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A live, bound, empty policy given new settings through its setters
    /// behaves exactly as one built with them.
    #[test]
    fn setters_on_a_bound_policy_equal_the_builder(
        trace in trace_strategy(),
        age in 0.0f64..3.0,
        max in proptest::option::of(0i64..40),
        bound in proptest::option::of((0usize..3, 1i64..30)),
        eps in 0i64..20,
        slop in 0i64..40,
    ) {
        let max = max.map(Duration::from_millis);
        let bounds: Vec<_> = bound.map(|(c, d)| (c, Duration::from_millis(d))).into_iter().collect();
        let cases = [
            (
                PolicyConfig::approximate(5),
                PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig { queue_size: 5, age_penalty: age, max_interval: max, lower_bounds: bounds.clone(), deadline: None }),
            ),
            (
                PolicyConfig::Epsilon(stamp_sync::policy::EpsilonConfig { queue_size: 5, epsilon: Some(Duration::ZERO), deadline: None}),
                PolicyConfig::Epsilon(stamp_sync::policy::EpsilonConfig { queue_size: 5, epsilon: Some(Duration::from_millis(eps)), deadline: None}),
            ),
            (
                PolicyConfig::Slop(stamp_sync::policy::SlopConfig { queue_size: 5, slop: Some(Duration::ZERO)}),
                PolicyConfig::Slop(stamp_sync::policy::SlopConfig { queue_size: 5, slop: Some(Duration::from_millis(slop))}),
            ),
        ];
        for (from, to) in cases {
            let mut live = DynSynchronizer::new(3, from.build().unwrap()).unwrap();
            match live.policy_mut() {
                AnyPolicy::Approximate(p) => {
                    p.set_age_penalty(age).unwrap();
                    p.set_max_interval(max).unwrap();
                    for &(c, d) in &bounds {
                        p.set_lower_bound(c, d).unwrap();
                    }
                }
                AnyPolicy::Epsilon(p) => p.set_epsilon(Duration::from_millis(eps)).unwrap(),
                AnyPolicy::Slop(p) => p.set_slop(Duration::from_millis(slop)).unwrap(),
                _ => unreachable!(),
            }
            prop_assert_eq!(live.policy().config(), to.clone());
            let mut fresh = DynSynchronizer::new(3, to.build().unwrap()).unwrap();
            prop_assert_eq!(run(&mut live, &trace), run(&mut fresh, &trace), "{}", to);
        }
    }

    /// `AnyPolicy::apply` is the setters: the same as a fresh policy.
    #[test]
    fn apply_equals_a_fresh_policy(trace in trace_strategy(), age in 0.0f64..3.0, max in proptest::option::of(1i64..40)) {
        let mut given = Settings::new()
            .with("queue_size", Value::Count(5))
            .with("age_penalty", Value::Number(age))
            .with("lower_bounds", Value::PerChannel(vec![(1, Duration::from_millis(3))]));
        if let Some(m) = max {
            given.set("max_interval", Value::Duration(Duration::from_millis(m)));
        }
        let to = PolicyConfig::from_settings("approximate".parse().unwrap(), &given).unwrap();
        let mut live = DynSynchronizer::new(3, PolicyConfig::approximate(5).build().unwrap()).unwrap();
        live.policy_mut().apply(&to).unwrap();
        prop_assert_eq!(live.policy().config(), to.clone());
        let mut fresh = DynSynchronizer::new(3, to.build().unwrap()).unwrap();
        prop_assert_eq!(run(&mut live, &trace), run(&mut fresh, &trace));
    }
}

#[test]
fn lower_bounds_set_one_by_one_keep_the_others_and_wait_for_bind_to_check_the_channel() {
    let ms_ = Duration::from_millis;
    let mut p = ApproximateTime::new(5).unwrap();
    // Not bound yet: any channel is accepted, and checked by bind.
    p.set_lower_bound(2, ms_(3)).unwrap();
    p.set_lower_bound(0, ms_(2)).unwrap();
    assert_eq!(p.lower_bounds(), [(0, ms_(2)), (2, ms_(3))]);
    p.set_lower_bound(2, ms_(6)).unwrap();
    assert_eq!(
        p.lower_bounds(),
        [(0, ms_(2)), (2, ms_(6))],
        "replaced, not added"
    );
    p.set_lower_bound(0, Duration::ZERO).unwrap();
    assert_eq!(p.lower_bounds(), [(2, ms_(6))], "0 = none");
    assert_eq!(
        Synchronizer::<(Stamp, Stamp), _>::new(p.clone()).err(),
        Some(ConfigError::NoSuchChannel {
            channel: 2,
            channels: 2
        })
    );
    let mut sync = Synchronizer::<(Stamp, Stamp, Stamp), _>::new(p).unwrap();
    let p = sync.policy_mut();
    p.set_lower_bound(1, ms_(1)).unwrap();
    assert_eq!(p.lower_bounds(), [(1, ms_(1)), (2, ms_(6))]);
}

#[test]
fn each_setter_is_checked_and_leaves_the_policy_unchanged_on_error() {
    let mut sync =
        Synchronizer::<(Stamp, Stamp), _>::new(ApproximateTime::new(5).unwrap()).unwrap();
    let p = sync.policy_mut();
    for bad in [-0.5, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            p.set_age_penalty(bad),
            Err(ConfigError::BadAgePenalty(_))
        ));
    }
    assert_eq!(p.age_penalty(), 0.1);
    let neg = Duration::from_nanos(-1);
    assert_eq!(
        p.set_max_interval(Some(neg)),
        Err(ConfigError::NegativeDuration {
            what: "max interval",
            value: neg
        })
    );
    assert_eq!(p.max_interval(), None);
    assert!(matches!(
        p.set_lower_bound(0, neg),
        Err(ConfigError::NegativeDuration { .. })
    ));
    // Bound to 2 channels: channel 2 does not exist.
    assert_eq!(
        p.set_lower_bound(2, Duration::ZERO),
        Err(ConfigError::NoSuchChannel {
            channel: 2,
            channels: 2
        })
    );
    assert_eq!(
        p.set_lower_bounds(&[(0, Duration::from_millis(1)), (5, Duration::ZERO)]),
        Err(ConfigError::NoSuchChannel {
            channel: 5,
            channels: 2
        })
    );
    assert!(p.lower_bounds().is_empty(), "nothing set on error");
    p.set_lower_bound(1, Duration::from_millis(4)).unwrap();
    assert_eq!(p.lower_bounds(), [(1, Duration::from_millis(4))]);
    p.set_lower_bounds(&[(0, Duration::from_millis(2))])
        .unwrap();
    assert_eq!(
        p.lower_bounds(),
        [(0, Duration::from_millis(2))],
        "others back to 0"
    );

    let mut e = ApproximateEpsilonTime::new(3, Duration::from_millis(2)).unwrap();
    assert!(e.set_epsilon(neg).is_err());
    assert_eq!(e.epsilon(), Duration::from_millis(2));
    e.set_epsilon(Duration::from_millis(9)).unwrap();
    assert_eq!(e.epsilon(), Duration::from_millis(9));

    let mut s = SlopTime::new(3, Duration::from_millis(2)).unwrap();
    assert!(s.set_slop(neg).is_err());
    assert_eq!(s.slop(), Duration::from_millis(2));
}

#[test]
fn a_smaller_max_interval_drops_nothing_at_once_and_applies_from_the_next_message() {
    let drops: Arc<Mutex<Vec<(usize, DropReason)>>> = Arc::default();
    let sink = drops.clone();
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ApproximateTime::new(5).unwrap())
        .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.reason)))
        .build()
        .unwrap();
    sync.add::<0>(ms(0));
    sync.add::<0>(ms(50));
    sync.policy_mut()
        .set_max_interval(Some(Duration::from_millis(5)))
        .unwrap();
    assert_eq!(sync.queued(0), 2, "queued messages stay");
    assert!(drops.lock().unwrap().is_empty());
    // Heads 0 and 100 are 100 ms apart: the next search drops the old ones.
    sync.add::<1>(ms(100));
    assert_eq!(
        drops.lock().unwrap().as_slice(),
        [(0, DropReason::MaxInterval), (0, DropReason::MaxInterval)]
    );
}

#[test]
fn a_search_in_progress_goes_on_after_a_setter() {
    // A candidate (0, 1) waits for its proof; a new age penalty does not
    // reset it (as C++): it is still the set published.
    let sets: Arc<Mutex<Vec<(Stamp, Stamp)>>> = Arc::default();
    let sink = sets.clone();
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ApproximateTime::new(5).unwrap())
        .on_set(move |s| sink.lock().unwrap().push(s))
        .build()
        .unwrap();
    sync.add::<0>(ms(0));
    sync.add::<1>(ms(1));
    let search = sync.diagnostics().search;
    assert_eq!(search.candidate, Some((ms(0), ms(1))));
    sync.policy_mut().set_age_penalty(2.0).unwrap();
    assert_eq!(sync.diagnostics().search, search);
    sync.add::<0>(ms(33));
    sync.add::<1>(ms(34));
    assert_eq!(sets.lock().unwrap().first(), Some(&(ms(0), ms(1))));
}

#[test]
fn apply_refuses_what_the_policy_cannot_take_live_and_changes_nothing() {
    let mut p = PolicyConfig::approximate(10).build().unwrap();
    let before = p.config();
    let with = |name: &'static str, v: Value| {
        let mut c = before.clone();
        c.set(name, Some(v)).map(|()| c)
    };
    assert_eq!(
        with("epsilon", Value::Duration(Duration::ZERO)),
        Err(ConfigError::NotForPolicy {
            param: "epsilon",
            policy: "approximate"
        })
    );
    assert!(matches!(
        p.apply(&PolicyConfig::exact(10)),
        Err(ConfigError::NotLive {
            param: "policy",
            ..
        })
    ));
    let bigger = with("queue_size", Value::Count(20)).unwrap();
    assert!(matches!(
        p.apply(&bigger),
        Err(ConfigError::NotLive {
            param: "queue_size",
            ..
        })
    ));
    assert!(matches!(
        with("age_penalty", Value::Number(-1.0)),
        Err(ConfigError::OutOfRange {
            setting: "age_penalty",
            ..
        })
    ));
    assert_eq!(p.config(), before);

    // Bound to 2 channels: a bound on channel 4 fails as a whole.
    let mut sync = DynSynchronizer::<Stamp, _>::new(2, p).unwrap();
    let partly_bad = with("age_penalty", Value::Number(0.5))
        .unwrap()
        .with_lower_bounds(vec![(4, Duration::from_millis(1))]);
    assert!(matches!(
        sync.policy_mut().apply(&partly_bad),
        Err(ConfigError::NoSuchChannel { channel: 4, .. })
    ));
    assert_eq!(sync.policy().config(), before, "nothing changed");

    // Settings left at their defaults go back to them; exact takes only the
    // queue size.
    let mut e = PolicyConfig::exact(3).build().unwrap();
    e.apply(&PolicyConfig::exact(3)).unwrap();
    let mut a = PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
        queue_size: 10,
        age_penalty: 3.0,
        max_interval: Some(Duration::from_millis(1)),
        lower_bounds: vec![],
        deadline: None,
    })
    .build()
    .unwrap();
    a.apply(&PolicyConfig::approximate(10)).unwrap();
    assert_eq!(a.config(), PolicyConfig::approximate(10));
}

/// A way to give a config lower bounds in one line.
trait WithLowerBounds {
    fn with_lower_bounds(self, b: Vec<(usize, Duration)>) -> Self;
}
impl WithLowerBounds for PolicyConfig {
    fn with_lower_bounds(mut self, b: Vec<(usize, Duration)>) -> Self {
        self.set("lower_bounds", Some(Value::PerChannel(b)))
            .unwrap();
        self
    }
}

/// `replace_policy` on the typed, shared and stream drivers: queued
/// messages dropped as `Reset` and handed to the drop callback, counters
/// kept, the new policy (and its bigger queue) in charge; refused policies
/// change nothing.
#[test]
fn replace_policy_on_every_driver() {
    let bad = || {
        ApproximateTime::builder()
            .lower_bound(3, Duration::ZERO)
            .build()
            .unwrap()
    };
    // Synchronizer.
    let drops: Arc<Mutex<Vec<(usize, Stamp, DropReason)>>> = Arc::default();
    let sink = drops.clone();
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ApproximateTime::new(2).unwrap())
        .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.stamp, d.reason)))
        .build()
        .unwrap();
    sync.add::<0>(ms(1));
    sync.add::<0>(ms(2));
    assert_eq!(
        sync.replace_policy(bad()),
        Err(ConfigError::NoSuchChannel {
            channel: 3,
            channels: 2
        })
    );
    assert_eq!(sync.queued(0), 2);
    sync.replace_policy(ApproximateTime::new(30).unwrap())
        .unwrap();
    assert_eq!(
        drops.lock().unwrap().as_slice(),
        [(0, ms(1), DropReason::Reset), (0, ms(2), DropReason::Reset)]
    );
    for t in 0..30 {
        sync.add::<0>(ms(100 + t));
    }
    assert_eq!(sync.queued(0), 30);
    assert_eq!(sync.stats().channels[0].received, 32);
    assert_eq!(sync.stats().channels[0].dropped_for(DropReason::Reset), 2);

    // SharedSynchronizer.
    let drops: Arc<Mutex<Vec<DropReason>>> = Arc::default();
    let sink = drops.clone();
    let shared = SharedSynchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(2).unwrap())
        .on_drop(move |d| sink.lock().unwrap().push(d.reason))
        .build()
        .unwrap();
    shared.add::<1>(ms(5));
    assert!(shared.replace_policy(ExactTime::new(7).unwrap()).is_ok());
    assert_eq!(drops.lock().unwrap().as_slice(), [DropReason::Reset]);
    assert_eq!(shared.queued(1), 0);
    shared.with_policy(|p| assert_eq!(p.queue_size(), 7));
    shared.add::<0>(ms(9));
    assert_eq!(shared.add::<1>(ms(9)), 1);

    // SyncStream.
    let drops: Arc<Mutex<Vec<DropReason>>> = Arc::default();
    let sink = drops.clone();
    let a = stream::iter([ms(1), ms(2), ms(3), ms(5)]);
    let b = stream::iter([ms(3), ms(4)]);
    let mut s = stamp_sync::stream::SyncStream::builder((a, b), ExactTime::new(5).unwrap())
        .on_drop(move |d| sink.lock().unwrap().push(d.reason))
        .build()
        .unwrap();
    // Oldest first: a1, a2, a3, b3 make the set (3, 3); a1 and a2 are
    // older than it. Then b4 and a5 stay queued when the inputs end.
    assert_eq!(block_on(s.next()), Some((ms(3), ms(3))));
    assert_eq!(block_on(s.next()), None);
    assert_eq!((s.queued(0), s.queued(1)), (1, 1));
    s.replace_policy(ExactTime::new(9).unwrap()).unwrap();
    assert_eq!(
        drops.lock().unwrap().as_slice(),
        [
            DropReason::OlderThanLastSet,
            DropReason::OlderThanLastSet,
            DropReason::Reset,
            DropReason::Reset
        ]
    );
    assert_eq!((s.queued(0), s.queued(1)), (0, 0));
    assert_eq!(s.policy_mut().queue_size(), 9);
    assert_eq!(s.stats().channels[1].dropped_for(DropReason::Reset), 1);
    assert_eq!(s.stats().channels[0].dropped_for(DropReason::Reset), 1);
}

#[test]
fn cache_size_and_aligner_period_change_at_run_time() {
    use stamp_sync::filters::{Cache, InputAligner};
    let mut cache = Cache::new(5).unwrap();
    for t in [3, 1, 4, 2, 5] {
        cache.add(ms(t));
    }
    assert_eq!(cache.set_size(0).err(), Some(ConfigError::ZeroQueueSize));
    assert_eq!(cache.size(), 5);
    let evicted: Vec<Stamp> = cache.set_size(2).unwrap().collect();
    assert_eq!(evicted, [ms(1), ms(2), ms(3)]);
    assert_eq!((cache.len(), cache.size()), (2, 2));
    assert_eq!(cache.add(ms(9)), Some(ms(4)));

    // Input 1 (GPS) sent at 5 ms; input 0 (IMU) at 0, 10, 20 ms.
    let order = |period: Option<Duration>| {
        let mut a = InputAligner::new(2, Duration::from_secs(1)).unwrap();
        if let Some(p) = period {
            assert!(a.set_period(2, p).is_err());
            assert!(a.set_period(1, Duration::from_nanos(-1)).is_err());
            a.set_period(1, p).unwrap();
        }
        a.add(1, ms(5)).unwrap();
        for t in [0, 10, 20] {
            a.add(0, ms(t)).unwrap();
        }
        a.dispatch().map(|(_, m)| m).collect::<Vec<_>>()
    };
    // No period: the GPS may send 5 ms again, so 10 waits.
    assert_eq!(order(None), [ms(0), ms(5)]);
    // A 100 ms period: nothing from it before 105 ms.
    assert_eq!(
        order(Some(Duration::from_millis(100))),
        [ms(0), ms(5), ms(10), ms(20)]
    );
}
