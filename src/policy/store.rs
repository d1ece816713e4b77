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
    /// Removes message `pos(ch)` from every channel and returns them as a set.
    /// If any position is out of range nothing is removed.
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
    /// Removes the oldest message of every channel as a set.
    fn take_fronts(&mut self) -> Option<Self::Set> {
        self.take_set(&mut |_| 0)
    }
}

/// A [`Store`] whose messages can be cloned: for policies that hand out
/// the same message more than once (zero-order hold).
pub trait CloneStore: Store {
    /// Clones message `pos(ch)` of every channel into a set, leaving the
    /// store as it is. `None` if any position is out of range.
    fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set>;
}
