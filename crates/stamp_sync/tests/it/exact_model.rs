//! ExactTime against a plain model of its documented rules (module docs of
//! `policy::exact`): every event, in order, including each drop's channel,
//! reason, stamp and message, plus `queued` after every step. Each trace
//! runs twice, a reset after each.
//!
//! The C++ differential test pins the sets; this pins the drops, which C++
//! does not report. The policy has a fast ordered mode (each channel's
//! stamps ascending, up to 64 channels) and a general lane mode; the
//! traces here switch between them (ordered runs with occasional
//! reordering and duplicates) and include 70 channels (lane mode only).

#![allow(clippy::unwrap_used)] // test code may panic

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use stamp_sync::driver::DynSet;
use stamp_sync::{DropReason, DynSynchronizer, Event, ExactTime, Stamp};

#[derive(Clone, Debug, PartialEq)]
enum Ev {
    /// Trace indices of the members, channel order.
    Set(Vec<usize>),
    /// Channel, reason, trace index, and the stamp the drop reports.
    Drop(usize, DropReason, usize, i64),
}

/// The rules, written the slow and obvious way.
struct Model {
    queue_size: usize,
    /// Per channel, `(stamp, index)` in arrival order.
    held: Vec<Vec<(i64, usize)>>,
}

impl Model {
    fn distinct(&self) -> BTreeMap<i64, usize> {
        let mut m = BTreeMap::new();
        for lane in &self.held {
            for &(t, _) in lane {
                *m.entry(t).or_insert(0) += 1;
            }
        }
        m
    }

    /// Drops every held message with a stamp satisfying `pred`, channel by
    /// channel, each in arrival order.
    fn drop_where(&mut self, pred: impl Fn(i64) -> bool, reason: DropReason, ev: &mut Vec<Ev>) {
        for (ch, lane) in self.held.iter_mut().enumerate() {
            lane.retain(|&(t, i)| {
                if pred(t) {
                    ev.push(Ev::Drop(ch, reason, i, t));
                    false
                } else {
                    true
                }
            });
        }
    }

    fn add(&mut self, ch: usize, t: i64, index: usize) -> Vec<Ev> {
        let mut ev = Vec::new();
        let n = self.held.len();
        if let Some(p) = self.held[ch].iter().position(|&(s, _)| s == t) {
            // Same stamp again on a channel: the new message replaces it.
            let (_, old) = self.held[ch].remove(p);
            ev.push(Ev::Drop(ch, DropReason::Replaced, old, t));
            self.held[ch].push((t, index));
            return ev;
        }
        self.held[ch].push((t, index));
        if self.distinct()[&t] == n {
            let mut set = Vec::new();
            for lane in &mut self.held {
                let p = lane.iter().position(|&(s, _)| s == t).unwrap();
                set.push(lane.remove(p).1);
            }
            ev.push(Ev::Set(set));
            self.drop_where(|s| s <= t, DropReason::OlderThanLastSet, &mut ev);
        }
        while self.distinct().len() > self.queue_size {
            let oldest = *self.distinct().keys().next().unwrap();
            self.drop_where(|s| s == oldest, DropReason::QueueOverflow, &mut ev);
        }
        ev
    }
}

fn events(it: impl Iterator<Item = Event<DynSet<(usize, i64)>, (usize, i64)>>) -> Vec<Ev> {
    it.map(|e| match e {
        Event::Set(s) => Ev::Set(s.into_iter().map(|(i, _)| i).collect()),
        Event::Drop(d) => Ev::Drop(d.channel, d.reason, d.message.0, d.stamp.as_nanos()),
        other => panic!("unexpected event {other:?}"),
    })
    .collect()
}

