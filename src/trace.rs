//! Stamp traces: `channel,stamp_ns` CSV in arrival order, and replaying a
//! policy over one. This is what `stamp-sync match` and the tests run.

use std::fmt::Write as _;

use crate::driver::Options;
use crate::dynamic::DynSynchronizer;
use crate::dynamic::VecQueues;
use crate::policy::{
    ApproximateEpsilonTime, ApproximateTime, ConfigError, Dropped, Event, ExactTime, LatestTime,
    Partial, Policy, SlopTime, Stale,
};
use crate::stats::Stats;
use crate::time::{Duration, Stamp};

/// One message of a trace: where it sits in arrival order, its channel and stamp.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TraceMsg {
    /// 0-based position in arrival order.
    pub index: usize,
    /// Input channel.
    pub channel: usize,
    /// Stamp synchronized on.
    pub stamp: Stamp,
}

impl crate::Stamped for TraceMsg {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

/// A stamp trace: messages in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Messages in arrival order.
    pub messages: Vec<TraceMsg>,
}

/// Why a trace did not parse. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The first line is not `channel,stamp_ns`.
    #[error("line 1: expected the header `channel,stamp_ns`, found {0:?}")]
    Header(String),
    /// A line that is not `<channel>,<stamp_ns>`.
    #[error("line {line}: expected `<channel>,<stamp_ns>` with integers, found {text:?}")]
    Line {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A channel above the allowed maximum.
    #[error("line {line}: channel {channel} is above the maximum channel {max}")]
    Channel {
        /// Line number.
        line: usize,
        /// The channel found.
        channel: usize,
        /// The highest channel allowed.
        max: usize,
    },
}

impl Trace {
    /// Parses a trace. Channels above `max_channel` are an error. Empty
    /// lines and lines starting with `#` are skipped.
    pub fn parse(text: &str, max_channel: usize) -> Result<Trace, TraceError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, h)) if h.trim() == "channel,stamp_ns" => {}
            Some((_, h)) => return Err(TraceError::Header(h.to_string())),
            None => return Err(TraceError::Header(String::new())),
        }
        let mut messages = Vec::new();
        for (i, raw) in lines {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || TraceError::Line {
                line: i + 1,
                text: raw.to_string(),
            };
            let (c, s) = line.split_once(',').ok_or_else(bad)?;
            let channel: usize = c.trim().parse().map_err(|_| bad())?;
            let stamp: i64 = s.trim().parse().map_err(|_| bad())?;
            if channel > max_channel {
                return Err(TraceError::Channel {
                    line: i + 1,
                    channel,
                    max: max_channel,
                });
            }
            messages.push(TraceMsg {
                index: messages.len(),
                channel,
                stamp: Stamp::from_nanos(stamp),
            });
        }
        Ok(Trace { messages })
    }

    /// Builds a trace from `(channel, stamp)` pairs in arrival order.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (usize, Stamp)>) -> Trace {
        Trace {
            messages: pairs
                .into_iter()
                .enumerate()
                .map(|(index, (channel, stamp))| TraceMsg {
                    index,
                    channel,
                    stamp,
                })
                .collect(),
        }
    }

    /// Largest channel index + 1 (0 for an empty trace).
    pub fn channels(&self) -> usize {
        self.messages
            .iter()
            .map(|m| m.channel + 1)
            .max()
            .unwrap_or(0)
    }

    /// The trace as CSV, header line included.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("channel,stamp_ns\n");
        for m in &self.messages {
            let _ = writeln!(s, "{},{}", m.channel, m.stamp.as_nanos());
        }
        s
    }
}

/// Which policy to run, with checked settings: what the CLI and tests build.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyConfig {
    /// [`ExactTime`].
    Exact {
        /// Distinct stamps held.
        queue_size: usize,
    },
    /// [`ApproximateTime`].
    Approximate {
        /// Messages per channel.
        queue_size: usize,
        /// Age penalty (upstream default 0.1).
        age_penalty: f64,
        /// Max interval, `None` = unlimited.
        max_interval: Option<Duration>,
        /// Inter-message lower bounds by channel.
        lower_bounds: Vec<(usize, Duration)>,
    },
    /// [`ApproximateEpsilonTime`].
    Epsilon {
        /// Messages per channel.
        queue_size: usize,
        /// Tolerance.
        epsilon: Duration,
    },
    /// [`LatestTime`], with the trace stamps as the arrival clock.
    Latest,
    /// [`SlopTime`]: Python's ApproximateTimeSynchronizer.
    Slop {
        /// Distinct stamps per channel.
        queue_size: usize,
        /// Sets span strictly less than this.
        slop: Duration,
    },
}

