//! Drop-out ([`Options::drop_out_after`](super::Options::drop_out_after)):
//! a channel that trails too far leaves the sets, and the policy starts
//! over on the channels left; it rejoins when it catches up.
//!
//! While every channel is in, arrivals go to the driver's policy as
//! without the option. While some are out, they go to [`Policy::subset`]
//! over a [`SubsetView`] of the same store, whose sets become
//! [`Event::Partial`]. At each change (a regroup) the policy running is
//! reset, what it held is taken back, the out channels' messages are
//! dropped ([`DropReason::DroppedOut`]) and the others are fed, oldest
//! stamp first, to the policy for the new group.

use std::collections::VecDeque;

use super::core::Core;
use super::event::{ChannelOut, Event, Member, Partial};
use super::options::{DropOutClock, Options};
use crate::policy::{
    Arrival, ConfigError, DropReason, Dropped, Outcome, Output, Policy, Store, SubsetPolicy,
    SubsetSet, SubsetView,
};
use crate::time::{Duration, Stamp};

/// The drop-out state of a driver.
pub(crate) struct DropOut<Q: Store> {
    after: Duration,
    clock: DropOutClock,
    /// The newest stamp received (stamp clock).
    newest: Option<Stamp>,
    /// The first stamp (or arrival, or poll) at all: a channel that has
    /// delivered nothing is measured from it.
    first: Option<Stamp>,
    /// Per channel: its newest stamp (stamp clock) or last arrival.
    last: Vec<Option<Stamp>>,
    /// Per channel: out. Invariant: some channel is out iff `alone` is set.
    out: Vec<bool>,
    /// Per channel: when it went out.
    since: Vec<Stamp>,
    /// Per channel: sets emitted without it in its current drop-out.
    without: Vec<u64>,
    alone: Option<Alone<Q>>,
}

/// The policy over the channels that are in, while some are out.
struct Alone<Q: Store> {
    /// `None`: one channel left, each of its messages is a set.
    policy: Option<Box<dyn SubsetPolicy<Q> + Send>>,
    /// Per group channel: its real channel.
    real_of: Vec<usize>,
    /// Per real channel: its group channel, `None` if out.
    inner_of: Vec<Option<usize>>,
    /// Per group channel: the stamps held, mirroring the store.
    stamps: Vec<VecDeque<Stamp>>,
    out: Output<SubsetSet<Q::Message>, Q::Message>,
}

impl<Q: Store> DropOut<Q> {
    pub(crate) fn new(options: &Options, channels: usize) -> Option<Box<Self>> {
        let after = options.drop_out_after?;
        Some(Box::new(DropOut {
            after,
            clock: options.drop_out_clock,
            newest: None,
            first: None,
            last: vec![None; channels],
            out: vec![false; channels],
            since: vec![Stamp::MIN; channels],
            without: vec![0; channels],
            alone: None,
        }))
    }

    /// Whether `channel` should be out at `now` on the drop-out clock.
    fn trails(&self, channel: usize, now: Stamp) -> bool {
        let behind = |c: usize| {
            self.last[c]
                .or(self.first)
                .is_some_and(|last| now - last > self.after)
        };
        match self.clock {
            DropOutClock::Stamp => behind(channel),
            // Only while another channel flows: when every one is silent,
            // nobody trails and nothing changes.
            DropOutClock::Arrival => {
                if (0..self.last.len()).all(behind) {
                    self.out[channel]
                } else {
                    behind(channel)
                }
            }
        }
    }

    /// Messages the policy over the group holds on real channel `channel`.
    pub(crate) fn queued(&self, channel: usize) -> Option<usize> {
        let alone = self.alone.as_ref()?;
        let inner = alone.inner_of.get(channel).copied()?;
        Some(match (inner, &alone.policy) {
            (Some(i), Some(p)) => p.queued(i),
            _ => 0,
        })
    }
}

/// Checks that `policy` can run over subsets of its `channels`.
pub(crate) fn check<Q: Store, P: Policy<Q>>(
    policy: &P,
    channels: usize,
) -> Result<(), ConfigError> {
    let keep: Vec<usize> = (0..channels.saturating_sub(1)).collect();
    if keep.len() < 2 {
        return Ok(());
    }
    let mut p = policy.subset(&keep).ok_or(ConfigError::Unsupported {
        option: "drop_out_after",
        why: "the policy cannot run over some of its channels (latched channels, or a policy of your own without `Policy::subset`)",
    })?;
    p.bind(keep.len())
}

