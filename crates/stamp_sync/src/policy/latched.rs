//! Latched channels: an adapter that runs any policy over the other
//! channels and completes each of its sets with a latched message (a
//! transient-local `camera_info` or map, a parameter-like topic; fkie
//! message_filters' latch).
//!
//! ```
//! use stamp_sync::{ApproximateTime, Latched, Stamp, Synchronizer};
//!
//! let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
//! // Channels: image, depth, camera_info (latched).
//! let policy = Latched::new(ApproximateTime::new(10).unwrap()).channel(2);
//! let mut sync = Synchronizer::<(Stamp, Stamp, Stamp), _>::new(policy).unwrap();
//! let mut sets = Vec::new();
//! sync.add::<2>(ms(0)); // camera_info, published once
//! for t in [10, 20, 30] {
//!     sets.extend(sync.push::<0>(ms(t)).filter_map(|e| e.into_set()));
//!     sets.extend(sync.push::<1>(ms(t + 1)).filter_map(|e| e.into_set()));
//! }
//! // Every set of the free channels carries the one camera_info.
//! assert_eq!(sets, [(ms(10), ms(11), ms(0)), (ms(20), ms(21), ms(0))]);
//! ```
//!
//! # What the output promises
//! * A latched channel never fires a set and never holds one back: the
//!   inner policy runs over the free (not latched) channels only, with its
//!   own settings, as if the latched channels did not exist.
//! * The **stamp of a set** is the newest stamp among its free members.
//!   On every latched channel the set gets a clone of the held message with
//!   the newest stamp at or before it (equal stamps: the later arrival).
//!   With [`any_newest`](Latched::any_newest) it gets the channel's latest
//!   arrival, whatever its stamp.
//! * If a latched channel holds no message the set may use, the set cannot
//!   be completed: its free members are dropped
//!   ([`DropReason::NoLatched`]), after the step's other outcomes.
//!   (An inner policy that clones sets, [`LatestTime`](super::LatestTime),
//!   then emits nothing and keeps its messages.)
//! * A latched channel keeps its last [`depth`](Latched::depth) messages
//!   (default [`DEFAULT_DEPTH`]). A newer one beyond that releases the
//!   oldest, which is dropped ([`DropReason::QueueOverflow`]) if no set
//!   used it.
//! * Accounting: a latched message goes out in as many sets as use it
//!   (clones), so its channel's `emitted` counter counts clones, as with
//!   LatestTime; a message released after a set used it is not a drop.
//!   The free channels' accounting is the inner policy's: each message is
//!   emitted once, dropped once (with the inner policy's reasons, or
//!   `NoLatched`) or queued.
//! * With one free channel there is nothing to synchronize: each of its
//!   messages is a set at once (the inner policy is not used).
//! * [`reset`](Policy::reset) forgets the latched messages too (the unused
//!   ones are dropped with [`DropReason::Reset`]); after it a latched
//!   channel waits for its next message.
//!
//! Works with every policy, including [`AnyPolicy`](super::AnyPolicy);
//! needs a store that can clone messages ([`CloneStore`]).

use std::cell::Cell;
use std::collections::VecDeque;

use smallvec::SmallVec;

use super::{
    Arrival, CloneStore, ConfigError, DropReason, Output, Pick, Policy, SearchState, Store,
};
use crate::time::Stamp;

/// Messages a latched channel keeps by default.
pub const DEFAULT_DEPTH: usize = 10;

/// The latched-channel adapter: see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Latched<P> {
    inner: P,
    latched: Vec<usize>,
    depth: usize,
    any_newest: bool,
    state: LatchState,
}

/// One held message's stamp; for latched channels, whether a set used it.
#[derive(Clone, Debug)]
struct Held {
    stamp: Stamp,
    used: Cell<bool>,
}

/// What the adapter and its view share: channel maps and the stamps of
/// every held message, in store order.
#[derive(Clone, Debug, Default)]
struct LatchState {
    /// Per real channel: its inner channel, `None` if latched.
    inner_of: Vec<Option<usize>>,
    /// Per inner channel: its real channel.
    real_of: Vec<usize>,
    /// Per real channel: the stamps held, mirroring the store.
    held: Vec<VecDeque<Held>>,
    /// Scratch: the picks of the set being taken, per inner channel.
    picks: Vec<Pick>,
    any_newest: bool,
    /// One free channel: every message of it is a set.
    single: bool,
}

