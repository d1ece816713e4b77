//! Stamp traces: `channel,stamp_ns` CSV in arrival order, and replaying a
//! policy over one. This is what `stamp-sync match` and the tests run.

use std::fmt::Write as _;

use crate::driver::dynamic::{DynSynchronizer, VecQueues};
use crate::driver::{ChannelOut, Event, Options, Partial, Stale, Stats};
use crate::policy::{ConfigError, Dropped, Policy, Visit};
use crate::stamped::Stamped;
use crate::time::{Duration, Stamp};

pub use crate::policy::PolicyConfig;

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

impl Stamped for TraceMsg {
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
    /// For each partial set, how many full sets came before it.
    pub partials_after: Vec<usize>,
    /// Counters.
    pub stats: Stats,
    /// Messages still queued per channel at the end.
    pub queued: Vec<usize>,
    /// Channels going out and rejoining (option `drop_out_after`), in
    /// order: `true` for out, `false` for a rejoin.
    pub changes: Vec<(bool, ChannelOut)>,
    /// Per emitted set, full or partial, in emission order: the newest
    /// stamp received when it was emitted minus its newest member's stamp.
    pub latency: Vec<Duration>,
}

impl Replay {
    /// The sets as CSV lines (stamps in ns, channel order), the format of
    /// the reference `*.expected.csv` files.
    pub fn sets_csv(&self) -> String {
        let mut s = String::new();
        for set in &self.sets {
            csv_line(&mut s, set.iter().map(|m| Some(m.stamp)));
        }
        s
    }

    /// Every emitted set in emission order, full or with members missing
    /// (`None` for a channel the set has no member of).
    pub fn emitted(&self) -> Vec<Vec<Option<TraceMsg>>> {
        let mut v = Vec::with_capacity(self.sets.len() + self.partials.len());
        let mut partials = self.partials.iter().zip(&self.partials_after).peekable();
        for k in 0..=self.sets.len() {
            while let Some((p, _)) = partials.next_if(|(_, after)| **after <= k) {
                v.push(
                    p.members
                        .iter()
                        .map(|m| m.as_ref().map(|m| m.message))
                        .collect(),
                );
            }
            if let Some(set) = self.sets.get(k) {
                v.push(set.iter().copied().map(Some).collect());
            }
        }
        v
    }

    /// Every emitted set as CSV lines in emission order: full sets as in
    /// [`sets_csv`](Self::sets_csv), partial sets with an empty field for
    /// each channel that held nothing (`0,,5`). Without partial sets it is
    /// [`sets_csv`](Self::sets_csv).
    pub fn emitted_csv(&self) -> String {
        let mut s = String::new();
        for set in self.emitted() {
            csv_line(&mut s, set.iter().map(|m| m.map(|m| m.stamp)));
        }
        s
    }
}

/// One set's line: stamps in ns, an empty field for a missing member.
fn csv_line(s: &mut String, stamps: impl Iterator<Item = Option<Stamp>>) {
    for (i, t) in stamps.enumerate() {
        if i > 0 {
            s.push(',');
        }
        if let Some(t) = t {
            let _ = write!(s, "{}", t.as_nanos());
        }
    }
    s.push('\n');
}

