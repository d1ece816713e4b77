//! What a bag replay did and what would have worked better: the report
//! behind `stamp-sync match BAG` with its advice, the timeline plot, and
//! the synchronization facts behind `stamp-sync info BAG` (feature `bag`).
//!
//! Everything here is pure computation over a [`BagTrace`] and replays of
//! it; nothing is printed.

use serde::Serialize;

pub mod facts;
pub mod plot;
pub mod tf;

pub use facts::{BagFacts, PairFacts, TopicFacts, facts};

use crate::bag::{Bag, BagMessage, BagTrace};
use crate::driver::Options;
use crate::policy::{ConfigError, DropReason, PolicyConfig, PolicyKind};
use crate::time::{Duration, Stamp};
use crate::trace::{Replay, Trace, TraceMsg};

/// A replay together with the trace position whose arrival emitted each set.
#[derive(Debug, Clone, Default)]
pub struct TimedReplay {
    /// Sets, drops and counters, as [`crate::trace::replay`] gives them.
    pub replay: Replay,
    /// For each set, the index (into the trace) of the message whose
    /// arrival emitted it.
    pub emitted_at: Vec<usize>,
}

/// Replays `trace` like [`crate::trace::replay`], also recording which
/// arrival emitted each set.
pub fn timed_replay(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
) -> Result<TimedReplay, ConfigError> {
    timed_replay_with_options(trace, channels, config, &Options::default())
}

/// [`timed_replay`] with driver [`Options`].
pub fn timed_replay_with_options(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    options: &Options,
) -> Result<TimedReplay, ConfigError> {
    let replay = crate::trace::replay_with_options(trace, channels, config, options)?;
    Ok(TimedReplay {
        emitted_at: replay.emitted_at.clone(),
        replay,
    })
}

/// Spread of a set: newest stamp minus oldest.
pub fn spread(set: &[TraceMsg]) -> Duration {
    let min = set.iter().map(|m| m.stamp).min().unwrap_or_default();
    let max = set.iter().map(|m| m.stamp).max().unwrap_or_default();
    max.since(min)
}

/// Min, median, p95 and max of some durations (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Smallest, in ns.
    pub min_ns: i64,
    /// Median, in ns.
    pub median_ns: i64,
    /// 95th percentile, in ns.
    pub p95_ns: i64,
    /// Largest, in ns.
    pub max_ns: i64,
}

impl Summary {
    /// The summary of `values` (ns), or `None` if there are none.
    pub fn of(values: &mut [i64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            values[rank - 1]
        };
        Some(Summary {
            min_ns: values[0],
            median_ns: at(0.5),
            p95_ns: at(0.95),
            max_ns: values[values.len() - 1],
        })
    }
}

/// Counters of one topic in a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicReport {
    /// Topic name.
    pub topic: String,
    /// Messages read.
    pub read: u64,
    /// Messages emitted in a set.
    pub matched: u64,
    /// Drops by reason name (reasons with no drop left out).
    pub dropped: std::collections::BTreeMap<&'static str, u64>,
    /// Still queued when the bag ended.
    pub queued_at_end: usize,
}

/// The longest stretch of bag (log) time without an emitted set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Its length in ns.
    pub length_ns: i64,
    /// Log time it starts (ns): the bag start or the emission of a set.
    pub from_ns: i64,
    /// Log time it ends (ns): the emission of the next set or the bag end.
    pub to_ns: i64,
}

/// The whole report of one bag replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The bag file.
    pub bag: String,
    /// The policy's name ([`PolicyKind::name`]).
    pub policy: &'static str,
    /// Queue size used (`None` for a policy without one).
    pub queue_size: Option<usize>,
    /// Sets emitted.
    pub sets: usize,
    /// Per topic, in channel order.
    pub topics: Vec<TopicReport>,
    /// Spread of the emitted sets (`None` without sets).
    pub spread: Option<Summary>,
    /// Longest stretch of bag time with no set emitted.
    pub longest_gap: Option<Gap>,
    /// Settings that would have worked better, as sentences.
    pub advice: Vec<String>,
    /// Smallest queue size with no overflow drops on this bag (ApproximateTime),
    /// `None` if not computed or not found up to the search limit.
    pub min_queue_size_without_overflow: Option<usize>,
    /// Max interval implied by the observed spreads, in ns (ApproximateTime).
    pub suggested_max_interval_ns: Option<i64>,
    /// How long the topics and sets would wait for their transforms
    /// (`--target-frame`), else `None` and left out of the JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tf: Option<tf::TfWaitReport>,
}