impl<Q: Store, P: Policy<Q>> Core<Q, P> {
    /// One arrival with drop-out on: the message is already at the back of
    /// `arrival.channel`'s queue.
    pub(crate) fn add_dropping_out(&mut self, arrival: Arrival) {
        let Some(d) = self.drop_out.as_mut() else {
            return;
        };
        let ch = arrival.channel;
        let now = match d.clock {
            DropOutClock::Stamp => {
                let newest = d.newest.map_or(arrival.stamp, |n| n.max(arrival.stamp));
                d.newest = Some(newest);
                d.first.get_or_insert(arrival.stamp);
                let last = &mut d.last[ch];
                *last = Some(last.map_or(arrival.stamp, |l| l.max(arrival.stamp)));
                newest
            }
            DropOutClock::Arrival => {
                d.first.get_or_insert(arrival.received);
                d.last[ch] = Some(arrival.received);
                arrival.received
            }
        };
        let in_now = !d.trails(ch, now);
        if (0..d.out.len()).any(|c| d.out[c] != d.trails(c, now)) {
            // The new message leaves the store while the group changes, so
            // what was held goes back in front of it.
            let len = self.queues.len(ch);
            let msg = self.queues.remove(ch, len.wrapping_sub(1));
            self.regroup(now, arrival.received);
            let restored = msg.is_some_and(|m| self.restore(ch, arrival.stamp, m));
            if !restored {
                return;
            }
        }
        if in_now {
            self.feed(arrival);
        } else {
            let len = self.queues.len(ch);
            if let Some(m) = self.queues.remove(ch, len.wrapping_sub(1)) {
                self.out_to_extra();
                self.extra.push(Event::Drop(Dropped {
                    channel: ch,
                    stamp: arrival.stamp,
                    reason: DropReason::DroppedOut,
                    message: m,
                }));
            }
        }
    }

    /// The arrival-clock check without a message (from `poll(now)`).
    pub(crate) fn poll_drop_out(&mut self, now: Stamp) {
        let Some(d) = self.drop_out.as_mut() else {
            return;
        };
        if d.clock != DropOutClock::Arrival {
            return;
        }
        if (0..d.out.len()).any(|c| d.out[c] != d.trails(c, now)) {
            self.regroup(now, now);
        }
    }

    /// Appends a message taken out of the store back to it; if the store
    /// cannot take it back, it is dropped (reason `Reset`) and `false`.
    fn restore(&mut self, ch: usize, stamp: Stamp, m: Q::Message) -> bool {
        match self.queues.push_back(ch, m) {
            Ok(()) => true,
            Err(m) => {
                self.extra.push(Event::Drop(Dropped {
                    channel: ch,
                    stamp,
                    reason: DropReason::Reset,
                    message: m,
                }));
                false
            }
        }
    }

    /// Moves the policy's outcomes of this step behind the driver's own
    /// events, so they stay in order.
    fn out_to_extra(&mut self) {
        if !self.out.is_empty() {
            self.extra.extend(self.out.drain().map(Event::from));
        }
    }

    /// Hands a message already at the back of its queue to the policy
    /// running.
    fn feed(&mut self, arrival: Arrival) {
        let Some(d) = self.drop_out.as_mut() else {
            return;
        };
        let Some(alone) = d.alone.as_mut() else {
            self.policy.add(arrival, &mut self.queues, &mut self.out);
            if !self.extra.is_empty() {
                self.out_to_extra();
            }
            return;
        };
        let Some(inner) = alone.inner_of.get(arrival.channel).copied().flatten() else {
            return;
        };
        alone.stamps[inner].push_back(arrival.stamp);
        alone.out.keep_drops(self.out.keeps_drops());
        let mut view = SubsetView::new(&mut self.queues, &alone.real_of, &mut alone.stamps);
        match &mut alone.policy {
            Some(p) => p.add(
                Arrival {
                    channel: inner,
                    ..arrival
                },
                &mut view,
                &mut alone.out,
            ),
            None => {
                if let Some(set) = view.take_set(&mut |_| 0) {
                    alone.out.set(set);
                }
            }
        }
        self.group_events();
    }

    /// Turns the group policy's outcomes into events of the real channels.
    fn group_events(&mut self) {
        self.out_to_extra();
        let Some(d) = self.drop_out.as_mut() else {
            return;
        };
        let Some(alone) = d.alone.as_mut() else {
            return;
        };
        let stats = &mut self.stats;
        let real_of = &alone.real_of;
        alone.out.take_discarded(|c, r, n| {
            if let Some(&real) = real_of.get(c) {
                stats.count_drops(real, r, n);
            }
        });
        let channels = d.out.len();
        for o in alone.out.drain() {
            match o {
                Outcome::Set(set) => {
                    let mut members: Vec<Option<Member<Q::Message>>> =
                        (0..channels).map(|_| None).collect();
                    for (i, (stamp, message)) in set.into_iter().enumerate() {
                        if let Some(&channel) = alone.real_of.get(i) {
                            members[channel] = Some(Member {
                                channel,
                                stamp,
                                message,
                            });
                        }
                    }
                    for c in 0..channels {
                        d.without[c] += u64::from(d.out[c]);
                    }
                    self.extra.push(Event::Partial(Partial { members }));
                }
                Outcome::Drop(x) => self.extra.push(Event::Drop(Dropped {
                    channel: alone.real_of.get(x.channel).copied().unwrap_or(x.channel),
                    ..x
                })),
            }
        }
    }

