//! The part every driver shares: queues, policy, output, counters, and the
//! options applied around the policy (all off by default, so the default
//! stays C++-compatible).

use super::dropout::{self, DropOut, Parts};
use super::event::{Event, Member, Partial, Stale};
use super::handlers::{Clock, Handlers};
use super::options::Options;
use super::stats::Stats;
use crate::policy::{Arrival, ConfigError, DropReason, Dropped, Outcome, Output, Policy, Store};
use crate::time::{Duration, Stamp};

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
pub(crate) struct Core<Q: Store, P> {
    pub(crate) policy: P,
    pub(crate) queues: Q,
    /// The policy's sets and drops of the current step.
    pub(crate) out: Output<Q::Set, Q::Message>,
    /// The driver's own events of the current step (stale reports, partial
    /// sets and the drops they relabel), which follow `out` in order.
    pub(crate) extra: Vec<Event<Q::Set, Q::Message>>,
    pub(crate) stats: Stats,
    /// Option `drop_out_after`; boxed, it is rarely on.
    pub(crate) drop_out: Option<Box<DropOut<Q>>>,
    options: Options,
    /// Every option is off: arrivals go to the policy untouched.
    plain: bool,
    watch: Vec<Watch>,
    /// The arrival clock of `add` without an explicit time; `None`: a
    /// message is received at its own stamp.
    clock: Option<Clock>,
}

impl<Q: Store, P> std::fmt::Debug for Core<Q, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("stats", &self.stats)
            .field("options", &self.options)
            .field("clock", &self.clock.is_some())
            .finish_non_exhaustive()
    }
}

/// Room in the output for one step's events: the policy's worst `add`
/// (which counts every held message leaving), plus slack.
fn step_room<Q: Store, P: Policy<Q>>(policy: &P, channels: usize) -> usize {
    policy.max_events_per_add() + channels + 2
}

impl<Q: Store, P: Policy<Q>> Core<Q, P> {
    pub(crate) fn new(
        channels: usize,
        mut policy: P,
        options: Options,
        clock: Option<Clock>,
        queues: impl FnOnce(usize) -> Q,
    ) -> Result<Self, ConfigError> {
        policy.bind(channels)?;
        options.check(channels)?;
        if options.drop_out_after.is_some() {
            dropout::check(&policy, channels)?;
        }
        if options.deadline.is_some() {
            policy.set_deadline(options.deadline)?;
        }
        // The deadline lives in the policy: nothing to do per arrival.
        let plain = Options {
            deadline: None,
            ..options.clone()
        }
        .is_default();
        let mut watch = vec![Watch::default(); channels];
        for &(c, d) in &options.offsets {
            watch[c].offset = d;
        }
        let mut out = Output::with_capacity(step_room(&policy, channels));
        out.count_channels(channels);
        Ok(Core {
            queues: queues(policy.capacity()),
            out,
            extra: Vec::new(),
            stats: Stats::new(channels),
            drop_out: DropOut::new(&options, channels),
            policy,
            plain,
            options,
            watch,
            clock,
        })
    }

    /// When a message stamped `stamp` is received now: the arrival
    /// clock's time, or `stamp` without a clock.
    #[inline(always)]
    pub(crate) fn received(&self, stamp: Stamp) -> Stamp {
        self.clock.as_ref().map_or(stamp, |now| now())
    }

    /// Number of channels.
    pub(crate) fn channels(&self) -> usize {
        self.watch.len()
    }

    /// Hands the step's events to `h` in order, counting each; sets and
    /// drops are moved out without copying a whole event (see
    /// [`Output::drain_split`]). Returns the sets delivered.
    #[inline(always)]
    pub(crate) fn deliver<H: Handlers<Q::Set, Q::Message>>(&mut self, h: &mut H) -> usize {
        if self.out.is_empty() && self.extra.is_empty() {
            // Nothing to hand out; drops counted without their message
            // (no drop callback) go straight to the counters.
            if self.out.has_discarded() {
                self.fold_discarded();
            }
            return 0;
        }
        self.deliver_events(h)
    }

    /// Moves the counted drops into the stats.
    #[inline(never)]
    fn fold_discarded(&mut self) {
        let Core { out, stats, .. } = self;
        out.take_discarded(|c, r, n| stats.count_drops(c, r, n));
    }

