//! [`SharedSynchronizer`]: a cloneable, thread-safe handle whose callbacks
//! run after the lock is released, so a callback may add to the same
//! synchronizer (upstream deadlocks there: ros2/message_filters#65).

use std::sync::{Arc, Mutex, PoisonError};

use smallvec::SmallVec;

use super::event::{Event, Stale};
use super::options::Options;
use super::stats::{Diagnostics, Stats};
use super::tuple::{Channel, Messages, StampAt, StampGetters, State, add_typed, new_state};
use crate::policy::{ConfigError, Dropped, Policy};
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

type SharedSetCallback<S> = Box<dyn Fn(S) + Send + Sync>;
type SharedDropCallback<M> = Box<dyn Fn(Dropped<M>) + Send + Sync>;
type SharedStaleCallback = Box<dyn Fn(Stale) + Send + Sync>;
type SharedPartialCallback<P> = Box<dyn Fn(P) + Send + Sync>;

struct Callbacks<T: Messages> {
    on_set: Option<SharedSetCallback<T::Set>>,
    on_drop: Option<SharedDropCallback<T::Message>>,
    on_stale: Option<SharedStaleCallback>,
    on_partial: Option<SharedPartialCallback<T::PartialSet>>,
}

impl<T: Messages> Default for Callbacks<T> {
    fn default() -> Self {
        Callbacks {
            on_set: None,
            on_drop: None,
            on_stale: None,
            on_partial: None,
        }
    }
}

struct Shared<T: Messages, P, G> {
    state: Mutex<State<T, P>>,
    getters: G,
    callbacks: Callbacks<T>,
}

/// A cloneable, thread-safe synchronizer handle.
///
/// The lock is held only for the policy step. Events are moved out first,
/// then the callbacks run with no lock held: a callback may call
/// [`add`](Self::add) on the same handle without deadlock. Sets emitted by
/// one `add` are delivered in order; concurrent `add`s on different threads
/// deliver their own events on their own thread.
///
/// It has everything [`Synchronizer`](crate::Synchronizer) has: [`Options`],
/// per-channel stamp getters ([`SharedBuilder::stamp_with`]), drop, stale
/// and partial-set callbacks, [`poll`](Self::poll), run-time policy
/// setters ([`with_policy`](Self::with_policy)) and
/// [`replace_policy`](Self::replace_policy).
///
/// ```
/// use stamp_sync::{ExactTime, SharedSynchronizer, Stamp};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// let n = Arc::new(AtomicUsize::new(0));
/// let seen = n.clone();
/// let sync = SharedSynchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(10).unwrap())
///     .on_set(move |_| { seen.fetch_add(1, Ordering::SeqCst); })
///     .build()
///     .unwrap();
/// let other = sync.clone();
/// std::thread::spawn(move || other.add::<0>(Stamp::from_nanos(7))).join().unwrap();
/// sync.add::<1>(Stamp::from_nanos(7));
/// assert_eq!(n.load(Ordering::SeqCst), 1);
/// ```
pub struct SharedSynchronizer<T: Messages, P, G = HeaderStamp> {
    inner: Arc<Shared<T, P, G>>,
}

