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

use super::event::{ChannelOut, Event, Member, Partial};
use super::options::{DropOutClock, Options};
use super::stats::Stats;
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

/// What a drop-out step works on besides its own state: the driver's
/// policy, store, output, events and counters.
pub(crate) struct Parts<'a, Q: Store, P> {
    pub(crate) policy: &'a mut P,
    pub(crate) queues: &'a mut Q,
    pub(crate) out: &'a mut Output<Q::Set, Q::Message>,
    /// The driver's own events, after `out` in order.
    pub(crate) extra: &'a mut Vec<Event<Q::Set, Q::Message>>,
    pub(crate) stats: &'a mut Stats,
}

impl<Q: Store, P: Policy<Q>> Parts<'_, Q, P> {
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
}

impl<Q: Store> DropOut<Q> {
    /// One arrival: the message is already at the back of
    /// `arrival.channel`'s queue.
    pub(crate) fn add<P: Policy<Q>>(&mut self, arrival: Arrival, s: &mut Parts<'_, Q, P>) {
        let ch = arrival.channel;
        let now = match self.clock {
            DropOutClock::Stamp => {
                let newest = self.newest.map_or(arrival.stamp, |n| n.max(arrival.stamp));
                self.newest = Some(newest);
                self.first.get_or_insert(arrival.stamp);
                let last = &mut self.last[ch];
                *last = Some(last.map_or(arrival.stamp, |l| l.max(arrival.stamp)));
                newest
            }
            DropOutClock::Arrival => {
                self.first.get_or_insert(arrival.received);
                self.last[ch] = Some(arrival.received);
                arrival.received
            }
        };
        let in_now = !self.trails(ch, now);
        if self.changes(now) {
            // The new message leaves the store while the group changes, so
            // what was held goes back in front of it.
            let len = s.queues.len(ch);
            let msg = s.queues.remove(ch, len.wrapping_sub(1));
            self.regroup(now, arrival.received, s);
            let restored = msg.is_some_and(|m| s.restore(ch, arrival.stamp, m));
            if !restored {
                return;
            }
        }
        if in_now {
            self.feed(arrival, s);
        } else {
            let len = s.queues.len(ch);
            if let Some(m) = s.queues.remove(ch, len.wrapping_sub(1)) {
                s.out_to_extra();
                s.extra.push(Event::Drop(Dropped {
                    channel: ch,
                    stamp: arrival.stamp,
                    reason: DropReason::DroppedOut,
                    message: m,
                }));
            }
        }
    }

    /// The arrival-clock check without a message (from `poll(now)`).
    pub(crate) fn poll<P: Policy<Q>>(&mut self, now: Stamp, s: &mut Parts<'_, Q, P>) {
        if self.clock == DropOutClock::Arrival && self.changes(now) {
            self.regroup(now, now, s);
        }
    }

    /// Whether some channel goes out or rejoins at `now`.
    fn changes(&self, now: Stamp) -> bool {
        (0..self.out.len()).any(|c| self.out[c] != self.trails(c, now))
    }

    /// Hands a message already at the back of its queue to the policy
    /// running.
    fn feed<P: Policy<Q>>(&mut self, arrival: Arrival, s: &mut Parts<'_, Q, P>) {
        let Some(alone) = self.alone.as_mut() else {
            s.policy.add(arrival, s.queues, s.out);
            if !s.extra.is_empty() {
                s.out_to_extra();
            }
            return;
        };
        let Some(inner) = alone.inner_of.get(arrival.channel).copied().flatten() else {
            return;
        };
        alone.stamps[inner].push_back(arrival.stamp);
        alone.out.keep_drops(s.out.keeps_drops());
        let mut view = SubsetView::new(&mut *s.queues, &alone.real_of, &mut alone.stamps);
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
        self.group_events(s);
    }

