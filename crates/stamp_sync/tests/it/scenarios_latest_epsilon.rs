//! Upstream scenarios for ApproximateEpsilonTime (E1–E3) and LatestTime (L1–L4).

use std::sync::{Arc, Mutex};

use stamp_sync::{
    ApproximateEpsilonTime, Duration, DynSynchronizer, Event, LatestTime, Stamp, Synchronizer,
};

const SEC: i64 = 1_000_000_000;

fn epsilon(q: usize, eps_ms: i64, input: &[(i64, usize)]) -> Vec<Vec<i64>> {
    let p = ApproximateEpsilonTime::new(q, Duration::from_millis(eps_ms)).unwrap();
    let mut sync = DynSynchronizer::new(2, p).unwrap();
    let mut sets = Vec::new();
    for &(t, ch) in input {
        for e in sync.push(ch, Stamp::from_nanos(t * SEC)).unwrap() {
            if let Event::Set(s) = e {
                sets.push(s.iter().map(|x| x.as_nanos() / SEC).collect());
            }
        }
    }
    sets
}

#[test]
fn e1_exact_match() {
    let input = [(0, 0), (0, 1), (3, 0), (3, 1), (6, 0), (6, 1)];
    assert_eq!(epsilon(10, 500, &input), [[0, 0], [3, 3], [6, 6]]);
}

#[test]
fn e2_perfect_match_emits_immediately() {
    let input = [(0, 0), (1, 1), (3, 0), (4, 1), (6, 0), (7, 1)];
    assert_eq!(epsilon(10, 1500, &input), [[0, 1], [3, 4], [6, 7]]);
}

#[test]
fn e3_imperfect_match() {
    let input = [(0, 0), (1, 1), (2, 0), (3, 0), (4, 1), (6, 0), (7, 1)];
    assert_eq!(epsilon(10, 1500, &input), [[0, 1], [3, 4], [6, 7]]);
}

#[test]
fn epsilon_reports_unmatched_and_overflow() {
    let p = ApproximateEpsilonTime::new(2, Duration::from_millis(100)).unwrap();
    let mut sync = DynSynchronizer::new(2, p).unwrap();
    let mut reasons = Vec::new();
    for (t, ch) in [(0, 0), (1, 0), (2, 0), (5, 1)] {
        for e in sync.push(ch, Stamp::from_nanos(t * SEC)).unwrap() {
            if let Event::Drop(d) = e {
                reasons.push((d.stamp.as_nanos() / SEC, d.reason));
            }
        }
    }
    use stamp_sync::DropReason::*;
    assert_eq!(reasons, [(0, QueueOverflow), (1, NoMatch), (2, NoMatch)]);
    assert_eq!(sync.queued(1), 1);
}

/// A message of the LatestTime tests: payload `data` identifies it.
type Msg = (Stamp, u32);

struct Latest {
    sync: Synchronizer<(Msg, Msg, Msg), LatestTime>,
    last: Arc<Mutex<Option<(u32, u32, u32)>>>,
    count: usize,
}

impl Latest {
    fn new() -> Self {
        let last: Arc<Mutex<Option<(u32, u32, u32)>>> = Arc::default();
        let sink = last.clone();
        let sync = Synchronizer::builder(LatestTime::new())
            .on_set(move |(p, q, r): (Msg, Msg, Msg)| *sink.lock().unwrap() = Some((p.1, q.1, r.1)))
            .build()
            .unwrap();
        Latest {
            sync,
            last,
            count: 0,
        }
    }
    fn add(&mut self, ch: usize, data: u32, now_ms: i64) {
        let now = Stamp::from_nanos(now_ms * 1_000_000);
        let m = (now, data);
        self.count += match ch {
            0 => self.sync.add_at::<0>(m, now),
            1 => self.sync.add_at::<1>(m, now),
            _ => self.sync.add_at::<2>(m, now),
        };
    }
    fn last(&self) -> Option<(u32, u32, u32)> {
        *self.last.lock().unwrap()
    }
}

// p[k].data = k, q[k].data = 2k, r[k].data = 4k, 20 ms per loop index.
fn p(k: usize) -> u32 {
    k as u32
}
fn q(k: usize) -> u32 {
    2 * k as u32
}
fn r(k: usize) -> u32 {
    4 * k as u32
}

#[test]
fn l1_leading() {
    let mut l = Latest::new();
    for idx in 0..8 {
        let now = 20 * idx as i64;
        if idx % 2 == 0 {
            l.add(1, q(idx / 2), now);
        }
        if idx % 4 == 0 {
            l.add(2, r(idx / 4), now);
        }
        l.add(0, p(idx), now);
        assert_eq!(l.count, idx, "idx {idx}");
        if idx > 0 {
            assert_eq!(
                l.last(),
                Some((p(idx), q(idx / 2), r(idx / 4))),
                "idx {idx}"
            );
        }
    }
}

#[test]
fn l2_trailing() {
    let mut l = Latest::new();
    for idx in 0..8 {
        let now = 20 * idx as i64;
        if idx % 2 == 1 {
            l.add(1, q((idx - 1) / 2), now);
        }
        if idx % 4 == 3 {
            l.add(2, r((idx - 3) / 4), now);
        }
        l.add(0, p(idx), now);
        if idx <= 2 {
            assert_eq!(l.count, 0, "idx {idx}");
        } else {
            assert_eq!(l.count, idx - 2, "idx {idx}");
            assert_eq!(
                l.last(),
                Some((p(idx), q((idx - 1) / 2), r((idx - 3) / 4))),
                "idx {idx}"
            );
        }
    }
}