/// Replays `trace` over `channels` inputs with any policy and options.
/// The trace's stamps double as the arrival clock.
pub fn replay_with<P: Policy<VecQueues<TraceMsg>>>(
    trace: &Trace,
    channels: usize,
    policy: P,
    options: &Options,
) -> Result<Replay, ConfigError> {
    let mut sync = DynSynchronizer::builder(channels, policy)
        .options(options.clone())
        .build()?;
    let mut r = Replay::default();
    let mut newest = Stamp::MIN;
    for m in &trace.messages {
        newest = newest.max(m.stamp);
        let Ok(events) = sync.push_stamped(m.channel, *m, m.stamp, m.stamp) else {
            return Err(ConfigError::NoSuchChannel {
                channel: m.channel,
                channels,
            });
        };
        for e in events {
            match e {
                Event::Set(s) => {
                    let last = s.iter().map(|m| m.stamp).max().unwrap_or(newest);
                    r.latency.push(newest - last);
                    r.sets.push(s.into_vec());
                    r.emitted_at.push(m.index);
                }
                Event::Drop(d) => r.drops.push(d),
                Event::Stale(s) => r.stale.push(s),
                Event::Partial(p) => {
                    let last = p.members.iter().flatten().map(|m| m.message.stamp).max();
                    r.latency.push(newest - last.unwrap_or(newest));
                    r.partials.push(p);
                    r.partials_after.push(r.sets.len());
                }
                Event::Out(o) => r.changes.push((true, o)),
                Event::Rejoin(o) => r.changes.push((false, o)),
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
    struct Run<'a> {
        trace: &'a Trace,
        channels: usize,
        options: &'a Options,
    }
    impl Visit<VecQueues<TraceMsg>> for Run<'_> {
        type Output = Result<Replay, ConfigError>;
        fn visit<P: Policy<VecQueues<TraceMsg>>>(self, policy: P) -> Self::Output {
            replay_with(self.trace, self.channels, policy, self.options)
        }
    }
    config.build()?.visit(Run {
        trace,
        channels,
        options,
    })
}

/// What a replay of the follower policy produced.
#[derive(Clone, Debug, Default)]
pub struct FollowReplay {
    /// The sets, in order.
    pub sets: Vec<crate::policy::FollowSet<TraceMsg>>,
    /// For each set, the arrival index of the message that made it final.
    pub emitted_at: Vec<usize>,
    /// Drops in order.
    pub drops: Vec<Dropped<TraceMsg>>,
    /// Counters (see [`FollowSynchronizer`](crate::driver::follow::FollowSynchronizer) for
    /// what `emitted` means).
    pub stats: Stats,
    /// Messages still queued per channel at the end.
    pub queued: Vec<usize>,
    /// Per channel, how many times its messages went out in sets.
    pub appearances: Vec<u64>,
}

impl FollowReplay {
    /// One line per set: the driver's stamp, then one field per follower
    /// in channel order: `ranged` its stamps joined by `;` (empty if none),
    /// `before` and `closest` one stamp or empty, `bracket` `lo;hi` with a
    /// missing side empty.
    pub fn csv(&self) -> String {
        use crate::policy::Follower;
        let ns = |m: &TraceMsg| m.stamp.as_nanos().to_string();
        let opt = |m: &Option<TraceMsg>| m.as_ref().map_or(String::new(), ns);
        let mut s = String::new();
        for set in &self.sets {
            s += &ns(&set.driver);
            for (_, part) in &set.followers {
                s.push(',');
                s += &match part {
                    Follower::Ranged(v) => v.iter().map(ns).collect::<Vec<_>>().join(";"),
                    Follower::Before(m) | Follower::Closest(m) => opt(m),
                    Follower::Bracket(lo, hi) => format!("{};{}", opt(lo), opt(hi)),
                };
            }
            s.push('\n');
        }
        s
    }
}

/// Replays `trace` over `channels` inputs with the follower policy.
pub fn replay_follow(
    trace: &Trace,
    channels: usize,
    config: &crate::policy::FollowConfig,
) -> Result<FollowReplay, ConfigError> {
    let mut sync = crate::driver::follow::FollowSynchronizer::new(channels, config)?;
    let mut r = FollowReplay::default();
    for m in &trace.messages {
        if m.channel >= channels {
            return Err(ConfigError::NoSuchChannel {
                channel: m.channel,
                channels,
            });
        }
        for e in sync.push(m.channel, *m, m.stamp) {
            match e {
                Event::Set(s) => {
                    r.sets.push(s);
                    r.emitted_at.push(m.index);
                }
                Event::Drop(d) => r.drops.push(d),
                _ => {}
            }
        }
    }
    r.stats = sync.stats().clone();
    r.queued = (0..channels).map(|c| sync.queued(c)).collect();
    r.appearances = sync.appearances().to_vec();
    Ok(r)
}