impl PolicyConfig {
    /// The [`ApproximateTime`] policy these settings describe (an
    /// [`Exact`](PolicyConfig::Exact) config gives its queue size and defaults).
    pub fn build_approximate(&self) -> Result<ApproximateTime, ConfigError> {
        match self {
            PolicyConfig::Exact { queue_size }
            | PolicyConfig::Epsilon { queue_size, .. }
            | PolicyConfig::Slop { queue_size, .. } => ApproximateTime::new(*queue_size),
            PolicyConfig::Latest => ApproximateTime::new(10),
            PolicyConfig::Approximate {
                queue_size,
                age_penalty,
                max_interval,
                lower_bounds,
            } => {
                let mut b = ApproximateTime::builder()
                    .queue_size(*queue_size)
                    .age_penalty(*age_penalty);
                if let Some(d) = max_interval {
                    b = b.max_interval(*d);
                }
                for &(ch, d) in lower_bounds {
                    b = b.lower_bound(ch, d);
                }
                b.build()
            }
        }
    }

    /// ApproximateTime with upstream defaults and `queue_size`.
    pub fn approximate(queue_size: usize) -> Self {
        PolicyConfig::Approximate {
            queue_size,
            age_penalty: 0.1,
            max_interval: None,
            lower_bounds: Vec::new(),
        }
    }
}

/// What a replay produced.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Emitted sets in order, members in channel order.
    pub sets: Vec<Vec<TraceMsg>>,
    /// For each set, the arrival index of the message that completed it.
    pub emitted_at: Vec<usize>,
    /// Drops in order.
    pub drops: Vec<Dropped<TraceMsg>>,
    /// Stale-channel reports (option `stale_after`).
    pub stale: Vec<Stale>,
    /// Partial sets (option `partial_sets`).
    pub partials: Vec<Partial<TraceMsg>>,
    /// Counters.
    pub stats: Stats,
    /// Messages still queued per channel at the end.
    pub queued: Vec<usize>,
}

impl Replay {
    /// The sets as CSV lines (stamps in ns, channel order), the format of
    /// the reference `*.expected.csv` files.
    pub fn sets_csv(&self) -> String {
        let mut s = String::new();
        for set in &self.sets {
            for (i, m) in set.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{}", m.stamp.as_nanos());
            }
            s.push('\n');
        }
        s
    }
}

/// Replays `trace` over `channels` inputs with any policy and options.
/// The trace's stamps double as the arrival clock.
pub fn replay_with<P: Policy<VecQueues<TraceMsg>>>(
    trace: &Trace,
    channels: usize,
    policy: P,
    options: &Options,
) -> Result<Replay, ConfigError> {
    let mut sync = DynSynchronizer::with_options(channels, policy, options.clone())?;
    let mut r = Replay::default();
    for m in &trace.messages {
        let Ok(events) = sync.push_stamped(m.channel, *m, m.stamp) else {
            return Err(ConfigError::NoSuchChannel {
                channel: m.channel,
                channels,
            });
        };
        for e in events {
            match e {
                Event::Set(s) => {
                    r.sets.push(s);
                    r.emitted_at.push(m.index);
                }
                Event::Drop(d) => r.drops.push(d),
                Event::Stale(s) => r.stale.push(s),
                Event::Partial(p) => r.partials.push(p),
            }
        }
    }
    r.stats = sync.stats().clone();
    r.queued = (0..channels).map(|c| sync.queued(c)).collect();
    Ok(r)
}

/// Replays `trace` over `channels` inputs with the configured policy.
pub fn replay(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
) -> Result<Replay, ConfigError> {
    replay_with_options(trace, channels, config, &Options::default())
}

/// Replays `trace` with the configured policy and [`Options`].
pub fn replay_with_options(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    options: &Options,
) -> Result<Replay, ConfigError> {
    match config {
        PolicyConfig::Exact { queue_size } => {
            replay_with(trace, channels, ExactTime::new(*queue_size)?, options)
        }
        PolicyConfig::Approximate { .. } => {
            replay_with(trace, channels, config.build_approximate()?, options)
        }
        PolicyConfig::Epsilon {
            queue_size,
            epsilon,
        } => replay_with(
            trace,
            channels,
            ApproximateEpsilonTime::new(*queue_size, *epsilon)?,
            options,
        ),
        PolicyConfig::Latest => replay_with(trace, channels, LatestTime::new(), options),
        PolicyConfig::Slop { queue_size, slop } => {
            replay_with(trace, channels, SlopTime::new(*queue_size, *slop)?, options)
        }
    }
}
