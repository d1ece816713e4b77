//! What ExactTime holds: the distinct stamps, each with the channels that
//! have it, and each channel's messages in arrival order, mirroring the
//! store. Two storages give the same answers; [`Held`] picks one and hides
//! which:
//!
//! * [`Ordered`]: while every channel's stamps arrive ascending (the common
//!   case) and there are at most 64 channels, channel `ch` holds exactly
//!   the stamps of the tuples with bit `ch`, in ascending order, so no
//!   per-channel stamps are kept: a channel's messages are its tuples'.
//! * [`Lanes`]: any arrival order, any number of channels: per-channel
//!   stamps in arrival order.
//!
//! An arrival that breaks the order switches to lanes; once every lane is
//! ascending again, back to ordered.

use std::collections::VecDeque;

use crate::policy::{DropReason, Output, Store};
use crate::time::Stamp;

/// One distinct stamp held.
#[derive(Copy, Clone, Debug)]
struct Tuple {
    stamp: Stamp,
    /// Channels holding `stamp`. Invariant: `1 <= count < channels`
    /// between steps (a complete tuple is emitted at once).
    count: usize,
    /// Bit `ch`: channel `ch` holds `stamp`. Kept with <= 64 channels
    /// only; then `count == mask.count_ones()`.
    mask: u64,
}

/// What [`Held::join`] did with an arrival.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Joined {
    /// The channel already held the stamp: the older message was dropped
    /// ([`DropReason::Replaced`]) and the new one took its place.
    Replaced,
    /// The stamp's tuple still misses a channel.
    Partial,
    /// The stamp's tuple, at this index, is complete.
    Complete(usize),
}

/// Channel `ch`'s bit in a tuple mask.
#[inline(always)]
fn bit(ch: usize) -> u64 {
    1u64 << (ch & 63)
}

/// The held stamps of ExactTime; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub(super) struct Held {
    /// Distinct stamps, strictly ascending.
    tuples: Vec<Tuple>,
    /// True: [`Ordered`] storage is current, `lanes` is unused.
    ordered: bool,
    order: Ordered,
    lanes: Lanes,
}

/// Per channel, the stamp of its last arrival (`None` if none since the
/// mode began). Invariant: each channel's held stamps are ascending and
/// end at its `newest`.
#[derive(Clone, Debug, Default)]
struct Ordered {
    newest: Vec<Option<Stamp>>,
}

/// Per channel, the held stamps in arrival order. Invariant: no stamp
/// twice in one lane; the lanes together hold exactly the tuples' counts.
#[derive(Clone, Debug, Default)]
struct Lanes {
    lanes: Vec<Lane>,
}

#[derive(Clone, Debug, Default)]
struct Lane {
    stamps: VecDeque<Stamp>,
    /// True while `stamps` is ascending: then every stamp at or below some
    /// `t` is a prefix.
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
}

impl Held {
    /// Storage for `channels` channels and at most `queue_size` stamps
    /// (one more inside a step); allocates everything.
    pub(super) fn new(channels: usize, queue_size: usize) -> Held {
        Held {
            tuples: Vec::with_capacity(queue_size + 1),
            ordered: channels <= 64,
            order: Ordered {
                newest: vec![None; channels],
            },
            lanes: Lanes {
                lanes: (0..channels)
                    .map(|_| Lane {
                        stamps: VecDeque::with_capacity(queue_size + 1),
                        sorted: true,
                    })
                    .collect(),
            },
        }
    }

    /// Channels, as bound.
    pub(super) fn channels(&self) -> usize {
        self.lanes.lanes.len()
    }