#[test]
fn l3_change_rate_leading() {
    let mut l = Latest::new();
    let mut next_p = 0;
    for idx in 0..12 {
        let now = 20 * idx as i64;
        if idx % 2 == 0 {
            l.add(1, q(idx / 2), now);
        }
        if idx % 4 == 0 {
            l.add(2, r(idx / 4), now);
        }
        if idx < 4 || idx % 3 == 0 {
            l.add(0, p(next_p), now);
            next_p += 1;
        }
        match idx {
            0 => assert_eq!(l.count, 0),
            1..=3 => {
                assert_eq!(l.count, idx, "idx {idx}");
                assert_eq!(
                    l.last(),
                    Some((p(idx), q(idx / 2), r(idx / 4))),
                    "idx {idx}"
                );
            }
            4..=5 => {
                assert_eq!(l.count, (idx + 2) / 2, "idx {idx}");
                assert_eq!(l.last(), Some((p(3), q(1), r(0))), "idx {idx}");
            }
            _ => {
                assert_eq!(l.count, (idx + 2) / 2, "idx {idx}");
                assert_eq!(
                    l.last(),
                    Some((p(idx / 2), q(idx / 2), r((idx - 2) / 4))),
                    "idx {idx}"
                );
            }
        }
    }
}

#[test]
fn l4_change_rate_trailing() {
    let mut l = Latest::new();
    let mut next_p = 0;
    for idx in 0..12 {
        let now = 20 * idx as i64;
        if idx % 2 == 1 {
            l.add(1, q((idx - 1) / 2), now);
        }
        if idx % 4 == 3 {
            l.add(2, r((idx - 3) / 4), now);
        }
        if idx < 4 || idx % 3 == 1 {
            l.add(0, p(next_p), now);
            next_p += 1;
        }
        match idx {
            0..=2 => assert_eq!(l.count, 0, "idx {idx}"),
            3..=4 => {
                assert_eq!(l.count, idx - 2, "idx {idx}");
                assert_eq!(
                    l.last(),
                    Some((p(idx), q((idx - 1) / 2), r((idx - 3) / 4))),
                    "idx {idx}"
                );
            }
            5..=6 => {
                assert_eq!(l.count, 2, "idx {idx}");
                assert_eq!(l.last(), Some((p(4), q(1), r(0))), "idx {idx}");
            }
            _ => {
                assert_eq!(l.count, (idx - 1) / 2, "idx {idx}");
                assert_eq!(
                    l.last(),
                    Some((p(idx.div_ceil(2)), q((idx - 1) / 2), r((idx - 5) / 4))),
                    "idx {idx}"
                );
            }
        }
    }
}

/// Upstream #131: with rates that keep falling every channel looks late and
/// upstream may never publish again. Here publishing never stops.
#[test]
fn latest_keeps_publishing_when_rates_keep_falling_regression_mf_131() {
    let mut l = Latest::new();
    let mut now = 0i64;
    let mut gap = 10i64;
    let mut before = 0;
    for k in 0..60u32 {
        for ch in 0..3 {
            l.add(ch, k, now + ch as i64);
        }
        now += gap;
        gap = gap * 3 / 2 + 1;
        if k == 30 {
            before = l.count;
        }
    }
    assert!(
        l.count > before + 20,
        "stalled: {} sets by k=30, {} at the end",
        before,
        l.count
    );
}

/// Upstream #110: rate trackers are pushed in first-arrival order but read
/// by channel index, so a channel can get another channel's rate.
#[test]
fn latest_rate_is_per_channel_regression_mf_110() {
    let mut l = Latest::new();
    // Channel 2 arrives first, at 100 Hz; channel 0 at 10 Hz; channel 1 at 20 Hz.
    for k in 0..40i64 {
        let now = 10 * k;
        l.add(2, k as u32, now);
        if k % 5 == 0 {
            l.add(1, k as u32, now + 1);
        }
        if k % 10 == 0 {
            l.add(0, k as u32, now + 2);
        }
    }
    let hz = |ch| l.sync.policy().rate_hz(ch).unwrap();
    approx::assert_abs_diff_eq!(hz(2), 100.0, epsilon = 1.0);
    approx::assert_abs_diff_eq!(hz(1), 20.0, epsilon = 1.0);
    approx::assert_abs_diff_eq!(hz(0), 10.0, epsilon = 1.0);
    // The fastest channel leads: one set per channel-2 message once all started.
    assert!(l.count >= 35, "{}", l.count);
}

/// `reset` drops every held message as `reset`, counted, and the policy
/// starts over: nothing from before the reset completes a set.
#[test]
fn epsilon_reset_drops_everything_held() {
    use stamp_sync::{ApproximateEpsilonTime, DropReason, Duration, DynSynchronizer, Event, Stamp};
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let policy = ApproximateEpsilonTime::new(5, Duration::from_millis(1)).unwrap();
    let dropped: std::sync::Arc<std::sync::Mutex<Vec<(usize, DropReason)>>> = Default::default();
    let sink = dropped.clone();
    let mut sync = DynSynchronizer::builder(2, policy)
        .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.reason)))
        .build()
        .unwrap();
    for t in [10, 20, 30] {
        assert_eq!(sync.push(0, ms(t)).unwrap().count(), 0);
    }
    sync.reset();
    assert_eq!(*dropped.lock().unwrap(), vec![(0, DropReason::Reset); 3]);
    assert_eq!(sync.stats().channels[0].dropped_for(DropReason::Reset), 3);
    let sets = |events: &mut dyn Iterator<Item = Event<_, _>>| {
        events.filter(|e| matches!(e, Event::Set(_))).count()
    };
    // The held 10 ms message is gone: channel 1's 10 ms finds no partner.
    assert_eq!(sets(&mut sync.push(1, ms(10)).unwrap()), 0);
    assert_eq!(sets(&mut sync.push(0, ms(10)).unwrap()), 1);
}
