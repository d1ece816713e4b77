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
    /// True while there are at most 64 channels and each channel's stamps
    /// arrive in ascending order (the common case). Then channel `ch`
    /// holds, in arrival order, exactly the stamps of the tuples with bit
    /// `ch`, and `lanes` is unused.
    ordered: bool,
    /// Per channel, in ordered mode: the stamp of its last arrival (`None`
    /// if it holds nothing since the mode began).
    newest: Vec<Option<Stamp>>,
    /// Per channel, the stamps held in arrival order; mirrors the store.
    /// Kept only while not `ordered`.
    /// Invariant: no stamp twice in one lane.
    lanes: Vec<Lane>,
    last_set: Option<Stamp>,
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

/// Channel `ch`'s bit in a tuple mask (`ch < 64` in ordered mode).
#[inline(always)]
fn bit(ch: usize) -> u64 {
    1u64 << (ch & 63)
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
            ordered: true,
            newest: Vec::new(),
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
            let oldest = self.tuples.remove(0);
            if self.ordered {
                // The oldest stamp is the first message of each holder.
                for ch in 0..self.newest.len() {
                    if oldest.mask & bit(ch) != 0 {
                        store.drop_front(ch, oldest.stamp, DropReason::QueueOverflow, out);
                    }
                }
            } else {
                // In a sorted lane it can only be first.
                let t = oldest.stamp;
                self.drop_where(|s| s == t, true, DropReason::QueueOverflow, store, out);
            }
        }
    }

    /// Ordered mode: the tuple at `at` (stamp `stamp`) is complete. Every
    /// older tuple is a partial set to drop (upstream `clearOldTuples`), and
    /// its messages are the first ones of their channels: they are dropped
    /// first, then the set is every channel's front, recorded before them.
    #[inline(never)]
    fn emit_ordered<S: Store>(
        &mut self,
        at: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        self.last_set = Some(stamp);
        let mark = out.len();
        let older = self.tuples.get(..at).unwrap_or_default();
        if !older.is_empty() {
            for ch in 0..self.newest.len() {
                let b = bit(ch);
                for t in older.iter().filter(|t| t.mask & b != 0) {
                    store.drop_front(ch, t.stamp, DropReason::OlderThanLastSet, out);
                }
            }
        }
        if let Some(set) = store.take_fronts() {
            out.insert_set(mark, set);
        }
        if at < self.tuples.len() {
            self.tuples.drain(..=at);
        }
    }

    /// Leaves ordered mode: each lane gets its channel's stamps.
    #[cold]
    #[inline(never)]
    fn enter_lane_mode(&mut self) {
        for (ch, lane) in self.lanes.iter_mut().enumerate() {
            let b = bit(ch);
            lane.stamps.clear();
            lane.stamps.extend(
                self.tuples
                    .iter()
                    .filter(|t| t.mask & b != 0)
                    .map(|t| t.stamp),
            );
            lane.sorted = true;
        }
        self.ordered = false;
    }

    /// Back to ordered mode (every lane is sorted again).
    #[cold]
    #[inline(never)]
    fn enter_ordered_mode(&mut self) {
        for (lane, newest) in self.lanes.iter_mut().zip(&mut self.newest) {
            *newest = lane.stamps.back().copied();
            lane.stamps.clear();
        }
        self.ordered = true;
    }

    /// Where `stamp` is or would go in `tuples`.
    #[inline(always)]
    fn slot(&self, stamp: Stamp) -> Result<usize, usize> {
        // In-order arrival (the common case): newer than every held stamp.
        // Otherwise the stamp is nearly always one of the newest few: look
        // back a little before a binary search.
        let len = self.tuples.len();
        match self.tuples.last() {
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
        }
    }

    /// Counts a new member of the tuple at `slot` (made if missing).
    /// Returns its index and member count.
    #[inline(always)]
    fn join(&mut self, slot: Result<usize, usize>, stamp: Stamp, mask: u64) -> (usize, usize) {
        match slot {
            Ok(at) => match self.tuples.get_mut(at) {
                Some(t) => {
                    t.count += 1;
                    t.mask |= mask;
                    (at, t.count)
                }
                None => (at, 0),
            },
            Err(at) => {
                let t = Tuple {
                    stamp,
                    count: 1,
                    mask,
                };
                if at >= self.tuples.len() {
                    self.tuples.push(t);
                } else {
                    self.tuples.insert(at, t);
                }
                (at, 1)
            }
        }
    }

    /// Ordered mode: `stamp` on `ch` is newer than every stamp `ch` holds,
    /// so its tuple cannot hold `ch` yet.
    #[inline(always)]
    fn add_ordered<S: Store>(
        &mut self,
        ch: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let slot = self.slot(stamp);
        let (at, count) = self.join(slot, stamp, bit(ch));
        if count == self.newest.len() {
            self.emit_ordered(at, stamp, store, out);
        }
        if self.tuples.len() > self.queue_size {
            self.overflow(store, out);
        }
    }

    /// Lane mode: any arrival order, any number of channels.
    fn add_lanes<S: Store>(
        &mut self,
        ch: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let n = self.lanes.len();
        let Some(lane) = self.lanes.get_mut(ch) else {
            return;
        };
        lane.push(stamp);
        // With up to 64 channels a bit per channel says who holds a stamp.
        let mask = if n <= 64 { bit(ch) } else { 0 };
        let slot = self.slot(stamp);
        if let Ok(at) = slot {
            let held = self.tuples.get(at).is_some_and(|t| t.mask & mask != 0);
            // Maybe the same stamp already on this channel.
            if (n > 64 || held) && self.replace(ch, stamp, store, out) {
                return;
            }
        }
        let (at, count) = self.join(slot, stamp, mask);
        if count == n {
            self.emit_lanes(at, stamp, store, out);
        }
        if self.tuples.len() > self.queue_size {
            self.overflow(store, out);
        }
    }

    /// Lane mode: the tuple at `at` (stamp `stamp`) is complete: emits it,
    /// then drops every partial set at or before it (upstream
    /// `clearOldTuples`).
    #[inline(never)]
    fn emit_lanes<S: Store>(
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
        self.newest = vec![None; channels];
        self.ordered = channels <= 64;
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
        if self.ordered {
            let Some(newest) = self.newest.get_mut(ch) else {
                return;
            };
            if newest.is_none_or(|n| n < stamp) {
                *newest = Some(stamp);
                self.add_ordered(ch, stamp, store, out);
                return;
            }
            self.enter_lane_mode();
        }
        self.add_lanes(ch, stamp, store, out);
        if self.lanes.len() <= 64 && self.lanes.iter().all(|l| l.sorted) {
            self.enter_ordered_mode();
        }
    }

    fn queued(&self, channel: usize) -> usize {
        if self.ordered {
            let b = bit(channel);
            if channel < self.newest.len() {
                self.tuples.iter().filter(|t| t.mask & b != 0).count()
            } else {
                0
            }
        } else {
            self.lanes.get(channel).map_or(0, |l| l.stamps.len())
        }
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        if self.ordered {
            // Each channel's messages in arrival order: ascending stamps.
            for (ch, newest) in self.newest.iter_mut().enumerate() {
                let b = bit(ch);
                for t in self.tuples.iter().filter(|t| t.mask & b != 0) {
                    store.drop_front(ch, t.stamp, DropReason::Reset, out);
                }
                *newest = None;
            }
        } else {
            self.drop_where(|_| true, false, DropReason::Reset, store, out);
            self.enter_ordered_mode();
            self.ordered = self.lanes.len() <= 64;
        }
        self.tuples.clear();
        self.last_set = None;
    }
}
