//! ExactTime: sets of messages with identical stamps, as C++ message_filters.
//!
//! # What the output promises
//! * Each set holds one message per channel, all with the same stamp.
//! * A set is emitted on the arrival that completes it.
//! * After a set at stamp `t` is emitted, every partial set at or before
//!   `t` is dropped ([`DropReason::OlderThanLastSet`]). A message older than
//!   the last set is still held until the next set or overflow, as upstream.
//! * A second message with the same stamp on the same channel replaces the
//!   first ([`DropReason::Replaced`]; upstream drops it silently).
//! * `queue_size` counts distinct stamps. When more are held, the oldest
//!   stamps' partial sets are dropped ([`DropReason::QueueOverflow`]).
//! * For a given multiset of arrivals per channel, interleaving the channels
//!   differently gives the same sets as long as no overflow happens.

use std::collections::VecDeque;

use super::{Arrival, ConfigError, DropReason, Output, Policy, Store};
use crate::time::Stamp;

/// ExactTime policy: see the [module docs](self).
///
/// ```
/// use stamp_sync::ExactTime;
/// let policy = ExactTime::new(10).unwrap();
/// assert_eq!(policy.queue_size(), 10);
/// assert!(ExactTime::new(0).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ExactTime {
    queue_size: usize,
    /// Distinct stamps held and how many channels have each, ascending.
    /// Invariant: `len <= queue_size` after every `add`.
    tuples: Vec<(Stamp, usize)>,
    /// Per channel, the stamps held in arrival order; mirrors the store.
    /// Invariant: no stamp twice in one lane.
    lanes: Vec<VecDeque<Stamp>>,
    last_set: Option<Stamp>,
}

impl ExactTime {
    /// Holds at most `queue_size` distinct stamps.
    pub fn new(queue_size: usize) -> Result<Self, ConfigError> {
        if queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        Ok(ExactTime {
            queue_size,
            tuples: Vec::new(),
            lanes: Vec::new(),
            last_set: None,
        })
    }

    /// Distinct stamps held at most.
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    /// The stamp of the last emitted set.
    pub fn last_set(&self) -> Option<Stamp> {
        self.last_set
    }

    /// Drops every held message whose stamp satisfies `pred`.
    fn drop_where<S: Store>(
        &mut self,
        pred: impl Fn(Stamp) -> bool,
        reason: DropReason,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        for (ch, lane) in self.lanes.iter_mut().enumerate() {
            let mut i = 0;
            while i < lane.len() {
                if pred(lane[i]) {
                    let stamp = lane[i];
                    lane.remove(i);
                    if let Some(m) = store.remove(ch, i) {
                        out.drop_message(ch, stamp, reason, m);
                    }
                } else {
                    i += 1;
                }
            }
        }
    }
}

impl<S: Store> Policy<S> for ExactTime {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        self.tuples = Vec::with_capacity(self.queue_size + 1);
        self.lanes = (0..channels)
            .map(|_| VecDeque::with_capacity(self.queue_size + 1))
            .collect();
        self.last_set = None;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.queue_size + 1
    }

    fn max_events_per_add(&self) -> usize {
        self.lanes.len() * (self.queue_size + 1) + 1
    }

    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let (ch, stamp) = (arrival.channel, arrival.stamp);
        let n = self.lanes.len();
        let Some(lane) = self.lanes.get_mut(ch) else {
            return;
        };
        lane.push_back(stamp);
        let slot = self.tuples.binary_search_by_key(&stamp, |&(s, _)| s);
        let (at, count) = match slot {
            Ok(at) => {
                // Same stamp already on this channel: the new one replaces it.
                let held = lane.len() - 1;
                if let Some(old) = lane.iter().take(held).position(|&s| s == stamp) {
                    lane.remove(old);
                    if let Some(m) = store.remove(ch, old) {
                        out.drop_message(ch, stamp, DropReason::Replaced, m);
                    }
                } else {
                    self.tuples[at].1 += 1;
                }
                (at, self.tuples[at].1)
            }
            Err(at) => {
                self.tuples.insert(at, (stamp, 1));
                (at, 1)
            }
        };
        if count == n {
            let lanes = &mut self.lanes;
            let set = store.take_set(&mut |c| {
                let pos = lanes[c]
                    .iter()
                    .position(|&s| s == stamp)
                    .unwrap_or(usize::MAX);
                lanes[c].remove(pos);
                pos
            });
            if let Some(set) = set {
                out.set(set);
            }
            self.tuples.remove(at);
            self.last_set = Some(stamp);
            // Upstream `clearOldTuples`: every partial set at or before it.
            let stale = self.tuples.partition_point(|&(s, _)| s <= stamp);
            if stale > 0 {
                self.tuples.drain(..stale);
                self.drop_where(|s| s <= stamp, DropReason::OlderThanLastSet, store, out);
            }
        }
        while self.tuples.len() > self.queue_size {
            let (oldest, _) = self.tuples.remove(0);
            self.drop_where(|s| s == oldest, DropReason::QueueOverflow, store, out);
        }
    }

    fn queued(&self, channel: usize) -> usize {
        self.lanes.get(channel).map_or(0, VecDeque::len)
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        self.drop_where(|_| true, DropReason::Reset, store, out);
        self.tuples.clear();
        self.last_set = None;
    }
}
