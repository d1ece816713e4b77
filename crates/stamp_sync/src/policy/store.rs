//! Message storage that a policy drives by channel index.

use super::{DropReason, Output};
use crate::time::Stamp;

/// Typed message storage that a policy drives by channel index.
///
/// Each channel is a FIFO in arrival order: the driver appends with its own
/// typed push, the policy removes by position (`0` = oldest held). The
/// policy mirrors the stamps itself, so the store never needs them.
///
/// Implemented for the tuple queues of
/// [`Synchronizer`](crate::Synchronizer) and for the `Vec` queues of the
/// dynamic synchronizer. Out-of-range positions return `None` (a policy
/// bug, never a panic).
pub trait Store {
    /// The matched set handed to the user, e.g. `(Image, CameraInfo)`.
    type Set;
    /// A single message of any channel, as handed to drop callbacks.
    type Message;

    /// Number of channels.
    fn channels(&self) -> usize;
    /// Messages held on `channel`.
    fn len(&self, channel: usize) -> usize;
    /// Removes the message at `pos` of `channel`.
    fn remove(&mut self, channel: usize, pos: usize) -> Option<Self::Message>;
    /// Removes the oldest message of `channel`.
    fn pop_front(&mut self, channel: usize) -> Option<Self::Message> {
        self.remove(channel, 0)
    }
    /// Removes message `pos(ch)` from every channel and returns them as a set,
    /// calling `pos` once per channel in channel order. If any position is
    /// out of range nothing is removed. Otherwise the messages leave the
    /// store even if `None` comes back: a [`LatchView`](super::LatchView)
    /// that cannot complete the set drops them, so a policy updates its
    /// own mirror either way.
    fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set>;
    /// Removes the oldest message of `channel` and records it in `out` as
    /// dropped (or only counts it, if `out` does not keep drops). False if
    /// the channel was empty.
    #[inline]
    fn drop_front(
        &mut self,
        channel: usize,
        stamp: Stamp,
        reason: DropReason,
        out: &mut Output<Self::Set, Self::Message>,
    ) -> bool {
        if !out.keeps_drops() {
            let dropped = self.discard_front(channel);
            if dropped {
                out.count_drop(channel, reason);
            }
            return dropped;
        }
        match self.pop_front(channel) {
            Some(m) => {
                out.drop_message(channel, stamp, reason, m);
                true
            }
            None => false,
        }
    }
    /// Removes and frees the oldest message of `channel`. False if the
    /// channel was empty. A typed store can free it in place.
    #[inline]
    fn discard_front(&mut self, channel: usize) -> bool {
        self.pop_front(channel).is_some()
    }
    /// Removes and frees the `k` oldest messages of `channel` (fewer if it
    /// holds fewer); returns how many.
    #[inline]
    fn discard_fronts(&mut self, channel: usize, k: usize) -> usize {
        (0..k).take_while(|_| self.discard_front(channel)).count()
    }
    /// Removes the oldest message of every channel as a set.
    fn take_fronts(&mut self) -> Option<Self::Set> {
        self.take_set(&mut |_| 0)
    }
    /// Appends `msg`, a message this store handed out (e.g. by a reset),
    /// back to `channel`. `Err(msg)` if the store cannot (the default) or
    /// `msg` is not of that channel.
    fn push_back(&mut self, channel: usize, msg: Self::Message) -> Result<(), Self::Message> {
        let _ = channel;
        Err(msg)
    }
}

/// A [`Store`] whose messages can be cloned: for policies that hand out
/// the same message more than once (zero-order hold, latched channels).
pub trait CloneStore: Store {
    /// Clones message `pos(ch)` of every channel into a set, leaving the
    /// store as it is. `None` if any position is out of range.
    fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set>;
    /// Builds a set taking some members out of the store and cloning
    /// others, as `pick(ch)` says, calling it once per channel in channel
    /// order. If any position is out of range nothing is removed.
    fn take_set_cloning(&mut self, pick: &mut dyn FnMut(usize) -> Pick) -> Option<Self::Set>;
    /// Clones the message at `pos` of `channel`. `None` if out of range
    /// or if the store cannot clone one message alone (the default).
    fn clone_message(&self, channel: usize, pos: usize) -> Option<Self::Message> {
        let _ = (channel, pos);
        None
    }
}

/// How [`CloneStore::take_set_cloning`] gets one member of a set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Removes the message at this position.
    Take(usize),
    /// Clones the message at this position and leaves it in the store.
    Clone(usize),
}

impl Pick {
    /// The position.
    pub fn pos(self) -> usize {
        match self {
            Pick::Take(p) | Pick::Clone(p) => p,
        }
    }
}