    // Out of the hot path: most arrivals emit nothing, and inlining this
    // into every `add` costs more than the call (measured: ~5 % at N=2).
    fn deliver_events<H: Handlers<Q::Set, Q::Message>>(&mut self, h: &mut H) -> usize {
        let Core {
            out, stats, extra, ..
        } = self;
        out.take_discarded(|c, r, n| stats.count_drops(c, r, n));
        let mut ctx = (&mut *stats, &mut *h, 0usize);
        out.drain_split(
            &mut ctx,
            |(stats, h, sets), s| {
                stats.count_set();
                *sets += 1;
                h.set(s)
            },
            |(stats, h, _), d| {
                stats.count_drop(d.channel, d.reason);
                h.drop(d)
            },
        );
        let mut sets = ctx.2;
        if !extra.is_empty() {
            for e in extra.drain(..) {
                stats.record(&e);
                sets += usize::from(matches!(e, Event::Set(_)));
                h.event(e);
            }
        }
        sets
    }

    /// Runs one arrival: options, `push` (appends the message to channel
    /// `ch` of the store), then the policy. Events land in `self.out`
    /// (then `self.extra`).
    #[inline]
    pub(crate) fn add(
        &mut self,
        ch: usize,
        stamp: Stamp,
        received: Stamp,
        push: impl FnOnce(&mut Q),
    ) {
        push(&mut self.queues);
        // All options off (the default): nothing to watch or change.
        if self.plain {
            self.stats.received(ch, stamp);
            let arrival = Arrival {
                channel: ch,
                stamp,
                received,
            };
            self.policy.add(arrival, &mut self.queues, &mut self.out);
        } else {
            self.add_with_options(ch, stamp, received);
        }
    }

    /// [`add`](Self::add) with some option on; the message is in the store.
    #[inline(never)]
    fn add_with_options(&mut self, ch: usize, stamp: Stamp, received: Stamp) {
        let stamp = self.watch_arrival(ch, stamp, received);
        self.stats.received(ch, stamp);
        let arrival = Arrival {
            channel: ch,
            stamp,
            received,
        };
        if self.drop_out.is_none() {
            self.policy.add(arrival, &mut self.queues, &mut self.out);
        } else {
            self.with_drop_out(|d, s| d.add(arrival, s));
        }
        if self.options.stale_after.is_some() {
            self.check_stale(received);
        }
    }

    /// The options around one arrival on `ch`: arrival stamps, offset, reset
    /// on a jump back; remembers the arrival for the stale check. Returns
    /// the stamp the policy gets.
    #[inline(never)]
    fn watch_arrival(&mut self, ch: usize, stamp: Stamp, received: Stamp) -> Stamp {
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
                    self.reset_policies();
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
        stamp
    }

