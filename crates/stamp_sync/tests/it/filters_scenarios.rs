//! The upstream message_filters scenarios for the filters and the Python
//! synchronizers, as data (reference: `scenarios.md` of the project's
//! reference notes, sections 6-10):
//! * Cache C1-C6 (`msg_cache_unittest.cpp`), T4 (`test_custom_time_getter.cpp`),
//!   the Python Cache P7-P8 (`test_message_filters_cache.py`, answered with
//!   this crate's C++ semantics and the Python equivalents);
//! * TimeSequencer S1-S3 (`time_sequencer_unittest.cpp`, `test_fuzz.cpp`),
//!   on an explicit clock instead of sleeps;
//! * InputAligner I1-I7 (`test_input_aligner.cpp`, rolling), I8 (the
//!   Python test's duplicate stamps), T5 (custom time getter);
//! * Python ApproximateTimeSynchronizer P1-P3 (`test_approxsync.py`) with
//!   [`SlopTime`], Python TimeSynchronizer P4-P6 (`directed.py`,
//!   `test_time_synchronizer.py`, 2025 semantics = C++) with [`ExactTime`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use stamp_sync::filters::{Cache, InputAligner, TimeSequencer};
use stamp_sync::{
    DropReason, Duration, DynSynchronizer, Event, ExactTime, SlopTime, Stamp, Stamped, Synchronizer,
};

fn sec(s: i64) -> Stamp {
    Stamp::from_nanos(s * 1_000_000_000)
}

fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

// ---------------------------------------------------------------------------
// Cache (C++ msg_cache_unittest.cpp): data = i, stamp = 10 i s.

#[derive(Clone, Debug, PartialEq)]
struct Data {
    stamp: Stamp,
    data: i64,
}

impl Stamped for Data {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

fn fill_easy(cache: &mut Cache<Data>, a: i64, b: i64) {
    for i in a..b {
        cache.add(Data {
            stamp: sec(10 * i),
            data: i,
        });
    }
}

fn data<'a>(it: impl Iterator<Item = &'a Data>) -> Vec<i64> {
    it.map(|d| d.data).collect()
}

#[test]
fn c1_empty_surrounding_interval() {
    let cache: Cache<Data> = Cache::new(10).unwrap();
    assert!(data(cache.surrounding_interval(sec(5), sec(9))).is_empty());
}

#[test]
fn c2_easy_interval() {
    let mut cache = Cache::new(10).unwrap();
    fill_easy(&mut cache, 0, 5);
    assert_eq!(data(cache.interval(sec(5), sec(35))), [1, 2, 3]);
    assert!(data(cache.interval(sec(55), sec(65))).is_empty());
    fill_easy(&mut cache, 5, 20); // keeps the last 10: 10..19
    assert!(data(cache.interval(sec(5), sec(35))).is_empty());
    assert_eq!(data(cache.iter()), (10..20).collect::<Vec<_>>());
}

#[test]
fn c3_easy_surrounding_interval() {
    let mut cache = Cache::new(10).unwrap();
    fill_easy(&mut cache, 1, 6);
    assert_eq!(
        data(cache.surrounding_interval(sec(15), sec(35))),
        [1, 2, 3, 4]
    );
    assert_eq!(
        data(cache.surrounding_interval(sec(0), sec(35))),
        [1, 2, 3, 4]
    );
    assert_eq!(data(cache.surrounding_interval(sec(35), sec(35))), [3, 4]);
    assert_eq!(data(cache.surrounding_interval(sec(55), sec(55))), [5]);
}

#[test]
fn c4_easy_unsorted() {
    let mut cache = Cache::new(10).unwrap();
    for (s, d) in [(10, 1), (30, 3), (70, 7), (5, 0), (20, 2)] {
        cache.add(Data {
            stamp: sec(s),
            data: d,
        });
    }
    assert_eq!(data(cache.interval(sec(3), sec(15))), [0, 1]);
    assert_eq!(data(cache.interval(sec(0), sec(80))), [0, 1, 2, 3, 7]);
}

#[test]
fn c5_easy_elem_before_after() {
    let mut cache = Cache::new(10).unwrap();
    fill_easy(&mut cache, 5, 10);
    assert_eq!(cache.elem_after(sec(85)).map(|d| d.data), Some(9));
    assert_eq!(cache.elem_before(sec(85)).map(|d| d.data), Some(8));
    assert_eq!(cache.elem_before(sec(45)), None);
}

/// A message event: the message and when it was received.
#[derive(Debug)]
struct Evt {
    stamp: Stamp,
    receipt: Stamp,
}

