//! Typed synchronizers over tuples of 2 to 9 message types.
//!
//! [`Synchronizer`] is the single-threaded driver: `&mut self`, `FnMut`
//! callbacks. [`SharedSynchronizer`] is a cloneable, thread-safe handle
//! whose callbacks run after the lock is released, so a callback may add to
//! the same synchronizer (upstream deadlocks there: ros2/message_filters#65).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use smallvec::SmallVec;

use crate::driver::{Core, Options};
use crate::policy::{CloneStore, ConfigError, Dropped, Event, Partial, Policy, Stale, Store};
use crate::stamped::Stamped;
use crate::stats::{Diagnostics, Stats};
use crate::time::Stamp;

/// One message of any channel of a tuple synchronizer, as handed to drop
/// callbacks. Unused channels are [`Infallible`].
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum AnyMsg<
    A,
    B,
    C = Infallible,
    D = Infallible,
    E = Infallible,
    F = Infallible,
    G = Infallible,
    H = Infallible,
    I = Infallible,
> {
    Ch0(A),
    Ch1(B),
    Ch2(C),
    Ch3(D),
    Ch4(E),
    Ch5(F),
    Ch6(G),
    Ch7(H),
    Ch8(I),
}

mod sealed {
    pub trait Sealed {}
}

/// A tuple of message types `(M0, .., Mk)`, 2 to 9 of them.
///
/// Sealed: implemented for tuples only.
pub trait Messages: sealed::Sealed {
    /// Number of channels.
    const CHANNELS: usize;
    /// The matched set, the tuple itself.
    type Set;
    /// Any one message, for drop callbacks.
    type Message;
    /// Per-channel typed queues.
    type Queues: Store<Set = Self::Set, Message = Self::Message>;
    /// A partial set: one `Option` per channel.
    type PartialSet;
    /// Empty queues, each with room for `capacity` messages.
    fn queues(capacity: usize) -> Self::Queues;
    /// Sorts a partial set's members into their tuple slots.
    fn partial(p: Partial<Self::Message>) -> Self::PartialSet;
}

/// Channel `I` of a [`Messages`] tuple, and its message type.
pub trait Channel<const I: usize>: Messages {
    /// The message type of channel `I`.
    type Msg;
    /// Appends `msg` to channel `I`.
    fn push(queues: &mut Self::Queues, msg: Self::Msg);
}

/// The typed queues of a tuple synchronizer: one `VecDeque` per channel.
#[derive(Debug)]
pub struct TupleQueues<Q>(Q);

macro_rules! impl_channel {
    (($($G:ident),*) $T:ident $i:tt) => {
        impl<$($G),*> Channel<$i> for ($($G,)*) {
            type Msg = $T;
            #[inline]
            fn push(queues: &mut Self::Queues, msg: $T) {
                (queues.0).$i.push_back(msg);
            }
        }
    };
}

