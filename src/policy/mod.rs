//! Synchronization policies: pure state machines over stamps.
//!
//! A policy never sees a message, a clock, a lock or a callback. The driver
//! ([`Synchronizer`](crate::Synchronizer), the stream, the CLI) appends a
//! message to a typed per-channel [`Store`], then tells the policy the
//! channel and stamp with [`Policy::add`]. The policy decides, and moves
//! messages out of the store into an [`Output`]: emitted sets and
//! [`Dropped`] messages, each drop with its channel and [`DropReason`].
//! The driver hands the output to user code after the call has returned.
//!
//! The accounting invariant holds after every call: every message appended
//! to the store is either emitted in exactly one set, dropped exactly once,
//! or still queued ([`Policy::queued`]).

pub mod approximate;
pub mod epsilon;
pub mod exact;
pub mod latest;
pub mod slop;

pub use approximate::ApproximateTime;
pub use epsilon::ApproximateEpsilonTime;
pub use exact::ExactTime;
pub use latest::{LatestTime, RateConfig};
pub use slop::SlopTime;

use crate::time::{Duration, Stamp};

/// One arrival, as the driver reports it to the policy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Input channel, `0..channels`.
    pub channel: usize,
    /// The stamp the policy synchronizes on (normally the header stamp).
    pub stamp: Stamp,
    /// When the message was received, on the driver's clock. Policies that
    /// match on header stamps ignore it; arrival-clock policies use it.
    pub received: Stamp,
}

/// Typed message storage that a policy drives by channel index.
///
/// Each channel is a FIFO in arrival order: the driver appends with its own
/// typed push, the policy removes by position (`0` = oldest held). The
/// policy mirrors the stamps itself, so the store never needs them.
///
/// Implemented for the tuple queues of
/// [`Synchronizer`](crate::Synchronizer) and for the `Vec` queues of the
/// dynamic synchronizer. Out-of-range positions return `None` (a policy
/// bug, never a panic).
pub trait Store {
    /// The matched set handed to the user, e.g. `(Image, CameraInfo)`.
    type Set;
    /// A single message of any channel, as handed to drop callbacks.
    type Message;

    /// Number of channels.
    fn channels(&self) -> usize;
    /// Messages held on `channel`.
    fn len(&self, channel: usize) -> usize;
    /// Removes the message at `pos` of `channel`.
    fn remove(&mut self, channel: usize, pos: usize) -> Option<Self::Message>;
    /// Removes the oldest message of `channel`.
    fn pop_front(&mut self, channel: usize) -> Option<Self::Message> {
        self.remove(channel, 0)
    }
    /// Removes message `pos(ch)` from every channel and returns them as a set.
    /// If any position is out of range nothing is removed.
    fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set>;
    /// Removes the oldest message of `channel` and records it in `out` as
    /// dropped. False if the channel was empty.
    #[inline]
    fn drop_front(
        &mut self,
        channel: usize,
        stamp: Stamp,
        reason: DropReason,
        out: &mut Output<Self::Set, Self::Message>,
    ) -> bool {
        match self.pop_front(channel) {
            Some(m) => {
                out.drop_message(channel, stamp, reason, m);
                true
            }
            None => false,
        }
    }
    /// Removes the oldest message of every channel as a set.
    fn take_fronts(&mut self) -> Option<Self::Set> {
        self.take_set(&mut |_| 0)
    }
}

/// A [`Store`] whose messages can be cloned: for policies that hand out
/// the same message more than once (zero-order hold).
pub trait CloneStore: Store {
    /// Clones message `pos(ch)` of every channel into a set, leaving the
    /// store as it is. `None` if any position is out of range.
    fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set>;
}

