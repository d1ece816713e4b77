//! No allocation per message in steady state: SlopTime in a typed
//! synchronizer, and the Cache, TimeSequencer and InputAligner, after a
//! warm-up that fills their buffers. Counted per thread.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync::filters::{Cache, InputAligner, TimeSequencer};
use stamp_sync::{Duration, SlopTime, Stamp, Synchronizer};

use crate::allocs;

/// Jittered stamps of channel `ch` at step `k` (1 ms period).
fn stamp(k: i64, ch: i64) -> Stamp {
    Stamp::from_nanos(k * 1_000_000 + ((k * 7 + ch * 3) % 5) * 100_000)
}

#[test]
fn slop_time_does_not_allocate_per_message() {
    let policy = SlopTime::new(10, Duration::from_micros(700)).unwrap();
    let mut sync = Synchronizer::<(Stamp, Stamp, Stamp), _>::new(policy).unwrap();
    let mut sets = 0;
    let mut feed = |k: i64, sets: &mut usize| {
        // Channel 2 misses every 4th message: overflow drops, replacements.
        *sets += sync.add::<0>(stamp(k, 0));
        *sets += sync.add::<1>(stamp(k - 1, 1));
        *sets += sync.add::<1>(stamp(k - 1, 1)); // same stamp again: replaced
        if k % 4 != 0 {
            *sets += sync.add::<2>(stamp(k, 2));
        }
    };
    for k in 0..1_000 {
        feed(k, &mut sets);
    }
    let before = allocs();
    for k in 1_000..21_000 {
        feed(k, &mut sets);
    }
    assert_eq!(allocs() - before, 0, "allocations in 20k steps");
    assert!(sets > 10_000, "{sets} sets");
}

/// The lanes hold one stamp more than the queue inside a step (before the
/// overflow drop): sized at construction, so nothing is allocated from the
/// first message on.
#[test]
fn slop_time_allocates_nothing_from_the_first_message() {
    let policy = SlopTime::new(3, Duration::from_micros(700)).unwrap();
    let mut sync = Synchronizer::<(Stamp, Stamp, Stamp), _>::new(policy).unwrap();
    let before = allocs();
    let mut sets = 0;
    // Channel 2 is silent for the first 20 steps: channels 0 and 1 overflow.
    for k in 0..200 {
        sets += sync.add::<0>(stamp(k, 0));
        sets += sync.add::<1>(stamp(k, 1));
        if k >= 20 {
            sets += sync.add::<2>(stamp(k, 2));
        }
    }
    assert_eq!(allocs() - before, 0, "allocations in {sets} sets");
    assert!(sets > 150, "{sets} sets");
    assert!(sync.stats().dropped_total() >= 30);
}

#[test]
fn filters_do_not_allocate_per_message() {
    let mut cache = Cache::new(50).unwrap();
    let mut seq = TimeSequencer::new(Duration::from_millis(5), 20).unwrap();
    let mut aligner: InputAligner<Stamp> = InputAligner::builder(3)
        .periods(Duration::from_millis(1))
        .capacity(50)
        .build()
        .unwrap();
    let mut out = 0usize;
    let mut step = |k: i64, out: &mut usize| {
        let t = stamp(k, 0);
        cache.add(t);
        *out += cache.interval(stamp(k - 10, 0), t).count();
        seq.add(stamp(k - (k % 3), 1));
        *out += seq.release(t).count();
        for ch in 0..3 {
            if ch != 2 || k % 50 < 40 {
                aligner.add(ch, stamp(k - ch as i64, ch as i64)).unwrap();
            }
        }
        *out += aligner.dispatch().count();
    };
    for k in 0..1_000 {
        step(k, &mut out);
    }
    let before = allocs();
    for k in 1_000..21_000 {
        step(k, &mut out);
    }
    assert_eq!(allocs() - before, 0, "allocations in 20k steps");
    assert!(out > 20_000);
}
