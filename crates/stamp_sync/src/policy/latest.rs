//! LatestTime: zero-order hold at the rate of the fastest channel, as C++
//! message_filters (ROS 2) does, minus two upstream bugs.
//!
//! Each channel keeps its latest message. The arrival clock (the
//! [`Arrival::received`] stamp the driver passes, so tests are
//! deterministic) drives a per-channel rate estimate (EMA, with step-change
//! detection). A set is emitted when the channel that just received is the
//! *pivot*: the fastest channel that is not late. The set holds a clone of
//! every channel's latest message, so slow channels repeat.
//!
//! # What the output promises
//! * A channel's first message only initializes it; nothing is emitted
//!   until every channel has a message and the arriving channel has a rate.
//! * Each set holds the latest message of every channel (cloned).
//! * A message replaced before any set used it is dropped
//!   ([`DropReason::Replaced`]); one that was used is simply released.
//!   At most one message per channel is held.
//!
//! # Differences from upstream (deliberate)
//! * Rate state is indexed by channel, not by order of first arrival
//!   (upstream ros2/message_filters#110).
//! * When rates keep falling, upstream ranks channels by stale rate
//!   estimates: the channel that just arrived (whose estimate already fell)
//!   never outranks the others, the pivot oscillates and publishing may
//!   stop for good (#131). Here a channel silent for `t` ranks at no more
//!   than `1/t` Hz, and when no channel qualifies the arriving one leads,
//!   so publishing never stops. Channels that arrive on time rank exactly
//!   as upstream.

use super::settings::{self, Configure, Setting, Value};
use super::{Arrival, CloneStore, ConfigError, DropReason, Output, Policy};
use crate::time::Stamp;

/// Rate estimator settings (upstream `RateConfig`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RateConfig {
    /// EMA weight of a new rate sample (default 0.9).
    pub rate_ema_alpha: f64,
    /// EMA weight of a new error sample (default 0.3).
    pub error_ema_alpha: f64,
    /// A sample further than this many mean errors from the rate resets
    /// the estimate (default 10).
    pub step_change_margin: f64,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            rate_ema_alpha: 0.9,
            error_ema_alpha: 0.3,
            step_change_margin: 10.0,
        }
    }
}

/// Rate estimate of one channel.
#[derive(Copy, Clone, Debug)]
struct Rate {
    prev: Stamp,
    hz: f64,
    error: f64,
    config: RateConfig,
    hz_init: bool,
    error_init: bool,
}

fn seconds(from: Stamp, to: Stamp) -> f64 {
    (to - from).as_nanos() as f64 / 1e9
}

impl Rate {
    fn new(start: Stamp, config: RateConfig) -> Self {
        Rate {
            prev: start,
            hz: 0.0,
            error: 0.0,
            config,
            hz_init: true,
            error_init: true,
        }
    }

    /// Upstream `compute_hz`: false if the clock did not advance.
    fn update(&mut self, now: Stamp) -> bool {
        let period = seconds(self.prev, now);
        if period <= 0.0 {
            return false;
        }
        let c = self.config;
        loop {
            if self.hz_init {
                self.hz = 1.0 / period;
                self.hz_init = false;
                break;
            }
            if self.error_init {
                self.error = (self.hz - 1.0 / period).abs();
                self.error_init = false;
            } else {
                if (self.hz - 1.0 / period).abs() > c.step_change_margin * self.error {
                    // Step change: start over from this period.
                    self.hz_init = true;
                    self.error_init = true;
                    continue;
                }
                self.error = c.error_ema_alpha * (self.hz - 1.0 / period).abs()
                    + (1.0 - c.error_ema_alpha) * self.error;
            }
            self.hz = c.rate_ema_alpha / period + (1.0 - c.rate_ema_alpha) * self.hz;
            break;
        }
        self.prev = now;
        true
    }

    /// Overdue by more than the margin allows.
    fn is_late(&self, now: Stamp) -> bool {
        if self.error_init {
            return false;
        }
        let period = seconds(self.prev, now);
        self.hz - 1.0 / period > self.config.step_change_margin * self.error
    }
}

/// One channel: its held message and rate.
#[derive(Copy, Clone, Debug)]
struct Slot {
    /// Stamp of the held message; `None` before the first one.
    stamp: Option<Stamp>,
    /// Whether the held message went out in a set.
    used: bool,
    rate: Option<Rate>,
}

/// LatestTime policy: see the [module docs](self). Needs a store that can
/// clone messages ([`CloneStore`]).
///
/// ```
/// use stamp_sync::{LatestTime, Stamp, Synchronizer};
/// let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(LatestTime::new()).unwrap();
/// let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
/// let mut sets = 0;
/// for k in 0..10 {
///     // Channel 0 at 50 Hz, channel 1 at 10 Hz, stamped on arrival.
///     if k % 5 == 0 { sets += sync.add_at::<1>(ms(20 * k), ms(20 * k)); }
///     sets += sync.add_at::<0>(ms(20 * k), ms(20 * k));
/// }
/// assert_eq!(sets, 9); // one per fast message once both have started
/// ```
#[derive(Clone, Debug, Default)]
pub struct LatestTime {
    configs: Vec<RateConfig>,
    default_config: RateConfig,
    slots: Vec<Slot>,
}

