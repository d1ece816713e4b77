//! Counters you can trust: every public counter, getter and validation rule
//! of the policies, checked against values worked out by hand.
//!
//! ApproximateTime's out-of-order and lower-bound counters are also checked
//! in the log: each channel warns once (until a reset), whatever the count.

use std::sync::{Mutex, OnceLock};

use stamp_sync::policy::RateConfig;
use stamp_sync::{
    ApproximateEpsilonTime, ApproximateTime, ConfigError, DropReason, Duration, DynSynchronizer,
    ExactTime, LatestTime, Options, Policy, Stamp, Synchronizer,
};

// ---- a logger that keeps what it is given -------------------------------

/// Every record, with the thread that logged it: each test runs on its own
/// thread and reads only its own lines.
struct Capture(Mutex<Vec<(std::thread::ThreadId, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{} {}", record.level(), record.args());
        let me = std::thread::current().id();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((me, line));
    }
    fn flush(&self) {}
}

static LOG: OnceLock<&'static Capture> = OnceLock::new();

/// Starts capturing this thread's log.
fn capture() {
    let cap = LOG.get_or_init(|| {
        let cap: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(cap).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        cap
    });
    let me = std::thread::current().id();
    cap.0.lock().unwrap().retain(|(t, _)| *t != me);
}

/// The warnings this thread logged since `capture()`.
fn warnings() -> Vec<String> {
    let me = std::thread::current().id();
    LOG.get()
        .map(|c| c.0.lock().unwrap().clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|(t, l)| *t == me && l.starts_with("WARN"))
        .map(|(_, l)| l)
        .collect()
}

const BASE: i64 = 1_700_000_000_000_000_000; // realistic epoch stamps

fn t(ms: i64) -> Stamp {
    Stamp::from_nanos(BASE + ms * 1_000_000)
}

type Pair = Synchronizer<(Stamp, Stamp), ApproximateTime>;

fn pair(policy: ApproximateTime) -> Pair {
    Synchronizer::new(policy).unwrap()
}

// ---- ApproximateTime: out of order, lower bound --------------------------

#[test]
fn out_of_order_arrivals_are_counted_per_channel_and_logged_once() {
    capture();
    let mut sync = pair(ApproximateTime::new(10).unwrap());
    // Channel 1 is empty, so every message of channel 0 stays queued behind
    // the one before it: 100, 50 (back), 30 (back), 40, 35 (back).
    for ms in [100, 50, 30, 40, 35] {
        sync.add::<0>(t(ms));
    }
    assert_eq!(sync.policy().out_of_order(0), 3);
    assert_eq!(sync.policy().out_of_order(1), 0);
    assert_eq!(sync.policy().below_lower_bound(0), 0);
    // An equal stamp is not out of order.
    sync.add::<0>(t(35));
    assert_eq!(sync.policy().out_of_order(0), 3);
    let w = warnings();
    assert_eq!(w.len(), 1, "one warning per channel: {w:?}");
    assert!(
        w[0].contains("channel 0") && w[0].contains("out of order"),
        "{w:?}"
    );
    // Another channel warns once for itself.
    sync.add::<1>(t(500));
    sync.add::<1>(t(400));
    assert_eq!(sync.policy().out_of_order(1), 1);
    let w = warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[1].contains("channel 1"), "{w:?}");
    // Channels that do not exist count nothing.
    assert_eq!(sync.policy().out_of_order(2), 0);
    assert_eq!(sync.policy().below_lower_bound(7), 0);
}

#[test]
fn a_message_alone_in_its_queue_is_not_compared() {
    capture();
    let mut sync = pair(ApproximateTime::new(10).unwrap());
    // (100, 100) is published at once; then 50 arrives on channel 0 into
    // an empty queue: there is nothing to compare it with (as upstream).
    sync.add::<0>(t(100));
    sync.add::<1>(t(100));
    assert_eq!(sync.stats().sets, 1);
    sync.add::<0>(t(50));
    assert_eq!(sync.policy().out_of_order(0), 0);
    assert!(warnings().is_empty());
}

#[test]
fn arrivals_closer_than_the_lower_bound_are_counted_exactly() {
    capture();
    let policy = ApproximateTime::builder()
        .queue_size(20)
        .lower_bound(0, Duration::from_millis(10))
        .build()
        .unwrap();
    let mut sync = pair(policy);
    // Gaps: 5 (below), 10 (exactly the bound: fine), 15, 9 (below), 0 (below).
    for ms in [0, 5, 15, 30, 39, 39] {
        sync.add::<0>(t(ms));
    }
    assert_eq!(sync.policy().below_lower_bound(0), 3);
    assert_eq!(sync.policy().out_of_order(0), 0);
    // Channel 1 has no bound: any gap is fine.
    for ms in [0, 1, 1] {
        sync.add::<1>(t(ms));
    }
    assert_eq!(sync.policy().below_lower_bound(1), 0);
    let w = warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("channel 0") && w[0].contains("lower bound") && w[0].contains("5ms"),
        "{w:?}"
    );
}

