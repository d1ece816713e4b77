//! Where a driver's events go once the policy step is done: the one
//! callbacks adapter every driver shares. [`Handlers`] routes each
//! [`Event`] to its callback; [`Callbacks`] holds `FnMut` callbacks (the
//! single-threaded drivers and the stream), [`SharedCallbacks`] `Fn` ones
//! (the thread-safe driver, which calls them with no lock held).

use std::sync::Arc;

use super::event::{Event, Partial, Stale};
use crate::policy::Dropped;
use crate::time::Stamp;

/// An arrival clock: the time now, on the clock of the received stamps (a
/// node's ROS clock, a monotonic clock, a simulator's).
pub type Clock = Arc<dyn Fn() -> Stamp + Send + Sync>;

/// Receives one step's events, in order. `S` is the set type, `M` one
/// message of any channel.
pub(crate) trait Handlers<S, M> {
    /// A matched set.
    fn set(&mut self, set: S);
    /// A dropped message.
    fn drop(&mut self, dropped: Dropped<M>);
    /// A stale-channel report.
    fn stale(&mut self, stale: Stale);
    /// A partial set.
    fn partial(&mut self, partial: Partial<M>);
    /// Whether dropped messages are wanted at all: without, the policy
    /// frees them at once and they are only counted.
    fn wants_drops(&self) -> bool;

    /// Routes one event to its callback.
    #[inline]
    fn event(&mut self, e: Event<S, M>) {
        match e {
            Event::Set(s) => self.set(s),
            Event::Drop(d) => self.drop(d),
            Event::Stale(s) => self.stale(s),
            Event::Partial(p) => self.partial(p),
            // Counted in the stats and logged; no callback of their own.
            Event::Out(_) | Event::Rejoin(_) => {}
        }
    }
}

/// `FnMut` callbacks, each optional. `PS` is what a partial set is handed
/// out as (a tuple of `Option`s for the typed drivers), made by `partial_of`.
pub(crate) struct Callbacks<S, M, PS> {
    pub(crate) on_set: Option<Box<dyn FnMut(S) + Send>>,
    pub(crate) on_drop: Option<Box<dyn FnMut(Dropped<M>) + Send>>,
    pub(crate) on_stale: Option<Box<dyn FnMut(Stale) + Send>>,
    pub(crate) on_partial: Option<Box<dyn FnMut(PS) + Send>>,
    partial_of: fn(Partial<M>) -> PS,
}

impl<S, M, PS> Callbacks<S, M, PS> {
    pub(crate) fn new(partial_of: fn(Partial<M>) -> PS) -> Self {
        Callbacks {
            on_set: None,
            on_drop: None,
            on_stale: None,
            on_partial: None,
            partial_of,
        }
    }
}

impl<S, M, PS> Handlers<S, M> for Callbacks<S, M, PS> {
    #[inline]
    fn set(&mut self, set: S) {
        if let Some(f) = &mut self.on_set {
            f(set);
        }
    }
    #[inline]
    fn drop(&mut self, dropped: Dropped<M>) {
        if let Some(f) = &mut self.on_drop {
            f(dropped);
        }
    }
    fn stale(&mut self, stale: Stale) {
        if let Some(f) = &mut self.on_stale {
            f(stale);
        }
    }
    fn partial(&mut self, partial: Partial<M>) {
        if let Some(f) = &mut self.on_partial {
            f((self.partial_of)(partial));
        }
    }
    #[inline]
    fn wants_drops(&self) -> bool {
        self.on_drop.is_some()
    }
}

/// `Fn` callbacks for the thread-safe driver: called from whichever
/// thread added the message, after its lock is released.
pub(crate) struct SharedCallbacks<S, M, PS> {
    pub(crate) on_set: Option<Box<dyn Fn(S) + Send + Sync>>,
    pub(crate) on_drop: Option<Box<dyn Fn(Dropped<M>) + Send + Sync>>,
    pub(crate) on_stale: Option<Box<dyn Fn(Stale) + Send + Sync>>,
    pub(crate) on_partial: Option<Box<dyn Fn(PS) + Send + Sync>>,
    partial_of: fn(Partial<M>) -> PS,
}

impl<S, M, PS> SharedCallbacks<S, M, PS> {
    pub(crate) fn new(partial_of: fn(Partial<M>) -> PS) -> Self {
        SharedCallbacks {
            on_set: None,
            on_drop: None,
            on_stale: None,
            on_partial: None,
            partial_of,
        }
    }
}

impl<S, M, PS> Handlers<S, M> for &SharedCallbacks<S, M, PS> {
    fn set(&mut self, set: S) {
        if let Some(f) = &self.on_set {
            f(set);
        }
    }
    fn drop(&mut self, dropped: Dropped<M>) {
        if let Some(f) = &self.on_drop {
            f(dropped);
        }
    }
    fn stale(&mut self, stale: Stale) {
        if let Some(f) = &self.on_stale {
            f(stale);
        }
    }
    fn partial(&mut self, partial: Partial<M>) {
        if let Some(f) = &self.on_partial {
            f((self.partial_of)(partial));
        }
    }
    fn wants_drops(&self) -> bool {
        self.on_drop.is_some()
    }
}
