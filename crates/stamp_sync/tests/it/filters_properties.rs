//! Property tests of the filters: for any input, TimeSequencer and
//! InputAligner release in stamp order, lose nothing silently (every
//! message is released once, dropped once with a reason that holds, or
//! held) and stay within their bounds. The InputAligner is also compared
//! step for step with a direct model of upstream `input_aligner.hpp`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use stamp_sync::filters::{InputAligner, TimeSequencer};
use stamp_sync::{DropReason, Duration, Stamp};

#[derive(Copy, Clone, Debug)]
enum SeqOp {
    Add(i64),
    Release(i64),
}

fn seq_op() -> impl Strategy<Value = SeqOp> {
    prop_oneof![
        3 => (0i64..50).prop_map(SeqOp::Add),
        1 => (0i64..80).prop_map(SeqOp::Release),
    ]
}

/// A message: its stamp and its arrival number.
type Msg = (Stamp, usize);

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn time_sequencer_orders_accounts_and_stays_bounded(
        delay in 0i64..10,
        q in 1usize..6,
        ops in prop::collection::vec(seq_op(), 0..120),
    ) {
        let s = Stamp::from_nanos;
        let mut seq: TimeSequencer<Msg> = TimeSequencer::new(Duration::from_nanos(delay), q).unwrap();
        let mut held: Vec<Msg> = Vec::new(); // what must be held, arrival order
        let mut last: Option<Msg> = None;
        let (mut added, mut released, mut dropped) = (0usize, 0usize, 0usize);
        for op in ops {
            match op {
                SeqOp::Add(t) => {
                    let m = (s(t), added);
                    added += 1;
                    match seq.add(m) {
                        None => held.push(m),
                        Some(d) => {
                            dropped += 1;
                            match d.reason {
                                DropReason::OlderThanLastSet => {
                                    prop_assert_eq!(d.message, m);
                                    prop_assert!(last.is_some_and(|l| m.0 < l.0), "late drop of {:?} after {:?}", m, last);
                                }
                                DropReason::QueueOverflow => {
                                    held.push(m);
                                    prop_assert_eq!(held.len(), q + 1);
                                    // The oldest stamp, first added among equals.
                                    let min = *held.iter().min_by_key(|h| h.0).unwrap();
                                    prop_assert_eq!(d.message, min);
                                    held.retain(|h| *h != min);
                                }
                                other => prop_assert!(false, "unexpected reason {:?}", other),
                            }
                            prop_assert_eq!(d.stamp, d.message.0);
                        }
                    }
                }
                SeqOp::Release(now) => {
                    for m in seq.release(s(now)) {
                        released += 1;
                        prop_assert!(m.0 + Duration::from_nanos(delay) <= s(now), "{:?} released early at {}", m, now);
                        if let Some(l) = last {
                            prop_assert!((l.0, l.1) < (m.0, m.1), "{:?} released after {:?}", m, l);
                        }
                        let min = *held.iter().min_by_key(|h| h.0).unwrap();
                        prop_assert_eq!(m, min, "not the oldest held");
                        held.retain(|h| *h != m);
                        last = Some(m);
                    }
                    // Everything due went out.
                    prop_assert!(seq.next_release().is_none_or(|t| t > s(now)));
                }
            }
            prop_assert!(seq.len() <= q);
            prop_assert_eq!(seq.len(), held.len());
            prop_assert_eq!(added, released + dropped + seq.len(), "accounting");
            let c = seq.counts();
            prop_assert_eq!(c.received as usize, added);
            prop_assert_eq!(c.released as usize, released);
            prop_assert_eq!(c.dropped_total() as usize, dropped);
        }
    }
}

// ---------------------------------------------------------------------------
// InputAligner.

#[derive(Copy, Clone, Debug)]
enum AlignOp {
    Add(usize, i64),
    Dispatch,
}

/// A direct model of upstream `InputAlignerBase` (multiset queues, the
/// `firstTimeStamp` side effects, `dispatchFirstMessage`), plus this
/// crate's capacity.
struct Model {
    queues: Vec<BTreeMap<(i64, usize), usize>>, // (stamp, arrival) -> arrival
    period: Vec<i64>,
    next: Vec<i64>,
    active: Vec<bool>,
    timeout: i64,
    capacity: usize,
    last_in: Option<i64>,
    last_out: Option<i64>,
}

impl Model {
    fn first_ts(&mut self, i: usize) -> Option<i64> {
        if let Some((&(t, _), _)) = self.queues[i].iter().next() {
            self.next[i] = t + self.period[i];
            self.active[i] = true;
            Some(t)
        } else if self.active[i] {
            Some(self.next[i])
        } else {
            None
        }
    }

