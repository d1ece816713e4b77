//! One builder for every driver: the policy, then in any order
//! [`options`](Builder::options), [`stamp_with`](Builder::stamp_with),
//! [`clock`](Builder::clock) and the `on_set` / `on_drop` / `on_stale` /
//! `on_partial` callbacks, then `build()`, which checks everything against
//! the channels. `K` says what is built and holds its callbacks.
//!
//! | made by | builds |
//! |---|---|
//! | [`Synchronizer::builder`](crate::Synchronizer::builder) | [`Synchronizer`](crate::Synchronizer) |
//! | [`SharedSynchronizer::builder`](crate::SharedSynchronizer::builder) | [`SharedSynchronizer`](crate::SharedSynchronizer) (callbacks `Fn + Sync`) |
//! | [`DynSynchronizer::builder`](crate::DynSynchronizer::builder) | [`DynSynchronizer`](crate::DynSynchronizer) |
//! | [`SyncStream::builder`](crate::stream::SyncStream::builder) | [`SyncStream`](crate::stream::SyncStream) (sets are its items: no `on_set`) |

use std::sync::Arc;

use super::event::{Partial, Stale};
use super::handlers::{Callbacks, Clock, SharedCallbacks};
use super::options::Options;
use super::queues::DynSet;
use super::tuple::Messages;
use crate::policy::Dropped;
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

/// Builds a driver: see the [module docs](self).
#[must_use = "call build() to get the driver"]
pub struct Builder<K, P, G = HeaderStamp> {
    pub(crate) kind: K,
    pub(crate) policy: P,
    pub(crate) options: Options,
    pub(crate) getters: G,
    pub(crate) clock: Option<Clock>,
}

impl<K, P, G> std::fmt::Debug for Builder<K, P, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("options", &self.options)
            .field("clock", &self.clock.is_some())
            .finish_non_exhaustive()
    }
}

impl<K, P> Builder<K, P> {
    pub(crate) fn new(kind: K, policy: P) -> Self {
        Builder {
            kind,
            policy,
            options: Options::default(),
            getters: HeaderStamp,
            clock: None,
        }
    }
}

impl<K, P, G> Builder<K, P, G> {
    /// [`Options`] around the policy (all off by default).
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Each channel's stamp getter: [`HeaderStamp`] (the messages'
    /// [`Stamped`](crate::Stamped) impls, the default), a closure
    /// `|m: &M| -> Stamp`, a type made by
    /// [`stamp_getter!`](crate::stamp_getter), or, for a tuple of message
    /// types, a tuple of those, one per channel
    /// ([`StampGetters`](crate::driver::StampGetters)). Static dispatch. Checked
    /// where it is used: `add` needs a getter for its channel.
    pub fn stamp_with<G2>(self, getters: G2) -> Builder<K, P, G2> {
        Builder {
            kind: self.kind,
            policy: self.policy,
            options: self.options,
            getters,
            clock: self.clock,
        }
    }

    /// The arrival clock: a message given without an arrival time (`add`,
    /// `push`, a stream's items) is received at `now()`, which is what
    /// [`Options::arrival_stamps`], the stale check and arrival-clock
    /// policies such as [`LatestTime`](crate::LatestTime) use. Without a
    /// clock a message is received at its own stamp. The r2r helpers use
    /// the node's ROS clock.
    pub fn clock(mut self, now: impl Fn() -> Stamp + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }
}

/// What [`Synchronizer::builder`](crate::Synchronizer::builder) builds,
/// with its callbacks.
pub struct ForSynchronizer<T: Messages> {
    pub(crate) callbacks: Callbacks<T::Set, T::Message, T::PartialSet>,
}

/// What [`SharedSynchronizer::builder`](crate::SharedSynchronizer::builder)
/// builds, with its callbacks.
pub struct ForShared<T: Messages> {
    pub(crate) callbacks: SharedCallbacks<T::Set, T::Message, T::PartialSet>,
}

/// What [`DynSynchronizer::builder`](crate::DynSynchronizer::builder)
/// builds: `channels` channels, with its callbacks.
pub struct ForDyn<M> {
    pub(crate) channels: usize,
    pub(crate) callbacks: Callbacks<DynSet<M>, M, Partial<M>>,
}

