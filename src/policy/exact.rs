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
    /// Distinct stamps held, ascending, each with how many channels have
    /// it and (for up to 64 channels) which ones, bit `ch`.
    /// Invariant: `len <= queue_size` after every `add`.
    tuples: Vec<Tuple>,
    /// Per channel, the stamps held in arrival order; mirrors the store.
    /// Invariant: no stamp twice in one lane.
    lanes: Vec<Lane>,
    last_set: Option<Stamp>,
    /// Scratch: per channel, the position of a set's member.
    at: Vec<usize>,
}

#[derive(Copy, Clone, Debug)]
struct Tuple {
    stamp: Stamp,
    count: usize,
    /// Channels holding `stamp` (bit `ch`); only kept with <= 64 channels.
    mask: u64,
}

#[derive(Clone, Debug, Default)]
struct Lane {
    stamps: VecDeque<Stamp>,
    /// True while `stamps` is ascending (the common case): then every
    /// stamp at or below some `t` is a prefix.
    sorted: bool,
}

impl Lane {
    #[inline]
    fn push(&mut self, stamp: Stamp) {
        if self.stamps.back().is_some_and(|&b| b > stamp) {
            self.sorted = false;
        }
        self.stamps.push_back(stamp);
    }
    /// Removes position `i`; a front removal is a cheap pop.
    #[inline]
    fn remove(&mut self, i: usize) {
        if i == 0 {
            self.stamps.pop_front();
        } else {
            self.stamps.remove(i);
        }
        if self.stamps.is_empty() {
            self.sorted = true;
        }
    }
    #[inline]
    fn position(&self, stamp: Stamp) -> Option<usize> {
        self.stamps.iter().position(|&s| s == stamp)
    }
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
            at: Vec::new(),
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

    /// A second message with `stamp` on channel `ch` (just pushed, last in
    /// its lane) replaces an earlier one, if any. True if it did.
    #[cold]
    #[inline(never)]
    fn replace<S: Store>(
        &mut self,
        ch: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) -> bool {
        let Some(lane) = self.lanes.get_mut(ch) else {
            return false;
        };
        let last = lane.stamps.len().saturating_sub(1);
        let Some(old) = lane.stamps.iter().take(last).position(|&s| s == stamp) else {
            return false;
        };
        lane.remove(old);
        if let Some(m) = store.remove(ch, old) {
            out.drop_message(ch, stamp, DropReason::Replaced, m);
        }
        true
    }

    /// More than `queue_size` stamps held: drops the oldest stamps'
    /// partial sets.
    #[cold]
    #[inline(never)]
    fn overflow<S: Store>(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        while self.tuples.len() > self.queue_size {
            let oldest = self.tuples.remove(0).stamp;
            // The oldest held stamp: in a sorted lane it can only be first.
            self.drop_where(|s| s == oldest, true, DropReason::QueueOverflow, store, out);
        }
    }

    /// The tuple at `at` (stamp `stamp`) is complete: emits it, then drops
    /// every partial set at or before it (upstream `clearOldTuples`).
    #[inline(never)]
    fn emit<S: Store>(
        &mut self,
        at: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        self.last_set = Some(stamp);
        let lanes = &mut self.lanes;
        // Usually the set is every channel's oldest message.
        if lanes.iter().all(|l| l.stamps.front() == Some(&stamp)) {
            for lane in lanes.iter_mut() {
                lane.remove(0);
            }
            if let Some(set) = store.take_fronts() {
                out.set(set);
            }
        } else if lanes.iter().all(|l| l.sorted) {
            // Sorted lanes: everything before the set's member is older,
            // so it is exactly what the clearing below drops. Take the set,
            // then pop each lane's prefix in arrival order.
            for (at, lane) in self.at.iter_mut().zip(lanes.iter()) {
                *at = lane.stamps.iter().take_while(|&&s| s < stamp).count();
            }
            if let Some(set) = store.take_set_at(&self.at) {
                out.set(set);
            }
            for (ch, lane) in lanes.iter_mut().enumerate() {
                while let Some(old) = lane.stamps.pop_front() {
                    if old == stamp {
                        break;
                    }
                    store.drop_front(ch, old, DropReason::OlderThanLastSet, out);
                }
                if lane.stamps.is_empty() {
                    lane.sorted = true;
                }
            }
            // The tuples are sorted and distinct: `..=at` is the set and
            // every older partial set.
            self.tuples.drain(..=at);
            return;
        } else {
            let set = store.take_set(&mut |c| {
                let lane = &mut lanes[c];
                let pos = lane.position(stamp).unwrap_or(usize::MAX);
                lane.remove(pos);
                pos
            });
            if let Some(set) = set {
                out.set(set);
            }
        }
        self.tuples.remove(at);
        // Upstream `clearOldTuples`: every partial set at or before it.
        // The tuples are sorted and distinct: those are exactly `..at`.
        if at > 0 {
            self.tuples.drain(..at);
            self.drop_where(
                |s| s <= stamp,
                true,
                DropReason::OlderThanLastSet,
                store,
                out,
            );
        }
    }