impl Stamped for Evt {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

#[test]
fn c6_event_in_event_out() {
    // c0 -> c1: what c0 passes on reaches c1 unchanged (same message,
    // same receipt time).
    let mut c0 = Cache::new(10).unwrap();
    let mut c1 = Cache::new(10).unwrap();
    let evt = Arc::new(Evt {
        stamp: sec(1),
        receipt: sec(4),
    });
    c0.add(Arc::clone(&evt));
    c1.add(Arc::clone(&evt));
    let seen = c1.newest().unwrap();
    assert!(Arc::ptr_eq(seen, &evt));
    assert_eq!(seen.receipt, sec(4));
    assert!(Arc::ptr_eq(c0.newest().unwrap(), seen));
}

/// A message with its own time fields: the custom time getter is its
/// `Stamped` impl.
struct Custom {
    sec: i32,
    nanosec: u32,
    data: i64,
}

impl Stamped for Custom {
    fn stamp(&self) -> Stamp {
        Stamp::from_ros(self.sec, self.nanosec)
    }
}

#[test]
fn t4_cache_with_a_custom_time_getter() {
    let mut cache = Cache::new(10).unwrap();
    for (s, d) in [(10, 1), (30, 3), (20, 2)] {
        cache.add(Custom {
            sec: s,
            nanosec: 0,
            data: d,
        });
    }
    let got: Vec<i64> = cache
        .surrounding_interval(sec(0), sec(100))
        .map(|m| m.data)
        .collect();
    assert_eq!(got, [1, 2, 3]);
    let got: Vec<i64> = cache.interval(sec(15), sec(35)).map(|m| m.data).collect();
    assert_eq!(got, [2, 3]);
}

#[test]
fn p7_python_cache_queries() {
    // Python Cache(sub, 5), stamps 0..4 s.
    let mut cache = Cache::new(5).unwrap();
    for s in 0..5 {
        cache.add(Data {
            stamp: sec(s),
            data: s,
        });
    }
    let half = |s: i64| Stamp::from_nanos(s * 1_000_000_000 + 500_000_000);
    assert_eq!(cache.interval(half(2), half(3)).len(), 1);
    assert_eq!(cache.interval(sec(2), sec(3)).len(), 2);
    assert_eq!(cache.interval(sec(0), sec(4)).len(), 5);
    // Python getElemAfterTime(0) is inclusive (>=) and answers msg@0; the
    // C++ query is strict. The Python answer is one nanosecond earlier.
    assert_eq!(cache.elem_after(sec(0)).map(|d| d.data), Some(1));
    let before = |t: Stamp| Stamp::from_nanos(t.as_nanos() - 1);
    assert_eq!(cache.elem_after(before(sec(0))).map(|d| d.data), Some(0));
    assert_eq!(cache.elem_before(half(3)).map(|d| d.data), Some(3));
    assert_eq!(cache.newest_stamp(), Some(sec(4)));
    assert_eq!(cache.oldest_stamp(), Some(sec(0)));
    cache.add(Data {
        stamp: sec(5),
        data: 5,
    });
    assert_eq!(cache.oldest_stamp(), Some(sec(1)));
}

#[test]
fn p8_python_cache_headerless() {
    // A headerless message cannot be `Stamped` by accident: it is cached
    // with the time it arrived, as Python's allow_headerless=True does.
    let now = sec(100);
    let mut cache: Cache<(Stamp, &str)> = Cache::new(5).unwrap();
    cache.add((now, "a"));
    assert_eq!(cache.elem_after(sec(0)).map(|m| m.1), Some("a"));
    let now_after_add = now + Duration::from_nanos(1);
    assert_eq!(cache.elem_after(now_after_add), None);
    let later = now + Duration::from_millis(1);
    cache.add((later, "b"));
    assert_eq!(cache.interval(sec(0), now).len(), 1);
    assert_eq!(
        cache.interval(sec(0), now + Duration::from_secs(2)).len(),
        2
    );
}

// ---------------------------------------------------------------------------
// TimeSequencer (time_sequencer_unittest.cpp, test_fuzz.cpp).

#[test]
fn s1_simple() {
    let now = sec(1_000);
    let mut seq = TimeSequencer::new(Duration::from_millis(250), 10).unwrap();
    assert!(seq.add(now).is_none());
    assert_eq!(seq.release(now + Duration::from_millis(100)).count(), 0);
    assert_eq!(seq.next_release(), Some(now + Duration::from_millis(250)));
    let after = now + Duration::from_millis(100) + Duration::from_millis(330);
    assert_eq!(seq.release(after).count(), 1);
    assert_eq!(seq.counts().released, 1);
}

#[test]
fn s2_event_in_event_out() {
    let t = sec(50);
    let mut seq = TimeSequencer::new(Duration::from_secs(1), 10).unwrap();
    let mut seq2 = TimeSequencer::new(Duration::from_secs(1), 10).unwrap();
    let evt = Arc::new(Evt {
        stamp: t,
        receipt: sec(4),
    });
    seq.add(Arc::clone(&evt));
    let now = t + Duration::from_secs(1);
    for e in seq.release(now) {
        assert!(seq2.add(e).is_none());
    }
    let out: Vec<Arc<Evt>> = seq2.release(now).collect();
    assert_eq!(out.len(), 1);
    assert!(Arc::ptr_eq(&out[0], &evt));
    assert_eq!(out[0].receipt, sec(4));
}

#[test]
fn s3_fuzz_sequencer() {
    // 5 s: a message stamped now every 50 ms; nothing is due at once, it
    // is exactly one message 10 ms later.
    let mut seq = TimeSequencer::new(Duration::from_millis(10), 10).unwrap();
    let mut now = sec(1_000);
    for _ in 0..100 {
        assert!(seq.add(now).is_none());
        assert_eq!(seq.release(now).count(), 0);
        assert_eq!(seq.release(now + Duration::from_millis(10)).count(), 1);
        now = now + Duration::from_millis(50);
    }
    assert_eq!(seq.counts().released, 100);
    assert_eq!(seq.counts().dropped_total(), 0);
}

// ---------------------------------------------------------------------------
// InputAligner (test_input_aligner.cpp). Payload = stamp in ms.

fn aligner(n: usize, timeout_ms: i64, period_ms: Option<i64>) -> InputAligner<Stamp> {
    let mut b = InputAligner::builder(n).timeout(Duration::from_millis(timeout_ms));
    if let Some(p) = period_ms {
        b = b.periods(Duration::from_millis(p));
    }
    b.build().unwrap()
}

fn feed(a: &mut InputAligner<Stamp>, input: &[(usize, i64)]) -> Vec<DropReason> {
    input
        .iter()
        .filter_map(|&(ch, t)| a.add(ch, ms(t)).unwrap().map(|d| d.reason))
        .collect()
}

fn dispatch_ms(a: &mut InputAligner<Stamp>) -> Vec<i64> {
    a.dispatch()
        .map(|(_, s)| s.as_nanos() / 1_000_000)
        .collect()
}

#[test]
fn i1_dispatch_inputs_in_order() {
    let mut a = aligner(4, 1_000, Some(4));
    let input = [
        (2, 3),
        (0, 1),
        (2, 7),
        (0, 5),
        (3, 2),
        (0, 9),
        (1, 4),
        (1, 8),
        (3, 6),
    ];
    assert!(feed(&mut a, &input).is_empty());
    assert_eq!(dispatch_ms(&mut a), (1..=9).collect::<Vec<_>>());
}

#[test]
fn i2_ignores_inactive_inputs() {
    let mut a = aligner(3, 1_000, Some(2));
    feed(&mut a, &[(2, 2), (1, 1), (2, 4), (1, 3), (1, 5)]);
    assert_eq!(dispatch_ms(&mut a), [1, 2, 3, 4, 5]);
}

#[test]
fn i3_input_timeout() {
    let mut a = aligner(2, 10, Some(2));
    for t in (1..17).step_by(2) {
        a.add(0, ms(t)).unwrap();
    }
    feed(&mut a, &[(1, 2), (1, 4)]);
    // Waits for input 1 after 5 ms.
    assert_eq!(dispatch_ms(&mut a), [1, 2, 3, 4, 5]);
    // 17 ms is more than 10 ms after input 1's next expected stamp (6 ms).
    a.add(0, ms(17)).unwrap();
    assert_eq!(dispatch_ms(&mut a), [7, 9, 11, 13, 15, 17]);
    assert!(!a.status(1).unwrap().active);
}

#[test]
fn i4_drops_msgs() {
    let mut a = aligner(2, 1_000, Some(2));
    feed(&mut a, &[(1, 4), (0, 3)]);
    assert_eq!(dispatch_ms(&mut a), [3, 4]);
    let drops = feed(&mut a, &[(0, 1), (0, 5), (0, 7), (1, 2), (1, 6)]);
    assert_eq!(drops, [DropReason::OlderThanLastSet; 2]);
    assert_eq!(dispatch_ms(&mut a), [5, 6, 7]);
    assert_eq!(a.status(0).unwrap().dropped, 1);
    assert_eq!(a.status(1).unwrap().dropped, 1);
}

#[test]
fn i5_dispatch_by_timer() {
    // The timer only calls dispatch: one call, both messages.
    let mut a = aligner(2, 1_000, Some(2));
    feed(&mut a, &[(1, 2), (0, 1)]);
    assert_eq!(dispatch_ms(&mut a), [1, 2]);
}

#[test]
fn i6_no_period_information() {
    let mut a = aligner(3, 10, None);
    feed(&mut a, &[(0, 6), (2, 2), (2, 4), (1, 1), (1, 3), (1, 5)]);
    assert_eq!(dispatch_ms(&mut a), [1, 2, 3, 4]);
    a.add(0, ms(16)).unwrap();
    assert_eq!(dispatch_ms(&mut a), [5, 6, 16]);
}

#[test]
fn i7_get_queue_status() {
    let mut a = aligner(2, 10, Some(2));
    feed(&mut a, &[(1, 2), (0, 3), (0, 5)]);
    let st = |a: &InputAligner<Stamp>, ch| {
        let s = a.status(ch).unwrap();
        (s.active, s.queued, s.processed, s.dropped)
    };
    assert_eq!(st(&a, 0), (false, 2, 0, 0));
    assert_eq!(st(&a, 1), (false, 1, 0, 0));
    dispatch_ms(&mut a);
    assert_eq!(st(&a, 0), (true, 1, 1, 0));
    assert_eq!(st(&a, 1), (true, 0, 1, 0));
    a.add(0, ms(1)).unwrap(); // behind the last dispatched: dropped
    a.add(0, ms(17)).unwrap(); // input 1 times out
    dispatch_ms(&mut a);
    assert_eq!(st(&a, 0), (true, 0, 3, 1));
    assert_eq!(st(&a, 1), (false, 0, 1, 0));
}

#[test]
fn i8_duplicate_stamps_go_in_arrival_order() {
    // From the Python test: two messages stamped 9 ms on input 0.
    let mut a: InputAligner<(Stamp, char)> = InputAligner::builder(4)
        .periods(Duration::from_millis(4))
        .build()
        .unwrap();
    let input = [
        (2, 3, 'a'),
        (0, 1, 'a'),
        (2, 7, 'a'),
        (0, 5, 'a'),
        (3, 2, 'a'),
        (0, 9, 'x'),
        (0, 9, 'y'),
        (1, 4, 'a'),
        (1, 8, 'a'),
        (3, 6, 'a'),
    ];
    for (ch, t, tag) in input {
        assert!(a.add(ch, (ms(t), tag)).unwrap().is_none());
    }
    let out: Vec<(i64, char)> = a
        .dispatch()
        .map(|(_, (s, tag))| (s.as_nanos() / 1_000_000, tag))
        .collect();
    let stamps: Vec<i64> = out.iter().map(|o| o.0).collect();
    assert_eq!(stamps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 9]);
    assert_eq!(&out[8..], [(9, 'x'), (9, 'y')]);
}

