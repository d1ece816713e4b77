//! What drop-out and a deadline did in a replay: the periods each channel
//! was out, the sets with members missing, how late sets came, and, with a
//! deadline, how the sets compare with the run without it.

use std::collections::HashSet;

use serde::Serialize;
use stamp_sync::driver::Options;
use stamp_sync::policy::{ConfigError, PolicyConfig, Value};
use stamp_sync::time::Duration;
use stamp_sync::trace::{Replay, Trace};

use crate::advice::human_duration;

/// How late sets came: per set, the newest stamp received when it was
/// emitted minus its newest member's stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// Median, in ns.
    pub p50: i64,
    /// 99th percentile, in ns.
    pub p99: i64,
    /// Largest, in ns.
    pub max: i64,
}

impl Latency {
    /// The latency of `replay`'s sets; `None` without sets.
    pub fn of(replay: &Replay) -> Option<Latency> {
        let mut v: Vec<i64> = replay.latency.iter().map(|d| d.as_nanos()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Latency {
            p50: at(0.5),
            p99: at(0.99),
            max: v[v.len() - 1],
        })
    }
}

/// One period a channel was out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutPeriod {
    /// When it went out, on the drop-out clock (ns).
    pub from_ns: i64,
    /// When it rejoined; `None`: still out at the end.
    pub to_ns: Option<i64>,
    /// Sets emitted without it meanwhile (`None` while still out).
    pub sets_without: Option<u64>,
}

/// Per channel, its periods out.
pub fn out_periods(replay: &Replay, channels: usize) -> Vec<Vec<OutPeriod>> {
    let mut periods = vec![Vec::<OutPeriod>::new(); channels];
    for (out, o) in &replay.changes {
        let Some(p) = periods.get_mut(o.channel) else {
            continue;
        };
        if *out {
            p.push(OutPeriod {
                from_ns: o.at.as_nanos(),
                to_ns: None,
                sets_without: None,
            });
        } else if let Some(last) = p.last_mut() {
            last.to_ns = Some(o.at.as_nanos());
            last.sets_without = Some(o.sets_without);
        }
    }
    periods
}

/// A run with a deadline against the same run without it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineReport {
    /// The deadline, in ns.
    pub deadline_ns: i64,
    /// Sets of the run with the deadline.
    pub sets: usize,
    /// Sets of the run with the deadline that the run without it does not
    /// have (the same members).
    pub sets_differing: usize,
    /// Sets of the run without the deadline.
    pub sets_without_deadline: usize,
    /// Share of the run-without's sets that the run with it has too.
    pub identical_share: f64,
    /// Latency with the deadline.
    pub latency_ns: Option<Latency>,
    /// Latency without it.
    pub latency_without_deadline_ns: Option<Latency>,
    /// The smallest deadline (1-2-5 steps) that keeps at least 99 % of the
    /// sets identical, and its latency; `None` if none below the longest
    /// wait without a deadline does.
    pub smallest_for_99_percent_ns: Option<i64>,
    /// Latency with that deadline.
    pub smallest_for_99_percent_latency_ns: Option<Latency>,
}

impl DeadlineReport {
    /// The advice line: what the deadline costs and the smallest that
    /// keeps 99 % of the sets.
    pub fn advice(&self) -> String {
        let max = |l: Option<Latency>| l.map_or("-".into(), |l| human_duration(l.max));
        let mut s = format!(
            "deadline {}: {} of {} sets differ from the run without it ({:.1} % identical); latency max {} instead of {}",
            human_duration(self.deadline_ns),
            self.sets_differing,
            self.sets,
            self.identical_share * 100.0,
            max(self.latency_ns),
            max(self.latency_without_deadline_ns),
        );
        match self.smallest_for_99_percent_ns {
            Some(d) => s.push_str(&format!(
                "; the smallest deadline keeping 99 % of the sets identical is {} (latency max {})",
                human_duration(d),
                max(self.smallest_for_99_percent_latency_ns)
            )),
            None => s.push_str("; no shorter deadline keeps 99 % of the sets identical"),
        }
        s
    }
}

/// The deadline set in `config`, if any.
pub fn deadline_of(config: &PolicyConfig) -> Option<Duration> {
    match config.get("deadline") {
        Some(Value::Duration(d)) => Some(d),
        _ => None,
    }
}

/// The members of every set (full and partial), as trace indices.
fn members(r: &Replay) -> Vec<Vec<Option<usize>>> {
    let mut v: Vec<Vec<Option<usize>>> = (r.sets.iter())
        .map(|s| s.iter().map(|m| Some(m.index)).collect())
        .collect();
    v.extend(r.partials.iter().map(|p| {
        p.members
            .iter()
            .map(|m| m.as_ref().map(|m| m.message.index))
            .collect()
    }));
    v
}

/// `(differing, identical share)` of `with` against `without`.
fn compare(with: &Replay, without: &Replay) -> (usize, f64) {
    let base: HashSet<Vec<Option<usize>>> = members(without).into_iter().collect();
    let with = members(with);
    let same = with.iter().filter(|s| base.contains(*s)).count();
    let share = if base.is_empty() {
        1.0
    } else {
        same as f64 / base.len() as f64
    };
    (with.len() - same, share)
}

/// With a deadline in `config`: replays `trace` without it and with
/// shorter ones, to compare. `None` without a deadline.
pub fn deadline_report(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    options: &Options,
    with: &Replay,
) -> Result<Option<DeadlineReport>, ConfigError> {
    let Some(deadline) = deadline_of(config) else {
        return Ok(None);
    };
    let run = |d: Option<Duration>| {
        let mut c = config.clone();
        c.set("deadline", d.map(Value::Duration))?;
        stamp_sync::trace::replay_with_options(trace, channels, &c, options)
    };
    let without = run(None)?;
    let (sets_differing, identical_share) = compare(with, &without);
    let longest = without.latency.iter().max().copied().unwrap_or_default();
    let mut smallest = None;
    let mut d = 1_000i64; // 1 µs
    while d < longest.as_nanos() {
        let r = run(Some(Duration::from_nanos(d)))?;
        if compare(&r, &without).1 >= 0.99 {
            smallest = Some((d, Latency::of(&r)));
            break;
        }
        d = crate::advice::round_up_nice(d + 1);
    }
    Ok(Some(DeadlineReport {
        deadline_ns: deadline.as_nanos(),
        sets: members(with).len(),
        sets_differing,
        sets_without_deadline: members(&without).len(),
        identical_share,
        latency_ns: Latency::of(with),
        latency_without_deadline_ns: Latency::of(&without),
        smallest_for_99_percent_ns: smallest.map(|s| s.0),
        smallest_for_99_percent_latency_ns: smallest.and_then(|s| s.1),
    }))
}
