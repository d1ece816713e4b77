//! SlopTime against a literal model of Python's
//! `ApproximateTimeSynchronizer.add` (ordered dicts, `itertools.product`),
//! on random traces with up to 6 channels and many equal distances, and on
//! a trace where walking the product would never end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use stamp_sync::{DropReason, Duration, DynSynchronizer, Event, SlopTime, Stamp};

/// Python's algorithm, written as Python does it. Queues are insertion-
/// ordered `(stamp, id)` lists with unique stamps (a dict).
fn python_model(n: usize, q: usize, slop: i64, msgs: &[(usize, i64)]) -> Vec<(usize, Vec<usize>)> {
    let mut queues: Vec<Vec<(i64, usize)>> = vec![Vec::new(); n];
    let mut out = Vec::new();
    for (id, &(k, s)) in msgs.iter().enumerate() {
        // my_queue[stamp] = msg: replace in place, or append.
        match queues[k].iter_mut().find(|e| e.0 == s) {
            Some(e) => e.1 = id,
            None => queues[k].push((s, id)),
        }
        while queues[k].len() > q {
            let min = queues[k].iter().map(|e| e.0).min().unwrap();
            queues[k].retain(|e| e.0 != min);
        }
        let mut lists: Vec<Vec<i64>> = Vec::new();
        let mut empty = false;
        for (ch, queue) in queues.iter().enumerate() {
            if ch == k {
                continue;
            }
            let mut c: Vec<(i64, i64)> = queue
                .iter()
                .map(|e| (e.0, (e.0 - s).abs()))
                .filter(|e| e.1 <= slop)
                .collect();
            if c.is_empty() {
                empty = true;
                break;
            }
            c.sort_by_key(|e| e.1); // stable
            lists.push(c.into_iter().map(|e| e.0).collect());
        }
        if empty {
            continue;
        }
        // itertools.product: the last list varies fastest.
        let mut idx = vec![0usize; lists.len()];
        'product: loop {
            let mut vv: Vec<i64> = idx.iter().zip(&lists).map(|(&i, l)| l[i]).collect();
            vv.insert(k, s);
            let present = vv
                .iter()
                .zip(&queues)
                .all(|(t, q)| q.iter().any(|e| e.0 == *t));
            let spread = vv.iter().max().unwrap() - vv.iter().min().unwrap();
            if spread < slop && present {
                let ids = vv
                    .iter()
                    .zip(&mut queues)
                    .map(|(t, q)| {
                        let p = q.iter().position(|e| e.0 == *t).unwrap();
                        q.remove(p).1
                    })
                    .collect();
                out.push((id, ids));
                break;
            }
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < lists[d].len() {
                    continue 'product;
                }
                idx[d] = 0;
            }
            break;
        }
    }
    out
}

fn stamp_sync(n: usize, q: usize, slop: i64, msgs: &[(usize, i64)]) -> Vec<(usize, Vec<usize>)> {
    let policy = SlopTime::new(q, Duration::from_nanos(slop)).unwrap();
    let mut sync = DynSynchronizer::new(n, policy).unwrap();
    let mut out = Vec::new();
    for (id, &(ch, s)) in msgs.iter().enumerate() {
        for e in sync
            .push_stamped(ch, id, Stamp::from_nanos(s), Stamp::from_nanos(s))
            .unwrap()
        {
            if let Event::Set(ids) = e {
                out.push((id, ids.to_vec()));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn slop_time_matches_the_python_algorithm(
        (n, msgs) in (2usize..7).prop_flat_map(|n| (Just(n), prop::collection::vec((0..n, 0i64..30), 0..80))),
        q in 1usize..7,
        slop in 0i64..12,
    ) {
        prop_assert_eq!(stamp_sync(n, q, slop, &msgs), python_model(n, q, slop, &msgs));
    }
}

#[test]
fn search_is_polynomial_where_the_product_is_not() {
    // 20 channels, 10 stamps each within 200 ns of the new message, and
    // two channels that cannot both fit a 1000 ns slop: 10^17 combinations
    // for Python's product, none valid.
    let n = 20;
    let base = 1_000_000;
    let mut sync =
        DynSynchronizer::new(n, SlopTime::new(10, Duration::from_nanos(1000)).unwrap()).unwrap();
    for ch in 1..n - 2 {
        for k in 0..10 {
            let s = Stamp::from_nanos(base - 190 + 40 * k + ch as i64);
            assert_eq!(sync.push_stamped(ch, 0, s, s).unwrap().count(), 0);
        }
    }
    sync.push_stamped(
        n - 2,
        0,
        Stamp::from_nanos(base - 800),
        Stamp::from_nanos(base - 800),
    )
    .unwrap()
    .count();
    sync.push_stamped(
        n - 1,
        0,
        Stamp::from_nanos(base + 800),
        Stamp::from_nanos(base + 800),
    )
    .unwrap()
    .count();
    let started = std::time::Instant::now();
    for i in 0..100 {
        let events = sync
            .push_stamped(
                0,
                0,
                Stamp::from_nanos(base + i),
                Stamp::from_nanos(base + i),
            )
            .unwrap();
        // No set; past 10 stamps the oldest overflows.
        assert!(events.into_iter().all(|e| !matches!(e, Event::Set(_))));
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // With the far channel moved into reach, a set comes out at once.
    let events: Vec<_> = sync
        .push_stamped(
            n - 1,
            0,
            Stamp::from_nanos(base + 150),
            Stamp::from_nanos(base + 150),
        )
        .unwrap()
        .collect();
    assert!(events.iter().any(|e| matches!(e, Event::Set(_))));
}

#[test]
fn queued_counts_distinct_stamps_and_reset_drops_them_in_order() {
    let policy = SlopTime::new(2, Duration::from_nanos(5)).unwrap();
    let reset: Arc<Mutex<Vec<(usize, DropReason, usize)>>> = Arc::default();
    let sink = reset.clone();
    let mut sync = DynSynchronizer::builder(2, policy)
        .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.reason, d.message)))
        .build()
        .unwrap();
    let mut push = |ch: usize, id: usize, t: i64| {
        sync.push_stamped(ch, id, Stamp::from_nanos(t), Stamp::from_nanos(t))
            .unwrap()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
    };
    assert!(push(0, 0, 10).is_empty());
    assert!(push(0, 1, 20).is_empty());
    assert_eq!(push(0, 2, 30).len(), 1, "the oldest stamp overflows");
    assert!(push(1, 3, 100).is_empty(), "nothing within the slop");
    assert_eq!([sync.queued(0), sync.queued(1), sync.queued(2)], [2, 1, 0]);
    reset.lock().unwrap().clear(); // the overflow of 10
    sync.reset();
    assert_eq!(
        *reset.lock().unwrap(),
        [
            (0, DropReason::Reset, 1),
            (0, DropReason::Reset, 2),
            (1, DropReason::Reset, 3)
        ]
    );
    assert_eq!([sync.queued(0), sync.queued(1)], [0, 0]);
}
