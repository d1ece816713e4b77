//! [`SharedSynchronizer`]: a cloneable, thread-safe handle whose callbacks
//! run after the lock is released, so a callback may add to the same
//! synchronizer (upstream deadlocks there: ros2/message_filters#65).

use std::sync::{Arc, Mutex, PoisonError};

use smallvec::SmallVec;

use super::event::Event;
use super::options::Options;
use super::stats::{Diagnostics, Stats};
use super::tuple::{Channel, Messages, State, add_typed, new_state};
use crate::policy::{ConfigError, Dropped, Policy};
use crate::stamped::Stamped;
use crate::time::Stamp;

type SharedSetCallback<S> = Box<dyn Fn(S) + Send + Sync>;
type SharedDropCallback<M> = Box<dyn Fn(Dropped<M>) + Send + Sync>;

struct Shared<T: Messages, P> {
    state: Mutex<State<T, P>>,
    on_set: Option<SharedSetCallback<T::Set>>,
    on_drop: Option<SharedDropCallback<T::Message>>,
}

/// A cloneable, thread-safe synchronizer handle.
///
/// The lock is held only for the policy step. Events are moved out first,
/// then the callbacks run with no lock held: a callback may call
/// [`add`](Self::add) on the same handle without deadlock. Sets emitted by
/// one `add` are delivered in order; concurrent `add`s on different threads
/// deliver their own events on their own thread.
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
pub struct SharedSynchronizer<T: Messages, P> {
    inner: Arc<Shared<T, P>>,
}

impl<T: Messages, P> Clone for SharedSynchronizer<T, P> {
    fn clone(&self) -> Self {
        SharedSynchronizer {
            inner: self.inner.clone(),
        }
    }
}

/// Builds a [`SharedSynchronizer`]: callbacks are fixed at construction.
pub struct SharedBuilder<T: Messages, P> {
    policy: P,
    options: Options,
    on_set: Option<SharedSetCallback<T::Set>>,
    on_drop: Option<SharedDropCallback<T::Message>>,
}

impl<T: Messages, P: Policy<T::Queues>> SharedBuilder<T, P> {
    /// The callback for matched sets.
    pub fn on_set(mut self, f: impl Fn(T::Set) + Send + Sync + 'static) -> Self {
        self.on_set = Some(Box::new(f));
        self
    }
    /// The callback for dropped messages.
    pub fn on_drop(mut self, f: impl Fn(Dropped<T::Message>) + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Box::new(f));
        self
    }
    /// [`Options`] around the policy.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }
    /// Checks the policy against `T` and builds the handle.
    pub fn build(self) -> Result<SharedSynchronizer<T, P>, ConfigError> {
        Ok(SharedSynchronizer {
            inner: Arc::new(Shared {
                state: Mutex::new(new_state::<T, P>(self.policy, self.options)?),
                on_set: self.on_set,
                on_drop: self.on_drop,
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
            on_set: None,
            on_drop: None,
        }
    }

    /// Adds `msg` on channel `I`; callbacks run after the lock is released.
    /// Returns how many sets this call emitted.
    pub fn add<const I: usize>(&self, msg: <T as Channel<I>>::Msg) -> usize
    where
        T: Channel<I>,
        <T as Channel<I>>::Msg: Stamped,
    {
        let stamp = msg.stamp();
        self.add_stamped::<I>(msg, stamp)
    }

    /// Adds `msg` on channel `I` with an explicit stamp.
    pub fn add_stamped<const I: usize>(&self, msg: <T as Channel<I>>::Msg, stamp: Stamp) -> usize
    where
        T: Channel<I>,
    {
        let events: SmallVec<[Event<T::Set, T::Message>; 4]> = {
            let mut state = self
                .inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            add_typed::<T, P, I>(&mut state, msg, stamp, stamp);
            state.drain().collect()
        };
        let mut sets = 0;
        for e in events {
            match e {
                Event::Set(s) => {
                    sets += 1;
                    if let Some(f) = &self.inner.on_set {
                        f(s);
                    }
                }
                Event::Drop(d) => {
                    if let Some(f) = &self.inner.on_drop {
                        f(d);
                    }
                }
                // Stale reports and partial sets are counted in `stats()`.
                _ => {}
            }
        }
        sets
    }

    /// Messages queued on `channel` right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .policy
            .queued(channel)
    }

    /// A snapshot of counters, queues and the search in progress.
    pub fn diagnostics(&self) -> Diagnostics {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .diagnostics()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
            .clone()
    }
}
