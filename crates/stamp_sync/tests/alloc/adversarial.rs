//! Adversarial traces, run through ExactTime, ApproximateTime,
//! ApproximateEpsilonTime (and LatestTime where meaningful). Each test pins
//! what the policy does; `docs/adversarial.md` has the same in prose.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use stamp_sync::driver::dynamic::VecQueues;
use stamp_sync::trace::TraceMsg;
use stamp_sync::{
    ApproximateEpsilonTime, ApproximateTime, DropReason, Duration, DynSynchronizer, Event,
    ExactTime, LatestTime, Policy, Stamp,
};

/// Counts live heap bytes per thread, so parallel tests do not disturb
/// each other's numbers.
use crate::live;

/// What a run produced.
#[derive(Debug, Default)]
struct Outcome {
    /// Stamps of each emitted set.
    sets: Vec<Vec<i64>>,
    /// (channel, stamp, reason) of each drop.
    drops: Vec<(usize, i64, DropReason)>,
    /// Largest per-channel queue seen.
    max_queued: usize,
    /// Queued at the end.
    queued: usize,
    /// Largest heap growth (bytes) of the synchronizer after the first
    /// 10k messages, sampled every 100k.
    live_growth: isize,
}

impl Outcome {
    /// Heap held by the outcome's own vectors.
    fn own_bytes(&self) -> isize {
        (self.sets.capacity() * size_of::<Vec<i64>>()
            + self.sets.iter().map(|s| s.capacity() * 8).sum::<usize>()
            + self.drops.capacity() * size_of::<(usize, i64, DropReason)>()) as isize
    }
}

fn run<P: Policy<VecQueues<TraceMsg>> + 'static>(
    n: usize,
    policy: P,
    msgs: &[(usize, i64)],
) -> Outcome {
    let policy_reemits = std::any::TypeId::of::<P>() == std::any::TypeId::of::<LatestTime>();
    let mut sync = DynSynchronizer::new(n, policy).unwrap();
    let mut out = Outcome::default();
    let mut live_at_10k = 0;
    for (k, &(ch, s)) in msgs.iter().enumerate() {
        let m = TraceMsg {
            index: k,
            channel: ch,
            stamp: Stamp::from_nanos(s),
        };
        for e in sync.push_stamped(ch, m, m.stamp, m.stamp).unwrap() {
            match e {
                Event::Set(set) => out
                    .sets
                    .push(set.iter().map(|m| m.stamp.as_nanos()).collect()),
                Event::Drop(d) => out.drops.push((d.channel, d.stamp.as_nanos(), d.reason)),
                _ => {}
            }
        }
        if k == 10_000 {
            live_at_10k = live();
        }
        if k > 10_000 && k % 100_000 == 0 {
            // The synchronizer's heap stays where it was after 10k messages
            // (only the outcome's own vectors grow, and those are counted
            // too: allow their growth, measured separately below).
            out.live_growth = out.live_growth.max(live() - live_at_10k - out.own_bytes());
        }
        for c in 0..n {
            out.max_queued = out.max_queued.max(sync.queued(c));
        }
    }
    out.queued = (0..n).map(|c| sync.queued(c)).sum();
    // Accounting holds for every policy that emits each message once
    // (LatestTime re-emits held messages by design).
    if !policy_reemits {
        let emitted: usize = out.sets.iter().map(Vec::len).sum();
        assert_eq!(
            emitted + out.drops.len() + out.queued,
            msgs.len(),
            "accounting"
        );
    }
    out
}

fn exact(q: usize) -> ExactTime {
    ExactTime::new(q).unwrap()
}
fn approx(q: usize) -> ApproximateTime {
    ApproximateTime::new(q).unwrap()
}
fn eps(q: usize, e: i64) -> ApproximateEpsilonTime {
    ApproximateEpsilonTime::new(q, Duration::from_nanos(e)).unwrap()
}