#[test]
fn one_warning_per_channel_covers_both_kinds_until_a_reset() {
    capture();
    let policy = ApproximateTime::builder()
        .lower_bound(0, Duration::from_millis(10))
        .build()
        .unwrap();
    let mut sync = pair(policy);
    sync.add::<0>(t(100));
    sync.add::<0>(t(90)); // out of order: warns
    sync.add::<0>(t(95)); // below the bound: counted, not logged again
    assert_eq!(sync.policy().out_of_order(0), 1);
    assert_eq!(sync.policy().below_lower_bound(0), 1);
    assert_eq!(warnings().len(), 1);
    // A reset re-arms the warning; the counters keep counting.
    sync.reset();
    sync.add::<0>(t(10));
    sync.add::<0>(t(5));
    assert_eq!(sync.policy().out_of_order(0), 2);
    assert_eq!(warnings().len(), 2);
}

// ---- getters return what was configured ---------------------------------

#[test]
fn approximate_getters() {
    let p = ApproximateTime::builder()
        .queue_size(7)
        .age_penalty(0.25)
        .max_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    assert_eq!(p.queue_size(), 7);
    assert_eq!(p.age_penalty(), 0.25);
    assert_eq!(p.max_interval(), Some(Duration::from_millis(20)));
    assert_eq!(p.pivot(), None);
    assert_eq!(p.candidate(), None);
    let d = ApproximateTime::new(3).unwrap();
    assert_eq!(d.queue_size(), 3);
    assert_eq!(d.age_penalty(), 0.1);
    assert_eq!(d.max_interval(), None);
    // A zero max interval is a real setting, not "unlimited".
    let z = ApproximateTime::builder()
        .max_interval(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(z.max_interval(), Some(Duration::ZERO));
}

#[test]
fn approximate_pivot_and_candidate_follow_the_search() {
    let mut sync = pair(ApproximateTime::new(10).unwrap());
    sync.add::<0>(t(0));
    assert_eq!(sync.policy().pivot(), None);
    sync.add::<1>(t(3));
    // Heads 0 and 3: the candidate spans them, pivot is the latest head.
    assert_eq!(sync.policy().pivot(), Some((1, t(3))));
    assert_eq!(sync.policy().candidate(), Some((t(0), t(3))));
    assert_eq!(sync.diagnostics().search.pivot, Some((1, t(3))));
    assert_eq!(sync.diagnostics().search.candidate, Some((t(0), t(3))));
    sync.add::<0>(t(33));
    sync.add::<1>(t(34)); // proves (0, 3): published, new search (33, 34)
    assert_eq!(sync.stats().sets, 1);
    assert_eq!(sync.policy().pivot(), Some((1, t(34))));
    assert_eq!(sync.policy().candidate(), Some((t(33), t(34))));
    sync.reset();
    assert_eq!(sync.policy().pivot(), None);
    assert_eq!(sync.policy().candidate(), None);
}

#[test]
fn exact_getters() {
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(ExactTime::new(4).unwrap()).unwrap();
    assert_eq!(sync.policy().queue_size(), 4);
    assert_eq!(sync.policy().last_set(), None);
    sync.add::<0>(t(5));
    sync.add::<1>(t(5));
    assert_eq!(sync.policy().last_set(), Some(t(5)));
    sync.add::<0>(t(9));
    assert_eq!(sync.policy().last_set(), Some(t(5)));
    sync.reset();
    assert_eq!(sync.policy().last_set(), None);
}

#[test]
fn epsilon_getters() {
    let p = ApproximateEpsilonTime::new(6, Duration::from_millis(3)).unwrap();
    assert_eq!(p.queue_size(), 6);
    assert_eq!(p.epsilon(), Duration::from_millis(3));
}

#[test]
fn latest_rate_is_measured_on_the_arrival_clock() {
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(LatestTime::new()).unwrap();
    assert_eq!(sync.policy().rate_hz(0), None);
    sync.add_at::<0>(t(0), t(0));
    assert_eq!(sync.policy().rate_hz(0), None, "one arrival is no rate");
    sync.add_at::<0>(t(100), t(100));
    let hz = sync.policy().rate_hz(0).unwrap();
    approx::assert_relative_eq!(hz, 10.0, max_relative = 1e-12);
    assert_eq!(sync.policy().rate_hz(1), None);
    assert_eq!(sync.policy().rate_hz(9), None);
}

/// Channel 0's rate estimate after each arrival (ms on the arrival clock),
/// against upstream's `compute_hz` worked by hand: EMA of the rate (0.9)
/// and of its error (0.3), restarted by a step beyond 10 mean errors.
fn latest_rates(arrivals_ms: &[i64]) -> Vec<Option<f64>> {
    latest_rates_with(LatestTime::new(), arrivals_ms)
}

fn latest_rates_with(policy: LatestTime, arrivals_ms: &[i64]) -> Vec<Option<f64>> {
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(policy).unwrap();
    arrivals_ms
        .iter()
        .map(|&ms| {
            sync.add_at::<0>(t(ms), t(ms));
            sync.policy().rate_hz(0)
        })
        .collect()
}

fn assert_rates(got: &[Option<f64>], want: &[Option<f64>]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w) {
            (Some(g), Some(w)) => approx::assert_relative_eq!(*g, *w, max_relative = 1e-12),
            _ => assert_eq!(g, w, "arrival {i}"),
        }
    }
}

