//! [`SharedSynchronizer`]: a cloneable, thread-safe handle whose callbacks
//! run after the lock is released, so a callback may add to the same
//! synchronizer (upstream deadlocks there: ros2/message_filters#65).

use std::sync::{Arc, Mutex, PoisonError};

use smallvec::SmallVec;

use super::builder::{Builder, ForShared};
use super::event::Event;
use super::handlers::{Handlers, SharedCallbacks};
use super::stats::{Diagnostics, Stats};
use super::tuple::{Channel, Messages, StampAt, State, add_typed, new_state};
use crate::policy::{ConfigError, Policy};
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

struct Shared<T: Messages, P, G> {
    state: Mutex<State<T, P>>,
    getters: G,
    callbacks: SharedCallbacks<T::Set, T::Message, T::PartialSet>,
}

/// A cloneable, thread-safe synchronizer handle.
///
/// The lock is held only for the policy step. Events are moved out first,
/// then the callbacks run with no lock held: a callback may call
/// [`add`](Self::add) on the same handle without deadlock. Sets emitted by
/// one `add` are delivered in order; concurrent `add`s on different threads
/// deliver their own events on their own thread.
///
/// It has the verbs of [`Synchronizer`](crate::Synchronizer) (`add`,
/// `add_at`, `add_stamped`, `push*`, `poll`, `reset`, `replace_policy`,
/// `with_policy`) on `&self`, and the same [`Builder`]; its callbacks are
/// `Fn + Sync`, since any thread may run them.
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

impl<T: Messages, P: Policy<T::Queues>> SharedSynchronizer<T, P> {
    /// A handle over `policy` with no callbacks and every option off.
    pub fn new(policy: P) -> Result<Self, ConfigError> {
        Self::builder(policy).build()
    }

    /// Starts a [`Builder`]: callbacks are fixed at construction.
    pub fn builder(policy: P) -> Builder<ForShared<T>, P> {
        Builder::new(ForShared::new(), policy)
    }
}

impl<T: Messages, P: Policy<T::Queues>, G> Builder<ForShared<T>, P, G> {
    /// Checks the policy and options against `T` and builds the handle.
    pub fn build(self) -> Result<SharedSynchronizer<T, P, G>, ConfigError> {
        Ok(SharedSynchronizer {
            inner: Arc::new(Shared {
                state: Mutex::new(new_state::<T, P>(self.policy, self.options, self.clock)?),
                getters: self.getters,
                callbacks: self.kind.callbacks,
            }),
        })
    }
}

/// The events of one step, moved out under the lock.
pub type Events<T> = SmallVec<[Event<<T as Messages>::Set, <T as Messages>::Message>; 4]>;