    /// Drops every held message whose stamp satisfies `pred`, channel by
    /// channel, each in arrival order. `prefix_only` promises that in a
    /// sorted lane only a prefix can match (`pred` is "at or below t").
    fn drop_where<S: Store>(
        &mut self,
        pred: impl Fn(Stamp) -> bool,
        prefix_only: bool,
        reason: DropReason,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        for (ch, lane) in self.lanes.iter_mut().enumerate() {
            // The matching prefix first: pops, no shifting.
            while let Some(&stamp) = lane.stamps.front() {
                if !pred(stamp) {
                    break;
                }
                lane.remove(0);
                store.drop_front(ch, stamp, reason, out);
            }
            if prefix_only && lane.sorted {
                continue;
            }
            let mut i = 1;
            while i < lane.stamps.len() {
                let stamp = lane.stamps[i];
                if pred(stamp) {
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
            .map(|_| Lane {
                stamps: VecDeque::with_capacity(self.queue_size + 1),
                sorted: true,
            })
            .collect();
        self.last_set = None;
        self.at = vec![0; channels];
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
        lane.push(stamp);
        // With up to 64 channels a bit per channel says who holds a stamp.
        let bit = if n <= 64 { 1u64 << ch } else { 0 };
        // In-order arrival (the common case): newer than every held stamp.
        // Otherwise the stamp is nearly always one of the newest few: look
        // back a little before a binary search.
        let len = self.tuples.len();
        let slot = match self.tuples.last() {
            Some(t) if t.stamp < stamp => Err(len),
            None => Err(0),
            _ => {
                let near = len.saturating_sub(4);
                match self.tuples[near..].iter().rposition(|t| t.stamp <= stamp) {
                    Some(i) if self.tuples[near + i].stamp == stamp => Ok(near + i),
                    Some(i) => Err(near + i + 1),
                    None => self.tuples[..near].binary_search_by_key(&stamp, |t| t.stamp),
                }
            }
        };
        let (at, count) = match slot {
            Ok(at) => {
                let t = &mut self.tuples[at];
                if n > 64 || t.mask & bit != 0 {
                    // Maybe the same stamp already on this channel.
                    if self.replace(ch, stamp, store, out) {
                        return;
                    }
                }
                let t = &mut self.tuples[at];
                t.count += 1;
                t.mask |= bit;
                (at, t.count)
            }
            Err(at) => {
                let t = Tuple {
                    stamp,
                    count: 1,
                    mask: bit,
                };
                if at == self.tuples.len() {
                    self.tuples.push(t);
                } else {
                    self.tuples.insert(at, t);
                }
                (at, 1)
            }
        };
        if count == n {
            self.emit(at, stamp, store, out);
        }
        if self.tuples.len() > self.queue_size {
            self.overflow(store, out);
        }
    }

    fn queued(&self, channel: usize) -> usize {
        self.lanes.get(channel).map_or(0, |l| l.stamps.len())
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        self.drop_where(|_| true, false, DropReason::Reset, store, out);
        self.tuples.clear();
        self.last_set = None;
    }
}