impl LatchState {
    /// The set's stamp: the newest of the picked members; `None` if a
    /// position is out of range.
    fn set_stamp(&self, picks: &[Pick]) -> Option<Stamp> {
        let mut stamp = None;
        for (&r, p) in self.real_of.iter().zip(picks) {
            let t = self.held.get(r)?.get(p.pos())?.stamp;
            stamp = Some(stamp.map_or(t, |s: Stamp| s.max(t)));
        }
        stamp
    }

    /// The message of latched channel `r` a set stamped `stamp` gets.
    fn choose(&self, r: usize, stamp: Stamp) -> Option<usize> {
        let held = self.held.get(r)?;
        if self.any_newest {
            return held.len().checked_sub(1);
        }
        let mut best: Option<(usize, Stamp)> = None;
        for (i, h) in held.iter().enumerate() {
            if h.stamp <= stamp && best.is_none_or(|(_, b)| h.stamp >= b) {
                best = Some((i, h.stamp));
            }
        }
        best.map(|(i, _)| i)
    }

    fn latched(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.inner_of.len()).filter(|&r| self.inner_of[r].is_none())
    }

    /// Every latched channel has a message for `stamp`.
    fn completes(&self, stamp: Stamp) -> bool {
        self.latched().all(|r| self.choose(r, stamp).is_some())
    }

    fn mark_used(&self, stamp: Stamp) {
        for r in self.latched() {
            if let Some(h) = self.choose(r, stamp).and_then(|i| self.held[r].get(i)) {
                h.used.set(true);
            }
        }
    }

    fn real(&self, inner: usize) -> Option<usize> {
        self.real_of.get(inner).copied()
    }
}

impl<P> Latched<P> {
    /// `inner` over the channels that are not latched; mark latched ones
    /// with [`channel`](Self::channel).
    pub fn new(inner: P) -> Self {
        Latched {
            inner,
            latched: Vec::new(),
            depth: DEFAULT_DEPTH,
            any_newest: false,
            state: LatchState::default(),
        }
    }

    /// Marks `channel` as latched.
    pub fn channel(mut self, channel: usize) -> Self {
        if !self.latched.contains(&channel) {
            self.latched.push(channel);
        }
        self
    }

    /// Messages kept per latched channel (default [`DEFAULT_DEPTH`], at
    /// least 1). Only sets older than the latest latched message need more
    /// than 1.
    pub fn depth(mut self, depth: usize) -> Self {
        self.depth = depth;
        self
    }

    /// Each set takes the latched channel's latest arrival, whatever its
    /// stamp (default off: the newest at or before the set's stamp).
    pub fn any_newest(mut self, on: bool) -> Self {
        self.any_newest = on;
        self
    }

    /// Whether `channel` is latched.
    pub fn is_latched(&self, channel: usize) -> bool {
        self.latched.contains(&channel)
    }

