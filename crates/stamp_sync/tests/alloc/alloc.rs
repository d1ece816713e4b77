//! Zero heap allocations per message in steady state, proven with a
//! counting global allocator.
//!
//! Each check builds a synchronizer, warms it up on the first part of a
//! trace (so every lazily grown buffer has reached its size), then counts
//! the allocations made while feeding the rest: the typed [`Synchronizer`]
//! must make none, for ApproximateTime, ExactTime and ApproximateEpsilonTime
//! alike. The [`DynSynchronizer`] hands each set to the user as a `DynSet`,
//! inline up to 9 channels: no allocation there either, and exactly one
//! per set beyond.
//!
//! The counter is per thread, so tests running in parallel do not disturb
//! each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use stamp_sync::{
    ApproximateEpsilonTime, ApproximateTime, Duration, DynSynchronizer, Event, ExactTime, Latched,
    LatestTime, Policy, Stamp, Stamped, Synchronizer,
};

use crate::allocs;

/// A message with a payload but no heap data of its own.
#[derive(Clone, Debug, PartialEq)]
struct Msg {
    stamp: Stamp,
    data: [f64; 4],
}

impl Stamped for Msg {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

fn msg(stamp: Stamp) -> Msg {
    Msg {
        stamp,
        data: [1.0; 4],
    }
}

/// xorshift64: deterministic, no dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `(channel, stamp)` in arrival order. `exact`: every channel shares the
/// stamps of a 30 Hz clock, 5% missing, arrival jittered by up to 20 ms
/// (so sets interleave, partial sets are cleared, queues overflow).
/// Otherwise channels run at different rates with stamp jitter, 2% missing.
fn trace(channels: usize, count: usize, exact: bool, seed: u64) -> Vec<(usize, Stamp)> {
    let mut rng = Rng(seed);
    let mut evs: Vec<(i64, usize, i64)> = Vec::with_capacity(count + channels);
    if exact {
        let period = 33_333_333;
        let mut k = 0i64;
        while evs.len() < count {
            for ch in 0..channels {
                if rng.below(100) < 5 {
                    continue;
                }
                let stamp = k * period;
                evs.push((stamp + rng.below(20_000_000) as i64, ch, stamp));
            }
            k += 1;
        }
    } else {
        let rates = [10, 15, 20, 30, 50, 100];
        for ch in 0..channels {
            let period = 1_000_000_000 / rates[rng.below(6) as usize];
            let per = count / channels + 1;
            let mut last = 0;
            for k in 0..per as i64 {
                let jitter = rng.below(period as u64 / 5) as i64 - period / 10;
                let stamp = k * period + jitter;
                if rng.below(100) < 2 {
                    continue;
                }
                last = (stamp + 1_000_000 + rng.below(14_000_000) as i64).max(last + 1);
                evs.push((last, ch, stamp));
            }
        }
    }
    evs.sort();
    evs.truncate(count);
    evs.into_iter()
        .map(|(_, ch, s)| (ch, Stamp::from_nanos(s)))
        .collect()
}

const WARM: usize = 20_000;
const COUNT: usize = 200_000;

/// Feeds `trace` to a 3-channel typed synchronizer, once with a drop
/// callback (drops become events) and once without (drops only counted);
/// returns per run (allocations after warm-up, sets after warm-up, drops
/// after warm-up).
fn typed3<P>(policy: P, trace: &[(usize, Stamp)]) -> [(u64, u64, u64); 2]
where
    P: Policy<<(Msg, Msg, Msg) as stamp_sync::driver::Messages>::Queues> + Clone,
{
    [true, false].map(|drop_callback| typed3_run(policy.clone(), trace, drop_callback))
}

fn typed3_run<P>(policy: P, trace: &[(usize, Stamp)], drop_callback: bool) -> (u64, u64, u64)
where
    P: Policy<<(Msg, Msg, Msg) as stamp_sync::driver::Messages>::Queues>,
{
    let sets = Arc::new(AtomicU64::new(0));
    let s = sets.clone();
    let mut builder = Synchronizer::<(Msg, Msg, Msg), _>::builder(policy).on_set(move |set| {
        std::hint::black_box(&set);
        s.fetch_add(1, Ordering::Relaxed);
    });
    if drop_callback {
        builder = builder.on_drop(move |m| {
            std::hint::black_box(&m);
        });
    }
    let mut sync = builder.build().unwrap();
    let feed = |sync: &mut Synchronizer<(Msg, Msg, Msg), P>, part: &[(usize, Stamp)]| {
        for &(ch, t) in part {
            match ch {
                0 => sync.add::<0>(msg(t)),
                1 => sync.add::<1>(msg(t)),
                _ => sync.add::<2>(msg(t)),
            };
        }
    };
    feed(&mut sync, &trace[..WARM]);
    let (s0, d0) = (sets.load(Ordering::Relaxed), sync.stats().dropped_total());
    let before = allocs();
    feed(&mut sync, &trace[WARM..]);
    let n = allocs() - before;
    (
        n,
        sets.load(Ordering::Relaxed) - s0,
        sync.stats().dropped_total() - d0,
    )
}

#[test]
fn approximate_time_allocates_nothing_per_message() {
    for q in [1, 3, 10, 100] {
        let t = trace(3, COUNT, false, 11 + q as u64);
        for (n, sets, drops) in typed3(ApproximateTime::new(q).unwrap(), &t) {
            assert!(
                sets > 1000 && drops > 0,
                "q={q}: a poor trace ({sets} sets, {drops} drops)"
            );
            assert_eq!(
                n, 0,
                "ApproximateTime q={q}: {n} allocations in {sets} sets"
            );
        }
    }
    // With a max interval and lower bounds: the other branches.
    let p = ApproximateTime::builder()
        .queue_size(10)
        .max_interval(Duration::from_millis(30))
        .lower_bound(0, Duration::from_millis(5))
        .build()
        .unwrap();
    let t = trace(3, COUNT, false, 5);
    for (n, sets, _) in typed3(p, &t) {
        assert!(sets > 1000);
        assert_eq!(n, 0, "ApproximateTime with options: {n} allocations");
    }
}

#[test]
fn exact_time_allocates_nothing_per_message() {
    for q in [1, 3, 10, 100] {
        let t = trace(3, COUNT, true, 7 + q as u64);
        for (n, sets, drops) in typed3(ExactTime::new(q).unwrap(), &t) {
            assert!(
                sets > 1000 && drops > 0,
                "q={q}: a poor trace ({sets} sets, {drops} drops)"
            );
            assert_eq!(n, 0, "ExactTime q={q}: {n} allocations in {sets} sets");
        }
    }
}

#[test]
fn epsilon_time_allocates_nothing_per_message() {
    for q in [1, 10, 100] {
        let t = trace(3, COUNT, false, 3 + q as u64);
        let p = ApproximateEpsilonTime::new(q, Duration::from_millis(20)).unwrap();
        for (n, sets, drops) in typed3(p, &t) {
            assert!(
                sets > 1000 && drops > 0,
                "q={q}: a poor trace ({sets} sets, {drops} drops)"
            );
            assert_eq!(n, 0, "Epsilon q={q}: {n} allocations in {sets} sets");
        }
    }
}

#[test]
fn latched_adapter_allocates_nothing_per_message() {
    // Channel 2 latched: its messages complete the sets of channels 0 and
    // 1; sets with no latched message at or before them are dropped.
    let t = trace(3, COUNT, false, 41);
    let p = Latched::new(ApproximateTime::new(10).unwrap()).channel(2);
    for (n, sets, drops) in typed3(p, &t) {
        assert!(sets > 1000 && drops > 0, "{sets} sets, {drops} drops");
        assert_eq!(
            n, 0,
            "Latched<ApproximateTime>: {n} allocations in {sets} sets"
        );
    }
    let t = trace(3, COUNT, true, 43);
    let p = Latched::new(ExactTime::new(10).unwrap())
        .channel(0)
        .depth(3);
    for (n, sets, drops) in typed3(p, &t) {
        assert!(sets > 1000 && drops > 0, "{sets} sets, {drops} drops");
        assert_eq!(n, 0, "Latched<ExactTime>: {n} allocations in {sets} sets");
    }
}

#[test]
fn a_replaced_policy_allocates_nothing_per_message() {
    // The queues grow once, at the replacement, for the bigger queue:
    // none of the messages after it allocates.
    let t = trace(3, COUNT, false, 47);
    let mut sync = Synchronizer::<(Msg, Msg, Msg), _>::builder(ApproximateTime::new(2).unwrap())
        .on_drop(|d| {
            std::hint::black_box(&d);
        })
        .build()
        .unwrap();
    let feed = |sync: &mut Synchronizer<(Msg, Msg, Msg), ApproximateTime>,
                part: &[(usize, Stamp)]| {
        for &(ch, t) in part {
            match ch {
                0 => sync.add::<0>(msg(t)),
                1 => sync.add::<1>(msg(t)),
                _ => sync.add::<2>(msg(t)),
            };
        }
    };
    feed(&mut sync, &t[..WARM]);
    sync.replace_policy(ApproximateTime::new(200).unwrap())
        .unwrap();
    let before = allocs();
    feed(&mut sync, &t[WARM..]);
    assert_eq!(allocs() - before, 0);
    assert!(sync.stats().sets > 1000);
}

/// The dynamic synchronizer: no allocation per message; a set is inline up
/// to `INLINE_CHANNELS` channels and one allocation beyond.
fn dynamic<P: Policy<stamp_sync::driver::dynamic::VecQueues<Msg>>>(
    channels: usize,
    policy: P,
    trace: &[(usize, Stamp)],
) -> (u64, u64) {
    let mut sync = DynSynchronizer::builder(channels, policy)
        .on_set(|s| {
            std::hint::black_box(&s);
        })
        .on_drop(|d| {
            std::hint::black_box(&d);
        })
        .build()
        .unwrap();
    let feed = |sync: &mut DynSynchronizer<Msg, P>, part: &[(usize, Stamp)]| {
        for &(ch, t) in part {
            sync.add(ch, msg(t)).unwrap();
        }
    };
    feed(&mut sync, &trace[..WARM]);
    let before = allocs();
    let s0 = sets_of(&sync);
    feed(&mut sync, &trace[WARM..]);
    (allocs() - before, sets_of(&sync) - s0)
}

fn sets_of<M, P>(sync: &DynSynchronizer<M, P>) -> u64
where
    P: Policy<stamp_sync::driver::dynamic::VecQueues<M>>,
{
    sync.stats().sets
}

#[test]
fn dyn_synchronizer_allocates_only_for_sets_wider_than_inline() {
    use stamp_sync::driver::dynamic::INLINE_CHANNELS;
    for channels in [2, 5, 9, 12] {
        let per_set = u64::from(channels > INLINE_CHANNELS);
        let t = trace(channels, COUNT, false, 21 + channels as u64);
        let (n, sets) = dynamic(channels, ApproximateTime::new(10).unwrap(), &t);
        assert!(sets > 100, "N={channels}: {sets} sets");
        assert_eq!(n, sets * per_set, "Dyn ApproximateTime N={channels}");

        let t = trace(channels, COUNT, true, 31 + channels as u64);
        let (n, sets) = dynamic(channels, ExactTime::new(10).unwrap(), &t);
        assert!(sets > 100, "N={channels}: {sets} sets");
        assert_eq!(n, sets * per_set, "Dyn ExactTime N={channels}");
    }
}

#[test]
fn a_replaced_policy_allocates_nothing_per_message_in_the_dyn_synchronizer() {
    // As for the typed synchronizer: the queues grow at the replacement.
    use stamp_sync::driver::dynamic::VecQueues;
    use stamp_sync::policy::Store;
    let queues = VecQueues::<Msg>::new(3, 4);
    assert_eq!(queues.channels(), 3);
    let t = trace(3, COUNT, false, 53);
    let dropped = Arc::new(AtomicU64::new(0));
    let count = dropped.clone();
    let mut sync = DynSynchronizer::builder(3, ApproximateTime::new(2).unwrap())
        .on_drop(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let feed = |sync: &mut DynSynchronizer<Msg, ApproximateTime>, part: &[(usize, Stamp)]| {
        for &(ch, t) in part {
            for e in sync.push(ch, msg(t)).unwrap() {
                std::hint::black_box(&e);
            }
        }
    };
    feed(&mut sync, &t[..WARM]);
    let before = dropped.load(Ordering::Relaxed);
    sync.replace_policy(ApproximateTime::new(200).unwrap())
        .unwrap();
    assert!(
        dropped.load(Ordering::Relaxed) > before,
        "the old queues are dropped at the replacement"
    );
    let before = allocs();
    feed(&mut sync, &t[WARM..]);
    assert_eq!(allocs() - before, 0);
    assert!(sync.stats().sets > 1000);
}

/// LatestTime holds two messages of a channel inside a step (the held one
/// and its replacement): its queues are sized for that at construction, so
/// nothing is allocated from the first message on.
#[test]
fn latest_time_allocates_nothing_from_the_first_message() {
    let mut sync = DynSynchronizer::new(3, LatestTime::new()).unwrap();
    let before = allocs();
    let (mut sets, mut drops) = (0, 0);
    for k in 0..300 {
        // Channel 0 at 100 Hz leads; channels 1 and 2 at 20 Hz repeat.
        // Channel 2 sends twice per tick: the first is replaced unused.
        let t = ms(10 * k);
        let pushes = [(0, t), (1, t), (2, t), (2, t)];
        let n = if k % 5 == 0 { 4 } else { 1 };
        for &(ch, t) in &pushes[..n] {
            for e in sync.push_stamped(ch, msg(t), t, t).unwrap() {
                match e {
                    Event::Set(_) => sets += 1,
                    Event::Drop(_) => drops += 1,
                    _ => {}
                }
            }
        }
    }
    let n = allocs() - before;
    assert!(sets >= 290 && drops >= 59, "{sets} sets, {drops} drops");
    assert_eq!(n, 0, "LatestTime: {n} allocations in {sets} sets");
}

/// The first step that drops everything held allocates nothing either:
/// the event buffer is reserved for a policy's worst step at construction
/// (`max_events_per_add`), not grown on the way. Eight of nine channels
/// hold 10 messages each; the ninth's message then drops them all (Epsilon:
/// none within epsilon of it; Approximate: all older than its max interval)
/// or completes the newest stamp and drops the older partial sets (Exact).
#[test]
fn the_worst_step_after_construction_allocates_nothing() {
    fn run<P: Policy<stamp_sync::driver::dynamic::VecQueues<Msg>>>(
        name: &str,
        policy: P,
        last: Stamp,
    ) {
        worst_step_allocates_nothing(name, DynSynchronizer::new(9, policy).unwrap(), last, 73);
    }
    run(
        "epsilon",
        ApproximateEpsilonTime::new(10, Duration::from_millis(1)).unwrap(),
        Stamp::from_nanos(10_000_000_000),
    );
    run(
        "exact",
        ExactTime::new(10).unwrap(),
        Stamp::from_nanos(90_000_000),
    );
    run(
        "approximate",
        ApproximateTime::builder()
            .queue_size(10)
            .max_interval(Duration::from_millis(1))
            .build()
            .unwrap(),
        Stamp::from_nanos(10_000_000_000),
    );
}

/// The same worst step through the latched adapter (channel 7 latched): the
/// set and the 63 partial sets of the seven other channels it drops.
#[test]
fn the_worst_step_of_a_latched_policy_allocates_nothing() {
    let policy = Latched::new(ExactTime::new(10).unwrap()).channel(7);
    let sync = DynSynchronizer::new(9, policy).unwrap();
    worst_step_allocates_nothing("latched exact", sync, Stamp::from_nanos(90_000_000), 64);
}

/// A latched channel holds one more than its depth inside a step, and the
/// adapter's scratch is sized at construction: nothing is allocated from
/// the first message on, overflow and sets included.
#[test]
fn a_latched_policy_allocates_nothing_from_the_first_message() {
    let policy = Latched::new(ExactTime::new(3).unwrap())
        .channel(2)
        .depth(20);
    let mut sync = DynSynchronizer::new(3, policy).unwrap();
    let before = allocs();
    let mut events = 0;
    for k in 0..30 {
        events += sync.push(2, msg(ms(k))).unwrap().count();
    }
    for k in 30..60 {
        events += sync.push(0, msg(ms(k))).unwrap().count();
        events += sync.push(1, msg(ms(k))).unwrap().count();
    }
    let n = allocs() - before;
    // 10 latched overflows, 30 sets.
    assert_eq!(events, 40);
    assert_eq!(n, 0, "Latched: {n} allocations in {events} events");
}

/// The same worst step after `replace_policy` grew the queues from 1 to 10:
/// the output buffer grew with them.
#[test]
fn the_worst_step_after_a_replaced_policy_allocates_nothing() {
    let mut sync = DynSynchronizer::new(9, ExactTime::new(1).unwrap()).unwrap();
    sync.replace_policy(ExactTime::new(10).unwrap()).unwrap();
    worst_step_allocates_nothing("replaced exact", sync, ms(90), 73);
}

/// Fills channels 0..8 of a 9-channel synchronizer with 10 stamps each
/// (10 ms apart), then adds `last` on channel 8: at least 73 events, and
/// no allocation.
fn worst_step_allocates_nothing<P: Policy<stamp_sync::driver::dynamic::VecQueues<Msg>>>(
    name: &str,
    mut sync: DynSynchronizer<Msg, P>,
    last: Stamp,
    min_events: usize,
) {
    for k in 0..10 {
        for ch in 0..8 {
            assert_eq!(sync.push(ch, msg(ms(10 * k))).unwrap().count(), 0);
        }
    }
    let before = allocs();
    let events = sync.push(8, msg(last)).unwrap().count();
    let n = allocs() - before;
    assert!(events >= min_events, "{name}: {events} events");
    // A set of 9 is inline (`INLINE_CHANNELS`): no allocation for it.
    assert_eq!(n, 0, "{name}: {events} events");
}

/// The follower policy: a loop that gives each set back
/// (`FollowSynchronizer::recycle`) allocates nothing once the queues and
/// the recycled vectors are warm; one that keeps its sets allocates for
/// each (the followers' vector, and the ranged messages').
#[test]
fn follow_allocates_nothing_per_message_when_sets_are_recycled() {
    use stamp_sync::driver::follow::FollowSynchronizer;
    use stamp_sync::policy::{FollowConfig, Mode};
    let config = FollowConfig::new(0)
        .follow(1, Mode::Ranged)
        .follow(2, Mode::Before)
        .follow(3, Mode::Bracket)
        .queue_size(200);
    // IMU (1) every ms, frames (0) every 10, odometry (2) every 20, GPS
    // (3) every 100; `recycle` says whether sets go back. Returns the sets
    // kept and the allocations made.
    fn run(
        sync: &mut FollowSynchronizer<Msg>,
        ks: std::ops::Range<i64>,
        recycle: bool,
    ) -> (u64, u64) {
        // GPS every 100 ms holds the frames back (bracket): 10 sets at once.
        let mut sets = Vec::with_capacity(16);
        let mut kept = Vec::with_capacity(2_000);
        let mut drops = 0;
        let before = allocs();
        for k in ks {
            let t = ms(k);
            for ch in 0..4 {
                let due = [k % 10 == 0, true, k % 20 == 0, k % 100 == 0][ch];
                if !due {
                    continue;
                }
                for e in sync.push(ch, msg(t), t) {
                    match e {
                        Event::Set(s) => sets.push(s),
                        Event::Drop(_) => drops += 1,
                        _ => {}
                    }
                }
                for s in sets.drain(..) {
                    if recycle {
                        sync.recycle(s);
                    } else {
                        kept.push(s);
                    }
                }
            }
        }
        let n = allocs() - before;
        // Every odometry message serves two frames, every GPS fix ten.
        assert_eq!(drops, 0);
        (kept.len() as u64, n)
    }
    let mut sync = FollowSynchronizer::<Msg>::new(4, &config).unwrap();
    run(&mut sync, 0..1_000, true);
    let sets = sync.stats().sets;
    let (_, n) = run(&mut sync, 1_000..11_000, true);
    assert_eq!(sync.stats().sets - sets, 1_000);
    assert_eq!(n, 0, "follow, recycled: {n} allocations in 1000 sets");
    let (kept, n) = run(&mut sync, 11_000..12_000, false);
    assert_eq!(kept, 100);
    // Each kept set: one followers' vector and one ranged vector, but for
    // the first ten, which reuse the ten pairs recycled last.
    assert_eq!(n, 2 * (100 - 10), "follow, kept: {n} allocations");
}
