//! [`Synchronizer`]: the typed, single-threaded driver over tuples of 2 to
//! 9 message types: `&mut self`, `FnMut` callbacks, run after the policy
//! step.

use super::builder::{Builder, ForSynchronizer};
use super::event::Event;
use super::handlers::Callbacks;
use super::stats::{Diagnostics, Stats};
use super::tuple::{Channel, Messages, StampAt, State, add_typed, new_state};
use crate::policy::{ConfigError, Policy};
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

/// Synchronizes typed channels with policy `P`. Single-threaded driver.
///
/// `T` is the tuple of message types, e.g. `(Image, CameraInfo)`. Build it
/// with [`builder`](Self::builder) (callbacks, [`Options`](crate::Options),
/// stamp getters, an arrival clock) or [`new`](Self::new). Add a message
/// with [`add::<I>`](Self::add): emitted sets go to the `on_set` callback,
/// drops to `on_drop`, both after the policy step has finished. Without
/// callbacks use [`push::<I>`](Self::push), which returns the events.
///
/// `G` gets each channel's stamps ([`StampGetters`](crate::driver::StampGetters)):
/// by default [`HeaderStamp`] on every channel (each message's
/// [`Stamped`](crate::Stamped) impl); set others with
/// [`Builder::stamp_with`] for headerless types, custom fields or types you
/// cannot implement `Stamped` for (r2r messages).
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
    callbacks: Callbacks<T::Set, T::Message, T::PartialSet>,
}

impl<T: Messages, P: Policy<T::Queues>, G> std::fmt::Debug for Synchronizer<T, P, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synchronizer")
            .field("channels", &T::CHANNELS)
            .field("stats", &self.state.stats)
            .finish_non_exhaustive()
    }
}

impl<T: Messages, P: Policy<T::Queues>> Synchronizer<T, P> {
    /// A synchronizer over `T` with `policy`, no callbacks and every option
    /// off. Fails if the policy's settings do not fit `T` (e.g. a lower
    /// bound on a missing channel).
    pub fn new(policy: P) -> Result<Self, ConfigError> {
        Self::builder(policy).build()
    }

    /// Starts a [`Builder`]: callbacks, [`Options`](crate::Options), stamp
    /// getters and an arrival clock.
    ///
    /// ```
    /// use stamp_sync::{ExactTime, Stamp, Synchronizer};
    /// struct Scan { header_ns: i64 }
    /// struct Tick { seq: u32, t_ms: i64 } // stamp in a custom field
    /// let mut sync = Synchronizer::<(Scan, Tick), _>::builder(ExactTime::new(5).unwrap())
    ///     .stamp_with((
    ///         |s: &Scan| Stamp::from_nanos(s.header_ns),
    ///         |t: &Tick| Stamp::from_nanos(t.t_ms * 1_000_000),
    ///     ))
    ///     .on_set(|(scan, tick)| println!("{} {}", scan.header_ns, tick.seq))
    ///     .build()
    ///     .unwrap();
    /// sync.add::<0>(Scan { header_ns: 2_000_000 });
    /// assert_eq!(sync.add::<1>(Tick { seq: 1, t_ms: 2 }), 1);
    /// ```
    pub fn builder(policy: P) -> Builder<ForSynchronizer<T>, P> {
        Builder::new(ForSynchronizer::new(), policy)
    }
}

impl<T: Messages, P: Policy<T::Queues>, G> Builder<ForSynchronizer<T>, P, G> {
    /// Checks the policy and options against `T` and makes the synchronizer.
    pub fn build(self) -> Result<Synchronizer<T, P, G>, ConfigError> {
        Ok(Synchronizer {
            state: new_state::<T, P>(self.policy, self.options, self.clock)?,
            getters: self.getters,
            callbacks: self.kind.callbacks,
        })
    }
}

