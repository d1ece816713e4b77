//! `InputAligner::align`: N streams in, one stream in stamp order out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::executor::block_on;
use futures::{FutureExt, StreamExt, stream};
use proptest::prelude::*;
use stamp_sync::filters::InputAligner;
use stamp_sync::{DropReason, Duration, Stamp};

fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

#[test]
fn waits_for_a_pending_input_until_it_delivers_or_ends() {
    let (tx0, rx0) = mpsc::unbounded();
    let (tx1, rx1) = mpsc::unbounded();
    let aligner = InputAligner::builder(2)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut out = aligner.align(vec![rx0, rx1]).unwrap();
    tx0.unbounded_send(ms(1)).unwrap();
    tx1.unbounded_send(ms(2)).unwrap();
    tx0.unbounded_send(ms(5)).unwrap();
    let mut got = Vec::new();
    while let Some(Some(x)) = out.next().now_or_never() {
        got.push(x);
    }
    // 5 ms waits: input 1 may still send something between 2 and 5 ms.
    assert_eq!(got, [(0, ms(1)), (1, ms(2))]);
    tx1.unbounded_send(ms(3)).unwrap();
    assert_eq!(out.next().now_or_never(), Some(Some((1, ms(3)))));
    assert_eq!(out.next().now_or_never(), None, "pending: 5 still waits");
    // Input 1 ends: nobody to wait for.
    drop(tx1);
    assert_eq!(out.next().now_or_never(), Some(Some((0, ms(5)))));
    assert_eq!(out.next().now_or_never(), None);
    drop(tx0);
    assert_eq!(out.next().now_or_never(), Some(None));
    assert_eq!(out.next().now_or_never(), Some(None), "fused");
}

#[test]
fn late_messages_go_to_on_drop() {
    let drops = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&drops);
    let (tx0, rx0) = mpsc::unbounded();
    let (tx1, rx1) = mpsc::unbounded();
    let mut out = InputAligner::builder(2)
        .build()
        .unwrap()
        .align(vec![rx0, rx1])
        .unwrap()
        .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.stamp, d.reason)));
    tx0.unbounded_send(ms(4)).unwrap();
    tx1.unbounded_send(ms(5)).unwrap();
    assert_eq!(out.next().now_or_never(), Some(Some((0, ms(4)))));
    tx1.unbounded_send(ms(3)).unwrap(); // behind 4 ms
    drop((tx0, tx1));
    let rest: Vec<_> = block_on(out.collect());
    assert_eq!(rest, [(1, ms(5))]);
    assert_eq!(
        *drops.lock().unwrap(),
        [(1, ms(3), DropReason::OlderThanLastSet)]
    );
}

#[test]
fn more_streams_than_inputs_is_an_error_and_missing_ones_are_ended() {
    let s = || stream::iter(vec![ms(1)]);
    assert!(
        InputAligner::builder(1)
            .build()
            .unwrap()
            .align(vec![s(), s()])
            .is_err()
    );
    let out: Vec<_> = block_on(
        InputAligner::builder(3)
            .build()
            .unwrap()
            .align(vec![s()])
            .unwrap()
            .collect(),
    );
    assert_eq!(out, [(0, ms(1))]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Streams in stamp order, any lengths: the output is in stamp order,
    /// and every message comes out or is reported dropped.
    #[test]
    fn output_in_order_and_nothing_lost(
        lanes in prop::collection::vec(prop::collection::vec(0i64..100, 0..30), 1..5),
        period in 0i64..5,
        timeout in 0i64..50,
    ) {
        let lanes: Vec<Vec<i64>> = lanes.into_iter().map(|mut l| { l.sort(); l }).collect();
        let total: usize = lanes.iter().map(Vec::len).sum();
        let dropped = Arc::new(Mutex::new(0usize));
        let sink = Arc::clone(&dropped);
        let aligner = InputAligner::builder(lanes.len())
            .periods(Duration::from_nanos(period))
            .timeout(Duration::from_nanos(timeout))
            .build()
            .unwrap();
        let inputs: Vec<_> = lanes
            .iter()
            .map(|l| stream::iter(l.iter().map(|&t| Stamp::from_nanos(t)).collect::<Vec<_>>()))
            .collect();
        let out: Vec<(usize, Stamp)> = block_on(
            aligner.align(inputs).unwrap().on_drop(move |_| *sink.lock().unwrap() += 1).collect(),
        );
        prop_assert!(out.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", out);
        prop_assert_eq!(out.len() + *dropped.lock().unwrap(), total);
        for (ch, lane) in lanes.iter().enumerate() {
            // Within an input, what came out is in the input's order.
            let mine: Vec<i64> = out.iter().filter(|o| o.0 == ch).map(|o| o.1.as_nanos()).collect();
            prop_assert!(mine.windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(mine.len() <= lane.len());
        }
    }
}