    /// Takes back everything the running policy holds, per real channel,
    /// oldest first (the policy is reset).
    fn take_back(&mut self) -> Vec<VecDeque<(Stamp, Q::Message)>> {
        self.out_to_extra();
        let channels = self.stats.channels.len();
        let mut held: Vec<VecDeque<(Stamp, Q::Message)>> =
            (0..channels).map(|_| VecDeque::new()).collect();
        let mut sets = Vec::new();
        let d = self.drop_out.as_mut();
        match d.and_then(|d| d.alone.as_mut()) {
            Some(alone) => {
                alone.out.keep_drops(true);
                let mut view = SubsetView::new(&mut self.queues, &alone.real_of, &mut alone.stamps);
                if let Some(p) = &mut alone.policy {
                    p.reset(&mut view, &mut alone.out);
                }
                for o in alone.out.drain() {
                    match o {
                        Outcome::Drop(x) => {
                            if let Some(&r) = alone.real_of.get(x.channel) {
                                held[r].push_back((x.stamp, x.message));
                            }
                        }
                        Outcome::Set(_) => {}
                    }
                }
            }
            None => {
                let keep = self.out.keeps_drops();
                self.out.keep_drops(true);
                self.policy.reset(&mut self.queues, &mut self.out);
                self.out.keep_drops(keep);
                for o in self.out.drain() {
                    match o {
                        Outcome::Drop(x) => {
                            if let Some(h) = held.get_mut(x.channel) {
                                h.push_back((x.stamp, x.message));
                            }
                        }
                        Outcome::Set(s) => sets.push(Event::Set(s)),
                    }
                }
            }
        }
        self.extra.extend(sets);
        held
    }

    /// The group changes at `now`: out and rejoin events, the out channels'
    /// messages dropped, the policy for the new group fed what the others
    /// held, oldest stamp first.
    fn regroup(&mut self, now: Stamp, received: Stamp) {
        let mut held = self.take_back();
        let Some(d) = self.drop_out.as_mut() else {
            return;
        };
        let channels = d.out.len();
        for c in 0..channels {
            let out = d.trails(c, now);
            if out == d.out[c] {
                continue;
            }
            d.out[c] = out;
            if out {
                let behind = d.last[c].or(d.first).map_or(Duration::ZERO, |l| now - l);
                log::warn!(
                    "channel {c} dropped out: {} ms behind; sets go on without it",
                    behind.as_nanos() / 1_000_000
                );
                d.since[c] = now;
                d.without[c] = 0;
                self.extra.push(Event::Out(ChannelOut {
                    channel: c,
                    at: now,
                    behind,
                    sets_without: 0,
                }));
            } else {
                let was_out = now - d.since[c];
                log::info!(
                    "channel {c} rejoined after {} ms out ({} sets without it)",
                    was_out.as_nanos() / 1_000_000,
                    d.without[c]
                );
                self.extra.push(Event::Rejoin(ChannelOut {
                    channel: c,
                    at: now,
                    behind: was_out,
                    sets_without: d.without[c],
                }));
            }
        }
        for (c, h) in held.iter_mut().enumerate() {
            if d.out[c] {
                for (stamp, message) in h.drain(..) {
                    self.extra.push(Event::Drop(Dropped {
                        channel: c,
                        stamp,
                        reason: DropReason::DroppedOut,
                        message,
                    }));
                }
            }
        }
        let out = d.out.clone();
        self.refeed(&out, held, received);
    }

    /// Makes the policy for the group of channels not `out` and feeds it
    /// `held`, oldest stamp first (ties: the lower channel).
    fn refeed(
        &mut self,
        out: &[bool],
        mut held: Vec<VecDeque<(Stamp, Q::Message)>>,
        received: Stamp,
    ) {
        let group = self.group(out);
        if let Some(d) = self.drop_out.as_mut() {
            d.alone = group;
        }
        while let Some(c) = (0..held.len())
            .filter(|&c| !held[c].is_empty())
            .min_by_key(|&c| (held[c][0].0, c))
        {
            let Some((stamp, m)) = held[c].pop_front() else {
                break;
            };
            if self.restore(c, stamp, m) {
                self.feed(Arrival {
                    channel: c,
                    stamp,
                    received,
                });
            }
        }
    }