/// Why a message was dropped. Every dropped message carries one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// Its channel's queue was full; the oldest message of that channel
    /// made room (ApproximateTime, Epsilon), or the oldest stamp's partial
    /// set was evicted (ExactTime).
    QueueOverflow,
    /// Examined during a search and passed over: a better set was found
    /// with newer messages (ApproximateTime "not part of the chosen set").
    NotChosen,
    /// Too far from the other channels' heads to fit in the max interval.
    MaxInterval,
    /// Discarded while the channel that overflowed could not be the pivot:
    /// its better partner may have been lost (upstream `has_dropped_messages`).
    AfterOverflow,
    /// At or before the stamp of the last emitted set (ExactTime); or,
    /// in the filters, older than the last message released in stamp
    /// order (TimeSequencer, InputAligner).
    OlderThanLastSet,
    /// Replaced by a newer message with the same stamp on the same channel.
    Replaced,
    /// No partner within epsilon on some other channel (Epsilon).
    NoMatch,
    /// Cleared by a reset (clock jump back, or an explicit reset).
    Reset,
    /// Flushed when a silent channel's timeout emitted a partial set.
    Stale,
}

impl DropReason {
    /// Every reason, in declaration order.
    pub const ALL: [DropReason; 9] = [
        DropReason::QueueOverflow,
        DropReason::NotChosen,
        DropReason::MaxInterval,
        DropReason::AfterOverflow,
        DropReason::OlderThanLastSet,
        DropReason::Replaced,
        DropReason::NoMatch,
        DropReason::Reset,
        DropReason::Stale,
    ];

    /// Short stable name, e.g. `queue_overflow`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueOverflow => "queue_overflow",
            DropReason::NotChosen => "not_chosen",
            DropReason::MaxInterval => "max_interval",
            DropReason::AfterOverflow => "after_overflow",
            DropReason::OlderThanLastSet => "older_than_last_set",
            DropReason::Replaced => "replaced",
            DropReason::NoMatch => "no_match",
            DropReason::Reset => "reset",
            DropReason::Stale => "stale",
        }
    }

    /// Index into [`DropReason::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message the policy gave up on.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropped<M> {
    /// The channel it arrived on.
    pub channel: usize,
    /// Its stamp.
    pub stamp: Stamp,
    /// Why it was dropped.
    pub reason: DropReason,
    /// The message itself, handed back to the user.
    pub message: M,
}

/// What one step produced, in order.
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
    /// A partial set flushed after a stale timeout (option
    /// [`partial_sets`](crate::Options::partial_sets)).
    Partial(Partial<M>),
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

/// A set with holes: one entry per channel, `None` where a channel held
/// nothing. Typed synchronizers turn it into a tuple of `Option`s with
/// [`Messages::partial`](crate::Messages::partial).
#[derive(Clone, Debug, PartialEq)]
pub struct Partial<M> {
    /// Per channel, its oldest held message.
    pub members: Vec<Option<Dropped<M>>>,
}

/// The reusable buffer a policy writes its events into.
///
/// The driver drains it after each call. It is preallocated for the worst
/// case of one call, so steady-state operation does not allocate.
///
/// A driver with nobody to hand dropped messages to can switch drops to
/// counts only ([`keep_drops(false)`](Self::keep_drops)): the message is
/// dropped at once and only `(channel, reason)` is counted, to be collected
/// with [`take_discarded`](Self::take_discarded).
#[derive(Debug)]
pub struct Output<S, M> {
    events: Vec<Event<S, M>>,
    /// False: drops are counted in `discarded`, not recorded as events.
    keep_drops: bool,
    discarded: Discarded,
}

/// Drops counted but not recorded, since the last collection.
#[derive(Debug, Default)]
struct Discarded {
    /// Per channel, per reason. Sized by [`Output::count_channels`].
    counts: Vec<[u64; REASONS]>,
    /// Bit `ch % 64` set: channel `ch` may have non-zero counts.
    dirty: u64,
}

const REASONS: usize = DropReason::ALL.len();

