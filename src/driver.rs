//! The part every driver shares: queues, policy, output, counters, and the
//! options applied around the policy (all off by default, so the default
//! stays C++-compatible).

use crate::policy::{Arrival, ConfigError, Dropped, Event, Output, Policy, Store};
use crate::stats::Stats;
use crate::time::{Duration, Stamp};

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
    jump_back: Option<Duration>,
    offsets: Vec<(usize, Duration)>,
    arrival_stamps: bool,
    stale_after: Option<Duration>,
    partial_sets: bool,
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

    /// Report [`Event::Stale`] when a channel has received nothing for
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
    /// channel goes out as an [`Event::Partial`] set (`None` where a channel
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

/// What the driver remembers per channel for the options.
#[derive(Copy, Clone, Debug, Default)]
struct Watch {
    offset: Duration,
    last_stamp: Option<Stamp>,
    last_received: Option<Stamp>,
    /// When the current stall was last reported (or flushed).
    reported: Option<Stamp>,
}

/// Queues, policy, output buffer and counters, driven by channel index.
#[derive(Debug)]
pub(crate) struct Core<Q: Store, P> {
    pub(crate) policy: P,
    pub(crate) queues: Q,
    pub(crate) out: Output<Q::Set, Q::Message>,
    pub(crate) stats: Stats,
    options: Options,
    watch: Vec<Watch>,
}

impl<Q: Store, P: Policy<Q>> Core<Q, P> {
    pub(crate) fn new(
        channels: usize,
        mut policy: P,
        options: Options,
        queues: impl FnOnce(usize) -> Q,
    ) -> Result<Self, ConfigError> {
        policy.bind(channels)?;
        options.check(channels)?;
        let mut watch = vec![Watch::default(); channels];
        for &(c, d) in &options.offsets {
            watch[c].offset = d;
        }
        let mut out = Output::with_capacity(policy.max_events_per_add() + channels + 2);
        out.count_channels(channels);
        Ok(Core {
            queues: queues(policy.capacity()),
            out,
            stats: Stats::new(channels),
            policy,
            options,
            watch,
        })
    }

    /// Runs one arrival: options, `push` (appends the message to channel
    /// `ch` of the store), then the policy. Events land in `self.out`.
    #[inline]
    pub(crate) fn add(
        &mut self,
        ch: usize,
        stamp: Stamp,
        received: Stamp,
        push: impl FnOnce(&mut Q),
    ) {
        let mut stamp = if self.options.arrival_stamps {
            received
        } else {
            stamp
        };
        if let Some(w) = self.watch.get_mut(ch) {
            stamp = stamp.saturating_add(w.offset);
            if let (Some(th), Some(last)) = (self.options.jump_back, w.last_stamp) {
                if last - stamp > th {
                    log::warn!(
                        "channel {ch} jumped back in time ({last} -> {stamp}): clearing the queues"
                    );
                    self.policy.reset(&mut self.queues, &mut self.out);
                    self.stats.resets += 1;
                    for w in &mut self.watch {
                        w.last_stamp = None;
                    }
                }
            }
            let w = &mut self.watch[ch];
            w.last_stamp = Some(stamp);
            w.last_received = Some(received);
            w.reported = None;
        }
        push(&mut self.queues);
        self.stats.received(ch, stamp);
        let arrival = Arrival {
            channel: ch,
            stamp,
            received,
        };
        self.policy.add(arrival, &mut self.queues, &mut self.out);
        if self.options.stale_after.is_some() {
            self.check_stale(received);
        }
    }

    /// Stale-channel check without a message (call it from a timer).
    pub(crate) fn poll(&mut self, now: Stamp) {
        if self.options.stale_after.is_some() {
            self.check_stale(now);
        }
    }

    fn check_stale(&mut self, now: Stamp) {
        let Some(timeout) = self.options.stale_after else {
            return;
        };
        let mut flush = false;
        for (channel, w) in self.watch.iter_mut().enumerate() {
            let Some(since) = w.last_received.or(w.reported) else {
                // Never received: measure from the first poll.
                w.reported = Some(now);
                continue;
            };
            let from = w.reported.map_or(since, |r| r.max(since));
            if now - from > timeout {
                let silent_for = now - since;
                self.out.stale(channel, silent_for, now);
                w.reported = Some(now);
                flush = true;
                log::warn!(
                    "waiting on channel {channel}: nothing for {silent_for} while others flow"
                );
            }
        }
        if flush && self.options.partial_sets {
            self.flush_partial();
        }
    }

    /// Resets the policy and turns the dropped oldest message of every
    /// channel into one partial set.
    fn flush_partial(&mut self) {
        // The partial set is made of the drops, so they must be events.
        let keep = self.out.keeps_drops();
        self.out.keep_drops(true);
        let start = self.out.len();
        self.policy.reset(&mut self.queues, &mut self.out);
        let n = self.watch.len();
        self.out.partial_from(start, n);
        self.out.keep_drops(keep);
    }

    /// Records drops as events (`true`) or only counts them (`false`: the
    /// driver has nobody to hand dropped messages to).
    #[inline]
    pub(crate) fn keep_drops(&mut self, keep: bool) {
        self.out.keep_drops(keep);
    }

    pub(crate) fn reset(&mut self) {
        self.policy.reset(&mut self.queues, &mut self.out);
        for w in &mut self.watch {
            w.last_stamp = None;
        }
    }

    /// A snapshot of counters, queues and the search in progress.
    pub(crate) fn diagnostics(&self) -> crate::stats::Diagnostics {
        crate::stats::Diagnostics::new(&self.stats, |c| self.policy.queued(c), self.policy.search())
    }

    /// Hands the events to the callbacks in order, counting each; sets and
    /// drops are moved out without copying a whole `Event` (see
    /// [`Output::drain_split`]).
    #[inline]
    pub(crate) fn drain_split(
        &mut self,
        mut set: impl FnMut(Q::Set),
        mut drop: impl FnMut(Dropped<Q::Message>),
        mut other: impl FnMut(Event<Q::Set, Q::Message>),
    ) {
        let Core { out, stats, .. } = self;
        out.take_discarded(|c, r, n| stats.count_drops(c, r, n));
        out.drain_split(
            stats,
            |stats, s| {
                stats.count_set();
                set(s)
            },
            |stats, d| {
                stats.count_drop(d.channel, d.reason);
                drop(d)
            },
            |stats, e| {
                stats.record(&e);
                other(e)
            },
        );
    }

    /// Drains the events in order, counting each.
    #[inline]
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Event<Q::Set, Q::Message>> + '_ {
        let Core { out, stats, .. } = self;
        out.take_discarded(|c, r, n| stats.count_drops(c, r, n));
        out.drain().inspect(|e| stats.record(e))
    }
}