    /// `Err(reason)` if dropped; `Ok(Some(arrival))` if the oldest was evicted.
    fn add(&mut self, ch: usize, t: i64, id: usize) -> Result<Option<usize>, DropReason> {
        if self.last_out.is_some_and(|l| t < l) {
            return Err(DropReason::OlderThanLastSet);
        }
        self.last_in = Some(self.last_in.map_or(t, |l| l.max(t)));
        self.queues[ch].insert((t, id), id);
        if self.queues[ch].len() > self.capacity {
            return Ok(self.queues[ch].pop_first().map(|(_, id)| id));
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.queues.iter().all(BTreeMap::is_empty) {
            return out;
        }
        loop {
            let ts: Vec<Option<i64>> = (0..self.queues.len()).map(|i| self.first_ts(i)).collect();
            let Some(idx) = (0..ts.len())
                .filter(|&i| ts[i].is_some())
                .min_by_key(|&i| (ts[i], i))
            else {
                return out;
            };
            if let Some(((t, _), id)) = self.queues[idx].pop_first() {
                self.last_out = Some(t);
                out.push((idx, id));
            } else if self
                .last_in
                .is_some_and(|l| l - ts[idx].unwrap() >= self.timeout)
            {
                self.active[idx] = false;
            } else {
                return out;
            }
        }
    }
}

fn align_case() -> impl Strategy<Value = (usize, usize, i64, Vec<i64>, Vec<AlignOp>)> {
    (1usize..5).prop_flat_map(|n| {
        (
            Just(n),
            1usize..7,
            0i64..20,
            prop::collection::vec(0i64..6, n),
            prop::collection::vec(
                prop_oneof![
                    4 => (0..n, 0i64..60).prop_map(|(c, t)| AlignOp::Add(c, t)),
                    1 => Just(AlignOp::Dispatch),
                ],
                0..150,
            ),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn input_aligner_matches_the_upstream_model_and_accounts(
        (n, capacity, timeout, periods, ops) in align_case()
    ) {
        let s = Stamp::from_nanos;
        let mut b = InputAligner::builder(n).timeout(Duration::from_nanos(timeout)).capacity(capacity);
        for (c, &p) in periods.iter().enumerate() {
            b = b.period(c, Duration::from_nanos(p));
        }
        let mut a: InputAligner<Msg> = b.build().unwrap();
        let mut model = Model {
            queues: vec![BTreeMap::new(); n],
            period: periods.clone(),
            next: vec![i64::MAX; n],
            active: vec![false; n],
            timeout,
            capacity,
            last_in: None,
            last_out: None,
        };
        let mut stamps = Vec::new();
        let mut channel_of = Vec::new();
        let mut last: Option<Stamp> = None;
        let mut received = vec![0u64; n];
        let mut out = vec![0u64; n];
        let mut dropped = vec![0u64; n];
        for op in ops {
            match op {
                AlignOp::Add(ch, t) => {
                    let id = stamps.len();
                    stamps.push(t);
                    channel_of.push(ch);
                    received[ch] += 1;
                    let got = a.add(ch, (s(t), id)).unwrap();
                    let want = model.add(ch, t, id);
                    match (got, want) {
                        (None, Ok(None)) => {}
                        (Some(d), Err(reason)) => {
                            prop_assert_eq!(d.reason, reason);
                            prop_assert_eq!(d.message.1, id);
                            prop_assert!(last.is_some_and(|l| s(t) < l));
                            dropped[ch] += 1;
                        }
                        (Some(d), Ok(Some(evicted))) => {
                            prop_assert_eq!(d.reason, DropReason::QueueOverflow);
                            prop_assert_eq!(d.message.1, evicted);
                            prop_assert_eq!(d.channel, ch);
                            dropped[ch] += 1;
                        }
                        (got, want) => prop_assert!(false, "add {:?}: stamp_sync {:?}, model {:?}", op, got, want),
                    }
                }
                AlignOp::Dispatch => {
                    let got: Vec<(usize, usize)> = a.dispatch().map(|(c, m)| (c, m.1)).collect();
                    prop_assert_eq!(&got, &model.dispatch());
                    for &(c, id) in &got {
                        prop_assert_eq!(c, channel_of[id]);
                        let t = s(stamps[id]);
                        prop_assert!(last.is_none_or(|l| l <= t), "out of order: {:?} after {:?}", t, last);
                        last = Some(t);
                        out[c] += 1;
                    }
                    if timeout == 0 {
                        // Nobody is waited for: everything went out.
                        prop_assert!((0..n).all(|c| a.status(c).unwrap().queued == 0));
                    }
                }
            }
            for c in 0..n {
                let st = a.status(c).unwrap();
                prop_assert!(st.queued <= capacity);
                prop_assert_eq!(st.processed, out[c]);
                prop_assert_eq!(st.dropped, dropped[c]);
                prop_assert_eq!(st.counts.received, received[c]);
                prop_assert_eq!(received[c], out[c] + dropped[c] + st.queued as u64, "accounting, input {}", c);
                prop_assert_eq!(st.active, model.active[c]);
            }
        }
    }
}
