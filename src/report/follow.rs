//! The report of a follower replay (`stamp-sync match --policy follow`):
//! counts per topic, messages per set of each `ranged` follower, and how
//! long driver messages waited to be final.

use serde::Serialize;
use stamp_sync::policy::{FollowConfig, Follower, Mode};
use stamp_sync::trace::{FollowReplay, Trace};

use crate::advice::Summary;
use crate::counts::Counts;

/// Smallest, median and largest of a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CountSummary {
    /// Smallest.
    pub min: usize,
    /// Median.
    pub median: usize,
    /// Largest.
    pub max: usize,
}

impl CountSummary {
    fn of(mut v: Vec<usize>) -> Option<Self> {
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(CountSummary {
            min: v[0],
            median: v[(v.len() - 1) / 2],
            max: v[v.len() - 1],
        })
    }
}

/// One topic of a follower replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowTopic {
    /// Its name (`channel N` for a trace).
    pub topic: String,
    /// `driver`, or its mode.
    pub role: &'static str,
    /// Its counts (`emitted`: left the queue after going out in a set).
    #[serde(flatten)]
    pub counts: Counts,
    /// Times its messages went out in sets (a shared message once per set).
    pub appearances: u64,
    /// `ranged`: its messages per set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_set: Option<CountSummary>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowReport {
    /// The input file.
    pub input: String,
    /// Always `follow`.
    pub policy: &'static str,
    /// Queue size.
    pub queue_size: usize,
    /// `max_wait` in ns, if set.
    pub max_wait_ns: Option<i64>,
    /// Sets emitted.
    pub sets: usize,
    /// Per topic, in channel order.
    pub topics: Vec<FollowTopic>,
    /// How long each driver message waited in stamp time: the newest stamp
    /// read when its set came out minus its stamp.
    pub wait: Option<Summary>,
}

/// The report of `r`, a replay of `trace` with `config`; `names` in
/// channel order.
pub fn report(
    input: &str,
    names: &[String],
    trace: &Trace,
    config: &FollowConfig,
    r: &FollowReplay,
) -> FollowReport {
    let topics = names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let mode = config.follow.iter().find(|(f, _)| *f == c).map(|(_, m)| *m);
            let per_set = (mode == Some(Mode::Ranged))
                .then(|| {
                    CountSummary::of(
                        r.sets
                            .iter()
                            .filter_map(|s| match s.follower(c) {
                                Some(Follower::Ranged(v)) => Some(v.len()),
                                _ => None,
                            })
                            .collect(),
                    )
                })
                .flatten();
            let st = r.stats.channels.get(c).cloned().unwrap_or_default();
            FollowTopic {
                topic: name.clone(),
                role: mode.map_or("driver", Mode::as_str),
                counts: Counts::of(&st, r.queued.get(c).copied().unwrap_or(0)),
                appearances: r.appearances.get(c).copied().unwrap_or(0),
                per_set,
            }
        })
        .collect();
    // Newest stamp read up to each arrival.
    let mut newest = Vec::with_capacity(trace.messages.len());
    for m in &trace.messages {
        let prev = newest.last().copied().unwrap_or(m.stamp);
        newest.push(m.stamp.max(prev));
    }
    let mut waits: Vec<i64> = (r.sets.iter().zip(&r.emitted_at))
        .filter_map(|(s, &i)| Some(newest.get(i)?.since(s.stamp).as_nanos()))
        .collect();
    FollowReport {
        input: input.to_string(),
        policy: "follow",
        queue_size: config.queue_size,
        max_wait_ns: config.max_wait.map(|d| d.as_nanos()),
        sets: r.sets.len(),
        topics,
        wait: Summary::of(&mut waits),
    }
}