impl<S, M> Default for Output<S, M> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<S, M> Output<S, M> {
    /// An empty buffer with room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        Output {
            events: Vec::with_capacity(n),
            keep_drops: true,
            discarded: Discarded::default(),
        }
    }
    /// Prepares the drop counters for `channels` channels (needed before
    /// [`keep_drops(false)`](Self::keep_drops) has any effect).
    pub fn count_channels(&mut self, channels: usize) {
        self.discarded.counts = vec![[0; REASONS]; channels];
        self.discarded.dirty = 0;
    }
    /// Records drops as events (`true`, the default) or only counts them.
    pub fn keep_drops(&mut self, keep: bool) {
        self.keep_drops = keep;
    }
    /// True if drops are recorded as events.
    pub fn keeps_drops(&self) -> bool {
        self.keep_drops
    }
    /// Hands over the counted drops as `(channel, reason, count)` and
    /// resets the counters.
    #[inline]
    pub fn take_discarded(&mut self, mut f: impl FnMut(usize, DropReason, u64)) {
        let Discarded { counts, dirty } = &mut self.discarded;
        if *dirty == 0 {
            return;
        }
        let bits = std::mem::take(dirty);
        for (ch, c) in counts.iter_mut().enumerate() {
            if bits & (1 << (ch % 64)) == 0 {
                continue;
            }
            for (reason, n) in DropReason::ALL.into_iter().zip(c.iter_mut()) {
                if *n > 0 {
                    f(ch, reason, std::mem::take(n));
                }
            }
        }
    }
    /// Appends `make()` built in place: `Vec::push` of an `Event` moves the
    /// whole enum (the size of the largest set), a drop needs far less.
    #[inline(always)]
    fn push_in_place(&mut self, make: impl FnOnce() -> Event<S, M>) {
        if self.events.len() == self.events.capacity() {
            self.events.reserve(1);
        }
        let len = self.events.len();
        // SAFETY: `reserve` guarantees room for one more element at `len`;
        // it is written before the length covers it.
        unsafe {
            std::ptr::write(self.events.as_mut_ptr().add(len), make());
            self.events.set_len(len + 1);
        }
    }
    /// Records an emitted set.
    #[inline]
    pub fn set(&mut self, set: S) {
        self.push_in_place(|| Event::Set(set));
    }
    /// Records an emitted set before the events recorded since `mark` (a
    /// [`len`](Self::len) taken earlier in the same step).
    #[inline]
    pub fn insert_set(&mut self, mark: usize, set: S) {
        if mark >= self.events.len() {
            self.set(set);
        } else {
            self.events.insert(mark, Event::Set(set));
        }
    }
    /// Records a drop.
    #[inline]
    pub fn drop_message(&mut self, channel: usize, stamp: Stamp, reason: DropReason, message: M) {
        if !self.keep_drops {
            let d = &mut self.discarded;
            if let Some(c) = d.counts.get_mut(channel) {
                c[reason.index()] += 1;
                d.dirty |= 1 << (channel % 64);
                drop(message);
                return;
            }
        }
        self.push_in_place(|| {
            Event::Drop(Dropped {
                channel,
                stamp,
                reason,
                message,
            })
        });
    }
    /// Records a stale-channel report.
    pub fn stale(&mut self, channel: usize, silent_for: Duration, at: Stamp) {
        self.events.push(Event::Stale(Stale {
            channel,
            silent_for,
            at,
        }));
    }
    /// Turns the drops recorded since event `start` into a partial set: the
    /// first drop of each channel becomes its member, the others are
    /// re-labelled [`DropReason::Stale`].
    pub fn partial_from(&mut self, start: usize, channels: usize) {
        let tail: Vec<Event<S, M>> = self.events.drain(start.min(self.events.len())..).collect();
        let mut members: Vec<Option<Dropped<M>>> = (0..channels).map(|_| None).collect();
        for e in tail {
            match e {
                Event::Drop(d) if members.get(d.channel).is_some_and(Option::is_none) => {
                    let ch = d.channel;
                    members[ch] = Some(d);
                }
                Event::Drop(mut d) => {
                    d.reason = DropReason::Stale;
                    self.events.push(Event::Drop(d));
                }
                other => self.events.push(other),
            }
        }
        if members.iter().any(Option::is_some) {
            self.events.push(Event::Partial(Partial { members }));
        }
    }
    /// Number of events recorded.
    pub fn len(&self) -> usize {
        self.events.len()
    }
    /// Events recorded so far.
    pub fn events(&self) -> &[Event<S, M>] {
        &self.events
    }
    /// Takes the events out in order, keeping the allocation.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Event<S, M>> {
        self.events.drain(..)
    }
    /// Takes the events out in order like [`drain`](Self::drain), but hands
    /// sets and drops to `set` and `drop` without moving the whole
    /// [`Event`] (whose size is that of the largest set) first: a drop
    /// costs a copy of the dropped message only. Other events go to `other`.
    /// Keeps the allocation.
    #[inline]
    /// `ctx` is handed to every callback (the driver's counters).
    pub(crate) fn drain_split<C>(
        &mut self,
        ctx: &mut C,
        mut set: impl FnMut(&mut C, S),
        mut drop: impl FnMut(&mut C, Dropped<M>),
        mut other: impl FnMut(&mut C, Event<S, M>),
    ) {
        let len = self.events.len();
        let base = self.events.as_ptr();
        // SAFETY: the length is set to 0 before any element is read, so
        // each of the `len` initialised elements is moved out exactly once
        // below and never dropped by the vector. If a callback panics, the
        // unread rest leaks (safe), it is never read or dropped twice.
        // Nothing can touch `self.events` while we read: `self` is borrowed
        // mutably for the whole call.
        unsafe {
            self.events.set_len(0);
            for i in 0..len {
                let p = base.add(i);
                match &*p {
                    Event::Set(s) => set(ctx, std::ptr::read(s)),
                    Event::Drop(d) => drop(ctx, std::ptr::read(d)),
                    _ => other(ctx, std::ptr::read(p)),
                }
            }
        }
    }
    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
    /// Grows the buffer so `n` more events fit without reallocating.
    pub fn reserve(&mut self, n: usize) {
        self.events.reserve(n);
    }
}