macro_rules! impl_messages {
    ($n:expr; $all:tt; $($T:ident $i:tt $V:ident),+) => {
        impl<$($T),+> sealed::Sealed for ($($T,)+) {}

        impl<$($T),+> Messages for ($($T,)+) {
            const CHANNELS: usize = $n;
            type Set = ($($T,)+);
            type Message = AnyMsg<$($T),+>;
            type Queues = TupleQueues<($(VecDeque<$T>,)+)>;
            type PartialSet = ($(Option<$T>,)+);
            fn partial(p: Partial<Self::Message>) -> Self::PartialSet {
                let mut set: Self::PartialSet = ($(None::<$T>,)+);
                for d in p.members.into_iter().flatten() {
                    match d.message {
                        $(AnyMsg::$V(m) => set.$i = Some(m),)+
                        #[allow(unreachable_patterns)]
                        _ => {}
                    }
                }
                set
            }
            fn queues(capacity: usize) -> Self::Queues {
                TupleQueues(($({ let q: VecDeque<$T> = VecDeque::with_capacity(capacity); q },)+))
            }
        }

        impl<$($T),+> Store for TupleQueues<($(VecDeque<$T>,)+)> {
            type Set = ($($T,)+);
            type Message = AnyMsg<$($T),+>;

            #[inline]
            fn channels(&self) -> usize {
                $n
            }
            #[inline]
            fn len(&self, channel: usize) -> usize {
                match channel {
                    $($i => (self.0).$i.len(),)+
                    _ => 0,
                }
            }
            #[inline]
            fn remove(&mut self, channel: usize, pos: usize) -> Option<Self::Message> {
                match channel {
                    $($i => (self.0).$i.remove(pos).map(AnyMsg::$V),)+
                    _ => None,
                }
            }
            #[inline]
            fn pop_front(&mut self, channel: usize) -> Option<Self::Message> {
                match channel {
                    $($i => (self.0).$i.pop_front().map(AnyMsg::$V),)+
                    _ => None,
                }
            }
            #[inline]
            fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set> {
                let at = [$(pos($i)),+];
                if $(at[$i] >= (self.0).$i.len())||+ {
                    return None;
                }
                // Position 0 (the common case) is a cheap pop_front.
                Some(($(if at[$i] == 0 {
                    (self.0).$i.pop_front()?
                } else {
                    (self.0).$i.remove(at[$i])?
                },)+))
            }
            #[inline]
            fn take_fronts(&mut self) -> Option<Self::Set> {
                if $((self.0).$i.is_empty())||+ {
                    return None;
                }
                Some(($((self.0).$i.pop_front()?,)+))
            }
        }

        impl<$($T: Clone),+> CloneStore for TupleQueues<($(VecDeque<$T>,)+)> {
            fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set> {
                let at = [$(pos($i)),+];
                Some(($((self.0).$i.get(at[$i])?.clone(),)+))
            }
        }

        $( impl_channel!($all $T $i); )+
    };
}

impl<A, B, C, D, E, F, G, H, I> AnyMsg<A, B, C, D, E, F, G, H, I> {
    /// The channel this message belongs to.
    pub fn channel(&self) -> usize {
        match self {
            AnyMsg::Ch0(_) => 0,
            AnyMsg::Ch1(_) => 1,
            AnyMsg::Ch2(_) => 2,
            AnyMsg::Ch3(_) => 3,
            AnyMsg::Ch4(_) => 4,
            AnyMsg::Ch5(_) => 5,
            AnyMsg::Ch6(_) => 6,
            AnyMsg::Ch7(_) => 7,
            AnyMsg::Ch8(_) => 8,
        }
    }
}

/// Driver state shared by [`Synchronizer`] and [`SharedSynchronizer`].
type State<T, P> = Core<<T as Messages>::Queues, P>;

fn new_state<T: Messages, P: Policy<T::Queues>>(
    policy: P,
    options: Options,
) -> Result<State<T, P>, ConfigError> {
    Core::new(T::CHANNELS, policy, options, T::queues)
}

/// Adds `msg` on channel `I` of `state`.
#[inline]
fn add_typed<T, P, const I: usize>(
    state: &mut State<T, P>,
    msg: <T as Channel<I>>::Msg,
    stamp: Stamp,
    received: Stamp,
) where
    T: Channel<I>,
    P: Policy<T::Queues>,
{
    state.add(I, stamp, received, |q| T::push(q, msg));
}

type SetCallback<S> = Box<dyn FnMut(S) + Send>;
type DropCallback<M> = Box<dyn FnMut(Dropped<M>) + Send>;

/// Synchronizes typed channels with policy `P`. Single-threaded driver.
///
/// `T` is the tuple of message types, e.g. `(Image, CameraInfo)`. Add a
/// message with [`add::<I>`](Self::add) (or `add_0`..`add_8`). Emitted sets
/// go to the callback registered with [`on_set`](Self::on_set), drops to
/// [`on_drop`](Self::on_drop); both run after the policy step has finished.
/// Without callbacks use [`push`](Self::push), which returns the events.
///
/// ```
/// use stamp_sync::{ApproximateTime, Stamp, Synchronizer};
/// let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(ApproximateTime::new(10).unwrap()).unwrap();
/// let mut pairs = Vec::new();
/// for t in [0, 3, 6] {
///     pairs.extend(sync.push::<0>(Stamp::from_nanos(t)).filter_map(|e| e.into_set()));
///     pairs.extend(sync.push::<1>(Stamp::from_nanos(t)).filter_map(|e| e.into_set()));
/// }
/// assert_eq!(pairs.len(), 3);
/// ```
pub struct Synchronizer<T: Messages, P: Policy<T::Queues>> {
    state: State<T, P>,
    on_set: Option<SetCallback<T::Set>>,
    on_drop: Option<DropCallback<T::Message>>,
    on_stale: Option<Box<dyn FnMut(Stale) + Send>>,
    on_partial: Option<Box<dyn FnMut(T::PartialSet) + Send>>,
}