impl<T: Messages, P: Policy<T::Queues>, G> Synchronizer<T, P, G> {
    /// Adds `msg` on channel `I`, stamped by channel `I`'s getter (by
    /// default its [`Stamped`](crate::Stamped) impl) and received now on
    /// the arrival clock (without one: at its stamp), and runs the
    /// callbacks. Returns how many sets were emitted.
    #[inline]
    pub fn add<const I: usize>(&mut self, msg: <T as Channel<I>>::Msg) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
        let received = self.state.received(stamp);
        self.add_stamped::<I>(msg, stamp, received)
    }

    /// [`add`](Self::add), received at `received` on your arrival clock
    /// (arrival-clock policies such as [`LatestTime`](crate::LatestTime)
    /// and the stale check use it; header-stamp policies ignore it).
    #[inline]
    pub fn add_at<const I: usize>(&mut self, msg: <T as Channel<I>>::Msg, received: Stamp) -> usize
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
        self.add_stamped::<I>(msg, stamp, received)
    }

    /// [`add`](Self::add) with an explicit stamp and arrival time
    /// (headerless messages, stamps from elsewhere).
    #[inline]
    pub fn add_stamped<const I: usize>(
        &mut self,
        msg: <T as Channel<I>>::Msg,
        stamp: Stamp,
        received: Stamp,
    ) -> usize
    where
        T: Channel<I>,
    {
        self.state.keep_drops(self.callbacks.on_drop.is_some());
        add_typed::<T, P, I>(&mut self.state, msg, stamp, received);
        self.state.deliver(&mut self.callbacks)
    }

    /// Adds `msg` on channel `I` (as [`add`](Self::add)) and returns the
    /// events instead of calling the callbacks. Statistics are kept either
    /// way.
    pub fn push<const I: usize>(
        &mut self,
        msg: <T as Channel<I>>::Msg,
    ) -> impl Iterator<Item = Event<T::Set, T::Message>> + '_
    where
        T: Channel<I>,
        G: StampAt<T, I>,
    {
        let stamp = self.getters.stamp_at(&msg);
        let received = self.state.received(stamp);
        self.push_stamped::<I>(msg, stamp, received)
    }

    /// [`push`](Self::push), received at `received` (as
    /// [`add_at`](Self::add_at)).
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
        self.push_stamped::<I>(msg, stamp, received)
    }

    /// [`push`](Self::push) with an explicit stamp and arrival time.
    pub fn push_stamped<const I: usize>(
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

    /// Checks for silent channels at `now` (arrival clock) without adding
    /// a message: call it from a timer. Runs the callbacks; returns sets
    /// emitted (none with this crate's policies).
    pub fn poll(&mut self, now: Stamp) -> usize {
        self.state.keep_drops(self.callbacks.on_drop.is_some());
        self.state.poll(now);
        self.state.deliver(&mut self.callbacks)
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

    /// Drops everything queued (reason
    /// [`DropReason::Reset`](crate::DropReason::Reset), handed to the drop
    /// callback and counted), keeping the configuration and the statistics.
    pub fn reset(&mut self) {
        self.state.keep_drops(self.callbacks.on_drop.is_some());
        self.state.reset();
        self.state.deliver(&mut self.callbacks);
    }

    /// Drops everything queued (as [`reset`](Self::reset)) and continues
    /// with `policy`; the counters carry on. The queues grow if the new
    /// policy holds more. On error (it does not fit `T`) nothing changes.
    pub fn replace_policy(&mut self, policy: P) -> Result<(), ConfigError> {
        self.state.keep_drops(self.callbacks.on_drop.is_some());
        self.state.replace_policy(policy, T::reserve)?;
        self.state.deliver(&mut self.callbacks);
        Ok(())
    }

    /// Turns [`Options::drop_out_after`](crate::Options::drop_out_after)
    /// on, changes it, or turns it off (`None`) on a live synchronizer; off,
    /// every out channel rejoins at once. A change of clock brings every
    /// channel back in. What it emits comes out with the next step.
    pub fn set_drop_out_after(
        &mut self,
        after: Option<crate::Duration>,
        clock: crate::DropOutClock,
    ) -> Result<(), crate::ConfigError> {
        self.state.set_drop_out_after(after, clock)
    }

    /// Runs `f` on the policy, for its run-time setters (e.g.
    /// [`ApproximateTime::set_max_interval`](crate::ApproximateTime::set_max_interval),
    /// [`AnyPolicy::apply`](crate::policy::AnyPolicy::apply)), as C++
    /// `getPolicy()->set...()`: each takes effect from the next message;
    /// see each setter for what happens to queued messages. Do not call
    /// the policy's [`Policy`] methods (`bind`, `add`, `reset`): that
    /// breaks the accounting; use [`reset`](Self::reset) and
    /// [`replace_policy`](Self::replace_policy).
    pub fn with_policy<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> R {
        self.state.with_policy(f)
    }

    /// The policy, for its run-time setters: see
    /// [`with_policy`](Self::with_policy).
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.state.policy
    }

    /// The policy, for its own diagnostics.
    pub fn policy(&self) -> &P {
        &self.state.policy
    }

    /// Counters per channel: received, emitted, dropped by reason.
    pub fn stats(&self) -> &Stats {
        &self.state.stats
    }

    /// Messages queued on `channel` right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.state.queued(channel)
    }

    /// A cheap snapshot: per channel received, queued, emitted, dropped by
    /// reason and last stamp; sets emitted; the pivot and candidate.
    pub fn diagnostics(&self) -> Diagnostics {
        self.state.diagnostics()
    }

    /// Number of channels (the arity of `T`).
    pub fn channels(&self) -> usize {
        T::CHANNELS
    }

    /// The stamp getters.
    pub fn getters(&self) -> &G {
        &self.getters
    }
}
