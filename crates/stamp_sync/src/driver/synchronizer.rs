//! [`Synchronizer`]: the typed, single-threaded driver over tuples of 2 to
//! 9 message types: `&mut self`, `FnMut` callbacks, run after the policy
//! step.

use super::event::{Event, Stale};
use super::options::Options;
use super::stats::{Diagnostics, Stats};
use super::tuple::{Channel, Messages, StampAt, State, add_typed, new_state};
use crate::policy::{ConfigError, Dropped, Policy};
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

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
/// `G` gets each channel's stamps ([`StampGetters`]): by default
/// [`HeaderStamp`] on every channel (each message's
/// [`Stamped`](crate::Stamped) impl); set others with
/// [`stamp_with`](Self::stamp_with) for headerless types, custom fields or
/// types you cannot implement `Stamped` for (r2r messages).
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
pub struct Synchronizer<T: Messages, P: Policy<T::Queues>, G = HeaderStamp> {
    state: State<T, P>,
    getters: G,
    on_set: Option<SetCallback<T::Set>>,
    on_drop: Option<DropCallback<T::Message>>,
    on_stale: Option<Box<dyn FnMut(Stale) + Send>>,
    on_partial: Option<Box<dyn FnMut(T::PartialSet) + Send>>,
}

impl<T: Messages, P: Policy<T::Queues>, G> std::fmt::Debug for Synchronizer<T, P, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synchronizer")
            .field("channels", &T::CHANNELS)
            .field("stats", &self.state.stats)
            .finish_non_exhaustive()
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
                G: StampAt<T, $i>,
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
            getters: HeaderStamp,
            on_set: None,
            on_drop: None,
            on_stale: None,
            on_partial: None,
        })
    }
}

impl<T: Messages, P: Policy<T::Queues>, G> Synchronizer<T, P, G> {
    /// Stamps each channel's messages with its getter in `getters`, one per
    /// channel ([`StampGetters`]): [`HeaderStamp`] (the message's
    /// [`Stamped`](crate::Stamped) impl), a closure
    /// `|m: &M| -> Stamp`, or a type made by
    /// [`stamp_getter!`](crate::stamp_getter). Static dispatch, no wrapper.
    ///
    /// ```
    /// use stamp_sync::{ExactTime, HeaderStamp, Stamp, Synchronizer};
    /// struct Scan { header_ns: i64 }
    /// struct Tick { seq: u32, t_ms: i64 } // stamp in a custom field
    /// let mut sync = Synchronizer::<(Scan, Tick), _>::new(ExactTime::new(5).unwrap())
    ///     .unwrap()
    ///     .stamp_with((
    ///         |s: &Scan| Stamp::from_nanos(s.header_ns),
    ///         |t: &Tick| Stamp::from_nanos(t.t_ms * 1_000_000),
    ///     ));
    /// sync.add_0(Scan { header_ns: 2_000_000 });
    /// assert_eq!(sync.add_1(Tick { seq: 1, t_ms: 2 }), 1);
    /// ```
    pub fn stamp_with<G2>(self, getters: G2) -> Synchronizer<T, P, G2> {
        Synchronizer {
            state: self.state,
            getters,
            on_set: self.on_set,
            on_drop: self.on_drop,
            on_stale: self.on_stale,
            on_partial: self.on_partial,
        }
    }

    /// [`replace_policy`](Self::replace_policy), handing the events to
    /// `f` instead of the callbacks.
    pub(crate) fn replace_policy_events(
        &mut self,
        policy: P,
        f: impl FnOnce(&mut dyn Iterator<Item = Event<T::Set, T::Message>>),
    ) -> Result<(), ConfigError> {
        self.state.keep_drops(true);
        self.state.replace_policy(policy, T::reserve)?;
        f(&mut self.state.drain());
        Ok(())
    }

    /// The stamp getters.
    pub fn getters(&self) -> &G {
        &self.getters
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

    /// Adds `msg` on channel `I`, stamped by channel `I`'s getter (by
    /// default its [`Stamped`](crate::Stamped) impl), and runs the
    /// callbacks. Returns how many sets were emitted.
    #[inline]
    pub fn add<const I: usize>(&mut self, msg: <T as Channel<I>>::Msg) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
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
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
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
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
        self.push_stamped_at::<I>(msg, stamp, stamp)
    }

    /// [`push`](Self::push) with the time `received` on your arrival clock
    /// (as [`add_at`](Self::add_at)).
    pub fn push_at<const I: usize>(
        &mut self,
        msg: <T as Channel<I>>::Msg,
        received: Stamp,
    ) -> impl Iterator<Item = Event<T::Set, T::Message>> + '_
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
        self.push_stamped_at::<I>(msg, stamp, received)
    }

    /// [`push`](Self::push) with an explicit stamp and arrival time.
    pub fn push_stamped_at<const I: usize>(
        &mut self,
        msg: <T as Channel<I>>::Msg,
        stamp: Stamp,
        received: Stamp,
    ) -> impl Iterator<Item = Event<T::Set, T::Message>> + '_
    where
        T: Channel<I>,
    {
        // The caller gets every event, drops included.
        self.state.keep_drops(true);
        add_typed::<T, P, I>(&mut self.state, msg, stamp, received);
        self.state.drain()
    }

    /// [`poll`](Self::poll), returning the events instead of calling the
    /// callbacks.
    pub fn poll_events(
        &mut self,
        now: Stamp,
    ) -> impl Iterator<Item = Event<T::Set, T::Message>> + '_ {
        self.state.keep_drops(true);
        self.state.poll(now);
        self.state.drain()
    }

    add_n!(add_0 0, add_1 1, add_2 2, add_3 3, add_4 4, add_5 5, add_6 6, add_7 7, add_8 8);

    /// Drops everything queued (reason [`DropReason::Reset`](crate::DropReason::Reset),
    /// handed to the drop callback and counted) and continues with
    /// `policy`; the counters carry on. The queues grow if the new policy
    /// holds more. On error (it does not fit `T`) nothing changes.
    pub fn replace_policy(&mut self, policy: P) -> Result<(), ConfigError> {
        self.drops_to_callback();
        self.state.replace_policy(policy, T::reserve)?;
        self.dispatch();
        Ok(())
    }

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

    /// The policy, for its run-time setters (e.g.
    /// [`ApproximateTime::set_max_interval`](crate::ApproximateTime::set_max_interval),
    /// [`AnyPolicy::apply`](crate::policy::AnyPolicy::apply)), as C++
    /// `getPolicy()->set...()`: each takes effect from the next message;
    /// see each setter for what happens to queued messages. Calling the
    /// policy's [`Policy`] methods directly (`bind`, `add`, `reset`)
    /// breaks the accounting: use [`reset`](Self::reset) and
    /// [`replace_policy`](Self::replace_policy).
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.state.policy
    }

    /// Dropped messages become events only if a drop callback takes them;
    /// otherwise the policy drops them at once and they are only counted.
    #[inline]
    fn drops_to_callback(&mut self) {
        self.state.keep_drops(self.on_drop.is_some());
    }

    #[inline]
    fn dispatch(&mut self) -> usize {
        if self.state.idle() {
            return 0;
        }
        self.dispatch_events()
    }

    fn dispatch_events(&mut self) -> usize {
        let mut sets = 0;
        let Synchronizer {
            state,
            getters: _,
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