impl<T: Messages, P: Policy<T::Queues>, G> SharedSynchronizer<T, P, G> {
    /// Adds `msg` on channel `I`, stamped by channel `I`'s getter and
    /// received now on the arrival clock (without one: at its stamp);
    /// callbacks run after the lock is released. Returns how many sets
    /// this call emitted.
    pub fn add<const I: usize>(&self, msg: <T as Channel<I>>::Msg) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.inner.getters.stamp_at(&msg);
        let events = self.step(true, |s| {
            let received = s.received(stamp);
            add_typed::<T, P, I>(s, msg, stamp, received)
        });
        self.deliver(events)
    }

    /// [`add`](Self::add), received at `received` on your arrival clock.
    pub fn add_at<const I: usize>(&self, msg: <T as Channel<I>>::Msg, received: Stamp) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.inner.getters.stamp_at(&msg);
        self.add_stamped::<I>(msg, stamp, received)
    }

    /// [`add`](Self::add) with an explicit stamp and arrival time.
    pub fn add_stamped<const I: usize>(
        &self,
        msg: <T as Channel<I>>::Msg,
        stamp: Stamp,
        received: Stamp,
    ) -> usize
    where
        T: Channel<I>,
    {
        let events = self.step(true, |s| add_typed::<T, P, I>(s, msg, stamp, received));
        self.deliver(events)
    }

    /// Adds `msg` on channel `I` (as [`add`](Self::add)) and returns the
    /// step's events instead of calling the callbacks.
    pub fn push<const I: usize>(&self, msg: <T as Channel<I>>::Msg) -> Events<T>
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.inner.getters.stamp_at(&msg);
        self.step(false, |s| {
            let received = s.received(stamp);
            add_typed::<T, P, I>(s, msg, stamp, received)
        })
    }

    /// [`push`](Self::push), received at `received`.
    pub fn push_at<const I: usize>(&self, msg: <T as Channel<I>>::Msg, received: Stamp) -> Events<T>
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.inner.getters.stamp_at(&msg);
        self.push_stamped::<I>(msg, stamp, received)
    }

    /// [`push`](Self::push) with an explicit stamp and arrival time.
    pub fn push_stamped<const I: usize>(
        &self,
        msg: <T as Channel<I>>::Msg,
        stamp: Stamp,
        received: Stamp,
    ) -> Events<T>
    where
        T: Channel<I>,
    {
        self.step(false, |s| add_typed::<T, P, I>(s, msg, stamp, received))
    }

    /// Checks for silent channels at `now` (arrival clock) without adding
    /// a message: call it from a timer. Returns sets emitted (none).
    pub fn poll(&self, now: Stamp) -> usize {
        let events = self.step(true, |s| s.poll(now));
        self.deliver(events)
    }

    /// [`poll`](Self::poll), returning the events instead.
    pub fn poll_events(&self, now: Stamp) -> Events<T> {
        self.step(false, |s| s.poll(now))
    }

    /// Drops everything queued (reason
    /// [`DropReason::Reset`](crate::DropReason::Reset)), keeping the
    /// configuration and the statistics.
    pub fn reset(&self) {
        let events = self.step(true, State::<T, P>::reset);
        self.deliver(events);
    }

    /// Continues with `policy`, as
    /// [`Synchronizer::replace_policy`](crate::Synchronizer::replace_policy):
    /// everything queued is dropped (reason `Reset`, counted, handed to the
    /// drop callback after the lock is released). On error nothing changes.
    pub fn replace_policy(&self, policy: P) -> Result<(), ConfigError> {
        let mut result = Ok(());
        let events = self.step(true, |s| result = s.replace_policy(policy, T::reserve));
        self.deliver(events);
        result
    }

    /// Turns [`Options::drop_out_after`](crate::Options::drop_out_after)
    /// on, changes it, or turns it off (`None`) on a live synchronizer; off,
    /// every out channel rejoins at once. A change of clock brings every
    /// channel back in. What it emits comes out with the next step.
    pub fn set_drop_out_after(
        &self,
        after: Option<crate::Duration>,
        clock: crate::DropOutClock,
    ) -> Result<(), crate::ConfigError> {
        self.lock().set_drop_out_after(after, clock)
    }

    /// Runs `f` on the policy under the lock, for its run-time setters (as
    /// [`Synchronizer::with_policy`](crate::Synchronizer::with_policy)):
    /// `sync.with_policy(|p| p.set_max_interval(Some(d)))`. The change takes
    /// effect from the next message. Do not call the policy's [`Policy`]
    /// methods in `f`.
    pub fn with_policy<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        self.lock().with_policy(f)
    }

    /// Messages queued on `channel` right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.lock().queued(channel)
    }

    /// A snapshot of counters, queues and the search in progress.
    pub fn diagnostics(&self) -> Diagnostics {
        self.lock().diagnostics()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Number of channels (the arity of `T`).
    pub fn channels(&self) -> usize {
        T::CHANNELS
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T, P>> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` under the lock and moves its events out. `to_callbacks`:
    /// the events go to the callbacks, so drops are kept only if a drop
    /// callback wants them.
    fn step(&self, to_callbacks: bool, f: impl FnOnce(&mut State<T, P>)) -> Events<T> {
        let mut state = self.lock();
        state.keep_drops(!to_callbacks || self.inner.callbacks.on_drop.is_some());
        f(&mut state);
        state.drain().collect()
    }

    /// Hands the events to the callbacks, no lock held.
    fn deliver(&self, events: Events<T>) -> usize {
        let mut h = &self.inner.callbacks;
        let mut sets = 0;
        for e in events {
            sets += usize::from(matches!(e, Event::Set(_)));
            h.event(e);
        }
        sets
    }
}