    /// The policy for the channels not `out`; `None` if every one is in.
    fn group(&self, out: &[bool]) -> Option<Alone<Q>> {
        if !out.contains(&true) {
            return None;
        }
        let real_of: Vec<usize> = (0..out.len()).filter(|&c| !out[c]).collect();
        let mut inner_of = vec![None; out.len()];
        for (i, &r) in real_of.iter().enumerate() {
            inner_of[r] = Some(i);
        }
        let policy = if real_of.len() >= 2 {
            let made = self.policy.subset(&real_of).map(|mut p| {
                let bound = p.bind(real_of.len());
                (p, bound)
            });
            match made {
                Some((p, Ok(()))) => Some(p),
                Some((_, Err(e))) => {
                    log::error!("the policy cannot run over channels {real_of:?}: {e}");
                    None
                }
                None => None,
            }
        } else {
            None
        };
        let room = policy.as_ref().map_or(2, |p| p.max_events_per_add()) + out.len() + 2;
        let mut group_out = Output::with_capacity(room);
        group_out.count_channels(real_of.len());
        Some(Alone {
            policy,
            stamps: real_of.iter().map(|_| VecDeque::new()).collect(),
            real_of,
            inner_of,
            out: group_out,
        })
    }

    /// Forgets the drop-out state after a reset: every channel is in.
    pub(crate) fn reset_drop_out(&mut self) {
        let held = match self.drop_out.as_ref() {
            Some(d) if d.alone.is_some() => self.take_back(),
            _ => return self.clear_drop_out(),
        };
        for (c, h) in held.into_iter().enumerate() {
            for (stamp, message) in h {
                self.extra.push(Event::Drop(Dropped {
                    channel: c,
                    stamp,
                    reason: DropReason::Reset,
                    message,
                }));
            }
        }
        self.clear_drop_out();
    }

    fn clear_drop_out(&mut self) {
        if let Some(d) = self.drop_out.as_mut() {
            d.alone = None;
            d.newest = None;
            d.first = None;
            d.last.iter_mut().for_each(|l| *l = None);
            d.out.iter_mut().for_each(|o| *o = false);
            for c in &mut self.stats.channels {
                c.out_since = None;
            }
        }
    }

    /// Turns drop-out on, changes it, or turns it off (`None`: every out
    /// channel rejoins). A change of clock brings every channel back in and
    /// measures afresh.
    pub(crate) fn set_drop_out(
        &mut self,
        after: Option<Duration>,
        clock: DropOutClock,
    ) -> Result<(), ConfigError> {
        let channels = self.stats.channels.len();
        if let Some(value) = after.filter(|d| d.is_negative()) {
            return Err(ConfigError::NegativeDuration {
                what: "drop-out timeout",
                value,
            });
        }
        if after.is_some() && self.drop_out.is_none() {
            check(&self.policy, channels)?;
        }
        let same_clock = self.drop_out.as_ref().is_some_and(|d| d.clock == clock);
        if after.is_none() || !same_clock {
            self.rejoin_all();
            self.drop_out = None;
        }
        let mut options = Options::new();
        if let Some(a) = after {
            options = options.drop_out_after(a).drop_out_clock(clock);
        }
        match (&mut self.drop_out, after) {
            (Some(d), Some(a)) => d.after = a,
            (slot @ None, Some(_)) => *slot = DropOut::new(&options, channels),
            _ => {}
        }
        Ok(())
    }

    /// Every out channel rejoins now; the policy over all channels gets
    /// what the group held.
    fn rejoin_all(&mut self) {
        let Some(d) = self.drop_out.as_ref() else {
            return;
        };
        if d.alone.is_none() {
            return;
        }
        let now = d.newest.or(d.first).unwrap_or(Stamp::MIN);
        let held = self.take_back();
        let Some(d) = self.drop_out.as_mut() else {
            return;
        };
        for c in 0..d.out.len() {
            if d.out[c] {
                d.out[c] = false;
                self.extra.push(Event::Rejoin(ChannelOut {
                    channel: c,
                    at: now,
                    behind: now - d.since[c],
                    sets_without: d.without[c],
                }));
            }
        }
        let out = d.out.clone();
        self.refeed(&out, held, now);
    }

    /// After a run-time policy change: the group policy is made again from
    /// the changed one (a regroup with the same channels out).
    pub(crate) fn policy_changed(&mut self) {
        let Some(d) = self.drop_out.as_ref() else {
            return;
        };
        if d.alone.is_none() {
            return;
        }
        let received = d.newest.unwrap_or(Stamp::MIN);
        let out = d.out.clone();
        let held = self.take_back();
        self.refeed(&out, held, received);
    }
}