/// **Extremes** — stamps `i64::MIN`, `0`, `i64::MAX` on both channels.
/// Nothing overflows (interval arithmetic saturates). Every policy pairs the
/// equal extremes: three sets. With the extremes crossed
/// (`0:MIN, 1:MAX, 0:MAX, 1:MIN`): ExactTime and Epsilon emit
/// `[MAX, MAX]` and drop/keep the rest by their usual rules; ApproximateTime
/// emits `[MAX, MAX]`, drops `0:MIN` as `NotChosen` and keeps `1:MIN`
/// queued; LatestTime emits `[MAX, MAX]` and drops `0:MIN` as `Replaced`.
#[test]
fn extreme_stamps() {
    let msgs = [
        (0, i64::MIN),
        (1, i64::MIN),
        (0, 0),
        (1, 0),
        (0, i64::MAX),
        (1, i64::MAX),
    ];
    let want = vec![vec![i64::MIN; 2], vec![0, 0], vec![i64::MAX; 2]];
    assert_eq!(run(2, exact(5), &msgs).sets, want);
    assert_eq!(run(2, approx(5), &msgs).sets, want);
    assert_eq!(run(2, eps(5, 10), &msgs).sets, want);

    let far = [(0, i64::MIN), (1, i64::MAX), (0, i64::MAX), (1, i64::MIN)];
    let e = run(2, exact(5), &far);
    assert_eq!(e.sets, vec![vec![i64::MAX; 2]], "{e:?}");
    let p = run(2, eps(5, 1_000), &far);
    assert_eq!(p.sets, vec![vec![i64::MAX; 2]], "{p:?}");
    let a = run(2, approx(5), &far);
    assert_eq!(a.sets, vec![vec![i64::MAX; 2]]);
    assert_eq!(a.drops, vec![(0, i64::MIN, DropReason::NotChosen)]);
    assert_eq!(a.queued, 1);
    let l = run(2, LatestTime::new(), &far);
    assert_eq!(l.sets, vec![vec![i64::MAX; 2]]);
    assert_eq!(l.drops, vec![(0, i64::MIN, DropReason::Replaced)]);
}

/// **Backwards on one channel** — channel 0 sends 10, 20, 5, 30; channel 1
/// sends 5, 20, 30. ExactTime matches by stamp whatever the order:
/// `[5,5] [20,20] [30,30]`, and drops 10 as `OlderThanLastSet` once 20 is
/// out. ApproximateTime assumes per-channel order (like upstream): it
/// pairs the head 10 with 5 (`[10,5]`), drops the late 5 as `NotChosen`,
/// then `[20,20] [30,30]`. Epsilon (1 ns) drops what has no partner within
/// epsilon at the heads (`NoMatch`: 1:5, 0:10, 0:5) and emits
/// `[20,20] [30,30]`.
#[test]
fn backwards_on_one_channel() {
    let msgs = [(0, 10), (0, 20), (0, 5), (1, 5), (1, 20), (0, 30), (1, 30)];
    let e = run(2, exact(5), &msgs);
    assert_eq!(e.sets, vec![vec![5, 5], vec![20, 20], vec![30, 30]]);
    assert_eq!(e.drops, vec![(0, 10, DropReason::OlderThanLastSet)]);
    let a = run(2, approx(5), &msgs);
    assert_eq!(a.sets, vec![vec![10, 5], vec![20, 20], vec![30, 30]]);
    assert_eq!(a.drops, vec![(0, 5, DropReason::NotChosen)]);
    let p = run(2, eps(5, 1), &msgs);
    assert_eq!(p.sets, vec![vec![20, 20], vec![30, 30]]);
    assert_eq!(
        p.drops,
        vec![
            (1, 5, DropReason::NoMatch),
            (0, 10, DropReason::NoMatch),
            (0, 5, DropReason::NoMatch)
        ]
    );
}

/// **Duplicate stamps** — three 10s on channel 0, then two on channel 1.
/// ExactTime keys by stamp: a repeat replaces the earlier message
/// (`Replaced`, twice), one set `[10,10]`, and the second 10 on channel 1
/// stays queued (10 is not newer than the last set, but ExactTime only
/// drops at or before the last set when a newer set goes out).
/// ApproximateTime and Epsilon treat duplicates as distinct messages: two
/// sets `[10,10]`, the third 10 on channel 0 stays queued. LatestTime
/// replaces (`Replaced`).
#[test]
fn duplicate_stamps() {
    let msgs = [(0, 10), (0, 10), (0, 10), (1, 10), (1, 10)];
    let e = run(2, exact(5), &msgs);
    assert_eq!(e.sets, vec![vec![10, 10]]);
    assert_eq!(e.drops, vec![(0, 10, DropReason::Replaced); 2]);
    assert_eq!(e.queued, 1);
    for o in [run(2, approx(5), &msgs), run(2, eps(5, 0), &msgs)] {
        assert_eq!(o.sets, vec![vec![10, 10]; 2]);
        assert!(o.drops.is_empty());
        assert_eq!(o.queued, 1);
    }
    let l = run(2, LatestTime::new(), &msgs);
    assert!(l.drops.iter().all(|d| d.2 == DropReason::Replaced), "{l:?}");
}

/// Messages on the busy channels while one channel stays silent. 1 M runs
/// in about a second in a debug build here.
const SILENT_N: usize = 1_000_000;