impl<T: Messages, P, G> Clone for SharedSynchronizer<T, P, G> {
    fn clone(&self) -> Self {
        SharedSynchronizer {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Messages, P, G> std::fmt::Debug for SharedSynchronizer<T, P, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSynchronizer")
            .field("channels", &T::CHANNELS)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SharedSynchronizer`]: callbacks are fixed at construction.
pub struct SharedBuilder<T: Messages, P, G = HeaderStamp> {
    policy: P,
    options: Options,
    getters: G,
    callbacks: Callbacks<T>,
}

impl<T: Messages, P: Policy<T::Queues>, G> SharedBuilder<T, P, G> {
    /// The callback for matched sets.
    pub fn on_set(mut self, f: impl Fn(T::Set) + Send + Sync + 'static) -> Self {
        self.callbacks.on_set = Some(Box::new(f));
        self
    }
    /// The callback for dropped messages.
    pub fn on_drop(mut self, f: impl Fn(Dropped<T::Message>) + Send + Sync + 'static) -> Self {
        self.callbacks.on_drop = Some(Box::new(f));
        self
    }
    /// The callback for stale-channel reports ([`Options::stale_after`]).
    pub fn on_stale(mut self, f: impl Fn(Stale) + Send + Sync + 'static) -> Self {
        self.callbacks.on_stale = Some(Box::new(f));
        self
    }
    /// The callback for partial sets ([`Options::partial_sets`]), tuples
    /// of `Option`s.
    pub fn on_partial(mut self, f: impl Fn(T::PartialSet) + Send + Sync + 'static) -> Self {
        self.callbacks.on_partial = Some(Box::new(f));
        self
    }
    /// [`Options`] around the policy.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }
    /// One stamp getter per channel, as
    /// [`Synchronizer::stamp_with`](crate::Synchronizer::stamp_with).
    pub fn stamp_with<G2: StampGetters<T>>(self, getters: G2) -> SharedBuilder<T, P, G2> {
        SharedBuilder {
            policy: self.policy,
            options: self.options,
            getters,
            callbacks: self.callbacks,
        }
    }
    /// Checks the policy and options against `T` and builds the handle.
    pub fn build(self) -> Result<SharedSynchronizer<T, P, G>, ConfigError> {
        Ok(SharedSynchronizer {
            inner: Arc::new(Shared {
                state: Mutex::new(new_state::<T, P>(self.policy, self.options)?),
                getters: self.getters,
                callbacks: self.callbacks,
            }),
        })
    }
}

impl<T: Messages, P: Policy<T::Queues>> SharedSynchronizer<T, P> {
    /// Starts building a handle over `policy`.
    pub fn builder(policy: P) -> SharedBuilder<T, P> {
        SharedBuilder {
            policy,
            options: Options::default(),
            getters: HeaderStamp,
            callbacks: Callbacks::default(),
        }
    }
}

/// The events of one step, moved out under the lock.
type Events<T> = SmallVec<[Event<<T as Messages>::Set, <T as Messages>::Message>; 4]>;

impl<T: Messages, P: Policy<T::Queues>, G> SharedSynchronizer<T, P, G> {
    /// Adds `msg` on channel `I`, stamped by channel `I`'s getter;
    /// callbacks run after the lock is released. Returns how many sets
    /// this call emitted.
    pub fn add<const I: usize>(&self, msg: <T as Channel<I>>::Msg) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.inner.getters.stamp_at(&msg);
        self.add_stamped_at::<I>(msg, stamp, stamp)
    }

    /// Adds `msg` on channel `I`, received at `received` on your arrival
    /// clock (see [`Synchronizer::add_at`](crate::Synchronizer::add_at)).
    pub fn add_at<const I: usize>(&self, msg: <T as Channel<I>>::Msg, received: Stamp) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.inner.getters.stamp_at(&msg);
        self.add_stamped_at::<I>(msg, stamp, received)
    }

    /// Adds `msg` on channel `I` with an explicit stamp.
    pub fn add_stamped<const I: usize>(&self, msg: <T as Channel<I>>::Msg, stamp: Stamp) -> usize
    where
        T: Channel<I>,
    {
        self.add_stamped_at::<I>(msg, stamp, stamp)
    }

    /// Adds `msg` on channel `I` with an explicit stamp and arrival time.
    pub fn add_stamped_at<const I: usize>(
        &self,
        msg: <T as Channel<I>>::Msg,
        stamp: Stamp,
        received: Stamp,
    ) -> usize
    where
        T: Channel<I>,
    {
        let events: Events<T> = {
            let mut state = self.lock();
            state.keep_drops(self.inner.callbacks.on_drop.is_some());
            add_typed::<T, P, I>(&mut state, msg, stamp, received);
            state.drain().collect()
        };
        self.deliver(events)
    }

    /// Checks for silent channels at `now` (arrival clock) without adding
    /// a message: call it from a timer. Returns sets emitted (none).
    pub fn poll(&self, now: Stamp) -> usize {
        let events: Events<T> = {
            let mut state = self.lock();
            state.keep_drops(self.inner.callbacks.on_drop.is_some());
            state.poll(now);
            state.drain().collect()
        };
        self.deliver(events)
    }

    /// Drops everything queued (reason [`DropReason::Reset`](crate::DropReason::Reset)),
    /// keeping the configuration and the statistics.
    pub fn reset(&self) {
        let events: Events<T> = {
            let mut state = self.lock();
            state.keep_drops(self.inner.callbacks.on_drop.is_some());
            state.reset();
            state.drain().collect()
        };
        self.deliver(events);
    }

    /// Runs `f` on the policy under the lock, for its run-time setters (as
    /// [`Synchronizer::policy_mut`](crate::Synchronizer::policy_mut)):
    /// `sync.with_policy(|p| p.set_max_interval(Some(d)))`. The change takes
    /// effect from the next message. Do not call the policy's [`Policy`]
    /// methods in `f`.
    pub fn with_policy<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        f(&mut self.lock().policy)
    }

    /// Continues with `policy`, as
    /// [`Synchronizer::replace_policy`](crate::Synchronizer::replace_policy):
    /// everything queued is dropped (reason `Reset`, counted, handed to the
    /// drop callback after the lock is released). On error nothing changes.
    pub fn replace_policy(&self, policy: P) -> Result<(), ConfigError> {
        let events: Events<T> = {
            let mut state = self.lock();
            state.keep_drops(self.inner.callbacks.on_drop.is_some());
            state.replace_policy(policy, T::reserve)?;
            state.drain().collect()
        };
        self.deliver(events);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T, P>> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands the events to the callbacks, no lock held.
    fn deliver(&self, events: Events<T>) -> usize {
        let cb = &self.inner.callbacks;
        let mut sets = 0;
        for e in events {
            match e {
                Event::Set(s) => {
                    sets += 1;
                    if let Some(f) = &cb.on_set {
                        f(s);
                    }
                }
                Event::Drop(d) => {
                    if let Some(f) = &cb.on_drop {
                        f(d);
                    }
                }
                Event::Stale(s) => {
                    if let Some(f) = &cb.on_stale {
                        f(s);
                    }
                }
                Event::Partial(p) => {
                    if let Some(f) = &cb.on_partial {
                        f(T::partial(p));
                    }
                }
            }
        }
        sets
    }

    /// Messages queued on `channel` right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.lock().policy.queued(channel)
    }

    /// A snapshot of counters, queues and the search in progress.
    pub fn diagnostics(&self) -> Diagnostics {
        self.lock().diagnostics()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }
}