/// What [`SyncStream::builder`](crate::stream::SyncStream::builder)
/// builds: its inputs, with its callbacks (the sets are the stream's
/// items).
pub struct ForStream<S, T: Messages> {
    pub(crate) inputs: S,
    pub(crate) callbacks: Callbacks<T::Set, T::Message, T::PartialSet>,
}

impl<T: Messages> ForSynchronizer<T> {
    pub(crate) fn new() -> Self {
        ForSynchronizer {
            callbacks: Callbacks::new(T::partial),
        }
    }
}

impl<T: Messages> ForShared<T> {
    pub(crate) fn new() -> Self {
        ForShared {
            callbacks: SharedCallbacks::new(T::partial),
        }
    }
}

impl<M> ForDyn<M> {
    pub(crate) fn new(channels: usize) -> Self {
        ForDyn {
            channels,
            callbacks: Callbacks::new(|p| p),
        }
    }
}

impl<S, T: Messages> ForStream<S, T> {
    pub(crate) fn new(inputs: S) -> Self {
        ForStream {
            inputs,
            callbacks: Callbacks::new(T::partial),
        }
    }
}

/// The drop, stale and partial-set setters of one kind of builder; `$f`
/// is the callbacks' trait (`FnMut`, or `Fn` plus `Sync` for the
/// thread-safe driver).
macro_rules! callback_setters {
    (impl<$($g:ident),*> $kind:ty [$($w:tt)*], $f:ident [$($sync:tt)*], msg $Msg:ty, partial $PS:ty) => {
        impl<$($g,)* P, G> Builder<$kind, P, G> where $($w)* {
            /// Calls `f` with every dropped message and why. Without it a
            /// dropped message is freed during the step that drops it and
            /// only counted (`stats()`).
            pub fn on_drop(mut self, f: impl $f(Dropped<$Msg>) + Send $($sync)* + 'static) -> Self {
                self.kind.callbacks.on_drop = Some(Box::new(f));
                self
            }
            /// Calls `f` with every stale-channel report
            /// ([`Options::stale_after`]).
            pub fn on_stale(mut self, f: impl $f(Stale) + Send $($sync)* + 'static) -> Self {
                self.kind.callbacks.on_stale = Some(Box::new(f));
                self
            }
            /// Calls `f` with every partial set ([`Options::partial_sets`]).
            pub fn on_partial(mut self, f: impl $f($PS) + Send $($sync)* + 'static) -> Self {
                self.kind.callbacks.on_partial = Some(Box::new(f));
                self
            }
        }
    };
}

callback_setters!(impl<T> ForSynchronizer<T> [T: Messages], FnMut [], msg T::Message, partial T::PartialSet);
callback_setters!(impl<T> ForShared<T> [T: Messages], Fn [+ Sync], msg T::Message, partial T::PartialSet);
callback_setters!(impl<M> ForDyn<M> [], FnMut [], msg M, partial Partial<M>);
callback_setters!(impl<S, T> ForStream<S, T> [T: Messages], FnMut [], msg T::Message, partial T::PartialSet);

impl<T: Messages, P, G> Builder<ForSynchronizer<T>, P, G> {
    /// Calls `f` with every matched set, by value, after the policy step.
    pub fn on_set(mut self, f: impl FnMut(T::Set) + Send + 'static) -> Self {
        self.kind.callbacks.on_set = Some(Box::new(f));
        self
    }
}

impl<T: Messages, P, G> Builder<ForShared<T>, P, G> {
    /// Calls `f` with every matched set, on the thread that added the
    /// message that completed it, after the lock is released.
    pub fn on_set(mut self, f: impl Fn(T::Set) + Send + Sync + 'static) -> Self {
        self.kind.callbacks.on_set = Some(Box::new(f));
        self
    }
}

impl<M, P, G> Builder<ForDyn<M>, P, G> {
    /// Calls `f` with every matched set, members in channel order.
    pub fn on_set(mut self, f: impl FnMut(DynSet<M>) + Send + 'static) -> Self {
        self.kind.callbacks.on_set = Some(Box::new(f));
        self
    }
}
