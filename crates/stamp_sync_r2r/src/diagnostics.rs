//! `/diagnostics` for a synchronizer: one `diagnostic_msgs/DiagnosticStatus`
//! per input topic, OK / WARN (stale, overflow) / ERROR (no publisher,
//! incompatible QoS), with its rate, drops by reason and the sets emitted
//! as key-values, as `rqt_robot_monitor` and the diagnostic aggregator
//! expect them.
//!
//! ```no_run
//! use r2r::QosProfile;
//! use stamp_sync_r2r::diagnostics::DiagnosticsPublisher;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut node = r2r::Node::create(r2r::Context::create()?, "my_sync", "")?;
//! # let sync = stamp_sync::DynSynchronizer::<stamp_sync::Stamp, _>::new(2, stamp_sync::ExactTime::new(5)?)?;
//! # let clock = stamp_sync_r2r::clock::RosClock::of(&node);
//! let qos = QosProfile::sensor_data();
//! let mut diagnostics = DiagnosticsPublisher::new(&mut node, &["image", "camera_info"], &qos)?;
//! // Once a second (a timer on the ROS clock):
//! diagnostics.publish(&node, clock.now(), &sync.diagnostics())?;
//! # Ok(()) }
//! ```

use ::r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus, KeyValue};
use ::r2r::std_msgs::msg::Header;
use ::r2r::{Node, Publisher, QosProfile};

use super::qos::{QosReport, qos_report};
use stamp_sync::driver::Diagnostics;
use stamp_sync::policy::DropReason;
use stamp_sync::time::Stamp;
use stamp_sync_tf::{FailureReason, TfFilterStats};

/// How healthy one input is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Messages arrive and nothing overflowed.
    Ok,
    /// Silent while the others flow, or its queue overflowed.
    Warn,
    /// No publisher, or none whose QoS can match.
    Error,
}

impl Level {
    /// `diagnostic_msgs/DiagnosticStatus` level byte.
    pub const fn as_byte(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Warn => 1,
            Level::Error => 2,
        }
    }
}

/// One input's status over the last period.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicHealth {
    /// The topic.
    pub topic: String,
    /// Its level.
    pub level: Level,
    /// One line for people.
    pub message: String,
    /// Key-values: rate, counts, drops by reason.
    pub values: Vec<(String, String)>,
}

/// Turns successive [`Diagnostics`] snapshots (and what the graph says of
/// each topic's publishers) into per-topic statuses. Pure: time comes in.
#[derive(Clone, Debug)]
pub struct Health {
    topics: Vec<String>,
    prev: Option<(Stamp, Diagnostics)>,
    /// The middleware's lost totals per input, now and at the last update.
    lost: Vec<Option<u64>>,
    lost_prev: Vec<Option<u64>>,
}

impl Health {
    /// Tracks the inputs `topics`, in channel order.
    pub fn new<S: AsRef<str>>(topics: &[S]) -> Self {
        Health {
            topics: topics.iter().map(|t| t.as_ref().to_string()).collect(),
            prev: None,
            lost: Vec::new(),
            lost_prev: Vec::new(),
        }
    }

    /// The middleware's count of messages lost on the way to each input
    /// (`None` where it reports nothing), for the next update: a key
    /// `lost`, and WARN for an input that lost messages that period.
    pub fn set_lost(&mut self, lost: &[Option<u64>]) {
        self.lost = lost.to_vec();
    }

