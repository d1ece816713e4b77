//! What a bag replay did and what would have worked better: the report
//! behind `stamp-sync match BAG` with its advice, the timeline plot, and
//! the synchronization facts behind `stamp-sync info BAG` (feature `bag`).
//!
//! Everything here is pure computation over a [`BagTrace`] and replays of
//! it; nothing is printed.

use serde::Serialize;

pub mod facts;
pub mod follow;
pub mod keep_going;
pub mod plot;
pub mod tf;

pub use facts::{BagFacts, PairFacts, TopicFacts, facts};
pub use keep_going::{DeadlineReport, Latency, OutPeriod};

// The advisor moved to the core (`crate::advice`); its names stay here too.
pub use crate::advice::{
    Summary, human_duration, min_queue_without_overflow, nearest_offsets, round_up_nice,
};

use crate::advice::advise;
use crate::counts::Counts;
use stamp_sync::driver::Options;
use stamp_sync::policy::{ConfigError, PolicyConfig};
use stamp_sync::time::{Duration, Stamp};
use stamp_sync::trace::{Replay, Trace, TraceMsg};
use stamp_sync_bag::{Bag, BagMessage, BagTrace};

/// A replay together with the trace position whose arrival emitted each set.
#[derive(Debug, Clone, Default)]
pub struct TimedReplay {
    /// Sets, drops and counters, as [`stamp_sync::trace::replay`] gives them.
    pub replay: Replay,
    /// For each set, the index (into the trace) of the message whose
    /// arrival emitted it.
    pub emitted_at: Vec<usize>,
}

/// Replays `trace` like [`stamp_sync::trace::replay`], also recording which
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
    let replay = stamp_sync::trace::replay_with_options(trace, channels, config, options)?;
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

/// Counters of one topic in a replay (`queued`: when the bag ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicReport {
    /// Topic name.
    pub topic: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// The periods it was out (option drop-out-after), in order.
    pub dropped_out: Vec<OutPeriod>,
    /// Times it rejoined.
    pub rejoins: u64,
}

impl TopicReport {
    /// Channel `ch` of `r`, named `topic`.
    pub fn of(topic: String, r: &Replay, ch: usize, out: Vec<OutPeriod>) -> Self {
        let st = r.stats.channels.get(ch).cloned().unwrap_or_default();
        TopicReport {
            topic,
            counts: Counts::of(&st, r.queued.get(ch).copied().unwrap_or(0)),
            dropped_out: out,
            rejoins: st.rejoins,
        }
    }
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
    /// The policy's name ([`PolicyKind::name`](stamp_sync::policy::PolicyKind::name)).
    pub policy: &'static str,
    /// Queue size used (`None` for a policy without one).
    pub queue_size: Option<usize>,
    /// Sets emitted, with members missing or not.
    pub sets: usize,
    /// Sets with members missing (drop-out, stale flushes).
    pub sets_with_members_missing: u64,
    /// How late sets came: the newest stamp read when a set was emitted
    /// minus its newest member's stamp.
    pub latency_ns: Option<Latency>,
    /// With a deadline: the run against the same run without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineReport>,
    /// Per topic, in channel order.
    pub topics: Vec<TopicReport>,
    /// Spread of the full sets (`None` without sets).
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

/// Builds the report of `timed` (a replay of `bt` with `config`).
pub fn report(bag: &Bag, bt: &BagTrace, config: &PolicyConfig, timed: &TimedReplay) -> Report {
    let channels = bt.topics.len();
    let r = &timed.replay;
    let mut out = keep_going::out_periods(r, channels).into_iter();
    let topics = bt
        .topics
        .iter()
        .enumerate()
        .map(|(ch, &t)| {
            let name = bag.topics().get(t).map(|t| t.name.clone());
            TopicReport::of(
                name.unwrap_or_default(),
                r,
                ch,
                out.next().unwrap_or_default(),
            )
        })
        .collect();
    let mut spreads: Vec<i64> = r.sets.iter().map(|s| spread(s).as_nanos()).collect();
    let spread_summary = Summary::of(&mut spreads);
    let longest_gap = longest_gap(&bt.messages, &timed.emitted_at);
    let policy = config.kind().name();
    let queue_size = config.queue_size();
    let limit = bt.messages.len().clamp(1, 4096);
    let advice = advise(
        &bt.trace,
        channels,
        config,
        r,
        spread_summary,
        limit,
        "on this bag",
    );
    Report {
        bag: bag.path().display().to_string(),
        policy,
        queue_size,
        sets: r.sets.len() + r.partials.len(),
        sets_with_members_missing: r.stats.partial_sets,
        latency_ns: Latency::of(r),
        deadline: None,
        topics,
        spread: spread_summary,
        longest_gap,
        advice: advice.lines,
        min_queue_size_without_overflow: advice.min_queue_size_without_overflow,
        suggested_max_interval_ns: advice.suggested_max_interval_ns,
        tf: None,
    }
}

/// [`report`], and with a deadline in `config` the comparison with the
/// run without it ([`keep_going::deadline_report`]) and its advice line.
pub fn report_with_options(
    bag: &Bag,
    bt: &BagTrace,
    config: &PolicyConfig,
    options: &Options,
    timed: &TimedReplay,
) -> Result<Report, ConfigError> {
    let mut rep = report(bag, bt, config, timed);
    let channels = bt.topics.len();
    rep.deadline =
        keep_going::deadline_report(&bt.trace, channels, config, options, &timed.replay)?;
    if let Some(d) = &rep.deadline {
        rep.advice.push(d.advice());
    }
    Ok(rep)
}

/// The report of a trace replay (`stamp-sync match TRACE.csv --report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceReport {
    /// The trace file (`-` for stdin).
    pub trace: String,
    /// The policy's name.
    pub policy: &'static str,
    /// Queue size used (`None` for a policy without one).
    pub queue_size: Option<usize>,
    /// Sets emitted, with members missing or not.
    pub sets: usize,
    /// Sets with members missing.
    pub sets_with_members_missing: u64,
    /// How late sets came (see [`Report::latency_ns`]).
    pub latency_ns: Option<Latency>,
    /// With a deadline: the run against the same run without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineReport>,
    /// Per channel (`channel N`), in order.
    pub topics: Vec<TopicReport>,
    /// Spread of the full sets.
    pub spread: Option<Summary>,
    /// Advice lines (the deadline's, with one).
    pub advice: Vec<String>,
}

/// The report of `r`, a replay of `trace` with `config` and `options`.
pub fn trace_report(
    name: &str,
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    options: &Options,
    r: &Replay,
) -> Result<TraceReport, ConfigError> {
    let mut out = keep_going::out_periods(r, channels).into_iter();
    let topics = (0..channels)
        .map(|ch| {
            TopicReport::of(
                format!("channel {ch}"),
                r,
                ch,
                out.next().unwrap_or_default(),
            )
        })
        .collect();
    let mut spreads: Vec<i64> = r.sets.iter().map(|s| spread(s).as_nanos()).collect();
    let deadline = keep_going::deadline_report(trace, channels, config, options, r)?;
    Ok(TraceReport {
        trace: name.to_string(),
        policy: config.kind().name(),
        queue_size: config.queue_size(),
        sets: r.sets.len() + r.partials.len(),
        sets_with_members_missing: r.stats.partial_sets,
        latency_ns: Latency::of(r),
        advice: deadline.iter().map(DeadlineReport::advice).collect(),
        deadline,
        topics,
        spread: Summary::of(&mut spreads),
    })
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