    /// The inner policy (its channels are the free channels, in order).
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The inner policy, for its run-time setters (e.g.
    /// [`ApproximateTime::set_max_interval`](super::ApproximateTime::set_max_interval)).
    /// Calling its [`Policy`] methods directly breaks the accounting.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Messages kept per latched channel.
    pub fn latch_depth(&self) -> usize {
        self.depth
    }

    /// The latched channels, as configured.
    pub fn latched_channels(&self) -> &[usize] {
        &self.latched
    }

    /// The view an inner step runs over, and after it the drops it left:
    /// inner channels renumbered, members of sets that could not be
    /// completed dropped.
    fn inner_step<S: CloneStore>(
        &mut self,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
        step: impl FnOnce(&mut P, &mut LatchView<'_, S>, &mut Output<S::Set, S::Message>),
    ) {
        let keep = out.keeps_drops();
        let mark = out.len();
        // Recorded with inner channel numbers, renumbered below.
        out.keep_drops(true);
        let mut view = LatchView {
            store,
            state: &mut self.state,
            orphans: SmallVec::new(),
        };
        step(&mut self.inner, &mut view, out);
        let orphans = view.orphans;
        out.keep_drops(keep);
        out.remap_drops(mark, &self.state.real_of);
        for (r, stamp, m) in orphans {
            out.drop_message(r, stamp, DropReason::NoLatched, m);
        }
    }
}

impl<S, P> Policy<S> for Latched<P>
where
    S: CloneStore,
    P: for<'a> Policy<LatchView<'a, S>>,
{
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        if self.depth == 0 {
            return Err(ConfigError::ZeroLatchDepth);
        }
        if let Some(&channel) = self.latched.iter().find(|&&c| c >= channels) {
            return Err(ConfigError::NoSuchChannel { channel, channels });
        }
        let free = channels - self.latched.len();
        if free == 0 {
            return Err(ConfigError::AllLatched { channels });
        }
        if free >= 2 {
            self.inner.bind(free)?;
        }
        let cap = self.inner.capacity().max(2);
        let mut st = LatchState {
            any_newest: self.any_newest,
            single: free == 1,
            picks: Vec::with_capacity(free),
            ..LatchState::default()
        };
        for r in 0..channels {
            if self.latched.contains(&r) {
                st.inner_of.push(None);
                st.held.push(VecDeque::with_capacity(self.depth + 1));
            } else {
                st.inner_of.push(Some(st.real_of.len()));
                st.real_of.push(r);
                st.held.push(VecDeque::with_capacity(cap));
            }
        }
        self.state = st;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.inner.capacity().max(self.depth + 1).max(2)
    }

    fn max_events_per_add(&self) -> usize {
        // A latched overflow; or the inner step, whose sets may each
        // become drops of the free members.
        self.inner.max_events_per_add() + self.state.real_of.len() + 1
    }

    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let ch = arrival.channel;
        let Some(&inner) = self.state.inner_of.get(ch) else {
            return;
        };
        self.state.held[ch].push_back(Held {
            stamp: arrival.stamp,
            used: Cell::new(false),
        });
        let Some(inner) = inner else {
            // Latched: keep it; release the oldest beyond the depth.
            let held = &mut self.state.held[ch];
            while held.len() > self.depth {
                let Some(old) = held.pop_front() else { break };
                if old.used.get() {
                    store.discard_front(ch);
                } else {
                    store.drop_front(ch, old.stamp, DropReason::QueueOverflow, out);
                }
            }
            return;
        };
        if self.state.single {
            self.inner_step(store, out, |_, view, out| {
                if let Some(set) = view.take_set(&mut |_| 0) {
                    out.set(set);
                }
            });
        } else {
            let arrival = Arrival {
                channel: inner,
                ..arrival
            };
            self.inner_step(store, out, |p, view, out| p.add(arrival, view, out));
        }
    }

    fn queued(&self, channel: usize) -> usize {
        self.state.held.get(channel).map_or(0, VecDeque::len)
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        if !self.state.single {
            self.inner_step(store, out, |p, view, out| p.reset(view, out));
        }
        for (r, held) in self.state.held.iter_mut().enumerate() {
            while let Some(h) = held.pop_front() {
                if h.used.get() {
                    store.discard_front(r);
                } else {
                    store.drop_front(r, h.stamp, DropReason::Reset, out);
                }
            }
        }
    }

    fn set_deadline(&mut self, d: Option<crate::time::Duration>) -> Result<(), ConfigError> {
        self.inner.set_deadline(d)
    }

    fn search(&self) -> SearchState {
        if self.state.single {
            return SearchState::default();
        }
        let s = self.inner.search();
        SearchState {
            pivot: s.pivot.and_then(|(c, t)| Some((self.state.real(c)?, t))),
            candidate: s.candidate,
        }
    }
}

/// The store an inner policy of [`Latched`] runs over: the free channels,
/// renumbered `0..`; a set taken from it is completed with the latched
/// messages.
#[derive(Debug)]
pub struct LatchView<'a, S: Store> {
    store: &'a mut S,
    state: &'a mut LatchState,
    /// Members of sets that could not be completed, to drop after the step.
    orphans: SmallVec<[(usize, Stamp, S::Message); 4]>,
}