/// A bad policy or synchronizer configuration, found before any message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `queue_size` must be at least 1.
    #[error("queue size must be at least 1 (2 or more is recommended)")]
    ZeroQueueSize,
    /// Synchronizers need 2 channels or more.
    #[error("a synchronizer needs at least 2 channels, got {0}")]
    TooFewChannels(usize),
    /// A per-channel setting names a channel that does not exist.
    #[error("channel {channel} does not exist: the synchronizer has {channels} channels")]
    NoSuchChannel {
        /// The channel named.
        channel: usize,
        /// Channels the synchronizer has.
        channels: usize,
    },
    /// The age penalty must be a finite number >= 0.
    #[error("age penalty must be finite and >= 0, got {0}")]
    BadAgePenalty(f64),
    /// A duration setting that must not be negative was.
    #[error("{what} must not be negative, got {value}")]
    NegativeDuration {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: crate::time::Duration,
    },
}

/// A synchronization policy over store `S`: a pure state machine over stamps.
///
/// Implementors keep per-channel stamps in the same order as the driver's
/// [`Store`], and move messages out of it into the [`Output`]. They must not
/// allocate in [`add`](Policy::add) once [`bind`](Policy::bind) has run.
///
/// Header-stamp policies work with any store (`impl<S: Store> Policy<S>`);
/// a policy that re-emits messages, like LatestTime, asks for a store that
/// can clone them ([`CloneStore`]).
pub trait Policy<S: Store> {
    /// Prepares for `channels` inputs: validates per-channel settings and
    /// allocates every buffer. Called once by the driver before any message.
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError>;

    /// The most messages one channel of the store can hold at once. The
    /// driver preallocates that much.
    fn capacity(&self) -> usize;

    /// The most events one [`add`](Policy::add) can produce, for
    /// preallocating the [`Output`].
    fn max_events_per_add(&self) -> usize;

    /// A message was appended to `arrival.channel` of `store`: update the
    /// state, emit sets and drops into `out`.
    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>);

    /// Messages currently held for `channel`.
    fn queued(&self, channel: usize) -> usize;

    /// Drops everything held (reason [`DropReason::Reset`]) and forgets all
    /// state except the configuration.
    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>);

    /// The search in progress, for diagnostics (none by default).
    fn search(&self) -> crate::stats::SearchState {
        crate::stats::SearchState::default()
    }
}