#[test]
fn t5_aligner_with_a_custom_time_getter() {
    let mut a: InputAligner<Custom> = InputAligner::builder(2)
        .timeout(Duration::from_secs(100))
        .periods(Duration::from_secs(2))
        .build()
        .unwrap();
    for (ch, s) in [(0, 3), (0, 1), (1, 2), (1, 4), (0, 5)] {
        a.add(
            ch,
            Custom {
                sec: s,
                nanosec: 0,
                data: i64::from(s),
            },
        )
        .unwrap();
    }
    let out: Vec<i64> = a.dispatch().map(|(_, m)| m.data).collect();
    assert_eq!(out, [1, 2, 3, 4, 5]);
}

// ---------------------------------------------------------------------------
// Python ApproximateTimeSynchronizer (test_approxsync.py) with SlopTime.

/// A message with an identity, as the Python test's MockMessage.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Mock {
    stamp: Stamp,
    id: u32,
}

impl Stamped for Mock {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

fn slop(q: usize, s: Duration) -> SlopTime {
    SlopTime::new(q, s).unwrap()
}

#[test]
fn p1_pairs_with_queue_one() {
    let mut sync =
        Synchronizer::<(Mock, Mock), _>::new(slop(1, Duration::from_millis(100))).unwrap();
    for t in 0..10 {
        let m0 = Mock {
            stamp: sec(t),
            id: 33,
        };
        let m1 = Mock {
            stamp: sec(t),
            id: 34,
        };
        let got: Vec<_> = sync.push::<0>(m0.clone()).collect();
        assert!(got.is_empty());
        let got: Vec<_> = sync.push::<1>(m1.clone()).collect();
        assert_eq!(got, [Event::Set((m0, m1))], "t={t}");
    }
}

/// A deterministic shuffle (the Python test uses `random.sample`).
fn shuffled<T: Clone>(xs: &[T], seed: u64) -> Vec<T> {
    let mut v = xs.to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

#[test]
fn p2_scrambled_sequences_recombine() {
    for n in 1..10usize {
        for seed in 0..20 {
            let seq0: Vec<Mock> = (0..n)
                .map(|t| Mock {
                    stamp: sec(t as i64),
                    id: t as u32,
                })
                .collect();
            let seq1: Vec<Mock> = (0..n)
                .map(|t| Mock {
                    stamp: sec(t as i64),
                    id: 100 + t as u32,
                })
                .collect();
            let mut sync = DynSynchronizer::new(2, slop(n, Duration::from_millis(100))).unwrap();
            let mut sets = BTreeSet::new();
            for m in shuffled(&seq0, seed) {
                assert_eq!(sync.push(0, m).unwrap().count(), 0);
            }
            for m in shuffled(&seq1, seed + 7) {
                for e in sync.push(1, m).unwrap() {
                    match e {
                        Event::Set(s) => assert!(sets.insert((s[0].clone(), s[1].clone()))),
                        other => panic!("n={n}: unexpected {other:?}"),
                    }
                }
            }
            let want: BTreeSet<(Mock, Mock)> = seq0.into_iter().zip(seq1).collect();
            assert_eq!(sets, want, "n={n} seed={seed}");
        }
    }
}

#[test]
fn p3_headerless_channel_uses_the_arrival_clock() {
    // ch0 stamped now + t s (scrambled); ch1 headerless, stamped with the
    // clock as it arrives (a millisecond apart); slop 10 s.
    let now = sec(1_700_000_000);
    for n in 1..10usize {
        let policy = slop(n, Duration::from_secs(10)).headerless(1);
        let mut sync = DynSynchronizer::new(2, policy).unwrap();
        let seq0: Vec<u32> = (0..n as u32).collect();
        for t in shuffled(&seq0, n as u64) {
            let stamp = now + Duration::from_secs(i64::from(t));
            assert_eq!(sync.push_stamped(0, t, stamp, now).unwrap().count(), 0);
        }
        let mut pairs = Vec::new();
        for i in 0..n as u32 {
            let arrival = now + Duration::from_millis(i64::from(i) + 1);
            // The header stamp of a headerless message means nothing.
            for e in sync.push_stamped(1, 100 + i, Stamp::ZERO, arrival).unwrap() {
                match e {
                    Event::Set(s) => pairs.push((s[0], s[1])),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        let want: Vec<(u32, u32)> = (0..n as u32).map(|t| (t, 100 + t)).collect();
        assert_eq!(pairs, want, "n={n}");
    }
}

// ---------------------------------------------------------------------------
// Python TimeSynchronizer (directed.py, test_time_synchronizer.py): since
// 2025 (ros2/message_filters#238) the same semantics as C++, i.e. ExactTime.

fn exact_sets(n: usize, q: usize, input: &[(usize, i64)]) -> Vec<Vec<i64>> {
    let mut sync = DynSynchronizer::new(n, ExactTime::new(q).unwrap()).unwrap();
    let mut sets = Vec::new();
    for &(ch, t) in input {
        for e in sync.push(ch, sec(t)).unwrap() {
            if let Event::Set(s) = e {
                sets.push(s.iter().map(|m| m.as_nanos() / 1_000_000_000).collect());
            }
        }
    }
    sets
}

#[test]
fn p4_time_synchronizer_pairs_everything() {
    for n in 1..10i64 {
        let input: Vec<(usize, i64)> = (0..n)
            .map(|t| (0, t))
            .chain((0..n).map(|t| (1, t)))
            .collect();
        let sets = exact_sets(2, n as usize, &input);
        let want: Vec<Vec<i64>> = (0..n).map(|t| vec![t, t]).collect();
        assert_eq!(sets, want, "n={n}");
    }
}

#[test]
fn p5_drop_old_messages() {
    // ch0 x@0, ch1 y@1, ch0 y@1 -> (y, y); then ch1 x@0 is older: never emitted.
    let sets = exact_sets(2, 10, &[(0, 0), (1, 1), (0, 1), (1, 0)]);
    assert_eq!(sets, [vec![1, 1]]);
}

#[test]
fn p6_shifted_time_signalling() {
    let sets = exact_sets(2, 10, &[(0, 0), (0, 1), (1, 0), (1, 1)]);
    assert_eq!(sets, [vec![0, 0], vec![1, 1]]);
}
