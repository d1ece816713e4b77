//! How long messages (or matched sets) of a bag would wait for their
//! transforms: the pure [`TfFilter`] replayed in log time over the bag's
//! `/tf` and `/tf_static` records, as a node subscribed to everything would
//! have run it. Behind `stamp-sync match BAG --target-frame F`.
//!
//! The filter's wait runs on the arrival clock (log time): a message is
//! added at its log time; each transform is applied at its log time (before
//! a message logged at the same time); a held message is released at the
//! log time of the transform that completes it, or fails once it has waited
//! longer than the timeout. Its wait is release time minus log time.

use std::collections::BTreeMap;

use serde::Serialize;

use stamp_sync::driver::Options;
use stamp_sync::policy::{ConfigError, PolicyConfig};
use stamp_sync::stamped::Stamped;
use stamp_sync::time::{Duration, Stamp};
use stamp_sync::trace::Trace;
use stamp_sync_bag::tf::{FramedMessage, LoggedTransform, TfRead};
use stamp_sync_tf::{
    DEFAULT_CACHE_TIME, DEFAULT_QUEUE_SIZE, DEFAULT_TIMEOUT, Framed, TfEvent, TfFilter,
    TfFilterConfigError, TimeoutClock,
};

/// Settings of the replayed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct TfWaitSettings {
    /// Target frames (at least one).
    pub targets: Vec<String>,
    /// Longest wait, on the log-time clock.
    pub timeout: Duration,
    /// Most messages held.
    pub queue_size: usize,
    /// The buffer's cache time.
    pub cache_time: Duration,
}

impl TfWaitSettings {
    /// `targets` with the filter's defaults (1 s wait, 100 held, 10 s cache).
    pub fn new(targets: Vec<String>) -> Self {
        TfWaitSettings {
            targets,
            timeout: DEFAULT_TIMEOUT,
            queue_size: DEFAULT_QUEUE_SIZE,
            cache_time: DEFAULT_CACHE_TIME,
        }
    }
}

/// Why a tf wait report could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TfWaitError {
    /// The filter settings are invalid.
    #[error(transparent)]
    Filter(#[from] TfFilterConfigError),
    /// The synchronizer settings are invalid.
    #[error(transparent)]
    Policy(#[from] ConfigError),
}

/// p50, p99 and max of some waits (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitSummary {
    /// Median, in ns.
    pub p50_ns: i64,
    /// 99th percentile, in ns.
    pub p99_ns: i64,
    /// Longest, in ns.
    pub max_ns: i64,
}

impl WaitSummary {
    /// The summary of `waits` (ns), `None` if empty.
    pub fn of(waits: &mut [i64]) -> Option<WaitSummary> {
        let n = waits.len();
        if n == 0 {
            return None;
        }
        waits.sort_unstable();
        // Nearest rank: the ceil(q * n)-th smallest, in integers.
        let at = |per_100: usize| waits[(per_100 * n).div_ceil(100).clamp(1, n) - 1];
        Some(WaitSummary {
            p50_ns: at(50),
            p99_ns: at(99),
            max_ns: waits[n - 1],
        })
    }
}

/// What the filter did with one input's messages (or with the sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TfInputReport {
    /// The topic, or `sets`.
    pub input: String,
    /// Messages (sets) added.
    pub received: u64,
    /// Released the moment they arrived (the transforms were there).
    pub at_once: u64,
    /// Held, then released with their transforms.
    pub waited: u64,
    /// How long the held-then-released ones waited (`None` if none did).
    pub wait: Option<WaitSummary>,
    /// Failures by reason name ([`FailureReason::as_str`](stamp_sync_tf::FailureReason::as_str); reasons with
    /// none left out).
    pub failed: BTreeMap<&'static str, u64>,
    /// Still held when the bag ended (neither released nor timed out).
    pub queued: u64,
}

