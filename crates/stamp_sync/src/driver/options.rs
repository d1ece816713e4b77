//! Options a driver applies around its policy, all off by default.

use crate::policy::ConfigError;
use crate::time::Duration;

/// Options a driver applies around its policy. Every option is off by
/// default; with all off the output is exactly upstream's.
///
/// ```
/// use stamp_sync::{Duration, Options};
/// let opts = Options::new()
///     .reset_on_jump_back(Duration::from_secs(1))
///     .stamp_offset(1, Duration::from_millis(-30))
///     .stale_after(Duration::from_millis(500));
/// assert!(opts.check(2).is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub(crate) jump_back: Option<Duration>,
    pub(crate) offsets: Vec<(usize, Duration)>,
    pub(crate) arrival_stamps: bool,
    pub(crate) stale_after: Option<Duration>,
    pub(crate) partial_sets: bool,
    pub(crate) drop_out_after: Option<Duration>,
    pub(crate) drop_out_clock: DropOutClock,
    pub(crate) deadline: Option<Duration>,
}

/// The clock [`Options::drop_out_after`] measures on.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum DropOutClock {
    /// A channel is out while its newest stamp is more than the timeout
    /// behind the newest stamp of any channel (the default: bags, traces,
    /// one clock for every sensor).
    #[default]
    Stamp,
    /// A channel is out once nothing arrived on it for the timeout while
    /// another channel did, on the driver's arrival clock (checked on every
    /// arrival and on `poll(now)`; a channel that has delivered nothing is
    /// measured from the first arrival at all; when every channel is
    /// silent, nothing changes): for live graphs whose stamps come from
    /// different clocks.
    Arrival,
}

impl DropOutClock {
    /// `stamp` or `arrival`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropOutClock::Stamp => "stamp",
            DropOutClock::Arrival => "arrival",
        }
    }
}

impl std::str::FromStr for DropOutClock {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stamp" => Ok(DropOutClock::Stamp),
            "arrival" => Ok(DropOutClock::Arrival),
            _ => Err(format!("drop-out clock is `stamp` or `arrival`, got {s:?}")),
        }
    }
}

impl Options {
    /// All options off.
    pub fn new() -> Self {
        Self::default()
    }

    /// When a channel's stamp goes back by more than `threshold` (a bag
    /// loop, a simulator reset), drop everything queued (reason
    /// [`DropReason::Reset`](crate::DropReason::Reset)), count a reset, and continue with the new
    /// message. Upstream ROS 2 does nothing (scenario D2).
    pub fn reset_on_jump_back(mut self, threshold: Duration) -> Self {
        self.jump_back = Some(threshold);
        self
    }

    /// Adds `offset` to every stamp of `channel` before matching, e.g. to
    /// compensate a sensor's known latency.
    pub fn stamp_offset(mut self, channel: usize, offset: Duration) -> Self {
        self.offsets.retain(|(c, _)| *c != channel);
        self.offsets.push((channel, offset));
        self
    }

    /// Match on arrival time (the driver's `received` clock) instead of the
    /// header stamp: for headerless topics or broken clocks.
    pub fn arrival_stamps(mut self, on: bool) -> Self {
        self.arrival_stamps = on;
        self
    }

    /// Report [`Event::Stale`](crate::Event::Stale) when a channel has received nothing for
    /// `timeout` on the arrival clock. The check runs on every arrival (so a
    /// silent channel is reported while the others flow) and on `poll(now)`
    /// from a timer (so a fully silent synchronizer is reported too); a
    /// stall is reported again after each further `timeout`.
    pub fn stale_after(mut self, timeout: Duration) -> Self {
        self.stale_after = Some(timeout);
        self
    }

    /// With [`stale_after`](Self::stale_after): also flush, at most once per
    /// timeout while a channel stays silent. The oldest held message of each
    /// channel goes out as an [`Event::Partial`](crate::Event::Partial) set (`None` where a channel
    /// holds nothing); the rest is dropped
    /// ([`DropReason::Stale`](crate::DropReason::Stale)).
    pub fn partial_sets(mut self, on: bool) -> Self {
        self.partial_sets = on;
        self
    }

    /// Sync that keeps going when a sensor dies (not upstream). A channel is
    /// *out* while its newest stamp is more than `after` behind the newest
    /// stamp received on any channel (after offsets; before its first
    /// message, the first stamp received at all stands in for its newest).
    /// When it goes out, what it holds is dropped
    /// ([`DropReason::DroppedOut`](crate::DropReason::DroppedOut)) and the
    /// policy starts over on the other channels alone, fed first what they
    /// hold (oldest stamp first): sets come out as
    /// [`Event::Partial`](crate::Event::Partial) without it. It rejoins with
    /// its first message within `after` of the newest stamp, and the policy
    /// starts over on all channels the same way; a message further behind
    /// is dropped `DroppedOut`. Each change is an [`Event::Out`](crate::Event::Out)
    /// or [`Event::Rejoin`](crate::Event::Rejoin), counted in the stats and
    /// logged once. If no channel ever trails by more than `after`, the sets
    /// are exactly those without the option. [`drop_out_clock`](Self::drop_out_clock)
    /// measures on arrival time instead. Turned on at run time
    /// (`set_drop_out_after`), it measures from the next message.
    ///
    /// ```
    /// use stamp_sync::{DropOutClock, Duration, Options};
    /// let opts = Options::new()
    ///     .drop_out_after(Duration::from_millis(200))
    ///     .drop_out_clock(DropOutClock::Arrival);
    /// assert!(opts.check(3).is_ok());
    /// ```
    pub fn drop_out_after(mut self, after: Duration) -> Self {
        self.drop_out_after = Some(after);
        self
    }

    /// The clock [`drop_out_after`](Self::drop_out_after) measures on
    /// (default [`DropOutClock::Stamp`]).
    pub fn drop_out_clock(mut self, clock: DropOutClock) -> Self {
        self.drop_out_clock = clock;
        self
    }

    /// Bounds how late ApproximateTime emits a set (not upstream): once the
    /// best set among the held messages has its newest member more than
    /// `deadline` behind the newest stamp received, it is emitted without
    /// waiting for the message that would prove it optimal. With a deadline
    /// larger than any wait in the input the sets are upstream's. The same
    /// as the policy setting `deadline`; ApproximateEpsilonTime accepts it
    /// and never needs it; other policies refuse it
    /// ([`ConfigError::Unsupported`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Checks the options against a channel count.
    pub fn check(&self, channels: usize) -> Result<(), ConfigError> {
        if let Some(&(channel, _)) = self.offsets.iter().find(|(c, _)| *c >= channels) {
            return Err(ConfigError::NoSuchChannel { channel, channels });
        }
        for (what, d) in [
            ("jump-back threshold", self.jump_back),
            ("stale timeout", self.stale_after),
            ("drop-out timeout", self.drop_out_after),
            ("deadline", self.deadline),
        ] {
            if let Some(value) = d.filter(|d| d.is_negative()) {
                return Err(ConfigError::NegativeDuration { what, value });
            }
        }
        Ok(())
    }

    /// True if every option is off.
    pub fn is_default(&self) -> bool {
        *self == Options::default()
    }
}