impl LatestTime {
    /// Upstream default rate settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same rate settings for every channel.
    pub fn with_rate_config(mut self, config: RateConfig) -> Self {
        self.default_config = config;
        self
    }

    /// Rate settings per channel (missing channels use the default).
    pub fn with_rate_configs(mut self, configs: Vec<RateConfig>) -> Self {
        self.configs = configs;
        self
    }

    /// The current rate estimate of `channel` in Hz, if it has one.
    pub fn rate_hz(&self, channel: usize) -> Option<f64> {
        self.slots
            .get(channel)
            .and_then(|s| s.rate)
            .filter(|r| !r.hz_init)
            .map(|r| r.hz)
    }

    /// The pivot: the fastest channel with a rate that is not late; ties
    /// keep channel order (upstream's stable sort). A channel silent for
    /// `t` is ranked at no more than `1/t` Hz: otherwise stale estimates
    /// outrank the channel that just arrived whenever rates fall, and the
    /// pivot can oscillate forever (upstream #131).
    fn pivot(&self, now: Stamp) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(r) = slot.rate else { continue };
            if r.hz.is_nan() || r.hz <= 0.0 {
                continue;
            }
            let silent = seconds(r.prev, now);
            let rank = if silent > 0.0 {
                if r.is_late(now) {
                    continue;
                }
                r.hz.min(1.0 / silent)
            } else {
                r.hz
            };
            if best.is_none_or(|(_, hz)| rank > hz) {
                best = Some((i, rank));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// LatestTime's settings ([`Configure`]): none (upstream's rate settings;
/// per channel with [`LatestTime::with_rate_configs`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatestConfig;

impl Configure for LatestConfig {
    type Policy = LatestTime;
    const NAME: &'static str = "latest";
    const TITLE: &'static str = "LatestTime";
    const SETTINGS: &'static [Setting] = &[];

    fn blank() -> Self {
        LatestConfig
    }
    fn get(&self, _: &str) -> Option<Value> {
        None
    }
    fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError> {
        settings::checked::<Self>(name, v).map(drop)
    }
    fn build(&self) -> Result<LatestTime, ConfigError> {
        Ok(LatestTime::new())
    }
    fn of(_: &LatestTime) -> Self {
        LatestConfig
    }
    fn apply(&self, _: &mut LatestTime) -> Result<(), ConfigError> {
        Ok(())
    }
}

impl<S: CloneStore> Policy<S> for LatestTime {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        if self.configs.len() > channels {
            return Err(ConfigError::NoSuchChannel {
                channel: self.configs.len() - 1,
                channels,
            });
        }
        self.slots = vec![
            Slot {
                stamp: None,
                used: false,
                rate: None,
            };
            channels
        ];
        Ok(())
    }

    fn capacity(&self) -> usize {
        2
    }

    fn max_events_per_add(&self) -> usize {
        2
    }

    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let (ch, now) = (arrival.channel, arrival.received);
        let config = self.configs.get(ch).copied().unwrap_or(self.default_config);
        let Some(slot) = self.slots.get_mut(ch) else {
            return;
        };
        if let Some(old) = slot.stamp {
            // The store holds [old, new]: release the old one.
            if let Some(m) = store.remove(ch, 0) {
                if !slot.used {
                    out.drop_message(ch, old, DropReason::Replaced, m);
                }
            }
        }
        slot.stamp = Some(arrival.stamp);
        slot.used = false;
        let Some(rate) = slot.rate.as_mut() else {
            slot.rate = Some(Rate::new(now, config));
            return;
        };
        if !rate.update(now) {
            return;
        }
        if self.slots.iter().any(|s| s.stamp.is_none()) {
            return;
        }
        // Upstream finds no pivot when all channels look late (#131): then
        // the arriving channel leads.
        if self.pivot(now).unwrap_or(ch) == ch {
            if let Some(set) = store.clone_set(&mut |_| 0) {
                out.set(set);
                for s in &mut self.slots {
                    s.used = true;
                }
            }
        }
    }

    fn queued(&self, channel: usize) -> usize {
        self.slots
            .get(channel)
            .map_or(0, |s| usize::from(s.stamp.is_some()))
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        for (ch, slot) in self.slots.iter_mut().enumerate() {
            if let (Some(stamp), Some(m)) = (slot.stamp, store.pop_front(ch)) {
                if !slot.used {
                    out.drop_message(ch, stamp, DropReason::Reset, m);
                }
            }
            *slot = Slot {
                stamp: None,
                used: false,
                rate: None,
            };
        }
    }

    fn subset(&self, keep: &[usize]) -> Option<Box<dyn super::SubsetPolicy<S> + Send>> {
        let mut p = self.clone();
        p.configs = (keep.iter())
            .map(|&c| self.configs.get(c).copied().unwrap_or(self.default_config))
            .collect();
        Some(Box::new(p))
    }
}
