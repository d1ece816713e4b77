//! Counters a driver keeps while it runs a policy: cheap to read, cheap to copy.

use crate::policy::{DropReason, Event};
use crate::time::Stamp;

/// Counters of one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Messages added.
    pub received: u64,
    /// Messages emitted in a set.
    pub emitted: u64,
    /// Messages dropped, indexed by [`DropReason::index`].
    pub dropped: [u64; DropReason::ALL.len()],
    /// Stamp of the last message added.
    pub last_stamp: Option<Stamp>,
}

impl ChannelStats {
    /// Drops for one reason.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }
    /// Drops for every reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

/// Counters of a synchronizer: per channel, and sets emitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// One entry per channel.
    pub channels: Vec<ChannelStats>,
    /// Sets emitted.
    pub sets: u64,
    /// Partial sets emitted after a stale timeout.
    pub partial_sets: u64,
    /// Stale-channel reports.
    pub stale: u64,
    /// Resets after a clock jump back.
    pub resets: u64,
}

impl Stats {
    /// Zeroed counters for `n` channels.
    pub fn new(n: usize) -> Self {
        Stats {
            channels: vec![ChannelStats::default(); n],
            ..Stats::default()
        }
    }

    /// Counts one arrival.
    #[inline]
    pub fn received(&mut self, channel: usize, stamp: Stamp) {
        if let Some(c) = self.channels.get_mut(channel) {
            c.received += 1;
            c.last_stamp = Some(stamp);
        }
    }

    /// Counts one emitted set.
    #[inline]
    pub(crate) fn count_set(&mut self) {
        self.sets += 1;
        for c in &mut self.channels {
            c.emitted += 1;
        }
    }

    /// Counts one dropped message.
    #[inline]
    pub(crate) fn count_drop(&mut self, channel: usize, reason: DropReason) {
        if let Some(c) = self.channels.get_mut(channel) {
            c.dropped[reason.index()] += 1;
        }
    }

    /// Counts one policy event.
    #[inline]
    pub fn record<S, M>(&mut self, e: &Event<S, M>) {
        match e {
            Event::Set(_) => self.count_set(),
            Event::Drop(d) => self.count_drop(d.channel, d.reason),
            Event::Stale(_) => self.stale += 1,
            Event::Partial(p) => {
                self.partial_sets += 1;
                for d in p.members.iter().flatten() {
                    if let Some(c) = self.channels.get_mut(d.channel) {
                        c.emitted += 1;
                    }
                }
            }
        }
    }

    /// Messages added on every channel.
    pub fn received_total(&self) -> u64 {
        self.channels.iter().map(|c| c.received).sum()
    }

    /// Messages dropped on every channel.
    pub fn dropped_total(&self) -> u64 {
        self.channels.iter().map(ChannelStats::dropped_total).sum()
    }
}
