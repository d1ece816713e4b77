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

    /// Checks the options against a channel count.
    pub fn check(&self, channels: usize) -> Result<(), ConfigError> {
        if let Some(&(channel, _)) = self.offsets.iter().find(|(c, _)| *c >= channels) {
            return Err(ConfigError::NoSuchChannel { channel, channels });
        }
        for (what, d) in [
            ("jump-back threshold", self.jump_back),
            ("stale timeout", self.stale_after),
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