    /// The statuses at `now`, from the snapshot `d` and, per topic, the QoS
    /// report of its publishers (`None` if the graph could not be read).
    pub fn update(
        &mut self,
        now: Stamp,
        d: &Diagnostics,
        graph: &[Option<QosReport>],
    ) -> Vec<TopicHealth> {
        let prev = self.prev.replace((now, d.clone()));
        let seconds = prev
            .as_ref()
            .map(|(t, _)| now.since(*t).as_nanos() as f64 / 1e9)
            .filter(|s| *s > 0.0);
        let delta = |ch: usize, f: &dyn Fn(&stamp_sync::driver::ChannelStats) -> u64| -> u64 {
            let now_v = d.channels.get(ch).map_or(0, |c| f(c));
            let was = prev
                .as_ref()
                .and_then(|(_, p)| p.channels.get(ch))
                .map_or(0, |c| f(c));
            now_v.saturating_sub(was)
        };
        let got: Vec<u64> = (0..self.topics.len())
            .map(|ch| delta(ch, &|c| c.received))
            .collect();
        let others_flow = |ch: usize| got.iter().enumerate().any(|(i, n)| i != ch && *n > 0);
        let lost_prev = std::mem::replace(&mut self.lost_prev, self.lost.clone());
        let lost_now = |ch: usize| -> u64 {
            let now_v = self.lost.get(ch).copied().flatten().unwrap_or(0);
            now_v.saturating_sub(lost_prev.get(ch).copied().flatten().unwrap_or(0))
        };
        let mut out = Vec::with_capacity(self.topics.len());
        for (ch, topic) in self.topics.iter().enumerate() {
            let Some(c) = d.channels.get(ch) else {
                continue;
            };
            let report = graph.get(ch).and_then(Option::as_ref);
            let overflow = delta(ch, &|c| {
                c.dropped_for(DropReason::QueueOverflow) + c.dropped_for(DropReason::AfterOverflow)
            });
            let (level, message) = match report {
                Some(r) if r.publishers == 0 => (Level::Error, "no publisher".to_string()),
                Some(r) if !r.ok() => (Level::Error, format!("incompatible QoS: {r}")),
                _ if c.out_since.is_some() => (
                    Level::Warn,
                    format!(
                        "dropped out: sets go on without it ({} so far)",
                        c.sets_without
                    ),
                ),
                _ if prev.is_some() && got[ch] == 0 && others_flow(ch) => (
                    Level::Warn,
                    "stale: nothing this period while the other inputs flow".to_string(),
                ),
                _ if overflow > 0 => (
                    Level::Warn,
                    format!("queue overflow: {overflow} messages dropped this period"),
                ),
                _ if lost_now(ch) > 0 => (
                    Level::Warn,
                    format!(
                        "lost on the way: the middleware lost {} messages this period",
                        lost_now(ch)
                    ),
                ),
                _ => (Level::Ok, "ok".to_string()),
            };
            let mut values = vec![
                (
                    "rate_hz".to_string(),
                    seconds.map_or("-".into(), |s| format!("{:.2}", got[ch] as f64 / s)),
                ),
                ("received".to_string(), c.received.to_string()),
                ("emitted".to_string(), c.emitted.to_string()),
                ("queued".to_string(), c.queued.to_string()),
                ("sets".to_string(), d.sets.to_string()),
                ("dropped".to_string(), c.dropped_total().to_string()),
                ("partial_sets".to_string(), d.partial_sets.to_string()),
                ("dropped_out".to_string(), c.dropped_out.to_string()),
                ("rejoins".to_string(), c.rejoins.to_string()),
            ];
            for r in DropReason::ALL {
                if c.dropped_for(r) > 0 {
                    values.push((format!("dropped_{r}"), c.dropped_for(r).to_string()));
                }
            }
            if let Some(Some(n)) = self.lost.get(ch) {
                values.push(("lost".to_string(), n.to_string()));
            }
            if let Some(r) = report {
                values.push(("publishers".to_string(), r.publishers.to_string()));
            }
            out.push(TopicHealth {
                topic: topic.clone(),
                level,
                message,
                values,
            });
        }
        out
    }
}

/// The status of a tf filter's input (the `tf_filter` node): messages
/// received, released and failed by reason. ERROR as for a synchronizer's
/// input (no publisher, incompatible QoS); WARN when messages failed this
/// period.
#[derive(Clone, Debug, Default)]
pub struct TfHealth {
    prev: Option<(Stamp, TfFilterStats)>,
}

impl TfHealth {
    /// No period seen yet.
    pub fn new() -> Self {
        TfHealth::default()
    }