impl<S: CloneStore> LatchView<'_, S> {
    /// Forgets position `pos` of real channel `r` in the mirror.
    fn forget(&mut self, r: usize, pos: usize) {
        if let Some(h) = self.state.held.get_mut(r) {
            h.remove(pos);
        }
    }
}

impl<S: CloneStore> Store for LatchView<'_, S> {
    type Set = S::Set;
    type Message = S::Message;

    fn channels(&self) -> usize {
        self.state.real_of.len()
    }
    fn len(&self, channel: usize) -> usize {
        self.state.real(channel).map_or(0, |r| self.store.len(r))
    }
    fn remove(&mut self, channel: usize, pos: usize) -> Option<S::Message> {
        let r = self.state.real(channel)?;
        let m = self.store.remove(r, pos)?;
        self.forget(r, pos);
        Some(m)
    }
    fn pop_front(&mut self, channel: usize) -> Option<S::Message> {
        self.remove(channel, 0)
    }
    fn discard_front(&mut self, channel: usize) -> bool {
        let Some(r) = self.state.real(channel) else {
            return false;
        };
        let gone = self.store.discard_front(r);
        if gone {
            self.forget(r, 0);
        }
        gone
    }
    fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<S::Set> {
        self.take_set_cloning(&mut |c| Pick::Take(pos(c)))
    }
    fn take_fronts(&mut self) -> Option<S::Set> {
        self.take_set_cloning(&mut |_| Pick::Take(0))
    }
}

impl<S: CloneStore> CloneStore for LatchView<'_, S> {
    fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<S::Set> {
        let st = &*self.state;
        let picks: SmallVec<[Pick; 16]> =
            (0..st.real_of.len()).map(|c| Pick::Clone(pos(c))).collect();
        let stamp = st.set_stamp(&picks)?;
        if !st.completes(stamp) {
            return None;
        }
        let set = self
            .store
            .clone_set(&mut |r| match st.inner_of.get(r).copied().flatten() {
                Some(c) => picks.get(c).map_or(usize::MAX, |p| p.pos()),
                None => st.choose(r, stamp).unwrap_or(usize::MAX),
            })?;
        st.mark_used(stamp);
        Some(set)
    }

    fn take_set_cloning(&mut self, pick: &mut dyn FnMut(usize) -> Pick) -> Option<S::Set> {
        let mut picks = std::mem::take(&mut self.state.picks);
        picks.clear();
        picks.extend((0..self.state.real_of.len()).map(&mut *pick));
        let set = self.take_picks(&picks);
        self.state.picks = picks;
        set
    }
}

impl<S: CloneStore> LatchView<'_, S> {
    /// Takes the set `picks` names (per inner channel), completed with the
    /// latched messages; if it cannot be completed, its taken members
    /// become orphans and `None` is returned.
    fn take_picks(&mut self, picks: &[Pick]) -> Option<S::Set> {
        let st = &*self.state;
        // Out of range: nothing is removed.
        let stamp = st.set_stamp(picks)?;
        if !st.completes(stamp) {
            for (c, p) in picks.iter().enumerate() {
                let (Some(r), Pick::Take(pos)) = (self.state.real(c), *p) else {
                    continue;
                };
                let Some(m) = self.store.remove(r, pos) else {
                    continue;
                };
                let held = self.state.held.get_mut(r).and_then(|h| h.remove(pos));
                self.orphans.push((r, held.map_or(stamp, |h| h.stamp), m));
            }
            return None;
        }
        let set =
            self.store
                .take_set_cloning(&mut |r| match st.inner_of.get(r).copied().flatten() {
                    Some(c) => picks.get(c).copied().unwrap_or(Pick::Take(usize::MAX)),
                    None => Pick::Clone(st.choose(r, stamp).unwrap_or(usize::MAX)),
                })?;
        st.mark_used(stamp);
        for (c, p) in picks.iter().enumerate() {
            if let (Pick::Take(pos), Some(r)) = (*p, self.state.real(c)) {
                self.forget(r, pos);
            }
        }
        Some(set)
    }
}