/// The tf part of a bag report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TfWaitReport {
    /// Target frames.
    pub target_frames: Vec<String>,
    /// The filter's timeout, in ns of log time.
    pub tf_wait_ns: i64,
    /// Queue size of each filter.
    pub queue_size: usize,
    /// Transforms read from `/tf` and `/tf_static`.
    pub transforms: u64,
    /// Transforms the buffer refused (invalid, too old, repeated).
    pub transforms_rejected: u64,
    /// One filter per topic, in the order given.
    pub topics: Vec<TfInputReport>,
    /// The synchronizer's sets through one filter, anchored at the first
    /// topic's member (its stamp and frame), added when the set is
    /// emitted (`None` without a policy).
    pub sets: Option<TfInputReport>,
}

/// The JSON report of `stamp-sync match BAG --target-frame F` without a
/// policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TfBagReport {
    /// The bag file.
    pub bag: String,
    /// The tf part.
    pub tf: TfWaitReport,
}

/// One item through the filter: its index and where to transform it.
struct Item<'a> {
    id: usize,
    stamp: Stamp,
    frame: &'a str,
}

impl Stamped for Item<'_> {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

impl Framed for Item<'_> {
    fn frame_id(&self) -> &str {
        self.frame
    }
}

/// Replays `items` (arrival log time, stamp, frame; in arrival order)
/// with `transforms` through a filter of `settings`.
fn replay_input(
    name: &str,
    transforms: &[LoggedTransform],
    items: &[(Stamp, Stamp, &str)],
    settings: &TfWaitSettings,
) -> Result<(TfInputReport, u64), TfFilterConfigError> {
    let mut builder = TfFilter::builder()
        .timeout(settings.timeout)
        .timeout_clock(TimeoutClock::ArrivalTime)
        .queue_size(settings.queue_size)
        .cache_time(settings.cache_time);
    for t in &settings.targets {
        builder = builder.target(t.clone());
    }
    let mut filter = builder.build::<Item<'_>>()?;
    let mut tally = Tally {
        rep: TfInputReport {
            input: name.to_string(),
            received: 0,
            at_once: 0,
            waited: 0,
            wait: None,
            failed: BTreeMap::new(),
            queued: 0,
        },
        waits: Vec::new(),
        arrivals: items.iter().map(|i| i.0).collect(),
    };
    let mut next = transforms.iter().peekable();
    for (id, &(arrival, stamp, frame)) in items.iter().enumerate() {
        while let Some(t) = next.next_if(|t| t.log_time <= arrival) {
            tally.apply(&mut filter, t);
        }
        tally.count(filter.poll(arrival), arrival, None);
        tally.rep.received += 1;
        let item = Item { id, stamp, frame };
        tally.count(filter.add(item, arrival), arrival, Some(id));
    }
    for t in next {
        tally.apply(&mut filter, t);
    }
    let mut rep = tally.rep;
    rep.queued = filter.pending() as u64;
    rep.wait = WaitSummary::of(&mut tally.waits);
    Ok((rep, filter.stats().transforms_rejected))
}

/// What one filter did so far.
struct Tally {
    rep: TfInputReport,
    waits: Vec<i64>,
    arrivals: Vec<Stamp>,
}

impl Tally {
    /// Counts `events` decided at `now`; `adding` is the item being added.
    fn count<'a>(
        &mut self,
        events: impl Iterator<Item = TfEvent<Item<'a>>>,
        now: Stamp,
        adding: Option<usize>,
    ) {
        for e in events {
            match e {
                TfEvent::Released(r) if Some(r.msg.id) == adding => self.rep.at_once += 1,
                TfEvent::Released(r) => {
                    self.rep.waited += 1;
                    let arrival = self.arrivals.get(r.msg.id).copied().unwrap_or(now);
                    self.waits.push(now.since(arrival).as_nanos());
                }
                TfEvent::Failed(f) => *self.rep.failed.entry(f.reason.as_str()).or_insert(0) += 1,
            }
        }
    }

    /// Applies a transform at its log time: first the timeouts that fell
    /// before it, then the releases it causes.
    fn apply<'a>(&mut self, filter: &mut TfFilter<Item<'a>>, t: &LoggedTransform) {
        let now = t.log_time;
        self.count(filter.poll(now), now, None);
        let i = &t.transform;
        // A refused transform is counted in the filter's stats.
        let _ = if i.is_static {
            filter.set_static_transform(&i.parent, &i.child, i.stamp, &i.transform)
        } else {
            filter.set_transform(&i.parent, &i.child, i.stamp, &i.transform)
        };
        self.count(filter.poll(now), now, None);
    }
}