    /// Stale-channel check without a message (call it from a timer).
    pub(crate) fn poll(&mut self, now: Stamp) {
        self.with_drop_out(|d, s| d.poll(now, s));
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
                self.extra.push(Event::Stale(Stale {
                    channel,
                    silent_for,
                    at: now,
                }));
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
    /// channel into one partial set; the other drops become
    /// [`DropReason::Stale`]. They follow the stale reports.
    fn flush_partial(&mut self) {
        // The partial set is made of the drops, so they must be recorded.
        let keep = self.out.keeps_drops();
        self.out.keep_drops(true);
        let start = self.out.len();
        self.reset_policies();
        self.out.keep_drops(keep);
        let mut members: Vec<Option<Dropped<Q::Message>>> =
            (0..self.watch.len()).map(|_| None).collect();
        for o in self.out.drain_from(start) {
            match o {
                Outcome::Drop(d) => match members.get_mut(d.channel) {
                    Some(slot @ None) => *slot = Some(d),
                    _ => self.extra.push(Event::Drop(Dropped {
                        reason: DropReason::Stale,
                        ..d
                    })),
                },
                Outcome::Set(s) => self.extra.push(Event::Set(s)),
            }
        }
        if members.iter().any(Option::is_some) {
            let members = members.into_iter().map(|m| m.map(Member::from)).collect();
            self.extra.push(Event::Partial(Partial { members }));
        }
    }

    /// Runs `f` on the drop-out state, if the option is on, with the rest
    /// of the driver.
    #[inline(never)]
    fn with_drop_out(&mut self, f: impl FnOnce(&mut DropOut<Q>, &mut Parts<'_, Q, P>)) {
        let Core {
            drop_out,
            policy,
            queues,
            out,
            extra,
            stats,
            ..
        } = self;
        if let Some(d) = drop_out.as_deref_mut() {
            f(
                d,
                &mut Parts {
                    policy,
                    queues,
                    out,
                    extra,
                    stats,
                },
            );
        }
    }

    /// Drop-out at run time: see `set_drop_out_after` on the drivers. Off,
    /// or on another clock, every out channel rejoins first.
    pub(crate) fn set_drop_out_after(
        &mut self,
        after: Option<Duration>,
        clock: super::options::DropOutClock,
    ) -> Result<(), ConfigError> {
        let channels = self.watch.len();
        if let Some(value) = after.filter(|d| d.is_negative()) {
            return Err(ConfigError::NegativeDuration {
                what: "drop-out timeout",
                value,
            });
        }
        if after.is_some() && self.drop_out.is_none() {
            dropout::check(&self.policy, channels)?;
        }
        let same_clock = self.drop_out.as_ref().is_some_and(|d| d.clock() == clock);
        if after.is_none() || !same_clock {
            self.with_drop_out(|d, s| d.rejoin_all(s));
            self.drop_out = None;
        }
        self.options.drop_out_after = after;
        self.options.drop_out_clock = clock;
        match (&mut self.drop_out, after) {
            (Some(d), Some(a)) => d.set_after(a),
            (slot @ None, Some(_)) => *slot = DropOut::new(&self.options, channels),
            _ => {}
        }
        self.plain = Options {
            deadline: None,
            ..self.options.clone()
        }
        .is_default();
        Ok(())
    }

    /// Records drops as events (`true`) or only counts them (`false`: the
    /// driver has nobody to hand dropped messages to).
    #[inline]
    pub(crate) fn keep_drops(&mut self, keep: bool) {
        self.out.keep_drops(keep);
    }

    /// Drops everything queued (reason `Reset`, counted) and continues with
    /// `policy`, bound for the same channels. The queues grow if it holds
    /// more. On error nothing changes.
    pub(crate) fn replace_policy(
        &mut self,
        mut policy: P,
        grow: impl FnOnce(&mut Q, usize),
    ) -> Result<(), ConfigError> {
        policy.bind(self.watch.len())?;
        self.reset();
        grow(&mut self.queues, policy.capacity());
        self.out.reserve(step_room(&policy, self.watch.len()));
        self.policy = policy;
        Ok(())
    }

    pub(crate) fn reset(&mut self) {
        self.reset_policies();
        for w in &mut self.watch {
            w.last_stamp = None;
        }
    }

    /// Resets the policy running (and, with drop-out, brings every channel
    /// back in).
    fn reset_policies(&mut self) {
        self.with_drop_out(|d, s| d.reset(s));
        self.policy.reset(&mut self.queues, &mut self.out);
    }

    /// Runs `f` on the policy (run-time setters); with channels out, the
    /// policy over the others is made again from the changed one.
    pub(crate) fn with_policy<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> R {
        let r = f(&mut self.policy);
        self.with_drop_out(|d, s| d.policy_changed(s));
        r
    }

    /// Messages held for `channel`, by whichever policy runs.
    pub(crate) fn queued(&self, channel: usize) -> usize {
        self.drop_out
            .as_ref()
            .and_then(|d| d.queued(channel))
            .unwrap_or_else(|| self.policy.queued(channel))
    }

    /// A snapshot of counters, queues and the search in progress.
    pub(crate) fn diagnostics(&self) -> super::stats::Diagnostics {
        super::stats::Diagnostics::new(&self.stats, |c| self.queued(c), self.policy.search())
    }

    /// Drains the events in order, counting each.
    #[inline]
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Event<Q::Set, Q::Message>> + '_ {
        let Core {
            out, stats, extra, ..
        } = self;
        out.take_discarded(|c, r, n| stats.count_drops(c, r, n));
        out.drain()
            .map(Event::from)
            .chain(extra.drain(..))
            .inspect(|e| stats.record(e))
    }
}
