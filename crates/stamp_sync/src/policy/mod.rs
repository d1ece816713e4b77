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
pub mod follow;
pub mod latched;
pub mod latest;
mod output;
pub mod registry;
pub mod settings;
pub mod slop;
mod store;
pub mod subset;

pub use approximate::{ApproximateConfig, ApproximateTime};
pub use epsilon::{ApproximateEpsilonTime, EpsilonConfig};
pub use exact::{ExactConfig, ExactTime};
pub use follow::{Follow, FollowConfig, FollowOutcome, FollowSet, FollowStore, Follower, Mode};
pub use latched::{LatchView, Latched};
pub use latest::{LatestConfig, LatestTime, RateConfig};
pub use output::{Dropped, Outcome, Output};
pub use registry::{AnyPolicy, PolicyConfig, PolicyKind, Visit, all_settings};
pub use settings::{Configure, Setting, Settings, Unit, Value};
pub use slop::{SlopConfig, SlopTime};
pub use store::{CloneStore, Pick, Store};
pub use subset::{SubsetPolicy, SubsetSet, SubsetView};

use crate::time::Stamp;

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
    /// A set was complete on its free channels, but a latched channel held
    /// no message it may use (none at or before the set's stamp; see
    /// [`Latched`]): the set's other members are dropped.
    NoLatched,
    /// Its channel was out ([`Options::drop_out_after`](crate::Options::drop_out_after)):
    /// held when the channel went out, or arrived too far behind to rejoin.
    DroppedOut,
    /// Its stamp was not after the last one on its channel (the follower
    /// policy, [`Follow`]).
    OutOfOrder,
    /// A `ranged` follower message not after the last set's stamp: no
    /// later set can take it ([`Follow`]).
    Late,
}

impl DropReason {
    /// Every reason, in declaration order.
    pub const ALL: [DropReason; 13] = [
        DropReason::QueueOverflow,
        DropReason::NotChosen,
        DropReason::MaxInterval,
        DropReason::AfterOverflow,
        DropReason::OlderThanLastSet,
        DropReason::Replaced,
        DropReason::NoMatch,
        DropReason::Reset,
        DropReason::Stale,
        DropReason::NoLatched,
        DropReason::DroppedOut,
        DropReason::OutOfOrder,
        DropReason::Late,
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
            DropReason::NoLatched => "no_latched",
            DropReason::DroppedOut => "dropped_out",
            DropReason::OutOfOrder => "out_of_order",
            DropReason::Late => "late",
        }
    }

    /// Index into [`DropReason::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The reason at `index` of [`DropReason::ALL`].
    #[inline]
    pub const fn from_index(index: usize) -> Option<DropReason> {
        if index < Self::ALL.len() {
            Some(Self::ALL[index])
        } else {
            None
        }
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
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
    /// More channels than a typed synchronizer has (9).
    #[error("a typed synchronizer has at most {max} channels, got {channels}")]
    TooManyChannels {
        /// Channels asked for.
        channels: usize,
        /// The most there can be.
        max: usize,
    },
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
    /// A setting given as a float that is NaN, infinite or out of range.
    #[error("{what} must be a finite number of seconds, got {value}")]
    NotFinite {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// Every channel is latched: no channel is left to fire sets.
    #[error("all {channels} channels are latched: at least one must not be, to fire sets")]
    AllLatched {
        /// Channels the synchronizer has.
        channels: usize,
    },
    /// A latched channel must keep at least one message.
    #[error("the history of a latched channel must hold at least 1 message")]
    ZeroLatchDepth,
    /// A setting that cannot change on a live policy (it sizes the
    /// queues, or it is the policy itself): replace the policy instead.
    #[error(
        "{param} cannot change on a live {policy} policy (from {from} to {to}): replace the policy"
    )]
    NotLive {
        /// The setting ([`Setting::name`]).
        param: &'static str,
        /// The policy ([`PolicyKind::name`]).
        policy: &'static str,
        /// Its current value.
        from: String,
        /// The value asked for.
        to: String,
    },
    /// A policy name that is not one of [`PolicyKind::ALL`].
    #[error("unknown policy {0:?} (known: {known})", known = PolicyKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "))]
    UnknownPolicy(String),
    /// A follower mode that is not `ranged`, `before`, `closest` or `bracket`.
    #[error("unknown follower mode {0:?} (known: ranged, before, closest, bracket)")]
    UnknownMode(String),
    /// The driver channel was given a follower mode.
    #[error("channel {0} is the driver: it cannot follow too")]
    FollowerIsDriver(usize),
    /// A channel that is neither the driver nor given a mode.
    #[error(
        "channel {0} is neither the driver nor a follower: give it a mode (ranged, before, closest or bracket)"
    )]
    NoMode(usize),
    /// A driver option the policy cannot work with.
    #[error("{option} does not work with this policy ({why})")]
    Unsupported {
        /// The option.
        option: &'static str,
        /// Why not.
        why: &'static str,
    },
    /// A setting given to a policy that does not take it.
    #[error("{param} does not apply to the {policy} policy")]
    NotForPolicy {
        /// The setting ([`Setting::name`]).
        param: &'static str,
        /// The policy ([`PolicyKind::name`]).
        policy: &'static str,
    },
    /// A setting the policy cannot do without.
    #[error("the {policy} policy needs {param}")]
    MissingParam {
        /// The setting ([`Setting::name`]).
        param: &'static str,
        /// The policy ([`PolicyKind::name`]).
        policy: &'static str,
    },
    /// A name that is no policy's setting.
    #[error("no policy has a setting {0:?} (known: {known})", known = all_settings().map(|s| s.name).collect::<Vec<_>>().join(", "))]
    UnknownSetting(String),
    /// A value of the wrong unit for its setting.
    #[error("{setting} takes a {unit:?}")]
    WrongUnit {
        /// The setting.
        setting: &'static str,
        /// What it takes.
        unit: Unit,
    },
    /// A value outside its setting's range.
    #[error("{setting} must be in {range}, got {value}")]
    OutOfRange {
        /// The setting.
        setting: &'static str,
        /// The value, as given.
        value: String,
        /// The range.
        range: settings::Min,
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
    fn search(&self) -> SearchState {
        SearchState::default()
    }

    /// This policy, unbound, over the channels `keep` alone (ascending, at
    /// least 2): the same settings, per-channel ones renumbered to their
    /// position in `keep`. What a driver runs while a channel is out. `None`
    /// (the default): the policy cannot run over a subset.
    fn subset(&self, keep: &[usize]) -> Option<Box<dyn SubsetPolicy<S> + Send>> {
        let _ = keep;
        None
    }

    /// Emits the best set among the held messages, without waiting for the
    /// proof, once its newest member is more than `deadline` behind the
    /// newest stamp received ([`Options::deadline`](crate::Options::deadline)).
    /// `None` turns it off. The default: an error, the policy has no deadline.
    fn set_deadline(&mut self, deadline: Option<crate::time::Duration>) -> Result<(), ConfigError> {
        match deadline {
            None => Ok(()),
            Some(_) => Err(ConfigError::Unsupported {
                option: "deadline",
                why: "only ApproximateTime and ApproximateEpsilonTime take a deadline",
            }),
        }
    }
}

/// What a policy can say about its search in progress.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchState {
    /// The pivot channel and its stamp (ApproximateTime).
    pub pivot: Option<(usize, Stamp)>,
    /// The current candidate's earliest and latest stamp (ApproximateTime).
    pub candidate: Option<(Stamp, Stamp)>,
}