#[test]
fn latest_rate_is_an_ema_of_the_arrival_rate() {
    // 10 Hz, then 20 Hz, 10 Hz, 10 Hz, 1 Hz, 2 Hz, 4 Hz: never a step.
    let got = latest_rates(&[0, 100, 150, 250, 350, 1350, 1850, 2100]);
    let want = [
        None,
        Some(10.0),
        Some(19.0),
        Some(10.9),
        Some(10.09),
        Some(1.909),
        Some(1.9909),
        Some(3.79909),
    ];
    assert_rates(&got, &want);
}

#[test]
fn latest_rate_restarts_on_a_step_change() {
    // A steady 10 Hz (no error), then one 1 s gap: the estimate restarts
    // at 1 Hz, then 2 Hz and 4 Hz samples move it by EMA again.
    let got = latest_rates(&[0, 100, 200, 300, 1300, 1800, 2050]);
    let want = [
        None,
        Some(10.0),
        Some(10.0),
        Some(10.0),
        Some(1.0),
        Some(1.9),
        Some(3.79),
    ];
    assert_rates(&got, &want);
}

#[test]
fn latest_rate_restarts_on_a_sample_beyond_ten_mean_errors() {
    // After 10, 20 and 10 Hz samples the mean error is 0.3 * 9 + 0.7 * 10
    // = 9.7; a 125 Hz sample is 114.1 Hz off, beyond 97: a restart.
    let got = latest_rates(&[0, 100, 150, 250, 258]);
    assert_rates(
        &got,
        &[None, Some(10.0), Some(19.0), Some(10.9), Some(125.0)],
    );
}

#[test]
fn latest_rate_config_sets_both_weights_and_the_margin() {
    let config = RateConfig {
        rate_ema_alpha: 0.5,
        error_ema_alpha: 0.5,
        step_change_margin: 2.0,
    };
    // Errors 10, then 0.5 * 5 + 0.5 * 10 = 7.5, then 7.5: the 50 Hz sample
    // (33.75 Hz off) is beyond 2 * 7.5 and restarts the estimate.
    let want = [
        None,
        Some(10.0),
        Some(15.0),
        Some(12.5),
        Some(16.25),
        Some(50.0),
    ];
    let arrivals = [0, 100, 150, 250, 300, 320];
    assert_rates(
        &latest_rates_with(LatestTime::new().with_rate_config(config), &arrivals),
        &want,
    );
    assert_rates(
        &latest_rates_with(LatestTime::new().with_rate_configs(vec![config]), &arrivals),
        &want,
    );
}

#[test]
fn latest_skips_a_fast_channel_that_is_late() {
    // Channel 0 at exactly 10 Hz (no error), channel 1 at 2 Hz. At 500 ms
    // channel 0 has been silent 300 ms: late (10 Hz minus 1 / 0.3 s is
    // beyond 10 mean errors of 0), so channel 1 is the pivot and its
    // arrival is a set, though channel 0 still ranks 3.3 Hz against 2.
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(LatestTime::new()).unwrap();
    assert_eq!(sync.add_at::<0>(t(0), t(0)), 0);
    assert_eq!(sync.add_at::<1>(t(0), t(0)), 0);
    assert_eq!(sync.add_at::<0>(t(100), t(100)), 1);
    assert_eq!(sync.add_at::<0>(t(200), t(200)), 1);
    assert_eq!(sync.add_at::<1>(t(500), t(500)), 1, "channel 0 is late");
}