fn overflow_drops(r: &Replay) -> usize {
    r.drops
        .iter()
        .filter(|d| {
            matches!(
                d.reason,
                DropReason::QueueOverflow | DropReason::AfterOverflow
            )
        })
        .count()
}

/// The smallest queue size with no overflow drops for `config`'s policy on
/// `trace`, searched up to `limit`. Assumes (and then checks) that more
/// room never causes overflow: doubles until clean, then bisects.
pub fn min_queue_without_overflow(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    limit: usize,
) -> Option<usize> {
    let clean = |q: usize| -> Option<bool> {
        crate::trace::replay(trace, channels, &config.with_queue_size(q))
            .ok()
            .map(|r| overflow_drops(&r) == 0)
    };
    let mut hi = 1usize;
    while !clean(hi)? {
        if hi >= limit {
            return None;
        }
        hi = (hi * 2).min(limit);
    }
    let mut lo = hi / 2; // not clean (or 0)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if clean(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// A duration for people: `850 ns`, `12.345 us`, `4.000 ms`, `1.250 s`.
pub fn human_duration(ns: i64) -> String {
    let a = ns.unsigned_abs();
    let sign = if ns < 0 { "-" } else { "" };
    if a < 1_000 {
        format!("{ns} ns")
    } else if a < 1_000_000 {
        format!("{sign}{:.3} us", a as f64 / 1e3)
    } else if a < 1_000_000_000 {
        format!("{sign}{:.3} ms", a as f64 / 1e6)
    } else {
        format!("{sign}{:.3} s", a as f64 / 1e9)
    }
}

/// Rounds a duration up to 1 or 2 or 5 times a power of ten ns.
pub fn round_up_nice(ns: i64) -> i64 {
    if ns <= 1 {
        return 1;
    }
    let mut p: i64 = 1;
    loop {
        for m in [1i64, 2, 5] {
            let v = p.saturating_mul(m);
            if v >= ns {
                return v;
            }
        }
        if p > i64::MAX / 10 {
            return ns;
        }
        p *= 10;
    }
}

/// Builds the report of `timed` (a replay of `bt` with `config`).
pub fn report(bag: &Bag, bt: &BagTrace, config: &PolicyConfig, timed: &TimedReplay) -> Report {
    let channels = bt.topics.len();
    let r = &timed.replay;
    let topics = bt
        .topics
        .iter()
        .enumerate()
        .map(|(ch, &t)| {
            let st = r.stats.channels.get(ch).cloned().unwrap_or_default();
            TopicReport {
                topic: bag
                    .topics()
                    .get(t)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                read: st.received,
                matched: st.emitted,
                dropped: DropReason::ALL
                    .iter()
                    .filter(|d| st.dropped_for(**d) > 0)
                    .map(|d| (d.as_str(), st.dropped_for(*d)))
                    .collect(),
                queued_at_end: r.queued.get(ch).copied().unwrap_or(0),
            }
        })
        .collect();
    let mut spreads: Vec<i64> = r.sets.iter().map(|s| spread(s).as_nanos()).collect();
    let spread_summary = Summary::of(&mut spreads);
    let longest_gap = longest_gap(&bt.messages, &timed.emitted_at);
    let policy = config.kind().name();
    let queue_size = config.queue_size();
    let mut advice = Vec::new();
    let mut min_q = None;
    let mut max_interval = None;
    match config.kind() {
        PolicyKind::Approximate => {
            let mi = config.params().max_interval;
            let overflow = overflow_drops(r);
            let limit = bt.messages.len().clamp(1, 4096);
            min_q = min_queue_without_overflow(&bt.trace, channels, config, limit);
            match (overflow, min_q) {
                (0, Some(q)) if queue_size.is_some_and(|size| q < size) => advice.push(format!(
                    "no overflow drops; a queue size of {q} would already have been enough on this bag"
                )),
                (0, _) => advice.push("no overflow drops at this queue size".to_string()),
                (n, Some(q)) => advice.push(format!(
                    "{n} messages were dropped because a queue overflowed; --queue-size {q} is the smallest that avoids all overflow drops on this bag"
                )),
                (n, None) => advice.push(format!(
                    "{n} messages were dropped because a queue overflowed, and no queue size up to {limit} avoids that on this bag"
                )),
            }
            if let Some(s) = spread_summary {
                let nice = round_up_nice(s.max_ns);
                max_interval = Some(nice);
                let d = Duration::from_nanos(nice);
                match mi {
                    None => advice.push(format!(
                        "the sets spread at most {} (p95 {}): --max-interval {d} would keep every set seen here and reject looser ones",
                        human_duration(s.max_ns),
                        human_duration(s.p95_ns)
                    )),
                    Some(m) => advice.push(format!(
                        "the sets spread at most {} (p95 {}) within the --max-interval {m}",
                        human_duration(s.max_ns),
                        human_duration(s.p95_ns)
                    )),
                }
            } else {
                advice.push("no set was emitted: check that the topics overlap in time and that their stamps are on the same clock".to_string());
            }
        }
        PolicyKind::Exact => {
            if r.sets.is_empty() {
                let typical = typical_difference(&bt.trace, channels);
                match typical {
                    Some(d) => advice.push(format!(
                        "ExactTime matched nothing: no stamp appears on every topic; the typical difference between nearest stamps of different topics is {} (median), so these topics are not stamped together: use --policy approximate",
                        human_duration(d)
                    )),
                    None => advice.push("ExactTime matched nothing: no stamp appears on every topic; use --policy approximate".to_string()),
                }
            } else if r.stats.dropped_total() > 0 {
                advice.push(format!(
                    "{} of {} messages were not part of an exact set",
                    r.stats.dropped_total(),
                    r.stats.received_total()
                ));
            }
        }
        PolicyKind::Epsilon | PolicyKind::Latest | PolicyKind::Slop => {}
    }
    Report {
        bag: bag.path().display().to_string(),
        policy,
        queue_size,
        sets: r.sets.len(),
        topics,
        spread: spread_summary,
        longest_gap,
        advice,
        min_queue_size_without_overflow: min_q,
        suggested_max_interval_ns: max_interval,
        tf: None,
    }
}

/// Median of the nearest-neighbour |stamp difference| from channel 0 to
/// each other channel, pooled.
fn typical_difference(trace: &Trace, channels: usize) -> Option<i64> {
    let mut per: Vec<Vec<i64>> = vec![Vec::new(); channels];
    for m in &trace.messages {
        if let Some(v) = per.get_mut(m.channel) {
            v.push(m.stamp.as_nanos());
        }
    }
    let mut diffs = Vec::new();
    let first = per.first()?;
    for other in per.iter().skip(1) {
        diffs.extend(nearest_offsets(first, other).into_iter().map(i64::abs));
    }
    Summary::of(&mut diffs).map(|s| s.median_ns)
}

/// For each stamp of `a`, the signed offset to the nearest stamp of `b`
/// (`b - a`). Empty if either is empty.
pub fn nearest_offsets(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut b = b.to_vec();
    b.sort_unstable();
    if b.is_empty() {
        return Vec::new();
    }
    a.iter()
        .map(|&x| {
            let i = b.partition_point(|&y| y < x);
            let mut best: Option<i64> = None;
            for j in [i.checked_sub(1), Some(i)].into_iter().flatten() {
                if let Some(&y) = b.get(j) {
                    let d = y.saturating_sub(x);
                    if best.is_none_or(|bd| d.unsigned_abs() < bd.unsigned_abs()) {
                        best = Some(d);
                    }
                }
            }
            best.unwrap_or(0)
        })
        .collect()
}

fn longest_gap(messages: &[BagMessage], emitted_at: &[usize]) -> Option<Gap> {
    let first = messages.first()?.log_time;
    let last = messages.last()?.log_time;
    let mut points: Vec<Stamp> = vec![first];
    points.extend(
        emitted_at
            .iter()
            .filter_map(|&i| messages.get(i))
            .map(|m| m.log_time),
    );
    points.push(last);
    points
        .windows(2)
        .map(|w| Gap {
            length_ns: w[1].since(w[0]).as_nanos(),
            from_ns: w[0].as_nanos(),
            to_ns: w[1].as_nanos(),
        })
        .max_by_key(|g| g.length_ns)
}