    /// The status of `topic` at `now` from the filter's counters `s` and
    /// the QoS report of its publishers (`None`: the graph was not read).
    pub fn update(
        &mut self,
        topic: &str,
        now: Stamp,
        s: &TfFilterStats,
        graph: Option<&QosReport>,
    ) -> TopicHealth {
        let prev = self.prev.replace((now, *s));
        let was = prev.map(|(_, p)| p).unwrap_or_default();
        let seconds = prev
            .map(|(t, _)| now.since(t).as_nanos() as f64 / 1e9)
            .filter(|s| *s > 0.0);
        let got = s.received.saturating_sub(was.received);
        let failed_now: Vec<String> = FailureReason::ALL
            .iter()
            .filter_map(|&r| {
                let n = s.failed(r).saturating_sub(was.failed(r));
                (n > 0).then(|| format!("{} {n}", r.as_str()))
            })
            .collect();
        let (level, message) = match graph {
            Some(r) if r.publishers == 0 => (Level::Error, "no publisher".to_string()),
            Some(r) if !r.ok() => (Level::Error, format!("incompatible QoS: {r}")),
            _ if !failed_now.is_empty() => (
                Level::Warn,
                format!("failed this period: {}", failed_now.join(", ")),
            ),
            _ => (Level::Ok, "ok".to_string()),
        };
        let settled = s.released + s.failed_total();
        let mut values = vec![
            (
                "rate_hz".to_string(),
                seconds.map_or("-".into(), |sec| format!("{:.2}", got as f64 / sec)),
            ),
            ("received".to_string(), s.received.to_string()),
            ("released".to_string(), s.released.to_string()),
            (
                "pending".to_string(),
                s.received.saturating_sub(settled).to_string(),
            ),
            ("failed".to_string(), s.failed_total().to_string()),
        ];
        for r in FailureReason::ALL {
            if s.failed(r) > 0 {
                values.push((format!("failed_{}", r.as_str()), s.failed(r).to_string()));
            }
        }
        values.push((
            "transforms_rejected".to_string(),
            s.transforms_rejected.to_string(),
        ));
        if let Some(r) = graph {
            values.push(("publishers".to_string(), r.publishers.to_string()));
        }
        TopicHealth {
            topic: topic.to_string(),
            level,
            message,
            values,
        }
    }
}

