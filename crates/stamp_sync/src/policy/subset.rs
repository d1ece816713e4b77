//! A policy over some of a store's channels: what a driver runs while a
//! channel is out ([`Options::drop_out_after`](crate::Options::drop_out_after)).
//!
//! [`SubsetView`] shows a policy the kept channels of a store, renumbered
//! `0..`, and mirrors the stamps of what they hold, so each set it takes
//! comes out with its members' stamps. [`Policy::subset`] makes the policy
//! for such a view: the same policy with its per-channel settings
//! renumbered, boxed, because its store type differs from the driver's.

use std::collections::VecDeque;

use smallvec::SmallVec;

use super::{Arrival, CloneStore, ConfigError, Output, Pick, Policy, Store};
use crate::time::Stamp;

/// A set taken from a [`SubsetView`]: `(stamp, message)` per kept channel,
/// in the view's channel order.
pub type SubsetSet<M> = SmallVec<[(Stamp, M); 4]>;

/// The kept channels of a store, renumbered `0..`.
#[derive(Debug)]
pub struct SubsetView<'a, S> {
    store: &'a mut S,
    /// Per view channel: its channel in `store`.
    real_of: &'a [usize],
    /// Per view channel: the stamps held, in store order.
    stamps: &'a mut [VecDeque<Stamp>],
}

impl<'a, S: Store> SubsetView<'a, S> {
    /// `store` seen through `real_of` (view channel → store channel), with
    /// `stamps` mirroring what each kept channel holds (one entry per view
    /// channel; the view keeps them up to date).
    pub fn new(store: &'a mut S, real_of: &'a [usize], stamps: &'a mut [VecDeque<Stamp>]) -> Self {
        SubsetView {
            store,
            real_of,
            stamps,
        }
    }

    fn real(&self, channel: usize) -> Option<usize> {
        self.real_of.get(channel).copied()
    }

    fn forget(&mut self, channel: usize, pos: usize) -> Option<Stamp> {
        self.stamps.get_mut(channel)?.remove(pos)
    }

    /// Checks every position before anything leaves the store.
    fn in_range(
        &self,
        pos: &mut dyn FnMut(usize) -> Pick,
        picks: &mut SmallVec<[Pick; 9]>,
    ) -> bool {
        picks.clear();
        for c in 0..self.real_of.len() {
            let p = pos(c);
            if p.pos() >= self.len(c) {
                return false;
            }
            picks.push(p);
        }
        true
    }
}

impl<S: Store> Store for SubsetView<'_, S> {
    type Set = SubsetSet<S::Message>;
    type Message = S::Message;

    fn channels(&self) -> usize {
        self.real_of.len()
    }
    fn len(&self, channel: usize) -> usize {
        self.real(channel).map_or(0, |r| self.store.len(r))
    }
    fn remove(&mut self, channel: usize, pos: usize) -> Option<S::Message> {
        let m = self.store.remove(self.real(channel)?, pos)?;
        self.forget(channel, pos);
        Some(m)
    }
    fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set> {
        let mut picks = SmallVec::new();
        if !self.in_range(&mut |c| Pick::Take(pos(c)), &mut picks) {
            return None;
        }
        let mut set = SubsetSet::with_capacity(picks.len());
        for (c, p) in picks.iter().enumerate() {
            let stamp = self.stamps.get(c)?.get(p.pos()).copied()?;
            set.push((stamp, self.remove(c, p.pos())?));
        }
        Some(set)
    }
}

impl<S: CloneStore> CloneStore for SubsetView<'_, S> {
    fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set> {
        (0..self.real_of.len())
            .map(|c| {
                let p = pos(c);
                let stamp = self.stamps.get(c)?.get(p).copied()?;
                Some((stamp, self.store.clone_message(self.real(c)?, p)?))
            })
            .collect()
    }
    fn take_set_cloning(&mut self, pick: &mut dyn FnMut(usize) -> Pick) -> Option<Self::Set> {
        let mut picks = SmallVec::new();
        if !self.in_range(pick, &mut picks) {
            return None;
        }
        let mut set = SubsetSet::with_capacity(picks.len());
        for (c, p) in picks.iter().enumerate() {
            let stamp = self.stamps.get(c)?.get(p.pos()).copied()?;
            let m = match *p {
                Pick::Clone(pos) => self.store.clone_message(self.real(c)?, pos)?,
                Pick::Take(pos) => self.remove(c, pos)?,
            };
            set.push((stamp, m));
        }
        Some(set)
    }
    fn clone_message(&self, channel: usize, pos: usize) -> Option<S::Message> {
        self.store.clone_message(self.real(channel)?, pos)
    }
}

/// A policy over a [`SubsetView`] of store `S`, boxed: what
/// [`Policy::subset`] returns. Implemented for every policy that runs over
/// any such view.
pub trait SubsetPolicy<S: Store> {
    /// [`Policy::bind`].
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError>;
    /// [`Policy::max_events_per_add`].
    fn max_events_per_add(&self) -> usize;
    /// [`Policy::add`] over the view.
    fn add(
        &mut self,
        arrival: Arrival,
        view: &mut SubsetView<'_, S>,
        out: &mut Output<SubsetSet<S::Message>, S::Message>,
    );
    /// [`Policy::queued`], by view channel.
    fn queued(&self, channel: usize) -> usize;
    /// [`Policy::reset`] over the view.
    fn reset(
        &mut self,
        view: &mut SubsetView<'_, S>,
        out: &mut Output<SubsetSet<S::Message>, S::Message>,
    );
}

impl<S: Store, P> SubsetPolicy<S> for P
where
    P: for<'a> Policy<SubsetView<'a, S>>,
{
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        Policy::bind(self, channels)
    }
    fn max_events_per_add(&self) -> usize {
        Policy::max_events_per_add(self)
    }
    fn add(
        &mut self,
        arrival: Arrival,
        view: &mut SubsetView<'_, S>,
        out: &mut Output<SubsetSet<S::Message>, S::Message>,
    ) {
        Policy::add(self, arrival, view, out)
    }
    fn queued(&self, channel: usize) -> usize {
        Policy::queued(self, channel)
    }
    fn reset(
        &mut self,
        view: &mut SubsetView<'_, S>,
        out: &mut Output<SubsetSet<S::Message>, S::Message>,
    ) {
        Policy::reset(self, view, out)
    }
}

/// Per-channel settings `(channel, value)` kept for the channels `keep`,
/// renumbered to their position in it.
pub(crate) fn renumber<T: Copy>(settings: &[(usize, T)], keep: &[usize]) -> Vec<(usize, T)> {
    settings
        .iter()
        .filter_map(|&(c, v)| Some((keep.iter().position(|&k| k == c)?, v)))
        .collect()
}