    /// Turns the group policy's outcomes into events of the real channels.
    fn group_events<P: Policy<Q>>(&mut self, s: &mut Parts<'_, Q, P>) {
        s.out_to_extra();
        let Some(alone) = self.alone.as_mut() else {
            return;
        };
        let stats = &mut *s.stats;
        let real_of = &alone.real_of;
        alone.out.take_discarded(|c, r, n| {
            if let Some(&real) = real_of.get(c) {
                stats.count_drops(real, r, n);
            }
        });
        let channels = self.out.len();
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
                        self.without[c] += u64::from(self.out[c]);
                    }
                    s.extra.push(Event::Partial(Partial { members }));
                }
                Outcome::Drop(x) => s.extra.push(Event::Drop(Dropped {
                    channel: alone.real_of.get(x.channel).copied().unwrap_or(x.channel),
                    ..x
                })),
            }
        }
    }

    /// Takes back everything the running policy holds, per real channel,
    /// oldest first (the policy is reset).
    fn take_back<P: Policy<Q>>(
        &mut self,
        s: &mut Parts<'_, Q, P>,
    ) -> Vec<VecDeque<(Stamp, Q::Message)>> {
        s.out_to_extra();
        let mut held: Vec<VecDeque<(Stamp, Q::Message)>> =
            (0..self.out.len()).map(|_| VecDeque::new()).collect();
        match self.alone.as_mut() {
            Some(alone) => {
                alone.out.keep_drops(true);
                let mut view = SubsetView::new(&mut *s.queues, &alone.real_of, &mut alone.stamps);
                if let Some(p) = &mut alone.policy {
                    p.reset(&mut view, &mut alone.out);
                }
                for o in alone.out.drain() {
                    if let Outcome::Drop(x) = o {
                        if let Some(&r) = alone.real_of.get(x.channel) {
                            held[r].push_back((x.stamp, x.message));
                        }
                    }
                }
            }
            None => {
                let keep = s.out.keeps_drops();
                s.out.keep_drops(true);
                s.policy.reset(s.queues, s.out);
                s.out.keep_drops(keep);
                let mut sets = Vec::new();
                for o in s.out.drain() {
                    match o {
                        Outcome::Drop(x) => {
                            if let Some(h) = held.get_mut(x.channel) {
                                h.push_back((x.stamp, x.message));
                            }
                        }
                        Outcome::Set(set) => sets.push(Event::Set(set)),
                    }
                }
                s.extra.extend(sets);
            }
        }
        held
    }

    /// The group changes at `now`: out and rejoin events, the out channels'
    /// messages dropped, the policy for the new group fed what the others
    /// held, oldest stamp first.
    fn regroup<P: Policy<Q>>(&mut self, now: Stamp, received: Stamp, s: &mut Parts<'_, Q, P>) {
        let mut held = self.take_back(s);
        for c in 0..self.out.len() {
            let out = self.trails(c, now);
            if out == self.out[c] {
                continue;
            }
            self.out[c] = out;
            if out {
                let behind = self.last[c]
                    .or(self.first)
                    .map_or(Duration::ZERO, |l| now - l);
                log::warn!(
                    "channel {c} dropped out: {} ms behind; sets go on without it",
                    behind.as_nanos() / 1_000_000
                );
                self.since[c] = now;
                self.without[c] = 0;
                s.extra.push(Event::Out(ChannelOut {
                    channel: c,
                    at: now,
                    behind,
                    sets_without: 0,
                }));
            } else {
                self.rejoined(c, now, s);
            }
        }
        for (c, h) in held.iter_mut().enumerate() {
            if self.out[c] {
                for (stamp, message) in h.drain(..) {
                    s.extra.push(Event::Drop(Dropped {
                        channel: c,
                        stamp,
                        reason: DropReason::DroppedOut,
                        message,
                    }));
                }
            }
        }
        self.refeed(held, received, s);
    }

    fn rejoined<P: Policy<Q>>(&mut self, c: usize, now: Stamp, s: &mut Parts<'_, Q, P>) {
        let was_out = now - self.since[c];
        log::info!(
            "channel {c} rejoined after {} ms out ({} sets without it)",
            was_out.as_nanos() / 1_000_000,
            self.without[c]
        );
        s.extra.push(Event::Rejoin(ChannelOut {
            channel: c,
            at: now,
            behind: was_out,
            sets_without: self.without[c],
        }));
    }

    /// Makes the policy for the group of channels not out and feeds it
    /// `held`, oldest stamp first (ties: the lower channel).
    fn refeed<P: Policy<Q>>(
        &mut self,
        mut held: Vec<VecDeque<(Stamp, Q::Message)>>,
        received: Stamp,
        s: &mut Parts<'_, Q, P>,
    ) {
        self.alone = group(&self.out, s.policy);
        while let Some(c) = (0..held.len())
            .filter(|&c| !held[c].is_empty())
            .min_by_key(|&c| (held[c][0].0, c))
        {
            let Some((stamp, m)) = held[c].pop_front() else {
                break;
            };
            if s.restore(c, stamp, m) {
                self.feed(
                    Arrival {
                        channel: c,
                        stamp,
                        received,
                    },
                    s,
                );
            }
        }
    }

    /// Forgets the state after a reset: every channel is in; what the
    /// group held is dropped (reason `Reset`).
    pub(crate) fn reset<P: Policy<Q>>(&mut self, s: &mut Parts<'_, Q, P>) {
        if self.alone.is_some() {
            for (c, h) in self.take_back(s).into_iter().enumerate() {
                for (stamp, message) in h {
                    s.extra.push(Event::Drop(Dropped {
                        channel: c,
                        stamp,
                        reason: DropReason::Reset,
                        message,
                    }));
                }
            }
        }
        self.alone = None;
        self.newest = None;
        self.first = None;
        self.last.iter_mut().for_each(|l| *l = None);
        self.out.iter_mut().for_each(|o| *o = false);
        for c in &mut s.stats.channels {
            c.out_since = None;
        }
    }

    /// Every out channel rejoins now; the policy over all channels gets
    /// what the group held.
    pub(crate) fn rejoin_all<P: Policy<Q>>(&mut self, s: &mut Parts<'_, Q, P>) {
        if self.alone.is_none() {
            return;
        }
        let now = self.newest.or(self.first).unwrap_or(Stamp::MIN);
        let held = self.take_back(s);
        for c in 0..self.out.len() {
            if self.out[c] {
                self.out[c] = false;
                self.rejoined(c, now, s);
            }
        }
        self.refeed(held, now, s);
    }

    /// A new timeout, same clock.
    pub(crate) fn set_after(&mut self, after: Duration) {
        self.after = after;
    }

    /// The clock it measures on.
    pub(crate) fn clock(&self) -> DropOutClock {
        self.clock
    }

    /// After a run-time policy change: the group policy is made again from
    /// the changed one (a regroup with the same channels out).
    pub(crate) fn policy_changed<P: Policy<Q>>(&mut self, s: &mut Parts<'_, Q, P>) {
        if self.alone.is_none() {
            return;
        }
        let received = self.newest.unwrap_or(Stamp::MIN);
        let held = self.take_back(s);
        self.refeed(held, received, s);
    }
}

/// The policy for the channels not `out`; `None` if every one is in.
fn group<Q: Store, P: Policy<Q>>(out: &[bool], policy: &P) -> Option<Alone<Q>> {
    if !out.contains(&true) {
        return None;
    }
    let real_of: Vec<usize> = (0..out.len()).filter(|&c| !out[c]).collect();
    let mut inner_of = vec![None; out.len()];
    for (i, &r) in real_of.iter().enumerate() {
        inner_of[r] = Some(i);
    }
    let policy = if real_of.len() >= 2 {
        match policy.subset(&real_of).map(|mut p| {
            let bound = p.bind(real_of.len());
            (p, bound)
        }) {
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
