//! A synchronizer over a number of same-typed channels chosen at run time.
//!
//! It runs the very same policies as the tuple [`Synchronizer`](crate::Synchronizer)
//! (the policies only see channel indices and stamps), so for `N <= 9` its
//! output is identical, and it also works for `N > 9` (12 cameras, 8 lidars).

use super::builder::{Builder, ForDyn};
use super::core::Core;
use super::event::{Event, Partial};
use super::handlers::Callbacks;
pub use super::queues::{DynSet, INLINE_CHANNELS, VecQueues};
use super::stats::{Diagnostics, Stats};
use crate::policy::{ConfigError, Policy};
use crate::stamped::{HeaderStamp, StampOf};
use crate::time::Stamp;

/// Why a message could not be added to a [`DynSynchronizer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel {channel} does not exist: the synchronizer has {channels} channels")]
pub struct NoSuchChannel {
    /// The channel asked for.
    pub channel: usize,
    /// Channels there are.
    pub channels: usize,
}

/// Synchronizes `N` channels of message type `M`, `N` chosen at run time.
///
/// Each emitted set is a [`DynSet<M>`] in channel order, handed to you by
/// value: no allocation up to [`INLINE_CHANNELS`] channels. The verbs are
/// those of [`Synchronizer`](crate::Synchronizer), with the channel as the
/// first argument: `add`, `add_at`, `add_stamped` (callbacks),
/// `push`, `push_at`, `push_stamped` (events returned), `poll`, `reset`,
/// `replace_policy`, `with_policy`.
///
/// ```
/// use stamp_sync::{DynSynchronizer, ExactTime, Stamp};
/// let mut sync = DynSynchronizer::new(12, ExactTime::new(5).unwrap()).unwrap();
/// let mut sets = Vec::new();
/// for ch in 0..12 {
///     sets.extend(sync.push(ch, Stamp::from_nanos(42)).unwrap().filter_map(|e| e.into_set()));
/// }
/// assert_eq!(sets.len(), 1);
/// assert_eq!(sets[0].as_slice(), [Stamp::from_nanos(42); 12]);
/// ```
///
/// `G` is the stamp getter of every channel ([`StampOf`]): by default
/// [`HeaderStamp`] (each message's [`Stamped`](crate::Stamped) impl); set
/// another with [`Builder::stamp_with`], or give stamps per message with
/// [`add_stamped`](Self::add_stamped).
pub struct DynSynchronizer<M, P, G = HeaderStamp> {
    core: Core<VecQueues<M>, P>,
    getter: G,
    callbacks: Callbacks<DynSet<M>, M, Partial<M>>,
}

impl<M, P, G> std::fmt::Debug for DynSynchronizer<M, P, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynSynchronizer")
            .field("channels", &self.core.stats.channels.len())
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl<M, P: Policy<VecQueues<M>>> DynSynchronizer<M, P> {
    /// A synchronizer over `channels` inputs, no callbacks, every option off.
    pub fn new(channels: usize, policy: P) -> Result<Self, ConfigError> {
        Self::builder(channels, policy).build()
    }

    /// Starts a [`Builder`] over `channels` inputs.
    ///
    /// ```
    /// use stamp_sync::{DynSynchronizer, ExactTime, Stamp};
    /// struct Reading { t_ns: i64, value: f32 }
    /// let mut sync = DynSynchronizer::builder(3, ExactTime::new(5).unwrap())
    ///     .stamp_with(|r: &Reading| Stamp::from_nanos(r.t_ns))
    ///     .on_set(|set| println!("{}", set.iter().map(|r: &Reading| r.value).sum::<f32>()))
    ///     .build()
    ///     .unwrap();
    /// let mut sets = 0;
    /// for ch in 0..3 {
    ///     sets += sync.add(ch, Reading { t_ns: 9, value: 0.5 }).unwrap();
    /// }
    /// assert_eq!(sets, 1);
    /// ```
    pub fn builder(channels: usize, policy: P) -> Builder<ForDyn<M>, P> {
        Builder::new(ForDyn::new(channels), policy)
    }
}

impl<M, P: Policy<VecQueues<M>>, G> Builder<ForDyn<M>, P, G> {
    /// Checks the policy and options against the channels and makes the
    /// synchronizer.
    pub fn build(self) -> Result<DynSynchronizer<M, P, G>, ConfigError> {
        let channels = self.kind.channels;
        Ok(DynSynchronizer {
            core: Core::new(channels, self.policy, self.options, self.clock, |cap| {
                VecQueues::new(channels, cap)
            })?,
            getter: self.getters,
            callbacks: self.kind.callbacks,
        })
    }
}

