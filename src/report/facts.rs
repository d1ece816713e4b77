//! The synchronization facts of a bag behind `stamp-sync info`: per-topic
//! rates and stamps, stamp offsets between topics, identical stamps.

use serde::Serialize;

use super::{Summary, nearest_offsets};
use stamp_sync::time::Stamp;
use stamp_sync_bag::{Bag, BagMessage, HeaderStatus};

/// Synchronization facts of one topic (for `stamp-sync info`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicFacts {
    /// Topic name.
    pub topic: String,
    /// Message type.
    pub type_name: String,
    /// Messages.
    pub count: u64,
    /// Mean rate over its log-time span, in Hz (`None` with < 2 messages).
    pub rate_hz: Option<f64>,
    /// `yes`, `no` or `unknown` (no stored definition).
    pub stamped: &'static str,
    /// Median of log time minus header stamp (how late it was recorded), ns.
    pub median_lag_ns: Option<i64>,
    /// Messages whose header stamp repeats an earlier stamp of the same
    /// topic (republished data; ExactTime keeps only the newest).
    pub repeated_stamps: u64,
}

/// Facts about one pair of stamped topics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairFacts {
    /// First topic (the one with fewer messages).
    pub a: String,
    /// Second topic.
    pub b: String,
    /// Median signed offset from each `a` stamp to the nearest `b` stamp
    /// (`b - a`), ns. `a` is the topic with fewer stamped messages.
    pub median_offset_ns: i64,
    /// Median of the absolute nearest-neighbour offset, ns.
    pub median_abs_offset_ns: i64,
    /// 95th percentile of the absolute nearest-neighbour offset, ns.
    pub p95_abs_offset_ns: i64,
    /// How many `a` stamps have an identical stamp on `b`.
    pub identical: usize,
}

/// What `stamp-sync info` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BagFacts {
    /// The file.
    pub bag: String,
    /// Storage format.
    pub format: &'static str,
    /// File size in bytes.
    pub bytes: u64,
    /// Messages in all topics.
    pub messages: u64,
    /// Log time of the first message, ns.
    pub start_ns: Option<i64>,
    /// Log time of the last message, ns.
    pub end_ns: Option<i64>,
    /// Per topic.
    pub topics: Vec<TopicFacts>,
    /// Per pair of stamped topics.
    pub pairs: Vec<PairFacts>,
    /// Consecutive messages (log-time order) of different stamped topics
    /// whose stamps go backwards: the arrival order disagrees with the
    /// stamp order.
    pub arrival_disagreements: u64,
}

/// Computes the facts of `bag` from all its messages (`messages`, log-time order).
pub fn facts(bag: &Bag, messages: &[BagMessage]) -> BagFacts {
    let n = bag.topics().len();
    let mut stamps: Vec<Vec<i64>> = vec![Vec::new(); n];
    let mut lags: Vec<Vec<i64>> = vec![Vec::new(); n];
    let mut first: Vec<Option<Stamp>> = vec![None; n];
    let mut last: Vec<Option<Stamp>> = vec![None; n];
    let mut disagreements = 0u64;
    let mut prev: Option<(usize, Stamp)> = None;
    for m in messages {
        let Some(t) = stamps.get_mut(m.topic) else {
            continue;
        };
        if first[m.topic].is_none() {
            first[m.topic] = Some(m.log_time);
        }
        last[m.topic] = Some(m.log_time);
        if let Some(s) = m.header_stamp {
            t.push(s.as_nanos());
            lags[m.topic].push(m.log_time.since(s).as_nanos());
            if let Some((pt, ps)) = prev {
                if pt != m.topic && s < ps {
                    disagreements += 1;
                }
            }
            prev = Some((m.topic, s));
        }
    }
    let topics = bag
        .topics()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let count = t.count;
            let rate_hz = match (first[i], last[i]) {
                (Some(a), Some(b)) if b > a && count >= 2 => {
                    Some((count - 1) as f64 / (b.since(a).as_nanos() as f64 / 1e9))
                }
                _ => None,
            };
            TopicFacts {
                topic: t.name.clone(),
                type_name: t.type_name.clone(),
                count,
                rate_hz,
                stamped: match t.header {
                    HeaderStatus::Stamped if t.has_header() => "yes",
                    HeaderStatus::Unknown => "unknown",
                    _ => "no",
                },
                median_lag_ns: Summary::of(&mut lags[i]).map(|s| s.median_ns),
                repeated_stamps: {
                    let mut v = stamps[i].clone();
                    v.sort_unstable();
                    v.windows(2).filter(|w| w[0] == w[1]).count() as u64
                },
            }
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            if stamps[i].is_empty() || stamps[j].is_empty() {
                continue;
            }
            // From each stamp of the sparser topic to the nearest of the
            // denser one: what a set containing it would have to span.
            let (a, b) = if stamps[j].len() < stamps[i].len() {
                (j, i)
            } else {
                (i, j)
            };
            let offs = nearest_offsets(&stamps[a], &stamps[b]);
            let identical = offs.iter().filter(|&&d| d == 0).count();
            let mut signed = offs.clone();
            let mut abs: Vec<i64> = offs.iter().map(|d| d.saturating_abs()).collect();
            let (Some(s), Some(ab)) = (Summary::of(&mut signed), Summary::of(&mut abs)) else {
                continue;
            };
            pairs.push(PairFacts {
                a: bag.topics()[a].name.clone(),
                b: bag.topics()[b].name.clone(),
                median_offset_ns: s.median_ns,
                median_abs_offset_ns: ab.median_ns,
                p95_abs_offset_ns: ab.p95_ns,
                identical,
            });
        }
    }
    BagFacts {
        bag: bag.path().display().to_string(),
        format: bag.format().as_str(),
        bytes: bag.size_bytes(),
        messages: bag.topics().iter().map(|t| t.count).sum(),
        start_ns: messages.first().map(|m| m.log_time.as_nanos()),
        end_ns: messages.last().map(|m| m.log_time.as_nanos()),
        topics,
        pairs,
        arrival_disagreements: disagreements,
    }
}