/// The statuses as one `DiagnosticArray`, each named `<node>: <topic>`.
pub fn to_message(node: &str, now: Stamp, health: &[TopicHealth]) -> DiagnosticArray {
    let (sec, nanosec) = now.to_ros().unwrap_or((0, 0));
    DiagnosticArray {
        header: Header {
            stamp: ::r2r::builtin_interfaces::msg::Time { sec, nanosec },
            frame_id: String::new(),
        },
        status: health
            .iter()
            .map(|h| DiagnosticStatus {
                level: h.level.as_byte(),
                name: format!("{node}: {}", h.topic),
                message: h.message.clone(),
                hardware_id: node.to_string(),
                values: h
                    .values
                    .iter()
                    .map(|(key, value)| KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Publishes [`Health`] on `/diagnostics` for a node's synchronizer.
pub struct DiagnosticsPublisher {
    publisher: Publisher<DiagnosticArray>,
    health: Health,
    tf: TfHealth,
    topics: Vec<String>,
    qos: QosProfile,
    name: String,
}

impl std::fmt::Debug for DiagnosticsPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagnosticsPublisher")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl DiagnosticsPublisher {
    /// A `/diagnostics` publisher for inputs `topics` (subscribed with
    /// `qos`, which the QoS check uses).
    pub fn new<S: AsRef<str>>(
        node: &mut Node,
        topics: &[S],
        qos: &QosProfile,
    ) -> Result<Self, ::r2r::Error> {
        Ok(DiagnosticsPublisher {
            publisher: node.create_publisher("/diagnostics", QosProfile::default())?,
            health: Health::new(topics),
            tf: TfHealth::new(),
            topics: topics.iter().map(|t| t.as_ref().to_string()).collect(),
            qos: qos.clone(),
            name: node.name()?,
        })
    }

    /// The middleware's lost totals per input for the next
    /// [`publish`](Self::publish): see [`Health::set_lost`].
    pub fn set_lost(&mut self, lost: &[Option<u64>]) {
        self.health.set_lost(lost);
    }

    /// Checks each topic's publishers, updates the statuses and publishes
    /// them. Returns the statuses.
    pub fn publish(
        &mut self,
        node: &Node,
        now: Stamp,
        d: &Diagnostics,
    ) -> Result<Vec<TopicHealth>, ::r2r::Error> {
        let graph = self.graph(node);
        let health = self.health.update(now, d, &graph);
        self.publisher
            .publish(&to_message(&self.name, now, &health))?;
        Ok(health)
    }

    /// As [`publish`](Self::publish) for a tf filter whose input is the
    /// first topic: one status from the filter's counters ([`TfHealth`]).
    pub fn publish_tf(
        &mut self,
        node: &Node,
        now: Stamp,
        stats: &TfFilterStats,
    ) -> Result<Vec<TopicHealth>, ::r2r::Error> {
        let graph = self.graph(node);
        let topic = self.topics.first().map_or("", String::as_str);
        let health =
            vec![
                self.tf
                    .update(topic, now, stats, graph.first().and_then(Option::as_ref)),
            ];
        self.publisher
            .publish(&to_message(&self.name, now, &health))?;
        Ok(health)
    }

    /// The QoS report of each input's publishers (`None` where the graph
    /// could not be read).
    fn graph(&self, node: &Node) -> Vec<Option<QosReport>> {
        self.topics
            .iter()
            .map(|t| qos_report(node, t, &self.qos).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use stamp_sync::driver::DynSynchronizer;
    use stamp_sync::policy::ExactTime;

    fn report(publishers: usize, incompatible: usize) -> Option<QosReport> {
        Some(QosReport {
            topic: "t".into(),
            publishers,
            incompatible: (0..incompatible)
                .map(|i| {
                    (
                        format!("n{i}"),
                        vec![super::super::qos::QosMismatch::Reliability],
                    )
                })
                .collect(),
        })
    }

    #[test]
    fn levels_follow_the_graph_and_the_counters() {
        let mut sync = DynSynchronizer::new(2, ExactTime::new(2).unwrap()).unwrap();
        let mut h = Health::new(&["a", "b"]);
        let s = Stamp::from_nanos;
        let first = h.update(s(0), &sync.diagnostics(), &[report(1, 0), report(0, 0)]);
        assert_eq!(first[0].level, Level::Ok);
        assert_eq!(
            (first[1].level, first[1].message.as_str()),
            (Level::Error, "no publisher")
        );
        let inc = h.update(s(1), &sync.diagnostics(), &[report(1, 0), report(2, 2)]);
        assert_eq!(inc[1].level, Level::Error);
        assert!(
            inc[1].message.starts_with("incompatible QoS"),
            "{}",
            inc[1].message
        );
        // Channel 0 flows, channel 1 is silent: stale; and channel 0
        // overflows (queue 2, stamps never complete).
        for t in 0..10 {
            let _ = sync.push(0, s(t)).unwrap().count();
        }
        let st = h.update(
            s(1_000_000_001),
            &sync.diagnostics(),
            &[report(1, 0), report(1, 0)],
        );
        assert_eq!(st[0].level, Level::Warn);
        assert!(st[0].message.contains("overflow"), "{}", st[0].message);
        assert_eq!(st[1].level, Level::Warn);
        assert!(st[1].message.starts_with("stale"), "{}", st[1].message);
        let rate = st[0].values.iter().find(|(k, _)| k == "rate_hz").unwrap();
        assert_eq!(rate.1, "10.00");
        assert!(
            st[0]
                .values
                .iter()
                .any(|(k, v)| k == "dropped_queue_overflow" && v == "8")
        );
        let msg = to_message("relay", s(5), &st);
        assert_eq!(msg.status[1].name, "relay: b");
        assert_eq!(msg.status[1].level, 1);
        assert_eq!(msg.status[0].hardware_id, "relay");
    }

    #[test]
    fn an_input_out_is_a_warning_naming_it_until_it_rejoins() {
        let s = Stamp::from_nanos;
        let mut sync = DynSynchronizer::builder(2, ExactTime::new(5).unwrap())
            .options(
                stamp_sync::Options::new().drop_out_after(stamp_sync::Duration::from_nanos(20)),
            )
            .build()
            .unwrap();
        let mut h = Health::new(&["image", "depth"]);
        for t in 0..5 {
            let _ = sync.push(0, s(t * 10)).unwrap().count();
        }
        let out = h.update(s(1), &sync.diagnostics(), &[report(1, 0), report(1, 0)]);
        assert_eq!(out[0].level, Level::Ok, "{}", out[0].message);
        assert_eq!(out[1].level, Level::Warn);
        assert_eq!(
            out[1].message,
            "dropped out: sets go on without it (5 so far)"
        );
        let value = |h: &TopicHealth, key: &str| {
            h.values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value(&out[1], "dropped_out").as_deref(), Some("1"));
        assert_eq!(value(&out[1], "partial_sets").as_deref(), Some("5"));
        let _ = sync.push(1, s(40)).unwrap().count();
        let back = h.update(s(2), &sync.diagnostics(), &[report(1, 0), report(1, 0)]);
        assert_eq!(back[1].level, Level::Ok, "{}", back[1].message);
        assert_eq!(value(&back[1], "rejoins").as_deref(), Some("1"));
    }

    #[test]
    fn messages_lost_on_the_way_are_a_value_and_a_warning_for_the_period() {
        let s = Stamp::from_nanos;
        let sync = DynSynchronizer::<Stamp, _>::new(2, ExactTime::new(5).unwrap()).unwrap();
        let mut h = Health::new(&["image", "info"]);
        let graph = [report(1, 0), report(1, 0)];
        let value = |h: &TopicHealth, key: &str| {
            h.values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let first = h.update(s(0), &sync.diagnostics(), &graph);
        assert_eq!(value(&first[0], "lost"), None, "not reported: no key");
        h.set_lost(&[Some(0), None]);
        let zero = h.update(s(1), &sync.diagnostics(), &graph);
        assert_eq!(value(&zero[0], "lost").as_deref(), Some("0"));
        assert_eq!(zero[0].level, Level::Ok);
        assert_eq!(value(&zero[1], "lost"), None);
        h.set_lost(&[Some(3), None]);
        let lost = h.update(s(2), &sync.diagnostics(), &graph);
        assert_eq!(lost[0].level, Level::Warn);
        assert_eq!(
            lost[0].message,
            "lost on the way: the middleware lost 3 messages this period"
        );
        assert_eq!(value(&lost[0], "lost").as_deref(), Some("3"));
        assert_eq!(lost[1].level, Level::Ok);
        // No new losses: OK again, the total stays.
        let after = h.update(s(3), &sync.diagnostics(), &graph);
        assert_eq!(
            (after[0].level, value(&after[0], "lost").as_deref()),
            (Level::Ok, Some("3"))
        );
    }

    #[test]
    fn a_tf_filter_input_warns_on_failures_of_the_period() {
        use stamp_sync_tf::{FramedSet, TfFilter};
        let mut f = TfFilter::builder()
            .target("map")
            .queue_size(1)
            .build::<FramedSet<u32>>()
            .unwrap();
        let s = Stamp::from_nanos;
        let value = |h: &TopicHealth, key: &str| {
            h.values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let mut h = TfHealth::new();
        let first = h.update("image", s(0), f.stats(), report(1, 0).as_ref());
        assert_eq!((first.level, first.message.as_str()), (Level::Ok, "ok"));
        assert_eq!(value(&first, "rate_hz").as_deref(), Some("-"));
        assert_eq!(first.topic, "image");
        // An empty frame id fails at once; two held messages with queue 1:
        // the older fails as queue_full; the newer stays pending.
        for (stamp, frame) in [(10, ""), (20, "cam"), (30, "cam")] {
            let _ = f.add(FramedSet::new(s(stamp), frame, 0), s(stamp)).count();
        }
        let w = h.update("image", s(500_000_000), f.stats(), report(1, 0).as_ref());
        assert_eq!(w.level, Level::Warn);
        assert_eq!(
            w.message,
            "failed this period: empty_frame_id 1, queue_full 1"
        );
        assert_eq!(value(&w, "rate_hz").as_deref(), Some("6.00"));
        assert_eq!(value(&w, "received").as_deref(), Some("3"));
        assert_eq!(value(&w, "released").as_deref(), Some("0"));
        assert_eq!(value(&w, "pending").as_deref(), Some("1"));
        assert_eq!(value(&w, "failed").as_deref(), Some("2"));
        assert_eq!(value(&w, "failed_queue_full").as_deref(), Some("1"));
        assert_eq!(value(&w, "failed_timeout"), None);
        assert_eq!(value(&w, "transforms_rejected").as_deref(), Some("0"));
        assert_eq!(value(&w, "publishers").as_deref(), Some("1"));
        // Nothing failed since: OK again; the graph decides first.
        let ok = h.update("image", s(1_500_000_000), f.stats(), report(1, 0).as_ref());
        assert_eq!(ok.level, Level::Ok);
        assert_eq!(value(&ok, "rate_hz").as_deref(), Some("0.00"));
        let none = h.update("image", s(2_500_000_000), f.stats(), report(0, 0).as_ref());
        assert_eq!(
            (none.level, none.message.as_str()),
            (Level::Error, "no publisher")
        );
        let bad = h.update("image", s(3_500_000_000), f.stats(), report(2, 2).as_ref());
        assert_eq!(bad.level, Level::Error);
        assert!(
            bad.message.starts_with("incompatible QoS"),
            "{}",
            bad.message
        );
        assert_eq!(value(&bad, "publishers").as_deref(), Some("2"));
        assert_eq!(
            value(
                &h.update("image", s(4_000_000_000), f.stats(), None),
                "publishers"
            ),
            None
        );
    }
}