fn item_of(m: &FramedMessage) -> (Stamp, Stamp, &str) {
    (m.message.log_time, m.stamp(), m.frame_id.as_str())
}

/// The tf wait report of `read`'s topics (named `names`, in the order
/// they were read), and of the sets of `sync` (a policy and its options)
/// over them if given.
pub fn tf_wait_report(
    read: &TfRead,
    names: &[String],
    settings: &TfWaitSettings,
    sync: Option<(&PolicyConfig, &Options)>,
) -> Result<TfWaitReport, TfWaitError> {
    let mut topics = Vec::with_capacity(read.topics.len());
    let mut rejected = 0;
    for (ch, &t) in read.topics.iter().enumerate() {
        let items: Vec<_> = read
            .messages
            .iter()
            .filter(|m| m.message.topic == t)
            .map(item_of)
            .collect();
        let name = names.get(ch).map_or("?", String::as_str);
        let (rep, r) = replay_input(name, &read.transforms, &items, settings)?;
        rejected = r;
        topics.push(rep);
    }
    let sets = match sync {
        None => None,
        Some((config, options)) => {
            let channel_of = |topic: usize| read.topics.iter().position(|&t| t == topic);
            let trace = Trace::from_pairs(
                read.messages
                    .iter()
                    .map(|m| (channel_of(m.message.topic).unwrap_or(usize::MAX), m.stamp())),
            );
            let replay =
                stamp_sync::trace::replay_with_options(&trace, read.topics.len(), config, options)?;
            let items: Vec<_> = replay
                .sets
                .iter()
                .zip(&replay.emitted_at)
                .filter_map(|(set, &at)| {
                    let anchor = read.messages.get(set.first()?.index)?;
                    let emitted = read.messages.get(at)?.message.log_time;
                    Some((emitted, anchor.stamp(), anchor.frame_id.as_str()))
                })
                .collect();
            let (rep, r) = replay_input("sets", &read.transforms, &items, settings)?;
            rejected = r;
            Some(rep)
        }
    };
    Ok(TfWaitReport {
        target_frames: settings.targets.clone(),
        tf_wait_ns: settings.timeout.as_nanos(),
        queue_size: settings.queue_size,
        transforms: read.transforms.len() as u64,
        transforms_rejected: rejected,
        topics,
        sets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stamp_sync_bag::BagMessage;
    use stamp_sync_tf::{Quaternion, TfInput, Transform, Vector3};

    fn tf(log_ms: i64, stamp_ms: i64, child: &str) -> LoggedTransform {
        LoggedTransform {
            log_time: Stamp::from_nanos(log_ms * 1_000_000),
            transform: TfInput {
                is_static: false,
                stamp: Stamp::from_nanos(stamp_ms * 1_000_000),
                parent: "map".into(),
                child: child.into(),
                transform: Transform::new(Vector3::ZERO, Quaternion::IDENTITY),
            },
        }
    }

    fn msg(topic: usize, log_ms: i64, stamp_ms: i64, frame: &str) -> FramedMessage {
        FramedMessage {
            message: BagMessage {
                topic,
                log_time: Stamp::from_nanos(log_ms * 1_000_000),
                header_stamp: Some(Stamp::from_nanos(stamp_ms * 1_000_000)),
                len: 0,
            },
            frame_id: frame.into(),
        }
    }

    fn ms(v: i64) -> i64 {
        v * 1_000_000
    }

    #[test]
    fn waits_failures_and_held_messages_are_told_apart() {
        let read = TfRead {
            // "cam" data at 0 and 100 ms stamps, logged 30 ms late each.
            transforms: vec![tf(30, 0, "cam"), tf(130, 100, "cam"), tf(400, 390, "cam")],
            messages: vec![
                msg(0, 10, 0, "cam"),    // released at 30: waited 20 ms
                msg(0, 40, 0, "cam"),    // at once
                msg(0, 50, 50, "cam"),   // released at 130: waited 80 ms
                msg(0, 60, 60, ""),      // empty frame id
                msg(0, 70, 70, "lidar"), // unknown frame: 100 ms wait runs out
                msg(0, 395, 395, "cam"), // held at the end
            ],
            topics: vec![0],
            has_tf_topics: true,
        };
        let mut s = TfWaitSettings::new(vec!["map".into()]);
        s.timeout = Duration::from_millis(100);
        let rep = tf_wait_report(&read, &["/cam".into()], &s, None).unwrap();
        let t = &rep.topics[0];
        assert_eq!((t.received, t.at_once, t.waited, t.queued), (6, 1, 2, 1));
        assert_eq!(
            t.wait,
            Some(WaitSummary {
                p50_ns: ms(20),
                p99_ns: ms(80),
                max_ns: ms(80)
            })
        );
        let failed: Vec<_> = t.failed.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(failed, [("empty_frame_id", 1), ("unknown_frame", 1)]);
        assert_eq!((rep.transforms, rep.transforms_rejected), (3, 0));
    }

    #[test]
    fn a_wait_of_exactly_the_timeout_is_released_a_longer_one_times_out() {
        let read = TfRead {
            transforms: vec![tf(0, 0, "cam"), tf(110, 100, "cam"), tf(221, 200, "cam")],
            messages: vec![msg(0, 10, 100, "cam"), msg(0, 120, 200, "cam")],
            topics: vec![0],
            has_tf_topics: true,
        };
        let mut s = TfWaitSettings::new(vec!["map".into()]);
        s.timeout = Duration::from_millis(100);
        let t = tf_wait_report(&read, &["/cam".into()], &s, None)
            .unwrap()
            .topics[0]
            .clone();
        // 10 -> 110 is exactly 100 ms; 120 -> 221 is 101 ms.
        assert_eq!((t.waited, t.failed.get("timeout").copied()), (1, Some(1)));
        assert_eq!(t.wait.map(|w| w.max_ns), Some(ms(100)));
    }

    #[test]
    fn sets_are_filtered_when_emitted_at_their_first_member() {
        let read = TfRead {
            transforms: vec![tf(5, 0, "cam"), tf(50, 40, "cam")],
            messages: vec![
                msg(0, 10, 20, "cam"),
                msg(1, 12, 20, "imu"),
                msg(0, 30, 30, "cam"),
                msg(1, 35, 30, "imu"),
            ],
            topics: vec![0, 1],
            has_tf_topics: true,
        };
        let s = TfWaitSettings::new(vec!["map".into()]);
        let config = PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 });
        let rep = tf_wait_report(
            &read,
            &["/cam".into(), "/imu".into()],
            &s,
            Some((&config, &Options::default())),
        )
        .unwrap();
        let sets = rep.sets.unwrap();
        // Emitted at 12 and 35 ms, both released at 50 ms.
        assert_eq!((sets.received, sets.waited), (2, 2));
        assert_eq!(
            sets.wait,
            Some(WaitSummary {
                p50_ns: ms(15),
                p99_ns: ms(38),
                max_ns: ms(38)
            })
        );
        // "imu" is no frame of the tree: its messages wait until the end.
        assert_eq!((rep.topics[1].received, rep.topics[1].queued), (2, 2));
        assert!(rep.topics[1].failed.is_empty());
        // The first topic's own messages: at 10 and 30 ms, released at 50.
        assert_eq!(rep.topics[0].wait.map(|w| w.max_ns), Some(ms(40)));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<i64> = (1..=200).collect();
        let s = WaitSummary::of(&mut v).unwrap();
        assert_eq!((s.p50_ns, s.p99_ns, s.max_ns), (100, 198, 200));
        assert_eq!(WaitSummary::of(&mut []), None);
        assert_eq!(
            WaitSummary::of(&mut [7]),
            Some(WaitSummary {
                p50_ns: 7,
                p99_ns: 7,
                max_ns: 7
            })
        );
    }
}