/// **One channel silent** for 1 M messages on the other two (queue 10).
/// Nothing is emitted; each busy channel holds exactly `queue_size`
/// messages and every older one is dropped as `QueueOverflow` (all three
/// policies). The synchronizer's heap does not grow after the first 10k
/// messages (counting allocator, per thread). LatestTime holds one message
/// per channel and drops the replaced ones (`Replaced`).
#[test]
fn silent_channel_memory_flat() {
    // The counter does count this thread's heap.
    let before = live();
    let probe = vec![0u8; 4096];
    assert!(live() - before >= 4096);
    drop(probe);
    let msgs: Vec<(usize, i64)> = (0..SILENT_N).map(|i| (i % 2, i as i64 / 2)).collect();
    for (name, out) in [
        ("exact", run(3, exact(10), &msgs)),
        ("approx", run(3, approx(10), &msgs)),
        ("eps", run(3, eps(10, 1_000), &msgs)),
    ] {
        assert!(out.sets.is_empty(), "{name}");
        assert_eq!(out.max_queued, 10, "{name}");
        assert_eq!(out.queued, 20, "{name}");
        assert_eq!(out.drops.len(), SILENT_N - 20, "{name}");
        assert!(
            out.drops.iter().all(|d| d.2 == DropReason::QueueOverflow),
            "{name}"
        );
        assert!(
            out.live_growth <= 0,
            "{name}: heap grew by {} bytes",
            out.live_growth
        );
    }
    let l = run(3, LatestTime::new(), &msgs);
    assert!(l.sets.is_empty());
    assert_eq!(l.max_queued, 1);
    assert_eq!(l.drops.len(), SILENT_N - 2);
    assert!(
        l.live_growth <= 0,
        "latest: heap grew by {} bytes",
        l.live_growth
    );
}

/// **queue_size 1** — `0:1, 0:2, 1:1, 1:2, 0:3, 1:3`. Each channel holds one
/// message. All three emit `[2,2] [3,3]` and lose both 1s: ExactTime as
/// `QueueOverflow` (evicting the oldest partial set), ApproximateTime as
/// `QueueOverflow` then `AfterOverflow`, Epsilon as `QueueOverflow` then
/// `NoMatch`.
#[test]
fn queue_size_one() {
    let msgs = [(0, 1), (0, 2), (1, 1), (1, 2), (0, 3), (1, 3)];
    let want = vec![vec![2, 2], vec![3, 3]];
    for (name, out, second) in [
        ("exact", run(2, exact(1), &msgs), DropReason::QueueOverflow),
        (
            "approx",
            run(2, approx(1), &msgs),
            DropReason::AfterOverflow,
        ),
        ("eps", run(2, eps(1, 0), &msgs), DropReason::NoMatch),
    ] {
        assert_eq!(out.sets, want, "{name}");
        assert_eq!(
            out.drops,
            vec![(0, 1, DropReason::QueueOverflow), (1, 1, second)],
            "{name}"
        );
        assert_eq!(out.max_queued, 1, "{name}");
    }
}

/// **N = 9, one slow channel** — channel 0 at 1 Hz, channels 1..8 at 1 kHz
/// for 5 s, all on the same ms grid, queue 10. Every policy emits one set
/// per slow message (t = 0, 1, ..., 4 s) because the fast queues still hold
/// the exact partner when the slow message arrives right after it. The
/// fast channels otherwise overflow: 39 880 drops in all, mostly
/// `QueueOverflow`, plus the fast messages older than each set, dropped
/// when it goes out (ExactTime `OlderThanLastSet`, ApproximateTime
/// `NotChosen`, Epsilon `NoMatch`). Each fast channel holds its last 10 at
/// the end.
#[test]
fn nine_channels_one_slow() {
    let mut msgs = Vec::new();
    for ms in 0..5_000i64 {
        let t = ms * 1_000_000;
        for ch in 1..9 {
            msgs.push((ch, t));
        }
        if ms % 1000 == 0 {
            msgs.push((0, t));
        }
    }
    for (name, out) in [
        ("exact", run(9, exact(10), &msgs)),
        ("approx", run(9, approx(10), &msgs)),
        ("eps", run(9, eps(10, 500_000), &msgs)),
    ] {
        let firsts: Vec<i64> = out.sets.iter().map(|s| s[0]).collect();
        assert_eq!(
            firsts,
            (0..5).map(|s| s * 1_000_000_000).collect::<Vec<_>>(),
            "{name}"
        );
        assert!(
            out.sets.iter().all(|s| s.iter().all(|&x| x == s[0])),
            "{name}"
        );
        assert_eq!(out.drops.len(), 39_880, "{name}");
        let mut reasons: Vec<DropReason> = out.drops.iter().map(|d| d.2).collect();
        reasons.dedup();
        reasons.sort();
        reasons.dedup();
        let other = match name {
            "exact" => DropReason::OlderThanLastSet,
            "approx" => DropReason::NotChosen,
            _ => DropReason::NoMatch,
        };
        assert_eq!(reasons, vec![DropReason::QueueOverflow, other], "{name}");
        assert_eq!(out.max_queued, 10, "{name}");
        assert_eq!(out.queued, 80, "{name}");
    }
}
