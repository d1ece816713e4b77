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
    /// A set with members missing: flushed after a stale timeout (option
    /// [`partial_sets`](crate::Options::partial_sets)), or made while a
    /// channel is out (option [`drop_out_after`](crate::Options::drop_out_after)).
    Partial(Partial<M>),
    /// A channel went out: sets go on without it.
    Out(ChannelOut),
    /// An out channel is back: sets need it again.
    Rejoin(ChannelOut),
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

/// A set with holes: one entry per channel, `None` where the set has no
/// member. Typed synchronizers turn it into a tuple of `Option`s with
/// [`Messages::partial`](crate::driver::Messages::partial).
#[derive(Clone, Debug, PartialEq)]
pub struct Partial<M> {
    /// Per channel, its member.
    pub members: Vec<Option<Member<M>>>,
}

impl<M> Partial<M> {
    /// The newest stamp among the members.
    pub fn stamp(&self) -> Option<Stamp> {
        self.members.iter().flatten().map(|m| m.stamp).max()
    }
}

/// One member of a [`Partial`] set.
#[derive(Clone, Debug, PartialEq)]
pub struct Member<M> {
    /// Its channel.
    pub channel: usize,
    /// Its stamp, as matched (after offsets).
    pub stamp: Stamp,
    /// The message.
    pub message: M,
}

impl<M> From<Dropped<M>> for Member<M> {
    fn from(d: Dropped<M>) -> Self {
        Member {
            channel: d.channel,
            stamp: d.stamp,
            message: d.message,
        }
    }
}

/// A channel went out or rejoined (option
/// [`drop_out_after`](crate::Options::drop_out_after)).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ChannelOut {
    /// The channel.
    pub channel: usize,
    /// When, on the drop-out clock: the newest stamp received (stamp
    /// clock) or the arrival time (arrival clock).
    pub at: Stamp,
    /// Out: how far behind its last message was. Rejoin: how long it was out.
    pub behind: Duration,
    /// Rejoin: sets emitted without it while it was out (0 when it goes out).
    pub sets_without: u64,
}
