//! Counters a driver keeps while it runs a policy: cheap to read, cheap to copy.

use super::event::Event;
use crate::policy::{DropReason, SearchState};
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
    /// Times the channel went out (option `drop_out_after`).
    pub dropped_out: u64,
    /// Times it rejoined.
    pub rejoins: u64,
    /// While it is out: since when, on the drop-out clock.
    pub out_since: Option<Stamp>,
    /// Sets emitted without it in its current (or last) drop-out.
    pub sets_without: u64,
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
    /// Sets with members missing: stale flushes and sets made while a
    /// channel is out.
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

    /// Counts `n` drops at once.
    #[inline]
    pub(crate) fn count_drops(&mut self, channel: usize, reason: DropReason, n: u64) {
        if let Some(c) = self.channels.get_mut(channel) {
            c.dropped[reason.index()] += n;
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
                for (ch, c) in self.channels.iter_mut().enumerate() {
                    match p.members.get(ch) {
                        Some(Some(_)) => c.emitted += 1,
                        _ => c.sets_without += u64::from(c.out_since.is_some()),
                    }
                }
            }
            Event::Out(o) => {
                if let Some(c) = self.channels.get_mut(o.channel) {
                    c.dropped_out += 1;
                    c.out_since = Some(o.at);
                    c.sets_without = 0;
                }
            }
            Event::Rejoin(o) => {
                if let Some(c) = self.channels.get_mut(o.channel) {
                    c.rejoins += 1;
                    c.out_since = None;
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

/// A cheap snapshot of a synchronizer: to a synchronizer what
/// `ros2 topic hz` is to a topic. `Display` prints one line per channel.
///
/// ```
/// use stamp_sync::{ApproximateTime, Stamp, Synchronizer};
/// let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(ApproximateTime::new(5).unwrap()).unwrap();
/// sync.add::<0>(Stamp::from_nanos(0));
/// sync.add::<1>(Stamp::from_nanos(3));
/// let d = sync.diagnostics();
/// assert_eq!(d.channels[0].queued, 1);
/// assert_eq!(d.search.pivot, Some((1, Stamp::from_nanos(3))));
/// println!("{d}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    /// Counters per channel.
    pub channels: Vec<ChannelDiagnostics>,
    /// Sets emitted.
    pub sets: u64,
    /// Partial sets emitted.
    pub partial_sets: u64,
    /// Stale-channel reports.
    pub stale: u64,
    /// Resets after a clock jump back.
    pub resets: u64,
    /// The policy's search in progress.
    pub search: SearchState,
}

/// One channel in a [`Diagnostics`] snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDiagnostics {
    /// Counters.
    pub counts: ChannelStats,
    /// Messages queued right now.
    pub queued: usize,
}

impl std::ops::Deref for ChannelDiagnostics {
    type Target = ChannelStats;
    fn deref(&self) -> &ChannelStats {
        &self.counts
    }
}

impl Diagnostics {
    /// Builds a snapshot from counters, queue lengths and the search state.
    pub fn new(stats: &Stats, queued: impl Fn(usize) -> usize, search: SearchState) -> Self {
        Diagnostics {
            channels: stats
                .channels
                .iter()
                .enumerate()
                .map(|(i, c)| ChannelDiagnostics {
                    counts: c.clone(),
                    queued: queued(i),
                })
                .collect(),
            sets: stats.sets,
            partial_sets: stats.partial_sets,
            stale: stats.stale,
            resets: stats.resets,
            search,
        }
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_totals(f, self.sets, self.partial_sets, self.stale, self.resets)?;
        if let Some((ch, t)) = self.search.pivot {
            write!(f, ", pivot channel {ch} at {t}")?;
        }
        if let Some((a, b)) = self.search.candidate {
            write!(f, ", candidate {a}..{b}")?;
        }
        for (i, c) in self.channels.iter().enumerate() {
            write_channel(f, i, c, Some(c.queued))?;
        }
        Ok(())
    }
}

/// One line of totals, then one line per channel, each count named:
///
/// ```
/// use stamp_sync::{ExactTime, Stamp, Synchronizer};
/// let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(ExactTime::new(5).unwrap()).unwrap();
/// sync.add::<0>(Stamp::from_nanos(1));
/// sync.add::<1>(Stamp::from_nanos(1));
/// assert_eq!(
///     sync.stats().to_string(),
///     "sets 1\n  channel 0: received 1, emitted 1, dropped 0, last stamp 0.000000001\n  \
///      channel 1: received 1, emitted 1, dropped 0, last stamp 0.000000001"
/// );
/// ```
impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_totals(f, self.sets, self.partial_sets, self.stale, self.resets)?;
        for (i, c) in self.channels.iter().enumerate() {
            write_channel(f, i, c, None)?;
        }
        Ok(())
    }
}

fn write_totals(
    f: &mut std::fmt::Formatter<'_>,
    sets: u64,
    partial: u64,
    stale: u64,
    resets: u64,
) -> std::fmt::Result {
    write!(f, "sets {sets}")?;
    if partial + stale + resets > 0 {
        write!(f, ", partial {partial}, stale {stale}, resets {resets}")?;
    }
    Ok(())
}

fn write_channel(
    f: &mut std::fmt::Formatter<'_>,
    i: usize,
    c: &ChannelStats,
    queued: Option<usize>,
) -> std::fmt::Result {
    write!(f, "\n  channel {i}: received {}", c.received)?;
    if let Some(q) = queued {
        write!(f, ", queued {q}")?;
    }
    write!(f, ", emitted {}, dropped {}", c.emitted, c.dropped_total())?;
    let reasons: Vec<String> = DropReason::ALL
        .iter()
        .filter(|&&r| c.dropped_for(r) > 0)
        .map(|&r| format!("{r} {}", c.dropped_for(r)))
        .collect();
    if !reasons.is_empty() {
        write!(f, " ({})", reasons.join(", "))?;
    }
    if let Some(t) = c.last_stamp {
        write!(f, ", last stamp {t}")?;
    }
    if let Some(t) = c.out_since {
        write!(f, ", out since {t}")?;
    }
    Ok(())
}
