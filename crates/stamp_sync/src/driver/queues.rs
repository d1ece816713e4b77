//! The store of the dynamic synchronizer: per-channel queues of one
//! message type, and its sets ([`DynSet`]), inline up to
//! [`INLINE_CHANNELS`] channels.

use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::policy::{CloneStore, Pick, Store};

/// Channels a [`DynSet`] holds without allocating.
pub const INLINE_CHANNELS: usize = 9;

/// One set of a [`DynSynchronizer`](crate::DynSynchronizer), members in channel order: inline
/// (no allocation) up to [`INLINE_CHANNELS`] channels, on the heap beyond.
pub type DynSet<M> = SmallVec<[M; INLINE_CHANNELS]>;

/// Per-channel queues of one message type `M`.
#[derive(Debug)]
pub struct VecQueues<M> {
    queues: Vec<VecDeque<M>>,
    /// Positions of the set being taken; preallocated, one per channel.
    scratch: Vec<usize>,
    /// The same for [`CloneStore::take_set_cloning`].
    picks: Vec<Pick>,
}

impl<M> VecQueues<M> {
    /// `channels` empty queues with room for `capacity` messages each.
    pub fn new(channels: usize, capacity: usize) -> Self {
        VecQueues {
            queues: (0..channels)
                .map(|_| VecDeque::with_capacity(capacity))
                .collect(),
            scratch: Vec::with_capacity(channels),
            picks: Vec::with_capacity(channels),
        }
    }
    /// Room for `capacity` messages in every queue.
    pub fn reserve(&mut self, capacity: usize) {
        for q in &mut self.queues {
            q.reserve(capacity.saturating_sub(q.len()));
        }
    }
    /// Appends `msg` to `channel`; `false` if there is no such channel.
    pub fn push(&mut self, channel: usize, msg: M) -> bool {
        match self.queues.get_mut(channel) {
            Some(q) => {
                q.push_back(msg);
                true
            }
            None => false,
        }
    }
}

impl<M> Store for VecQueues<M> {
    type Set = DynSet<M>;
    type Message = M;

    fn channels(&self) -> usize {
        self.queues.len()
    }
    fn len(&self, channel: usize) -> usize {
        self.queues.get(channel).map_or(0, VecDeque::len)
    }
    fn remove(&mut self, channel: usize, pos: usize) -> Option<M> {
        self.queues.get_mut(channel)?.remove(pos)
    }
    fn pop_front(&mut self, channel: usize) -> Option<M> {
        self.queues.get_mut(channel)?.pop_front()
    }
    fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<DynSet<M>> {
        self.scratch.clear();
        for (ch, q) in self.queues.iter().enumerate() {
            let p = pos(ch);
            if p >= q.len() {
                return None;
            }
            self.scratch.push(p);
        }
        let mut set = DynSet::with_capacity(self.queues.len());
        for (q, &p) in self.queues.iter_mut().zip(&self.scratch) {
            set.push(if p == 0 { q.pop_front()? } else { q.remove(p)? });
        }
        Some(set)
    }
    fn push_back(&mut self, channel: usize, msg: M) -> Result<(), M> {
        match self.queues.get_mut(channel) {
            Some(q) => {
                q.push_back(msg);
                Ok(())
            }
            None => Err(msg),
        }
    }
    fn take_fronts(&mut self) -> Option<DynSet<M>> {
        if self.queues.iter().any(VecDeque::is_empty) {
            return None;
        }
        // Sized up front: collecting into `Option<_>` would grow it.
        let mut set = DynSet::with_capacity(self.queues.len());
        for q in &mut self.queues {
            set.push(q.pop_front()?);
        }
        Some(set)
    }
}

impl<M: Clone> CloneStore for VecQueues<M> {
    fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<DynSet<M>> {
        self.queues
            .iter()
            .enumerate()
            .map(|(ch, q)| q.get(pos(ch)).cloned())
            .collect()
    }
    fn clone_message(&self, channel: usize, pos: usize) -> Option<M> {
        self.queues.get(channel)?.get(pos).cloned()
    }
    fn take_set_cloning(&mut self, pick: &mut dyn FnMut(usize) -> Pick) -> Option<DynSet<M>> {
        self.picks.clear();
        for (ch, q) in self.queues.iter().enumerate() {
            let p = pick(ch);
            if p.pos() >= q.len() {
                return None;
            }
            self.picks.push(p);
        }
        let mut set = DynSet::with_capacity(self.queues.len());
        for (q, &p) in self.queues.iter_mut().zip(&self.picks) {
            set.push(match p {
                Pick::Clone(p) => q.get(p)?.clone(),
                Pick::Take(0) => q.pop_front()?,
                Pick::Take(p) => q.remove(p)?,
            });
        }
        Some(set)
    }
}