fn check(n: usize, queue_size: usize, trace: &[(usize, i64)]) -> Result<(), TestCaseError> {
    let mut model = Model {
        queue_size,
        held: vec![Vec::new(); n],
    };
    // Reset drops reach the drop callback.
    let reset_drops: Arc<Mutex<Vec<Ev>>> = Arc::default();
    let sink = reset_drops.clone();
    let mut sync = DynSynchronizer::builder(n, ExactTime::new(queue_size).unwrap())
        .on_drop(move |d: stamp_sync::Dropped<(usize, i64)>| {
            let ev = Ev::Drop(d.channel, d.reason, d.message.0, d.stamp.as_nanos());
            sink.lock().unwrap().push(ev);
        })
        .build()
        .unwrap();
    // The trace twice, each time ended by a reset: a reset must leave the
    // storage as a new policy's (ordered mode only with up to 64 channels).
    for round in 0..2 {
        for (k, &(ch, t)) in trace.iter().enumerate() {
            let index = round * trace.len() + k;
            let want = model.add(ch, t, index);
            let got = events(
                sync.push_stamped(ch, (index, t), Stamp::from_nanos(t), Stamp::from_nanos(t))
                    .unwrap(),
            );
            prop_assert_eq!(
                &got,
                &want,
                "round {} arrival {} (channel {}, stamp {})",
                round,
                k,
                ch,
                t
            );
            for (c, lane) in model.held.iter().enumerate() {
                prop_assert_eq!(sync.queued(c), lane.len(), "queued on channel {}", c);
            }
        }
        let mut want = Vec::new();
        model.drop_where(|_| true, DropReason::Reset, &mut want);
        sync.reset();
        let got = std::mem::take(&mut *reset_drops.lock().unwrap());
        prop_assert_eq!(got, want, "reset after round {}", round);
        for c in 0..n {
            prop_assert_eq!(sync.queued(c), 0);
        }
    }
    Ok(())
}

/// Mostly ascending per channel (ordered mode), with a few arrivals
/// reordered or repeated (lane mode and back).
fn mostly_ordered(n: usize) -> impl Strategy<Value = Vec<(usize, i64)>> {
    (
        prop::collection::vec((0..n, 0i64..4, any::<bool>()), 0..250),
        prop::collection::vec((any::<prop::sample::Index>(), 0i64..6), 0..4),
    )
        .prop_map(move |(steps, disorder)| {
            // A shared clock; each channel skips some ticks.
            let mut clock = 0;
            let mut trace = Vec::new();
            for (ch, advance, keep) in steps {
                clock += advance;
                if keep || n == 2 {
                    trace.push((ch, clock));
                }
            }
            for (at, back) in disorder {
                if !trace.is_empty() {
                    let i = at.index(trace.len());
                    trace[i].1 = (trace[i].1 - back).max(0);
                }
            }
            trace
        })
}

/// Any order, many duplicates.
fn scrambled(n: usize) -> impl Strategy<Value = Vec<(usize, i64)>> {
    prop::collection::vec((0..n, 0i64..20), 0..200)
}

fn case() -> impl Strategy<Value = (usize, usize, Vec<(usize, i64)>)> {
    (2usize..=9, 1usize..8).prop_flat_map(|(n, q)| {
        prop_oneof![
            3 => mostly_ordered(n).prop_map(move |t| (n, q, t)),
            1 => scrambled(n).prop_map(move |t| (n, q, t)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn exact_time_events_equal_the_model((n, q, trace) in case()) {
        check(n, q, &trace)?;
    }

    #[test]
    fn exact_time_with_70_channels_equals_the_model(
        (q, trace) in (1usize..6, mostly_ordered(70))
    ) {
        check(70, q, &trace)?;
    }
}

#[test]
fn model_catches_a_wrong_drop_order() {
    // Guards the model itself: two older partial sets on two channels are
    // dropped channel by channel, oldest first.
    let mut m = Model {
        queue_size: 10,
        held: vec![Vec::new(); 2],
    };
    for (i, (ch, t)) in [(0, 1), (1, 2), (0, 3), (1, 4), (0, 5), (1, 5)]
        .into_iter()
        .enumerate()
    {
        let ev = m.add(ch, t, i);
        if i == 5 {
            assert_eq!(
                ev,
                vec![
                    Ev::Set(vec![4, 5]),
                    Ev::Drop(0, DropReason::OlderThanLastSet, 0, 1),
                    Ev::Drop(0, DropReason::OlderThanLastSet, 2, 3),
                    Ev::Drop(1, DropReason::OlderThanLastSet, 1, 2),
                    Ev::Drop(1, DropReason::OlderThanLastSet, 3, 4),
                ]
            );
        }
    }
    check(2, 10, &[(0, 1), (1, 2), (0, 3), (1, 4), (0, 5), (1, 5)]).unwrap();
}
