//! The advisor: which settings would have worked better on a run, as
//! sentences (queue size, max interval, policy) and numbers. One advisor
//! for the bag report (`stamp-sync match BAG`) and the live diagnosis
//! (`stamp-sync watch`, [`crate::diagnose`]).
//!
//! Pure: replays of a [`Trace`], no I/O.

use stamp_sync::policy::{DropReason, PolicyConfig, PolicyKind};
use stamp_sync::time::Duration;
use stamp_sync::trace::{Replay, Trace};

/// Min, median, p95 and max of some durations (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

/// Drops because a queue overflowed (`queue_overflow`, `after_overflow`).
pub fn overflow_drops(r: &Replay) -> usize {
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
        stamp_sync::trace::replay(trace, channels, &config.with_queue_size(q))
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

/// Median of the nearest-neighbour |stamp difference| from channel 0 to
/// each other channel of `trace`, pooled.
pub fn typical_difference(trace: &Trace, channels: usize) -> Option<i64> {
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

/// What the advisor says of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advice {
    /// Settings that would have worked better, as sentences.
    pub lines: Vec<String>,
    /// Smallest queue size with no overflow drops (ApproximateTime), if
    /// computed and found up to the search limit.
    pub min_queue_size_without_overflow: Option<usize>,
    /// Max interval implied by the observed spreads, in ns (ApproximateTime).
    pub suggested_max_interval_ns: Option<i64>,
}

/// The queue-size sentence: `overflow` drops at `queue_size`, `min_q` the
/// smallest clean size found up to `limit`; `scope` says where ("on this
/// bag").
pub fn queue_line(
    overflow: usize,
    min_q: Option<usize>,
    queue_size: Option<usize>,
    limit: usize,
    scope: &str,
) -> String {
    match (overflow, min_q) {
        (0, Some(q)) if queue_size.is_some_and(|size| q < size) => {
            format!("no overflow drops; a queue size of {q} would already have been enough {scope}")
        }
        (0, _) => "no overflow drops at this queue size".to_string(),
        (n, Some(q)) => format!(
            "{n} messages were dropped because a queue overflowed; --queue-size {q} is the smallest that avoids all overflow drops {scope}"
        ),
        (n, None) => format!(
            "{n} messages were dropped because a queue overflowed, and no queue size up to {limit} avoids that {scope}"
        ),
    }
}

/// The sentence for ExactTime with no set: `typical` is the median
/// distance between nearest stamps of different topics.
pub fn exact_nothing_line(typical: Option<i64>) -> String {
    match typical {
        Some(d) => format!(
            "ExactTime matched nothing: no stamp appears on every topic; the typical difference between nearest stamps of different topics is {} (median), so these topics are not stamped together: use --policy approximate",
            human_duration(d)
        ),
        None => {
            "ExactTime matched nothing: no stamp appears on every topic; use --policy approximate"
                .to_string()
        }
    }
}

/// The sentence when no set was emitted at all (ApproximateTime).
pub fn no_set_line() -> String {
    "no set was emitted: check that the topics overlap in time and that their stamps are on the same clock".to_string()
}

/// Advice for a topic whose stamps are `offset_ns` away from the others'
/// (channel `channel` of the policy).
pub fn clock_line(channel: usize, offset_ns: i64) -> String {
    // To the millisecond: the offset of two clocks is never known better.
    let ms = (offset_ns as f64 / 1e6).round() as i64;
    format!(
        "stamp every topic on the same clock (use_sim_time on every node or on none); a constant offset can be taken out with --stamp-offset {channel}={}",
        Duration::from_nanos(ms.saturating_neg().saturating_mul(1_000_000))
    )
}

/// Advice for a topic silent for more than 3 periods.
pub fn stale_line(topic: &str) -> String {
    format!(
        "check the publisher of {topic} (ros2 topic hz {topic}); until it resumes no set completes and the other topics' queues overflow: --stale-after DUR with --partial-sets emits partial sets meanwhile"
    )
}

/// Advice for a follower whose stamps lag the driver's (`--policy follow`).
pub fn follower_behind_line(topic: &str) -> String {
    format!(
        "driver messages wait until {topic} has a stamp after theirs: check its publisher (ros2 topic hz {topic}), or bound the wait with --max-wait DUR"
    )
}

/// Advice for a topic no node publishes.
pub fn no_publisher_line(topic: &str) -> String {
    format!(
        "start the node that publishes {topic}, or fix the name (ros2 topic list; remapping, namespace)"
    )
}

/// Advice for a publisher a `reliable` subscriber can never match.
pub fn qos_line() -> String {
    "subscribe with the sensor_data QoS profile (best effort, volatile): it matches every publisher; stamp_sync's nodes use it by default (qos:=sensor_data)".to_string()
}

/// Advice for a type without a `std_msgs/Header` first field.
pub fn no_header_line() -> String {
    "synchronize a header-bearing type (e.g. a *Stamped message), or give the driver a stamp getter for this type".to_string()
}

/// Advice for stamps that go backwards on one topic.
pub fn out_of_order_line() -> String {
    "stamp each message when it is captured, in order: the policies assume each topic's stamps ascend and drop or mismatch the late ones; after a clock reset, --reset-on-jump-back DUR clears the queues".to_string()
}

/// What to do about messages the middleware lost on the way.
pub fn message_lost_line() -> String {
    "best effort loses what the link loses: check the network (Wi-Fi, a saturated link, socket buffers too small for large messages: raise net.core.rmem_max); if every message matters, publish and subscribe reliable".to_string()
}

/// What to do about a topic that dropped out.
pub fn dropped_out_line() -> String {
    "its publisher stopped or lags: the sets go on without it and need it again once it is back within the timeout; check the sensor and its driver (`stale` and `no_publisher` say more)".to_string()
}

/// The advisor on a run: `replay` is `trace` replayed with `config` over
/// `channels` inputs, `spread` the summary of its sets' spreads; `limit`
/// bounds the queue-size search; `scope` says where the advice applies
/// (`on this bag`).
pub fn advise(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    replay: &Replay,
    spread: Option<Summary>,
    limit: usize,
    scope: &str,
) -> Advice {
    let mut advice = Advice::default();
    match config.kind() {
        PolicyKind::Approximate => {
            let min_q = min_queue_without_overflow(trace, channels, config, limit);
            advice.min_queue_size_without_overflow = min_q;
            advice.lines.push(queue_line(
                overflow_drops(replay),
                min_q,
                config.queue_size(),
                limit,
                scope,
            ));
            if let Some(s) = spread {
                let nice = round_up_nice(s.max_ns);
                advice.suggested_max_interval_ns = Some(nice);
                let d = Duration::from_nanos(nice);
                advice.lines.push(match config.get("max_interval") {
                    None => format!(
                        "the sets spread at most {} (p95 {}): --max-interval {d} would keep every set seen here and reject looser ones",
                        human_duration(s.max_ns),
                        human_duration(s.p95_ns)
                    ),
                    Some(m) => format!(
                        "the sets spread at most {} (p95 {}) within the --max-interval {m}",
                        human_duration(s.max_ns),
                        human_duration(s.p95_ns)
                    ),
                });
            } else {
                advice.lines.push(no_set_line());
            }
        }
        PolicyKind::Exact => {
            if replay.sets.is_empty() {
                advice
                    .lines
                    .push(exact_nothing_line(typical_difference(trace, channels)));
            } else if replay.stats.dropped_total() > 0 {
                advice.lines.push(format!(
                    "{} of {} messages were not part of an exact set",
                    replay.stats.dropped_total(),
                    replay.stats.received_total()
                ));
            }
        }
        PolicyKind::Epsilon | PolicyKind::Latest | PolicyKind::Slop => {}
    }
    advice
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use stamp_sync::time::Stamp;

    fn trace(pairs: &[(usize, i64)]) -> Trace {
        Trace::from_pairs(pairs.iter().map(|&(c, s)| (c, Stamp::from_nanos(s))))
    }

    #[test]
    fn summary_percentiles() {
        let mut v = vec![5, 1, 4, 2, 3];
        let s = Summary::of(&mut v).unwrap();
        assert_eq!((s.min_ns, s.median_ns, s.p95_ns, s.max_ns), (1, 3, 5, 5));
        assert_eq!(Summary::of(&mut []), None);
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(850), "850 ns");
        assert_eq!(human_duration(-850), "-850 ns");
        assert_eq!(human_duration(12_345), "12.345 us");
        assert_eq!(human_duration(-4_000_000), "-4.000 ms");
        assert_eq!(human_duration(1_250_000_000), "1.250 s");
        assert_eq!(human_duration(999), "999 ns");
        assert_eq!(human_duration(1_000), "1.000 us");
        assert_eq!(human_duration(999_999_999), "1000.000 ms");
        assert_eq!(human_duration(1_000_000_000), "1.000 s");
    }

    #[test]
    fn nice_roundings() {
        assert_eq!(round_up_nice(0), 1);
        assert_eq!(round_up_nice(1), 1);
        assert_eq!(round_up_nice(2), 2);
        assert_eq!(round_up_nice(3), 5);
        assert_eq!(round_up_nice(11), 20);
        assert_eq!(round_up_nice(4_000_001), 5_000_000);
        assert_eq!(round_up_nice(i64::MAX), i64::MAX);
    }

    #[test]
    fn nearest_offsets_are_signed() {
        assert_eq!(nearest_offsets(&[10, 20], &[12, 17]), [2, -3]);
        assert_eq!(nearest_offsets(&[10], &[]), Vec::<i64>::new());
        // Equal distances keep the earlier neighbour.
        assert_eq!(nearest_offsets(&[10], &[8, 12]), [-2]);
        assert_eq!(
            typical_difference(&trace(&[(0, 0), (1, 4), (0, 10), (1, 13)]), 2),
            Some(3)
        );
    }

    #[test]
    fn queue_search_finds_the_smallest_clean_size() {
        // Channel 0 gets 6 messages per channel 1 message.
        let mut pairs = Vec::new();
        for k in 0..20i64 {
            for j in 0..6 {
                pairs.push((0, k * 60 + j * 10));
            }
            pairs.push((1, k * 60 + 55));
        }
        let t = trace(&pairs);
        let config = PolicyConfig::approximate(2);
        let q = min_queue_without_overflow(&t, 2, &config, 64).unwrap();
        let overflow = |q: usize| {
            overflow_drops(&stamp_sync::trace::replay(&t, 2, &config.with_queue_size(q)).unwrap())
        };
        assert_eq!(overflow(q), 0);
        assert!(overflow(q - 1) > 0);
        assert_eq!(min_queue_without_overflow(&t, 2, &config, 2), None);
        let r = stamp_sync::trace::replay(&t, 2, &config).unwrap();
        let a = advise(&t, 2, &config, &r, None, 64, "here");
        assert_eq!(a.min_queue_size_without_overflow, Some(q));
        assert!(
            a.lines[0].contains(&format!("--queue-size {q} is the smallest")),
            "{a:?}"
        );
        assert_eq!(a.lines[1], no_set_line());
    }

    #[test]
    fn queue_lines() {
        assert_eq!(
            queue_line(0, Some(3), Some(10), 64, "here"),
            "no overflow drops; a queue size of 3 would already have been enough here"
        );
        assert_eq!(
            queue_line(0, Some(10), Some(10), 64, "here"),
            "no overflow drops at this queue size"
        );
        assert!(queue_line(5, None, Some(10), 64, "here").contains("no queue size up to 64"));
    }

    #[test]
    fn exact_advice_names_the_typical_difference() {
        let t = trace(&[(0, 0), (1, 4_000_000), (0, 10_000_000), (1, 14_000_000)]);
        let config = PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 5 });
        let r = stamp_sync::trace::replay(&t, 2, &config).unwrap();
        let a = advise(&t, 2, &config, &r, None, 64, "here");
        assert!(a.lines[0].contains("4.000 ms"), "{a:?}");
        assert!(exact_nothing_line(None).ends_with("use --policy approximate"));
        let same = trace(&[(0, 1), (1, 1), (0, 2), (1, 3), (0, 3)]);
        let r = stamp_sync::trace::replay(&same, 2, &config).unwrap();
        let a = advise(&same, 2, &config, &r, None, 64, "here");
        assert_eq!(a.lines, ["1 of 5 messages were not part of an exact set"]);
    }

    #[test]
    fn clock_advice_undoes_the_offset() {
        assert!(clock_line(1, 5_000_000_000).ends_with("--stamp-offset 1=-5s"));
        assert!(clock_line(2, -1_234_567_890).ends_with("--stamp-offset 2=1235ms"));
    }
}