impl<T: Messages, P: Policy<T::Queues>> std::fmt::Debug for Synchronizer<T, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synchronizer")
            .field("channels", &T::CHANNELS)
            .field("stats", &self.state.stats)
            .finish_non_exhaustive()
    }
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

macro_rules! add_n {
    ($($name:ident $i:tt),+) => {
        $(
            #[doc = concat!("Adds a message on channel ", stringify!($i), "; see [`add`](Self::add).")]
            #[inline]
            pub fn $name(&mut self, msg: <T as Channel<$i>>::Msg) -> usize
            where
                T: Channel<$i>,
                <T as Channel<$i>>::Msg: Stamped,
            {
                self.add::<$i>(msg)
            }
        )+
    };
}

impl<T: Messages, P: Policy<T::Queues>> Synchronizer<T, P> {
    /// A synchronizer over `T` with `policy`. Fails if the policy's
    /// settings do not fit `T` (e.g. a lower bound on a missing channel).
    pub fn new(policy: P) -> Result<Self, ConfigError> {
        Self::with_options(policy, Options::default())
    }

    /// A synchronizer with [`Options`] (reset on jump back, offsets,
    /// arrival stamps, stale-channel reports, partial sets).
    pub fn with_options(policy: P, options: Options) -> Result<Self, ConfigError> {
        Ok(Synchronizer {
            state: new_state::<T, P>(policy, options)?,
            on_set: None,
            on_drop: None,
            on_stale: None,
            on_partial: None,
        })
    }

    /// Registers the callback for stale-channel reports.
    pub fn on_stale(mut self, f: impl FnMut(Stale) + Send + 'static) -> Self {
        self.on_stale = Some(Box::new(f));
        self
    }

    /// Registers the callback for partial sets (tuples of `Option`s).
    pub fn on_partial(mut self, f: impl FnMut(T::PartialSet) + Send + 'static) -> Self {
        self.on_partial = Some(Box::new(f));
        self
    }

    /// Checks for silent channels at `now` (arrival clock) without adding
    /// a message: call it from a timer. Returns sets emitted (none).
    pub fn poll(&mut self, now: Stamp) -> usize {
        self.drops_to_callback();
        self.state.poll(now);
        self.dispatch()
    }

    /// Registers the callback that receives each matched set by value.
    pub fn on_set(mut self, f: impl FnMut(T::Set) + Send + 'static) -> Self {
        self.on_set = Some(Box::new(f));
        self
    }

    /// Registers the callback that receives each dropped message and why.
    /// Without one, a dropped message is freed during the step that drops
    /// it and only counted in [`stats`](Self::stats).
    pub fn on_drop(mut self, f: impl FnMut(Dropped<T::Message>) + Send + 'static) -> Self {
        self.on_drop = Some(Box::new(f));
        self
    }

    /// Adds `msg` on channel `I`, stamped by its [`Stamped`] impl, and runs
    /// the callbacks. Returns how many sets were emitted.
    #[inline]
    pub fn add<const I: usize>(&mut self, msg: <T as Channel<I>>::Msg) -> usize
    where
        T: Channel<I>,
        <T as Channel<I>>::Msg: Stamped,
    {
        let stamp = msg.stamp();
        self.add_stamped::<I>(msg, stamp)
    }

    /// Adds `msg` on channel `I` with an explicit stamp (headerless
    /// messages, arrival-time stamps, offsets). Returns sets emitted.
    #[inline]
    pub fn add_stamped<const I: usize>(
        &mut self,
        msg: <T as Channel<I>>::Msg,
        stamp: Stamp,
    ) -> usize
    where
        T: Channel<I>,
    {
        self.drops_to_callback();
        add_typed::<T, P, I>(&mut self.state, msg, stamp, stamp);
        self.dispatch()
    }