#[test]
fn latest_ties_between_equally_fast_channels_go_to_the_first() {
    // Both channels at exactly 10 Hz, 50 ms apart: each ranks 10 Hz at the
    // other's arrival, so the tie (upstream's stable sort) makes channel 0
    // the pivot, and only its arrivals are sets.
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(LatestTime::new()).unwrap();
    let mut sets = Vec::new();
    for ms in (0..=300).step_by(50) {
        let n = if ms % 100 == 0 {
            sync.add_at::<0>(t(ms), t(ms))
        } else {
            sync.add_at::<1>(t(ms), t(ms))
        };
        sets.push(n);
    }
    assert_eq!(sets, [0, 0, 1, 0, 1, 0, 1]);
}

#[test]
fn latest_holds_one_message_per_channel_that_has_one() {
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(LatestTime::new()).unwrap();
    let queued = |s: &Synchronizer<(Stamp, Stamp), LatestTime>| (s.queued(0), s.queued(1));
    assert_eq!(queued(&sync), (0, 0));
    sync.add_at::<0>(t(0), t(0));
    sync.add_at::<0>(t(10), t(10));
    assert_eq!(queued(&sync), (1, 0), "the second replaced the first");
    sync.add_at::<1>(t(20), t(20));
    assert_eq!(sync.add_at::<0>(t(30), t(30)), 1);
    assert_eq!(queued(&sync), (1, 1), "a set clones, the latest stay");
    assert_eq!(sync.add_at::<1>(t(100), t(100)), 0, "channel 0 leads");
    assert_eq!(
        sync.stats().dropped_total(),
        2,
        "t(0), t(10): replaced unused"
    );
    // A reset drops what no set used (channel 1's t(100)), not channel 0's
    // t(30), which went out in the set.
    sync.reset();
    assert_eq!(queued(&sync), (0, 0));
    assert_eq!(sync.stats().dropped_total(), 3);
    assert_eq!(sync.stats().channels[1].dropped_total(), 1);
    assert_eq!(sync.queued(2), 0, "no such channel");
}

#[test]
fn latest_rate_ignores_an_arrival_clock_that_does_not_advance() {
    // The same or an earlier arrival time is no rate sample.
    let got = latest_rates(&[0, 100, 100, 50, 150]);
    assert_rates(
        &got,
        &[None, Some(10.0), Some(10.0), Some(10.0), Some(19.0)],
    );
}

// ---- validation on every builder ---------------------------------------

#[test]
fn age_penalty_must_be_finite_and_not_negative() {
    for bad in [-1.0, -0.0001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = ApproximateTime::builder()
            .age_penalty(bad)
            .build()
            .unwrap_err();
        match e {
            ConfigError::BadAgePenalty(v) => assert!(v.is_nan() || v == bad),
            other => panic!("{bad}: {other:?}"),
        }
        assert!(e.to_string().contains("age penalty"), "{e}");
    }
    for good in [0.0, 0.1, 1.0, 1e9] {
        let p = ApproximateTime::builder()
            .age_penalty(good)
            .build()
            .unwrap();
        assert_eq!(p.age_penalty(), good);
    }
}

#[test]
fn negative_durations_are_rejected_everywhere() {
    let neg = Duration::from_nanos(-1);
    let e = ApproximateTime::builder()
        .max_interval(neg)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        ConfigError::NegativeDuration {
            what: "max interval",
            value: neg
        }
    );
    let e = ApproximateTime::builder()
        .lower_bound(1, neg)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        ConfigError::NegativeDuration {
            what: "inter-message lower bound",
            value: neg
        }
    );
    let e = ApproximateEpsilonTime::new(5, neg).unwrap_err();
    assert_eq!(
        e,
        ConfigError::NegativeDuration {
            what: "epsilon",
            value: neg
        }
    );
    assert!(
        e.to_string().contains("epsilon") && e.to_string().contains("-1ns"),
        "{e}"
    );
    let e = Options::new().reset_on_jump_back(neg).check(2).unwrap_err();
    assert_eq!(
        e,
        ConfigError::NegativeDuration {
            what: "jump-back threshold",
            value: neg
        }
    );
    let e = Options::new().stale_after(neg).check(2).unwrap_err();
    assert_eq!(
        e,
        ConfigError::NegativeDuration {
            what: "stale timeout",
            value: neg
        }
    );
    // Zero is allowed for each.
    assert!(
        ApproximateTime::builder()
            .max_interval(Duration::ZERO)
            .build()
            .is_ok()
    );
    assert!(
        ApproximateTime::builder()
            .lower_bound(0, Duration::ZERO)
            .build()
            .is_ok()
    );
    assert!(ApproximateEpsilonTime::new(5, Duration::ZERO).is_ok());
    assert!(
        Options::new()
            .reset_on_jump_back(Duration::ZERO)
            .check(2)
            .is_ok()
    );
    assert!(Options::new().stale_after(Duration::ZERO).check(2).is_ok());
    // A negative stamp offset is a real setting (a sensor running early).
    assert!(Options::new().stamp_offset(1, neg).check(2).is_ok());
}