    /// Distinct stamps held.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.tuples.len()
    }

    /// Messages held on `channel`.
    pub(super) fn queued(&self, channel: usize) -> usize {
        if channel >= self.channels() {
            0
        } else if self.ordered {
            let b = bit(channel);
            self.tuples.iter().filter(|t| t.mask & b != 0).count()
        } else {
            self.lanes.lanes[channel].stamps.len()
        }
    }

    /// Counts `stamp` on channel `ch` (just appended to the store). `None`
    /// if there is no such channel.
    #[inline(always)]
    pub(super) fn join<S: Store>(
        &mut self,
        ch: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) -> Option<Joined> {
        if self.ordered {
            let newest = self.order.newest.get_mut(ch)?;
            // Newer than everything the channel holds: its tuple cannot
            // hold the channel yet.
            if newest.is_none_or(|n| n < stamp) {
                *newest = Some(stamp);
                return Some(self.count(stamp, bit(ch)));
            }
            self.switch_to_lanes();
        }
        self.join_lanes(ch, stamp, store, out)
    }

    /// Lane storage: any order; the channel may already hold `stamp`.
    #[inline(never)]
    fn join_lanes<S: Store>(
        &mut self,
        ch: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) -> Option<Joined> {
        let n = self.channels();
        // Up to 64 channels a tuple's mask says who holds its stamp.
        let mask = if n <= 64 { bit(ch) } else { 0 };
        let maybe_held = self
            .slot(stamp)
            .ok()
            .and_then(|at| self.tuples.get(at))
            .is_some_and(|t| n > 64 || t.mask & mask != 0);
        let lane = self.lanes.lanes.get_mut(ch)?;
        if maybe_held {
            if let Some(old) = lane.stamps.iter().position(|&s| s == stamp) {
                lane.remove(old);
                lane.push(stamp);
                if let Some(m) = store.remove(ch, old) {
                    out.drop_message(ch, stamp, DropReason::Replaced, m);
                }
                return Some(Joined::Replaced);
            }
        }
        lane.push(stamp);
        Some(self.count(stamp, mask))
    }

    /// Adds a member to `stamp`'s tuple (made if missing).
    #[inline(always)]
    fn count(&mut self, stamp: Stamp, mask: u64) -> Joined {
        let n = self.channels();
        let (at, count) = match self.slot(stamp) {
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
        };
        if count == n {
            Joined::Complete(at)
        } else {
            Joined::Partial
        }
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

    /// The complete tuple at `at` (stamp `stamp`) goes out as a set, and
    /// every older tuple is a partial set to drop
    /// ([`DropReason::OlderThanLastSet`], upstream `clearOldTuples`). The
    /// set is recorded before the drops.
    #[inline(never)]
    pub(super) fn emit<S: Store>(
        &mut self,
        at: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        if self.ordered {
            // The older tuples' messages are the first of their channels:
            // drop them, then the set is every channel's front.
            let mark = out.len();
            let older = self.tuples.get(..at).unwrap_or_default();
            if !older.is_empty() {
                let reason = DropReason::OlderThanLastSet;
                for ch in 0..self.order.newest.len() {
                    let b = bit(ch);
                    if out.keeps_drops() {
                        for t in older.iter().filter(|t| t.mask & b != 0) {
                            store.drop_front(ch, t.stamp, reason, out);
                        }
                    } else {
                        // Only counted: free them in one go.
                        let k = older.iter().filter(|t| t.mask & b != 0).count();
                        if k > 0 {
                            let n = store.discard_fronts(ch, k);
                            out.count_drops(ch, reason, n as u64);
                        }
                    }
                }
            }
            if let Some(set) = store.take_fronts() {
                out.insert_set(mark, set);
            }
            if at < self.tuples.len() {
                self.tuples.drain(..=at);
            }
        } else {
            self.lanes.take_set(stamp, store, out);
            self.tuples.remove(at);
            // The tuples are sorted and distinct: the older ones are `..at`.
            if at > 0 {
                self.tuples.drain(..at);
                self.lanes.drop_where(
                    |s| s <= stamp,
                    true,
                    DropReason::OlderThanLastSet,
                    store,
                    out,
                );
            }
        }
    }

    /// Drops the oldest stamp's partial set ([`DropReason::QueueOverflow`]).
    #[cold]
    #[inline(never)]
    pub(super) fn evict_oldest<S: Store>(
        &mut self,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        if self.tuples.is_empty() {
            return;
        }
        let oldest = self.tuples.remove(0);
        if self.ordered {
            // The oldest stamp is the first message of each holder.
            for ch in 0..self.order.newest.len() {
                if oldest.mask & bit(ch) != 0 {
                    store.drop_front(ch, oldest.stamp, DropReason::QueueOverflow, out);
                }
            }
        } else {
            let t = oldest.stamp;
            // In a sorted lane it can only be first.
            self.lanes
                .drop_where(|s| s == t, true, DropReason::QueueOverflow, store, out);
        }
    }

    /// Drops everything held ([`DropReason::Reset`]), each channel's
    /// messages in arrival order.
    pub(super) fn reset<S: Store>(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        if self.ordered {
            for (ch, newest) in self.order.newest.iter_mut().enumerate() {
                let b = bit(ch);
                for t in self.tuples.iter().filter(|t| t.mask & b != 0) {
                    store.drop_front(ch, t.stamp, DropReason::Reset, out);
                }
                *newest = None;
            }
        } else {
            self.lanes
                .drop_where(|_| true, false, DropReason::Reset, store, out);
            self.switch_to_ordered();
            self.ordered = self.channels() <= 64;
        }
        self.tuples.clear();
    }

    /// Back to ordered storage once every lane is ascending again.
    #[inline]
    pub(super) fn settle(&mut self) {
        if !self.ordered && self.channels() <= 64 && self.lanes.lanes.iter().all(|l| l.sorted) {
            self.switch_to_ordered();
        }
    }

    /// Ordered to lane storage: each lane gets its channel's stamps.
    #[cold]
    #[inline(never)]
    fn switch_to_lanes(&mut self) {
        for (ch, lane) in self.lanes.lanes.iter_mut().enumerate() {
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

    /// Lane to ordered storage (every lane is ascending).
    #[cold]
    #[inline(never)]
    fn switch_to_ordered(&mut self) {
        for (lane, newest) in self.lanes.lanes.iter_mut().zip(&mut self.order.newest) {
            *newest = lane.stamps.back().copied();
            lane.stamps.clear();
        }
        self.ordered = true;
    }

    /// Checks the invariants against the store (debug builds only).
    #[inline]
    pub(super) fn debug_check<S: Store>(&self, store: &S, queue_size: usize) {
        if cfg!(debug_assertions) {
            self.check(store, queue_size);
        }
    }

    fn check<S: Store>(&self, store: &S, queue_size: usize) {
        let n = self.channels();
        debug_assert!(
            self.tuples.len() <= queue_size,
            "more stamps than the queue"
        );
        debug_assert!(
            self.tuples.windows(2).all(|w| w[0].stamp < w[1].stamp),
            "tuples not strictly ascending"
        );
        debug_assert!(
            self.tuples.iter().all(|t| t.count >= 1 && t.count < n),
            "an empty or complete tuple is held"
        );
        if n <= 64 {
            debug_assert!(
                self.tuples
                    .iter()
                    .all(|t| t.mask.count_ones() as usize == t.count),
                "a tuple's mask and count disagree"
            );
        }
        for ch in 0..n {
            debug_assert_eq!(
                self.queued(ch),
                store.len(ch),
                "channel {ch}: held stamps do not mirror the store"
            );
        }
        if !self.ordered {
            let members: usize = self.tuples.iter().map(|t| t.count).sum();
            let held: usize = self.lanes.lanes.iter().map(|l| l.stamps.len()).sum();
            debug_assert_eq!(members, held, "lanes and tuples disagree");
        }
    }
}

impl Lanes {
    /// Takes the set of `stamp` (every lane holds it) out of the store.
    fn take_set<S: Store>(
        &mut self,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let lanes = &mut self.lanes;
        // Usually the set is every channel's oldest message.
        let set = if lanes.iter().all(|l| l.stamps.front() == Some(&stamp)) {
            for lane in lanes.iter_mut() {
                lane.remove(0);
            }
            store.take_fronts()
        } else {
            store.take_set(&mut |c| {
                let lane = &mut lanes[c];
                let pos = lane
                    .stamps
                    .iter()
                    .position(|&s| s == stamp)
                    .unwrap_or(usize::MAX);
                lane.remove(pos);
                pos
            })
        };
        if let Some(set) = set {
            out.set(set);
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