    /// Adds `msg` on channel `I`, received at `received` on your clock
    /// (arrival-clock policies such as [`LatestTime`](crate::LatestTime)
    /// use it; header-stamp policies ignore it). Returns sets emitted.
    #[inline]
    pub fn add_at<const I: usize>(&mut self, msg: <T as Channel<I>>::Msg, received: Stamp) -> usize
    where
        T: Channel<I>,
        <T as Channel<I>>::Msg: Stamped,
    {
        let stamp = msg.stamp();
        self.drops_to_callback();
        add_typed::<T, P, I>(&mut self.state, msg, stamp, received);
        self.dispatch()
    }

    /// Adds `msg` on channel `I` and returns the events instead of calling
    /// the callbacks. Statistics are kept either way.
    pub fn push<const I: usize>(
        &mut self,
        msg: <T as Channel<I>>::Msg,
    ) -> impl Iterator<Item = Event<T::Set, T::Message>> + '_
    where
        T: Channel<I>,
        <T as Channel<I>>::Msg: Stamped,
    {
        let stamp = msg.stamp();
        // The caller gets every event, drops included.
        self.state.keep_drops(true);
        add_typed::<T, P, I>(&mut self.state, msg, stamp, stamp);
        self.state.drain()
    }

    add_n!(add_0 0, add_1 1, add_2 2, add_3 3, add_4 4, add_5 5, add_6 6, add_7 7, add_8 8);

    /// Drops everything queued (reason [`DropReason::Reset`](crate::DropReason::Reset)), keeping the
    /// configuration and the statistics.
    pub fn reset(&mut self) {
        self.drops_to_callback();
        self.state.reset();
        self.dispatch();
    }

    /// Counters per channel: received, emitted, dropped by reason.
    pub fn stats(&self) -> &Stats {
        &self.state.stats
    }

    /// Messages queued on `channel` right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.state.policy.queued(channel)
    }

    /// A cheap snapshot: per channel received, queued, emitted, dropped by
    /// reason and last stamp; sets emitted; the pivot and candidate.
    pub fn diagnostics(&self) -> Diagnostics {
        self.state.diagnostics()
    }

    /// The policy, for its own diagnostics.
    pub fn policy(&self) -> &P {
        &self.state.policy
    }

    /// Dropped messages become events only if a drop callback takes them;
    /// otherwise the policy drops them at once and they are only counted.
    #[inline]
    fn drops_to_callback(&mut self) {
        self.state.keep_drops(self.on_drop.is_some());
    }

    fn dispatch(&mut self) -> usize {
        let mut sets = 0;
        let Synchronizer {
            state,
            on_set,
            on_drop,
            on_stale,
            on_partial,
        } = self;
        state.drain_split(
            |s| {
                sets += 1;
                if let Some(f) = on_set {
                    f(s);
                }
            },
            |d| {
                if let Some(f) = on_drop {
                    f(d);
                }
            },
            |e| match e {
                Event::Stale(s) => {
                    if let Some(f) = on_stale {
                        f(s);
                    }
                }
                Event::Partial(p) => {
                    if let Some(f) = on_partial {
                        f(T::partial(p));
                    }
                }
                // Sets and drops went to the closures above.
                Event::Set(_) | Event::Drop(_) => {}
            },
        );
        sets
    }
}

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

impl_messages!(2; (A, B); A 0 Ch0, B 1 Ch1);
impl_messages!(3; (A, B, C); A 0 Ch0, B 1 Ch1, C 2 Ch2);
impl_messages!(4; (A, B, C, D); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3);
impl_messages!(5; (A, B, C, D, E); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4);
impl_messages!(6; (A, B, C, D, E, F); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5);
impl_messages!(7; (A, B, C, D, E, F, G); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5, G 6 Ch6);
impl_messages!(8; (A, B, C, D, E, F, G, H); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5, G 6 Ch6, H 7 Ch7);
impl_messages!(9; (A, B, C, D, E, F, G, H, I); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5, G 6 Ch6, H 7 Ch7, I 8 Ch8);