#[test]
fn zero_queue_size_is_rejected_by_every_policy() {
    assert_eq!(
        ApproximateTime::new(0).unwrap_err(),
        ConfigError::ZeroQueueSize
    );
    assert_eq!(ExactTime::new(0).unwrap_err(), ConfigError::ZeroQueueSize);
    assert_eq!(
        ApproximateEpsilonTime::new(0, Duration::ZERO).unwrap_err(),
        ConfigError::ZeroQueueSize
    );
    assert!(ApproximateTime::new(1).is_ok());
    assert!(ExactTime::new(1).is_ok());
    assert!(ApproximateEpsilonTime::new(1, Duration::ZERO).is_ok());
}

/// Binds `policy` as the dynamic synchronizer does.
fn bind<P: Policy<stamp_sync::driver::dynamic::VecQueues<Stamp>>>(
    channels: usize,
    policy: P,
) -> Result<(), ConfigError> {
    DynSynchronizer::<Stamp, P>::new(channels, policy).map(|_| ())
}

#[test]
fn every_policy_needs_two_channels() {
    for n in [0, 1] {
        let want = ConfigError::TooFewChannels(n);
        assert_eq!(bind(n, ApproximateTime::new(3).unwrap()), Err(want.clone()));
        assert_eq!(bind(n, ExactTime::new(3).unwrap()), Err(want.clone()));
        assert_eq!(
            bind(n, ApproximateEpsilonTime::new(3, Duration::ZERO).unwrap()),
            Err(want.clone())
        );
        assert_eq!(bind(n, LatestTime::new()), Err(want));
    }
    assert_eq!(bind(2, ApproximateTime::new(3).unwrap()), Ok(()));
    assert_eq!(bind(2, ExactTime::new(3).unwrap()), Ok(()));
    assert_eq!(bind(2, LatestTime::new()), Ok(()));
    assert_eq!(
        ConfigError::TooFewChannels(1).to_string(),
        "a synchronizer needs at least 2 channels, got 1"
    );
}

