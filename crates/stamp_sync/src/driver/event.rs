//! What a driver hands to user code, in order: the policy's sets and drops,
//! and the driver's own stale-channel reports and partial sets.

use crate::policy::{Dropped, Outcome};
use crate::time::{Duration, Stamp};

/// One event of a synchronizer step, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<S, M> {
    /// A matched set.
    Set(S),
    /// A dropped message.
    Drop(Dropped<M>),
    /// A channel has been silent too long while others flow (option
    /// [`stale_after`](crate::Options::stale_after)).
    Stale(Stale),
    /// A partial set flushed after a stale timeout (option
    /// [`partial_sets`](crate::Options::partial_sets)).
    Partial(Partial<M>),
}

impl<S, M> Event<S, M> {
    /// The set, if this is one.
    pub fn into_set(self) -> Option<S> {
        match self {
            Event::Set(s) => Some(s),
            _ => None,
        }
    }
    /// The drop, if this is one.
    pub fn into_drop(self) -> Option<Dropped<M>> {
        match self {
            Event::Drop(d) => Some(d),
            _ => None,
        }
    }
}

impl<S, M> From<Outcome<S, M>> for Event<S, M> {
    #[inline]
    fn from(o: Outcome<S, M>) -> Self {
        match o {
            Outcome::Set(s) => Event::Set(s),
            Outcome::Drop(d) => Event::Drop(d),
        }
    }
}

/// The synchronizer is waiting on a silent channel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    /// The silent channel.
    pub channel: usize,
    /// How long it has been silent.
    pub silent_for: Duration,
    /// When this was noticed (arrival clock).
    pub at: Stamp,
}

/// A set with holes: one entry per channel, `None` where a channel held
/// nothing. Typed synchronizers turn it into a tuple of `Option`s with
/// [`Messages::partial`](crate::driver::Messages::partial).
#[derive(Clone, Debug, PartialEq)]
pub struct Partial<M> {
    /// Per channel, its oldest held message.
    pub members: Vec<Option<Dropped<M>>>,
}