impl<M, P: Policy<VecQueues<M>>, G> DynSynchronizer<M, P, G> {
    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.core.channels()
    }

    fn check(&self, channel: usize) -> Result<(), NoSuchChannel> {
        let channels = self.channels();
        if channel >= channels {
            return Err(NoSuchChannel { channel, channels });
        }
        Ok(())
    }

    /// Adds `msg` on `channel`, stamped by the getter (by default its
    /// [`Stamped`](crate::Stamped) impl) and received now on the arrival
    /// clock (without one: at its stamp), and runs the callbacks. Returns
    /// the sets emitted.
    pub fn add(&mut self, channel: usize, msg: M) -> Result<usize, NoSuchChannel>
    where
        G: StampOf<M>,
    {
        let stamp = self.getter.stamp_of(&msg);
        let received = self.core.received(stamp);
        self.add_stamped(channel, msg, stamp, received)
    }

    /// [`add`](Self::add), received at `received` on your arrival clock.
    pub fn add_at(
        &mut self,
        channel: usize,
        msg: M,
        received: Stamp,
    ) -> Result<usize, NoSuchChannel>
    where
        G: StampOf<M>,
    {
        let stamp = self.getter.stamp_of(&msg);
        self.add_stamped(channel, msg, stamp, received)
    }

    /// [`add`](Self::add) with an explicit stamp and arrival time.
    pub fn add_stamped(
        &mut self,
        channel: usize,
        msg: M,
        stamp: Stamp,
        received: Stamp,
    ) -> Result<usize, NoSuchChannel> {
        self.check(channel)?;
        self.core.keep_drops(self.callbacks.on_drop.is_some());
        self.core.add(channel, stamp, received, |q| {
            q.push(channel, msg);
        });
        Ok(self.core.deliver(&mut self.callbacks))
    }

    /// Adds `msg` on `channel` (as [`add`](Self::add)) and returns the
    /// events instead of calling the callbacks.
    pub fn push(
        &mut self,
        channel: usize,
        msg: M,
    ) -> Result<impl Iterator<Item = Event<DynSet<M>, M>> + '_, NoSuchChannel>
    where
        G: StampOf<M>,
    {
        let stamp = self.getter.stamp_of(&msg);
        let received = self.core.received(stamp);
        self.push_stamped(channel, msg, stamp, received)
    }

    /// [`push`](Self::push), received at `received`.
    pub fn push_at(
        &mut self,
        channel: usize,
        msg: M,
        received: Stamp,
    ) -> Result<impl Iterator<Item = Event<DynSet<M>, M>> + '_, NoSuchChannel>
    where
        G: StampOf<M>,
    {
        let stamp = self.getter.stamp_of(&msg);
        self.push_stamped(channel, msg, stamp, received)
    }

    /// [`push`](Self::push) with an explicit stamp and arrival time.
    pub fn push_stamped(
        &mut self,
        channel: usize,
        msg: M,
        stamp: Stamp,
        received: Stamp,
    ) -> Result<impl Iterator<Item = Event<DynSet<M>, M>> + '_, NoSuchChannel> {
        self.check(channel)?;
        self.core.keep_drops(true);
        self.core.add(channel, stamp, received, |q| {
            q.push(channel, msg);
        });
        Ok(self.core.drain())
    }

    /// Checks for silent channels at `now` without a message; runs the
    /// callbacks. Returns sets emitted (none).
    pub fn poll(&mut self, now: Stamp) -> usize {
        self.core.keep_drops(self.callbacks.on_drop.is_some());
        self.core.poll(now);
        self.core.deliver(&mut self.callbacks)
    }

    /// [`poll`](Self::poll), returning the events instead.
    pub fn poll_events(&mut self, now: Stamp) -> impl Iterator<Item = Event<DynSet<M>, M>> + '_ {
        self.core.keep_drops(true);
        self.core.poll(now);
        self.core.drain()
    }

    /// Drops everything queued (reason `Reset`, handed to the drop
    /// callback and counted).
    pub fn reset(&mut self) {
        self.core.keep_drops(self.callbacks.on_drop.is_some());
        self.core.reset();
        self.core.deliver(&mut self.callbacks);
    }

    /// Drops everything queued (as [`reset`](Self::reset)) and continues
    /// with `policy`; the counters carry on. The queues grow if the new
    /// policy holds more. On error (the policy does not fit the channels)
    /// nothing changes.
    pub fn replace_policy(&mut self, policy: P) -> Result<(), ConfigError> {
        self.core.keep_drops(self.callbacks.on_drop.is_some());
        self.core.replace_policy(policy, VecQueues::reserve)?;
        self.core.deliver(&mut self.callbacks);
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
        self.core.set_drop_out_after(after, clock)
    }

    /// Runs `f` on the policy, for its run-time setters; see
    /// [`Synchronizer::with_policy`](crate::Synchronizer::with_policy).
    pub fn with_policy<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> R {
        self.core.with_policy(f)
    }

    /// The policy, for its run-time setters.
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.core.policy
    }

    /// The policy, for its own diagnostics.
    pub fn policy(&self) -> &P {
        &self.core.policy
    }

    /// Counters per channel.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// A snapshot of counters, queues and the search in progress.
    pub fn diagnostics(&self) -> Diagnostics {
        self.core.diagnostics()
    }

    /// Messages queued on `channel`.
    pub fn queued(&self, channel: usize) -> usize {
        self.core.queued(channel)
    }
}