#[test]
fn per_channel_settings_must_name_an_existing_channel() {
    let p = ApproximateTime::builder()
        .lower_bound(2, Duration::from_millis(1))
        .build()
        .unwrap();
    let e = bind(2, p).unwrap_err();
    assert_eq!(
        e,
        ConfigError::NoSuchChannel {
            channel: 2,
            channels: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "channel 2 does not exist: the synchronizer has 2 channels"
    );
    let p = ApproximateTime::builder()
        .lower_bound(1, Duration::from_millis(1))
        .build()
        .unwrap();
    assert_eq!(bind(2, p), Ok(()));
    // LatestTime: one rate setting per channel at most.
    let three = vec![RateConfig::default(); 3];
    assert_eq!(
        bind(2, LatestTime::new().with_rate_configs(three.clone())),
        Err(ConfigError::NoSuchChannel {
            channel: 2,
            channels: 2
        })
    );
    assert_eq!(bind(3, LatestTime::new().with_rate_configs(three)), Ok(()));
    // Options: offsets on existing channels only.
    assert_eq!(
        Options::new()
            .stamp_offset(3, Duration::ZERO)
            .check(3)
            .unwrap_err(),
        ConfigError::NoSuchChannel {
            channel: 3,
            channels: 3
        }
    );
    assert!(
        Options::new()
            .stamp_offset(2, Duration::ZERO)
            .check(3)
            .is_ok()
    );
}

#[test]
fn a_later_lower_bound_for_the_same_channel_replaces_the_earlier() {
    // Only the last setting counts, so a bad earlier one is forgotten.
    let p = ApproximateTime::builder()
        .lower_bound(0, Duration::from_nanos(-5))
        .lower_bound(0, Duration::from_millis(10))
        .build()
        .unwrap();
    let mut sync = pair(p);
    sync.add::<0>(t(0));
    sync.add::<0>(t(5));
    assert_eq!(sync.policy().below_lower_bound(0), 1);
}

#[test]
fn config_errors_say_what_is_wrong() {
    assert_eq!(
        ConfigError::ZeroQueueSize.to_string(),
        "queue size must be at least 1 (2 or more is recommended)"
    );
    assert_eq!(
        ConfigError::BadAgePenalty(-2.0).to_string(),
        "age penalty must be finite and >= 0, got -2"
    );
}

// ---- drop reasons ------------------------------------------------------

#[test]
fn drop_reasons_have_stable_names_and_indices() {
    let names = [
        "queue_overflow",
        "not_chosen",
        "max_interval",
        "after_overflow",
        "older_than_last_set",
        "replaced",
        "no_match",
        "reset",
        "stale",
        "no_latched",
        "dropped_out",
        "out_of_order",
        "late",
    ];
    assert_eq!(DropReason::ALL.len(), names.len());
    for (i, (r, name)) in DropReason::ALL.iter().zip(names).enumerate() {
        assert_eq!(r.index(), i);
        assert_eq!(r.as_str(), name);
        assert_eq!(r.to_string(), name);
        assert_eq!(DropReason::from_index(i), Some(*r));
    }
    // One past the last reason is no reason (a counter table's bound).
    assert_eq!(DropReason::from_index(DropReason::ALL.len()), None);
    assert_eq!(DropReason::from_index(usize::MAX), None);
}

// ---- driver counters ----------------------------------------------------

/// Counts the events themselves and checks `stats()` agrees, channel by
/// channel and reason by reason, and that every message is accounted for.
#[test]
#[allow(clippy::needless_range_loop)] // channels index several tables
fn stats_count_every_event_including_stale_reports_and_partial_sets() {
    use stamp_sync::Event;
    let opts = Options::new()
        .stale_after(Duration::from_millis(100))
        .partial_sets(true);
    let mut sync = DynSynchronizer::builder(3, ExactTime::new(10).unwrap())
        .options(opts)
        .build()
        .unwrap();
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let (mut sets, mut stale, mut partials) = (0u64, 0u64, 0u64);
    let mut emitted = [0u64; 3];
    let mut dropped = [[0u64; DropReason::ALL.len()]; 3];
    let mut received = [0u64; 3];
    for k in 0..50i64 {
        for ch in 0..3 {
            // Channel 2 is silent from 100 ms to 400 ms; channel 0 sends
            // an extra message with a stamp nobody else has, now and then.
            if ch == 2 && (10..40).contains(&k) {
                continue;
            }
            let mut stamps = vec![ms(10 * k)];
            if ch == 0 && k % 7 == 3 {
                stamps.push(ms(10 * k + 1));
            }
            for s in stamps {
                received[ch] += 1;
                for e in sync.push(ch, s).unwrap() {
                    match e {
                        Event::Set(_) => {
                            sets += 1;
                            emitted.iter_mut().for_each(|e| *e += 1);
                        }
                        Event::Drop(d) => dropped[d.channel][d.reason.index()] += 1,
                        Event::Stale(_) => stale += 1,
                        Event::Partial(p) => {
                            partials += 1;
                            for m in p.members.iter().flatten() {
                                emitted[m.channel] += 1;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let st = sync.stats();
    assert_eq!(
        (st.sets, st.stale, st.partial_sets),
        (sets, stale, partials)
    );
    assert_eq!((stale, partials), (2, 2));
    assert!(sets > 10);
    for ch in 0..3 {
        let c = &st.channels[ch];
        assert_eq!(c.received, received[ch], "channel {ch}");
        assert_eq!(c.emitted, emitted[ch], "channel {ch}");
        assert_eq!(c.dropped, dropped[ch], "channel {ch}");
        assert_eq!(c.dropped_total(), dropped[ch].iter().sum::<u64>());
        assert_eq!(
            c.received,
            c.emitted + c.dropped_total() + sync.queued(ch) as u64,
            "channel {ch}: every message emitted, dropped or queued"
        );
        assert_eq!(c.last_stamp, Some(ms(490)));
    }
    assert!(st.channels[0].dropped_for(DropReason::OlderThanLastSet) > 0);
    assert!(
        st.channels[0].dropped_for(DropReason::Stale)
            + st.channels[1].dropped_for(DropReason::Stale)
            > 0
    );
    assert_eq!(st.received_total(), received.iter().sum::<u64>());
    assert_eq!(st.dropped_total(), dropped.iter().flatten().sum::<u64>());
}

#[test]
fn diagnostics_snapshot_and_its_text() {
    let opts = Options::new().reset_on_jump_back(Duration::from_secs(1));
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ApproximateTime::new(2).unwrap())
        .options(opts)
        .build()
        .unwrap();
    let s = |ns: i64| Stamp::from_nanos(ns);
    sync.add::<0>(s(10));
    sync.add::<1>(s(10)); // set
    sync.add::<0>(s(20));
    sync.add::<0>(s(30));
    sync.add::<0>(s(40)); // overflow on channel 0
    sync.add::<1>(s(-5_000_000_000)); // jump back by more than 1 s: reset
    let d = sync.diagnostics();
    assert_eq!(d.sets, 1);
    assert_eq!(d.resets, 1);
    assert_eq!((d.stale, d.partial_sets), (0, 0));
    assert_eq!(d.channels[0].queued, 0);
    assert_eq!(d.channels[1].queued, 1);
    // Deref gives the counters.
    assert_eq!(d.channels[0].received, 4);
    assert_eq!(d.channels[0].dropped_for(DropReason::QueueOverflow), 1);
    assert_eq!(d.channels[0].dropped_for(DropReason::Reset), 2);
    assert_eq!(
        d.to_string(),
        "sets 1, partial 0, stale 0, resets 1\n  \
         channel 0: received 4, queued 0, emitted 1, dropped 3 (queue_overflow 1, reset 2), last stamp 0.000000040\n  \
         channel 1: received 2, queued 1, emitted 1, dropped 0, last stamp -5.000000000"
    );
    // The stats alone: the same counts, without the queues.
    assert_eq!(
        sync.stats().to_string(),
        "sets 1, partial 0, stale 0, resets 1\n  \
         channel 0: received 4, emitted 1, dropped 3 (queue_overflow 1, reset 2), last stamp 0.000000040\n  \
         channel 1: received 2, emitted 1, dropped 0, last stamp -5.000000000"
    );
    // Nothing to say: no extra counters, no reasons, no search.
    let quiet = Synchronizer::<(Stamp, Stamp), _>::new(ExactTime::new(2).unwrap()).unwrap();
    assert_eq!(
        quiet.diagnostics().to_string(),
        "sets 0\n  channel 0: received 0, queued 0, emitted 0, dropped 0\n  channel 1: received 0, queued 0, emitted 0, dropped 0"
    );
    // Stale reports alone (both channels silent) bring in the extra counters.
    let opts = Options::new().stale_after(Duration::from_millis(100));
    let mut stale = Synchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(2).unwrap())
        .options(opts)
        .build()
        .unwrap();
    stale.poll(s(0));
    stale.poll(s(200_000_000));
    let text = stale.diagnostics().to_string();
    assert!(
        text.starts_with("sets 0, partial 0, stale 2, resets 0\n"),
        "{text}"
    );
    // A running search is shown.
    let mut searching = pair(ApproximateTime::new(3).unwrap());
    searching.add::<0>(s(1));
    searching.add::<1>(s(4));
    let text = searching.diagnostics().to_string();
    assert!(
        text.starts_with(
            "sets 0, pivot channel 1 at 0.000000004, candidate 0.000000001..0.000000004\n"
        ),
        "{text}"
    );
}

/// A store of your own needs only `channels`, `len`, `remove` and
/// `take_set`: the provided `pop_front`, `drop_front`, `discard_front` and
/// `take_fronts` take the oldest message, so a policy over it drops and
/// matches the right messages.
#[test]
fn a_store_with_only_the_required_methods_drives_a_policy() {
    use stamp_sync::policy::{Arrival, Outcome, Output, Store};
    use stamp_sync::{ExactTime, Policy};
    use std::collections::VecDeque;

    struct Fifo(Vec<VecDeque<u32>>);
    impl Store for Fifo {
        type Set = Vec<u32>;
        type Message = u32;
        fn channels(&self) -> usize {
            self.0.len()
        }
        fn len(&self, channel: usize) -> usize {
            self.0.get(channel).map_or(0, VecDeque::len)
        }
        fn remove(&mut self, channel: usize, pos: usize) -> Option<u32> {
            self.0.get_mut(channel)?.remove(pos)
        }
        fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Vec<u32>> {
            let picks: Vec<usize> = (0..self.0.len()).map(&mut *pos).collect();
            if picks.iter().zip(&self.0).any(|(p, q)| *p >= q.len()) {
                return None;
            }
            Some(
                picks
                    .iter()
                    .zip(&mut self.0)
                    .filter_map(|(p, q)| q.remove(*p))
                    .collect(),
            )
        }
    }

    /// Queues each (channel, stamp, payload) and adds it to `policy`;
    /// returns what it emitted, in order.
    fn feed<P: Policy<Fifo>>(
        policy: &mut P,
        store: &mut Fifo,
        arrivals: &[(usize, i64, u32)],
    ) -> Vec<Outcome<Vec<u32>, u32>> {
        let mut out = Output::with_capacity(16);
        let mut emitted = Vec::new();
        for &(channel, stamp, payload) in arrivals {
            store.0[channel].push_back(payload);
            let t = Stamp::from_nanos(stamp);
            let arrival = Arrival {
                channel,
                stamp: t,
                received: t,
            };
            policy.add(arrival, store, &mut out);
            emitted.extend(out.drain());
        }
        emitted
    }

    let mut store = Fifo(vec![VecDeque::new(), VecDeque::new()]);
    assert_eq!(store.channels(), 2);
    let mut policy = ExactTime::new(2).unwrap();
    Policy::<Fifo>::bind(&mut policy, 2).unwrap();
    // Channel 0 gets stamps 1, 2, 3 (queue 2: 1 overflows), channel 1
    // then gets 3: the set (3, 3) and 2 dropped as older than it.
    let arrivals = [(0, 1, 10), (0, 2, 20), (0, 3, 30), (1, 3, 31)];
    let outcomes = feed(&mut policy, &mut store, &arrivals);
    let dropped: Vec<u32> = outcomes
        .iter()
        .cloned()
        .filter_map(Outcome::into_drop)
        .map(|d| d.message)
        .collect();
    assert_eq!(dropped, [10, 20]);
    let events: Vec<String> = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Set(s) => format!("set {s:?}"),
            Outcome::Drop(d) => format!("drop {} {} {}", d.channel, d.message, d.reason),
        })
        .collect();
    assert_eq!(
        events,
        [
            "drop 0 10 queue_overflow",
            "set [30, 31]",
            "drop 0 20 older_than_last_set"
        ]
    );
    assert_eq!((store.len(0), store.len(1)), (0, 0));
    // ApproximateEpsilonTime takes its sets with the provided take_fronts.
    let mut policy =
        stamp_sync::ApproximateEpsilonTime::new(2, stamp_sync::Duration::from_nanos(1)).unwrap();
    Policy::<Fifo>::bind(&mut policy, 2).unwrap();
    let sets: Vec<Vec<u32>> = feed(&mut policy, &mut store, &[(0, 5, 50), (1, 6, 61)])
        .into_iter()
        .filter_map(Outcome::into_set)
        .collect();
    assert_eq!(sets, [vec![50, 61]]);
    assert_eq!((store.len(0), store.len(1)), (0, 0));
}

/// A policy author's view of `Output` with drops not kept: drops become
/// counts per (channel, reason), handed over once by `take_discarded`;
/// `has_discarded` says whether there are any.
#[test]
fn output_counts_the_drops_it_does_not_keep() {
    use stamp_sync::policy::{Outcome, Output};
    let mut out = Output::<Vec<u32>, u32>::with_capacity(4);
    assert!(out.keeps_drops());
    assert!(!out.has_discarded());
    out.count_channels(70);
    out.keep_drops(false);
    assert!(!out.keeps_drops());
    let t = Stamp::from_nanos(5);
    out.drop_message(1, t, DropReason::QueueOverflow, 7);
    assert!(out.is_empty(), "a drop not kept is no outcome");
    assert!(out.has_discarded());
    // Channel 65 shares a dirty bit with channel 1.
    out.drop_message(65, t, DropReason::Stale, 8);
    out.count_drops(1, DropReason::QueueOverflow, 2);
    let mut counts = Vec::new();
    out.take_discarded(|ch, r, n| counts.push((ch, r, n)));
    counts.sort();
    assert_eq!(
        counts,
        [
            (1, DropReason::QueueOverflow, 3),
            (65, DropReason::Stale, 1)
        ]
    );
    assert!(!out.has_discarded());
    out.take_discarded(|ch, r, n| panic!("counted twice: {ch} {r} {n}"));
    // A channel past the counted ones has no counter: its drop is kept.
    out.drop_message(70, t, DropReason::Stale, 10);
    assert!(!out.has_discarded());
    let past: Vec<_> = out.drain().filter_map(Outcome::into_drop).collect();
    assert_eq!(past.len(), 1, "a drop with no counter is lost");
    assert_eq!((past[0].channel, past[0].message), (70, 10));
    // Kept again: the drop is an outcome, with its message.
    out.keep_drops(true);
    out.drop_message(2, t, DropReason::Reset, 9);
    assert!(!out.has_discarded());
    assert_eq!(out.len(), 1);
    assert!(matches!(out.outcomes(), [Outcome::Drop(d)] if d.message == 9));
    let kept: Vec<_> = out.drain().filter_map(Outcome::into_drop).collect();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].channel, kept[0].message), (2, 9));
}
