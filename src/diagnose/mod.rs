//! Live diagnosis: why a synchronizer on a running graph does not fire.
//! The engine behind `stamp-sync watch`, pure: arrivals, graph facts and
//! the time come in; per-topic statistics, the policy's sets and drops, and
//! [`Problem`]s with one line of advice each (from the same advisor as the
//! bag report, [`crate::advice`]) come out.
//!
//! ```
//! use stamp_sync_tools::diagnose::{Code, Diagnosis, Publisher, TopicGraph};
//! use stamp_sync::{Options, Stamp};
//! use stamp_sync::trace::PolicyConfig;
//!
//! let t0 = Stamp::from_nanos(1_000_000_000_000);
//! let topics = ["/image".to_string(), "/info".to_string()];
//! let mut d = Diagnosis::new(&topics, PolicyConfig::approximate(10), Options::new(), t0).unwrap();
//! let publisher = Publisher { node: "/camera".into(), qos: "reliable, volatile".into(), never_matches: vec![] };
//! d.graph(0, TopicGraph { type_name: Some("sensor_msgs/msg/Image".into()), has_header: Some(true), publishers: vec![publisher] });
//! d.graph(1, TopicGraph::default()); // on the graph, nobody publishes it
//! let changes = d.check(t0 + stamp_sync::Duration::from_secs(4));
//! assert_eq!(changes.appeared[0].code, Code::NoPublisher);
//! ```
//!
//! What counts as a problem, and when (all on the arrival clock given):
//!
//! | code | when |
//! |---|---|
//! | `no_publisher` | the graph shows no publisher, 4 s after watching began, and nothing arrives |
//! | `qos_incompatible` | a publisher that a `reliable` or a `sensor_data` subscriber could never match (once discovery has named its node, or 1 s after the publisher showed) |
//! | `no_header` | the type has no `std_msgs/Header` first field |
//! | `never_equal` | ExactTime, no set for 10 s, and two topics' recent stamps (5 or more each) have none in common |
//! | `clock_mismatch` | a topic's stamp age at arrival is more than 1 s away from that of the topic stamped nearest its arrival |
//! | `stale` | silent for more than 3 periods (and 0.5 s) while another topic flows; or nothing 5 s after the graph showed a publisher |
//! | `message_lost` | the middleware reported messages lost on the way to the subscription (`RMW_EVENT_MESSAGE_LOST`) |
//! | `queue_overflow` | overflow drops not explained by a stale, missing, never-equal or other-clock topic (found now or in the last 3 s) |
//! | `out_of_order` | a stamp older than the one before it on the same topic |
//! | `dropped_out` | with `--drop-out-after`: the topic is out, sets go on without it (resolved when it rejoins) |
//!
//! Event-like problems (`message_lost`, `queue_overflow`, `out_of_order`) stay active for
//! 3 s after their last occurrence; any problem is resolved after 1 s
//! without being found.
//!
//! The policy runs on the stamps exactly as `stamp-sync match` replays a
//! trace (the header stamps double as the arrival clock), from the first
//! moment every topic has delivered a message (before that, the order in
//! which DDS matched the subscriptions would count as drops). The arrivals
//! it is fed ([`Diagnosis::arrive`] returns `true`) are the trace that
//! `match` replays into the same sets.

use std::collections::{BTreeMap, VecDeque};

mod detect;
mod topic;

use topic::{LAST_SETS, RECENT, SET_TIMES, TopicState};

use crate::advice;
use crate::counts::Counts;
use stamp_sync::driver::follow::FollowSynchronizer;
use stamp_sync::driver::{DynSynchronizer, Event, Options, Stats};
use stamp_sync::policy::FollowConfig;
use stamp_sync::policy::{AnyPolicy, ConfigError, DropReason, PolicyConfig};
use stamp_sync::time::{Duration, Stamp};
use stamp_sync::trace::TraceMsg;

/// A problem's code: stable, in the JSON report.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// No publisher on a topic.
    NoPublisher,
    /// A publisher that a given subscriber QoS could never match.
    QosIncompatible,
    /// The type has no `std_msgs/Header` first field.
    NoHeader,
    /// ExactTime: the stamps of two topics never coincide.
    NeverEqual,
    /// One topic's stamps are more than 1 s away from the others'.
    ClockMismatch,
    /// A topic silent for more than 3 periods while others flow.
    Stale,
    /// The middleware lost messages on the way (best-effort gaps).
    MessageLost,
    /// A queue overflowed.
    QueueOverflow,
    /// Stamps going backwards on one topic.
    OutOfOrder,
    /// A topic left the sets (option `--drop-out-after`): sets go on
    /// without it.
    DroppedOut,
}

impl Code {
    /// Every code, in the order the live view lists them.
    pub const ALL: [Code; 10] = [
        Code::NoPublisher,
        Code::QosIncompatible,
        Code::NoHeader,
        Code::NeverEqual,
        Code::ClockMismatch,
        Code::Stale,
        Code::MessageLost,
        Code::QueueOverflow,
        Code::OutOfOrder,
        Code::DroppedOut,
    ];

    /// The code as the report spells it, e.g. `queue_overflow`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::NoPublisher => "no_publisher",
            Code::QosIncompatible => "qos_incompatible",
            Code::NoHeader => "no_header",
            Code::NeverEqual => "never_equal",
            Code::ClockMismatch => "clock_mismatch",
            Code::Stale => "stale",
            Code::MessageLost => "message_lost",
            Code::QueueOverflow => "queue_overflow",
            Code::OutOfOrder => "out_of_order",
            Code::DroppedOut => "dropped_out",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found: which topics, what, and one line of advice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Its code.
    pub code: Code,
    /// The topics involved (the one at fault first).
    pub topics: Vec<String>,
    /// What was seen, for people.
    pub message: String,
    /// What to do about it.
    pub advice: String,
}

/// A subscriber QoS profile a publisher is checked against.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberQos {
    /// Reliable, volatile: the rclcpp and rclpy default.
    Reliable,
    /// Best effort, volatile: `sensor_data`.
    SensorData,
}

impl SubscriberQos {
    /// The profile's name, `reliable` or `sensor_data`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SubscriberQos::Reliable => "reliable",
            SubscriberQos::SensorData => "sensor_data",
        }
    }
}

/// A publisher of a topic, as the graph shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publisher {
    /// Its node, fully qualified; empty while discovery has not named it.
    pub node: String,
    /// Its QoS in words, e.g. `best_effort, volatile`.
    pub qos: String,
    /// The subscriber profiles that can never match it, each with why.
    pub never_matches: Vec<(SubscriberQos, String)>,
}

/// What the graph says of one topic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicGraph {
    /// Its type, `pkg/msg/Type`, if the graph knows the topic.
    pub type_name: Option<String>,
    /// Whether the type starts with a `std_msgs/Header` (`None`: not known).
    pub has_header: Option<bool>,
    /// Its publishers.
    pub publishers: Vec<Publisher>,
}

/// When the diagnosis calls something a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// A topic is stale after this many of its periods without a message...
    pub stale_periods: i64,
    /// ... and at least this long.
    pub stale_min: Duration,
    /// A topic whose period is not known yet (fewer than 3 messages) is
    /// stale after this long.
    pub silent_unknown: Duration,
    /// A topic that never delivered is stale this long after the graph
    /// first showed a publisher of it.
    pub first_message: Duration,
    /// Stamp ages at arrival further apart than this are a clock mismatch.
    pub clock_tolerance: Duration,
    /// Time for discovery before a topic without publishers is reported.
    pub graph_grace: Duration,
    /// How long a publisher's QoS problem waits for discovery to name its
    /// node (from the first check that saw a publisher on the topic).
    pub name_wait: Duration,
    /// Rates, ages, offsets and `never_equal` look at this much history.
    pub window: Duration,
    /// Event-like problems stay active this long after their last event.
    pub recent: Duration,
    /// A problem not found for this long is resolved.
    pub resolve_after: Duration,
    /// Stamps per topic needed before `never_equal`.
    pub min_stamps: usize,
    /// Arrivals kept for the advisor's queue-size search.
    pub history: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            stale_periods: 3,
            stale_min: Duration::from_millis(500),
            silent_unknown: Duration::from_secs(3),
            first_message: Duration::from_secs(5),
            clock_tolerance: Duration::from_secs(1),
            // Fast DDS announces a participant every 3 s after its first
            // burst: one missed burst must not read as "no publisher".
            graph_grace: Duration::from_secs(4),
            name_wait: Duration::from_secs(1),
            window: Duration::from_secs(10),
            recent: Duration::from_secs(3),
            resolve_after: Duration::from_secs(1),
            min_stamps: 5,
            history: 20_000,
        }
    }
}

/// A problem as the log keeps it.
#[derive(Clone, Debug)]
struct Seen {
    problem: Problem,
    first: Stamp,
    last: Stamp,
    active: bool,
}

/// What one [`Diagnosis::check`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Problems found now that were not active before.
    pub appeared: Vec<Problem>,
    /// Problems no longer found.
    pub resolved: Vec<Problem>,
}

/// One topic in a [`Report`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TopicReport {
    /// The topic.
    pub topic: String,
    /// Its type, if known.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Messages that arrived, also before the policy ran (it starts once
    /// every topic has delivered).
    pub arrived: u64,
    /// The policy's counts: messages it received, emitted in a set,
    /// dropped by reason and queued now.
    #[serde(flatten)]
    pub counts: Counts,
    /// Messages per second over the last 10 s.
    pub rate_hz: f64,
    /// Publishers, by node name.
    pub publishers: Vec<String>,
    /// Median stamp age at arrival (arrival minus stamp), ns.
    pub age_ns: Option<i64>,
    /// Median offset of its stamps to the nearest stamps of the first
    /// topic (this minus first), ns; `None` for the first topic.
    pub offset_ns: Option<i64>,
    /// Messages whose stamp could not be read.
    pub unreadable: u64,
    /// Stamps older than the one before.
    pub out_of_order: u64,
    /// Messages the middleware reported lost on the way, since watching
    /// began; `None` where it reports nothing.
    pub lost: Option<u64>,
}

/// One problem in a [`Report`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProblemReport {
    /// Its code.
    pub code: Code,
    /// The topics involved.
    pub topics: Vec<String>,
    /// What was seen (the latest wording).
    pub message: String,
    /// What to do about it.
    pub advice: String,
    /// Seconds after watching began it was first found.
    pub first_seen_s: f64,
    /// Seconds after watching began it was last found.
    pub last_seen_s: f64,
    /// Still found.
    pub active: bool,
}

/// The state of the diagnosis: what the live view shows and the final
/// report prints.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// Seconds since watching began.
    pub seconds: f64,
    /// The policy's name.
    pub policy: &'static str,
    /// Its queue size, if it has one.
    pub queue_size: Option<usize>,
    /// Sets emitted.
    pub sets: u64,
    /// Sets per second over the last 10 s.
    pub sets_per_s: f64,
    /// Drops by reason name, all topics.
    pub drops: BTreeMap<&'static str, u64>,
    /// Per topic, in `--topic` order.
    pub topics: Vec<TopicReport>,
    /// The problems (active only, or every one seen: see [`Diagnosis::report`]).
    pub problems: Vec<ProblemReport>,
    /// The last sets, oldest first: per set the stamps (ns) in topic order.
    pub last_sets: Vec<Vec<i64>>,
    /// The smallest queue size without overflow on the arrivals fed to the
    /// policy, when a queue overflowed.
    pub min_queue_size_without_overflow: Option<usize>,
    /// Arrivals fed to the policy (the recorded trace's lines).
    pub arrivals: usize,
    /// Whether the policy runs: it starts once every topic has delivered.
    pub policy_running: bool,
}

/// The live diagnosis of 2 to 9 topics; see the [module docs](self).
pub struct Diagnosis {
    topics: Vec<TopicState>,
    config: PolicyConfig,
    th: Thresholds,
    sync: DynSynchronizer<TraceMsg, AnyPolicy>,
    /// With `--policy follow`: the follower policy runs instead of `sync`.
    follow: Option<FollowSynchronizer<TraceMsg>>,
    start: Stamp,
    /// When every topic had delivered: the policy runs from then on.
    running_since: Option<Stamp>,
    fed: usize,
    /// The last arrivals fed to the policy, for the advisor.
    history: VecDeque<TraceMsg>,
    set_times: VecDeque<Stamp>,
    last_sets: VecDeque<Vec<i64>>,
    /// Overflow drops per channel at the last check.
    overflow_prev: Vec<u64>,
    /// Overflow drops not yet attributed (time, per channel).
    overflow_pending: VecDeque<(Stamp, Vec<u64>)>,
    /// Overflow drops confirmed as a queue problem (time, per channel).
    overflow_events: VecDeque<(Stamp, Vec<u64>)>,
    overflow_confirmed: u64,
    /// (computed at, arrivals fed then, result)
    min_queue: Option<(Stamp, usize, Option<usize>)>,
    log: Vec<Seen>,
}

impl std::fmt::Debug for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diagnosis")
            .field("topics", &self.topics.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A publisher's node for people (`?` while discovery has not named it).
fn node_name(node: &str) -> &str {
    if node.is_empty() { "?" } else { node }
}

fn secs(d: Duration) -> String {
    advice::human_duration(d.as_nanos())
}

impl Diagnosis {
    /// Diagnoses `topics` (2 to 9, the channel order) with the policy
    /// `config` and driver `options`; watching begins at `now`.
    pub fn new(
        topics: &[String],
        config: PolicyConfig,
        options: Options,
        now: Stamp,
    ) -> Result<Self, ConfigError> {
        Self::with_thresholds(topics, config, options, now, Thresholds::default())
    }

    /// As [`new`](Self::new), with other thresholds.
    pub fn with_thresholds(
        topics: &[String],
        config: PolicyConfig,
        options: Options,
        now: Stamp,
        thresholds: Thresholds,
    ) -> Result<Self, ConfigError> {
        let n = topics.len();
        let sync = DynSynchronizer::builder(n, config.build()?)
            .options(options)
            .build()?;
        Ok(Diagnosis {
            topics: topics.iter().map(|t| TopicState::new(t)).collect(),
            config,
            sync,
            follow: None,
            start: now,
            running_since: None,
            fed: 0,
            history: VecDeque::new(),
            set_times: VecDeque::new(),
            last_sets: VecDeque::new(),
            overflow_prev: vec![0; n],
            overflow_pending: VecDeque::new(),
            overflow_events: VecDeque::new(),
            overflow_confirmed: 0,
            min_queue: None,
            log: Vec::new(),
            th: thresholds,
        })
    }

    /// Diagnoses `topics` with the follower policy `config` (`--policy
    /// follow`); watching begins at `now`.
    pub fn following(
        topics: &[String],
        config: &FollowConfig,
        now: Stamp,
        thresholds: Thresholds,
    ) -> Result<Self, ConfigError> {
        let placeholder = PolicyConfig::approximate(config.queue_size);
        let mut d = Self::with_thresholds(topics, placeholder, Options::new(), now, thresholds)?;
        d.follow = Some(FollowSynchronizer::new(topics.len(), config)?);
        Ok(d)
    }

    /// The counters of the policy running.
    fn stats(&self) -> &Stats {
        match &self.follow {
            Some(f) => f.stats(),
            None => self.sync.stats(),
        }
    }

    /// Messages queued on `channel` by the policy running.
    fn queued(&self, channel: usize) -> usize {
        match &self.follow {
            Some(f) => f.queued(channel),
            None => self.sync.queued(channel),
        }
    }

    /// The policy's name, as the report spells it.
    fn policy_name(&self) -> &'static str {
        match &self.follow {
            Some(_) => "follow",
            None => self.config.kind().name(),
        }
    }

    /// The queue size of the policy running.
    fn queue_size(&self) -> Option<usize> {
        match &self.follow {
            Some(f) => Some(f.policy().config().queue_size),
            None => self.config.queue_size(),
        }
    }

    /// The topics, in channel order.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| t.name.as_str())
    }

    /// What the graph says of topic `channel` now.
    pub fn graph(&mut self, channel: usize, graph: TopicGraph) {
        if let Some(t) = self.topics.get_mut(channel) {
            t.graph = Some(graph);
        }
    }

    /// The middleware's count of messages lost on the way to `channel`'s
    /// subscription is `total` at `now` (it only grows).
    pub fn lost(&mut self, channel: usize, total: u64, now: Stamp) {
        if let Some(t) = self.topics.get_mut(channel) {
            t.lost(total, now);
        }
    }

    /// A message on `channel` whose stamp could not be read.
    pub fn unreadable(&mut self, channel: usize) {
        if let Some(t) = self.topics.get_mut(channel) {
            t.unreadable += 1;
        }
    }

    /// A message with `stamp` arrived on `channel` at `arrival`. Returns
    /// whether it was fed to the policy (then it belongs to the recorded
    /// trace).
    pub fn arrive(&mut self, channel: usize, stamp: Stamp, arrival: Stamp) -> bool {
        let Some(t) = self.topics.get_mut(channel) else {
            return false;
        };
        t.received += 1;
        if let Some(prev) = t.last_stamp {
            if stamp < prev {
                t.backwards += 1;
                t.backwards_max = t.backwards_max.max(prev.since(stamp));
                t.last_backwards = Some(arrival);
            }
        }
        t.last_stamp = Some(stamp);
        if t.recent.len() == RECENT {
            t.recent.pop_front();
        }
        t.recent.push_back((arrival, stamp));
        if self.running_since.is_none() {
            if self.topics.iter().any(|t| t.received == 0) {
                return false;
            }
            self.running_since = Some(arrival);
        }
        self.feed(channel, stamp, arrival);
        true
    }

    fn feed(&mut self, channel: usize, stamp: Stamp, arrival: Stamp) {
        let msg = TraceMsg {
            index: self.fed,
            channel,
            stamp,
        };
        self.fed += 1;
        if self.history.len() >= self.th.history.max(1) {
            self.history.pop_front();
        }
        self.history.push_back(msg);
        if let Some(f) = &mut self.follow {
            let sets: Vec<Vec<i64>> =
                (f.push(channel, msg, stamp))
                    .filter_map(Event::into_set)
                    .map(|s| {
                        let mut v = vec![s.driver.stamp.as_nanos()];
                        v.extend(s.followers.iter().flat_map(|(_, p)| {
                            p.messages().into_iter().map(|m| m.stamp.as_nanos())
                        }));
                        v
                    })
                    .collect();
            for set in sets {
                self.record_set(arrival, set);
            }
            return;
        }
        let Ok(events) = self.sync.push_stamped(channel, msg, stamp, stamp) else {
            return;
        };
        let sets: Vec<Vec<i64>> = events
            .into_iter()
            .filter_map(Event::into_set)
            .map(|set| set.iter().map(|m| m.stamp.as_nanos()).collect())
            .collect();
        for set in sets {
            self.record_set(arrival, set);
        }
    }

    /// A set came out at `arrival`, with these member stamps.
    fn record_set(&mut self, arrival: Stamp, stamps: Vec<i64>) {
        if self.set_times.len() == SET_TIMES {
            self.set_times.pop_front();
        }
        self.set_times.push_back(arrival);
        if self.last_sets.len() == LAST_SETS {
            self.last_sets.pop_front();
        }
        self.last_sets.push_back(stamps);
    }

    /// Looks for problems at `now` and returns what changed since the
    /// last check.
    pub fn check(&mut self, now: Stamp) -> Changes {
        let found = self.detect(now);
        let mut changes = Changes::default();
        for p in &found {
            match self
                .log
                .iter_mut()
                .find(|s| s.problem.code == p.code && s.problem.topics == p.topics)
            {
                Some(s) => {
                    s.problem = p.clone();
                    s.last = now;
                    if !s.active {
                        s.active = true;
                        changes.appeared.push(p.clone());
                    }
                }
                None => {
                    self.log.push(Seen {
                        problem: p.clone(),
                        first: now,
                        last: now,
                        active: true,
                    });
                    changes.appeared.push(p.clone());
                }
            }
        }
        for s in &mut self.log {
            if s.active && s.last < now && now.since(s.last) >= self.th.resolve_after {
                s.active = false;
                changes.resolved.push(s.problem.clone());
            }
        }
        changes
    }

    /// The problems active now, in [`Code::ALL`] order.
    pub fn active(&self) -> Vec<Problem> {
        let mut v: Vec<Problem> = self
            .log
            .iter()
            .filter(|s| s.active)
            .map(|s| s.problem.clone())
            .collect();
        v.sort_by_key(|p| p.code);
        v
    }

    fn detect(&mut self, now: Stamp) -> Vec<Problem> {
        for t in &mut self.topics {
            if t.publishers_since.is_none() && t.publishers().unwrap_or(0) > 0 {
                t.publishers_since = Some(now);
            }
        }
        // Each detector on its own, in any order; then the overflow check,
        // told what they found.
        let mut out = Vec::new();
        self.graph_problems(now, &mut out);
        self.stale(now, &mut out);
        self.message_lost(now, &mut out);
        self.follower_behind(&mut out);
        self.never_equal(now, &mut out);
        self.clock_mismatch(now, &mut out);
        self.out_of_order(now, &mut out);
        self.dropped_out(&mut out);
        out.extend(self.queue_overflow(now, &out.clone()));
        out
    }

    /// The state at `now`: with `all`, every problem seen since watching
    /// began (the final report); otherwise the active ones (the live view).
    pub fn report(&mut self, now: Stamp, all: bool) -> Report {
        let w = self.th.window;
        let stats = self.stats().clone();
        let first: Vec<i64> = self
            .topics
            .first()
            .map(|t| t.stamps(now, w))
            .unwrap_or_default();
        let topics = self
            .topics
            .iter()
            .enumerate()
            .map(|(ch, t)| {
                let c = stats.channels.get(ch).cloned().unwrap_or_default();
                // From the topic with fewer stamps (a silent one has few):
                // each finds its nearest in the other.
                let offset_ns = (ch > 0)
                    .then(|| {
                        let mine = t.stamps(now, w);
                        let mut d: Vec<i64> = if mine.len() <= first.len() {
                            advice::nearest_offsets(&mine, &first)
                                .into_iter()
                                .map(i64::saturating_neg)
                                .collect()
                        } else {
                            advice::nearest_offsets(&first, &mine)
                        };
                        advice::Summary::of(&mut d).map(|s| s.median_ns)
                    })
                    .flatten();
                TopicReport {
                    topic: t.name.clone(),
                    type_name: t.graph.as_ref().and_then(|g| g.type_name.clone()),
                    arrived: t.received,
                    counts: Counts::of(&c, self.queued(ch)),
                    rate_hz: t.rate_hz(now, &self.th),
                    publishers: t
                        .graph
                        .as_ref()
                        .map(|g| {
                            g.publishers
                                .iter()
                                .map(|p| node_name(&p.node).to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    age_ns: t.age(now, w, 1),
                    offset_ns,
                    unreadable: t.unreadable,
                    out_of_order: t.backwards,
                    lost: t.lost_total(),
                }
            })
            .collect();
        let mut drops = BTreeMap::new();
        for r in DropReason::ALL {
            let n: u64 = stats.channels.iter().map(|c| c.dropped_for(r)).sum();
            if n > 0 {
                drops.insert(r.as_str(), n);
            }
        }
        let since = |t: Stamp| t.since(self.start).as_nanos() as f64 / 1e9;
        let mut problems: Vec<ProblemReport> = self
            .log
            .iter()
            .filter(|s| all || s.active)
            .map(|s| ProblemReport {
                code: s.problem.code,
                topics: s.problem.topics.clone(),
                message: s.problem.message.clone(),
                advice: s.problem.advice.clone(),
                first_seen_s: since(s.first),
                last_seen_s: since(s.last),
                active: s.active,
            })
            .collect();
        problems.sort_by_key(|p| p.code);
        let overflowed = self.overflow_confirmed > 0;
        if all && overflowed && self.min_queue.is_none_or(|(_, fed, _)| fed != self.fed) {
            let q = self.min_queue_now();
            self.min_queue = Some((now, self.fed, q));
        }
        // Over the window, since the policy runs, and over the sets kept.
        let mut sets_span = self
            .running_since
            .map_or(Duration::ZERO, |r| now.since(r).min(w));
        if let (SET_TIMES, Some(oldest)) = (self.set_times.len(), self.set_times.front()) {
            sets_span = sets_span.min(now.since(*oldest));
        }
        let sets_per_s = if sets_span > Duration::ZERO {
            self.sets_within(now) as f64 * 1e9 / sets_span.as_nanos() as f64
        } else {
            0.0
        };
        Report {
            seconds: since(now),
            policy: self.policy_name(),
            queue_size: self.queue_size(),
            sets: stats.sets,
            sets_per_s,
            drops,
            topics,
            problems,
            last_sets: self.last_sets.iter().cloned().collect(),
            min_queue_size_without_overflow: if overflowed {
                self.min_queue.and_then(|(_, _, q)| q)
            } else {
                None
            },
            arrivals: self.fed,
            policy_running: self.running_since.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T0: i64 = 1_000_000_000_000_000_000;

    fn at(ms: i64) -> Stamp {
        Stamp::from_nanos(T0 + ms * 1_000_000)
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("/t{i}")).collect()
    }

    fn diag(n: usize, config: PolicyConfig) -> Diagnosis {
        Diagnosis::new(&names(n), config, Options::new(), at(0)).unwrap()
    }

    fn publisher(node: &str) -> Publisher {
        Publisher {
            node: node.into(),
            qos: "reliable, volatile".into(),
            never_matches: vec![],
        }
    }

    fn header_graph(publishers: Vec<Publisher>) -> TopicGraph {
        TopicGraph {
            type_name: Some("sensor_msgs/msg/Image".into()),
            has_header: Some(true),
            publishers,
        }
    }

    /// Every topic gets a message every `period_ms` from `from` to `to`
    /// (exclusive), stamped `stamp(ch, k)` ms, arriving at `k` ms; topics
    /// in `silent` get nothing.
    fn flow(
        d: &mut Diagnosis,
        from: i64,
        to: i64,
        period_ms: i64,
        silent: &[usize],
        stamp: impl Fn(usize, i64) -> i64,
    ) {
        let n = d.topics.len();
        // On the global grid of `period_ms`.
        let mut k = (from + period_ms - 1).div_euclid(period_ms) * period_ms;
        while k < to {
            for ch in (0..n).filter(|c| !silent.contains(c)) {
                d.arrive(ch, at(stamp(ch, k)), at(k));
            }
            k += period_ms;
        }
    }

    fn codes(p: &[Problem]) -> Vec<Code> {
        p.iter().map(|p| p.code).collect()
    }

    fn checked(d: &mut Diagnosis, ms: i64) -> Vec<Problem> {
        d.check(at(ms));
        d.active()
    }

    #[test]
    fn codes_are_spelled_as_the_report_spells_them() {
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "no_publisher",
                "qos_incompatible",
                "no_header",
                "never_equal",
                "clock_mismatch",
                "stale",
                "message_lost",
                "queue_overflow",
                "out_of_order",
                "dropped_out"
            ]
        );
        assert_eq!(Code::Stale.to_string(), "stale");
        assert_eq!(SubscriberQos::Reliable.as_str(), "reliable");
        assert_eq!(SubscriberQos::SensorData.as_str(), "sensor_data");
    }

    #[test]
    fn a_healthy_graph_has_no_problem() {
        let mut d = diag(3, PolicyConfig::approximate(10));
        for ch in 0..3 {
            d.graph(ch, header_graph(vec![publisher("/cam")]));
        }
        for step in 0..20 {
            flow(&mut d, step * 500, (step + 1) * 500, 33, &[], |ch, k| {
                k - 5 - ch as i64
            });
            let changes = d.check(at((step + 1) * 500));
            assert_eq!(changes, Changes::default(), "at step {step}");
        }
        let r = d.report(at(10_000), true);
        assert!(r.problems.is_empty());
        assert!(r.sets > 250, "{}", r.sets);
        assert_eq!(r.min_queue_size_without_overflow, None);
        assert!(r.policy_running);
        approx::assert_relative_eq!(r.topics[0].rate_hz, 1000.0 / 33.0, max_relative = 1e-9);
        approx::assert_relative_eq!(r.sets_per_s, 1000.0 / 33.0, max_relative = 0.02);
        assert_eq!(r.topics[1].age_ns, Some(6_000_000));
        assert_eq!(r.topics[0].offset_ns, None);
        assert_eq!(r.topics[2].offset_ns, Some(-2_000_000));
        assert_eq!(r.topics[0].publishers, ["/cam"]);
        assert_eq!(
            r.topics[0].type_name.as_deref(),
            Some("sensor_msgs/msg/Image")
        );
        assert_eq!(r.last_sets.len(), LAST_SETS);
        let last = r.last_sets.last().unwrap();
        assert_eq!(last[0] - last[1], 1_000_000);
        assert_eq!(r.policy, "approximate");
        assert_eq!(r.queue_size, Some(10));
        approx::assert_relative_eq!(r.seconds, 10.0);
        // The first message of each topic but the last to deliver waited.
        assert_eq!(
            r.arrivals as u64,
            r.topics.iter().map(|t| t.arrived).sum::<u64>() - 2
        );
    }

    #[test]
    fn the_policy_starts_when_every_topic_has_delivered() {
        let mut d = diag(
            2,
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 5 }),
        );
        assert!(!d.arrive(0, at(1), at(1)));
        assert!(!d.arrive(0, at(2), at(2)));
        assert!(!d.report(at(2), false).policy_running);
        assert!(d.arrive(1, at(2), at(3)));
        assert!(d.arrive(0, at(3), at(4)));
        assert!(!d.arrive(7, at(3), at(4)));
        let r = d.report(at(5), false);
        assert_eq!(r.arrivals, 2);
        assert_eq!(r.sets, 0);
        assert_eq!(r.topics[0].arrived, 3);
        // The policy got the last of them: queued, balanced.
        assert_eq!(r.topics[0].counts.received, 1);
        assert_eq!(r.topics[0].counts.emitted, 0);
        assert_eq!(r.topics[0].counts.queued, 1);
        assert!(r.topics.iter().all(|t| t.counts.balanced()));
        assert!(d.arrive(1, at(3), at(5)));
        let r = d.report(at(5), false);
        assert_eq!((r.sets, r.topics[1].counts.emitted), (1, 1));
        assert_eq!(r.last_sets, [vec![at(3).as_nanos(), at(3).as_nanos()]]);
        d.unreadable(1);
        d.unreadable(9);
        assert_eq!(d.report(at(5), false).topics[1].unreadable, 1);
        assert_eq!(d.topics().collect::<Vec<_>>(), ["/t0", "/t1"]);
    }

    #[test]
    fn no_publisher_after_the_grace_and_only_while_nothing_arrives() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        d.graph(0, header_graph(vec![publisher("/a")]));
        d.graph(1, TopicGraph::default());
        d.graph(5, TopicGraph::default());
        assert!(checked(&mut d, 3_999).is_empty());
        let p = checked(&mut d, 4_000);
        assert_eq!(codes(&p), [Code::NoPublisher]);
        assert_eq!(p[0].topics, ["/t1"]);
        assert!(
            p[0].message.contains("nothing of that name"),
            "{}",
            p[0].message
        );
        assert!(p[0].advice.contains("/t1"));
        // The graph lags: messages arriving mean someone publishes.
        let mut d = diag(2, PolicyConfig::approximate(10));
        d.graph(0, header_graph(vec![publisher("/a")]));
        d.graph(1, header_graph(vec![]));
        flow(&mut d, 0, 4_000, 100, &[], |_, k| k);
        assert!(checked(&mut d, 4_000).is_empty());
        let p = checked(&mut d, 7_100);
        assert_eq!(codes(&p), [Code::NoPublisher]);
        assert!(p[0].message.contains("the topic is on the graph"));
    }

    #[test]
    fn qos_incompatible_names_the_publisher_and_the_profile() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        let mut be = publisher("/camera_driver");
        be.qos = "best_effort, volatile".into();
        be.never_matches = vec![(SubscriberQos::Reliable, "subscription is RELIABLE".into())];
        let mut unnamed = be.clone();
        unnamed.node = String::new();
        d.graph(0, header_graph(vec![publisher("/ok"), unnamed.clone()]));
        d.graph(1, header_graph(vec![publisher("/ok")]));
        assert!(checked(&mut d, 10).is_empty(), "no name yet");
        assert!(checked(&mut d, 1_009).is_empty(), "no name yet");
        assert_eq!(d.report(at(10), false).topics[0].publishers, ["/ok", "?"]);
        d.graph(0, header_graph(vec![publisher("/ok"), be]));
        let p = checked(&mut d, 20);
        assert_eq!(codes(&p), [Code::QosIncompatible]);
        assert_eq!(p[0].topics, ["/t0"]);
        assert!(
            p[0].message
                .contains("publisher /camera_driver offers best_effort, volatile")
                && p[0]
                    .message
                    .contains("a reliable subscriber never matches it (subscription is RELIABLE)")
                && !p[0].message.contains("/ok"),
            "{}",
            p[0].message
        );
        assert!(p[0].advice.contains("sensor_data"));
        // Still unnamed a second later: reported all the same.
        let mut d = diag(2, PolicyConfig::approximate(10));
        d.graph(0, header_graph(vec![unnamed]));
        assert!(checked(&mut d, 500).is_empty());
        assert!(checked(&mut d, 1_499).is_empty());
        let p = checked(&mut d, 1_500);
        assert!(
            p[0].message.contains("publisher ? offers"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn no_header_is_not_stale() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        d.graph(0, header_graph(vec![publisher("/a")]));
        d.graph(
            1,
            TopicGraph {
                type_name: Some("std_msgs/msg/String".into()),
                has_header: Some(false),
                publishers: vec![publisher("/words")],
            },
        );
        flow(&mut d, 0, 5_000, 50, &[1], |_, k| k);
        let p = checked(&mut d, 5_000);
        assert_eq!(codes(&p), [Code::NoHeader]);
        assert!(
            p[0].message.starts_with("/t1 is std_msgs/msg/String"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn a_topic_with_publishers_that_never_delivers_is_stale() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        d.graph(0, header_graph(vec![publisher("/a")]));
        d.graph(1, TopicGraph::default());
        flow(&mut d, 0, 1_000, 50, &[1], |_, k| k);
        d.check(at(1_000));
        // The publisher shows up at 1 s.
        d.graph(1, header_graph(vec![publisher("/b")]));
        assert!(checked(&mut d, 1_000).is_empty());
        flow(&mut d, 1_000, 6_000, 50, &[1], |_, k| k);
        assert!(checked(&mut d, 6_000).is_empty());
        flow(&mut d, 6_000, 6_100, 50, &[1], |_, k| k);
        let p = checked(&mut d, 6_050);
        assert_eq!(codes(&p), [Code::Stale]);
        assert!(
            p[0].message
                .contains("no message in 5.050 s since the graph showed its 1 publisher(s)"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn dropped_out_names_the_topic_and_resolves_when_it_rejoins() {
        let opts = Options::new().drop_out_after(Duration::from_millis(200));
        let mut d = Diagnosis::new(&names(2), PolicyConfig::approximate(10), opts, at(0)).unwrap();
        flow(&mut d, 0, 1_000, 100, &[], |_, k| k);
        assert!(!codes(&checked(&mut d, 1_000)).contains(&Code::DroppedOut));
        // Topic 1 stops: 200 ms behind on the stamps, it is out.
        flow(&mut d, 1_000, 2_000, 100, &[1], |_, k| k);
        let p = checked(&mut d, 2_000);
        let out: Vec<&Problem> = p.iter().filter(|p| p.code == Code::DroppedOut).collect();
        assert_eq!(out.len(), 1, "{p:?}");
        assert_eq!(out[0].topics, ["/t1"]);
        assert_eq!(
            out[0].message,
            format!(
                "/t1: out since stamp {}; 10 sets went out without it",
                at(1_200)
            )
        );
        assert_eq!(d.sync.stats().channels[1].sets_without, 10);
        // Back: resolved a second later, as every problem.
        flow(&mut d, 2_000, 3_200, 100, &[], |_, k| k);
        let c = d.check(at(3_200));
        assert_eq!(
            c.resolved
                .iter()
                .filter(|p| p.code == Code::DroppedOut)
                .count(),
            1,
            "{c:?}"
        );
    }

    #[test]
    fn follow_reports_sets_and_a_follower_that_lags_the_driver() {
        use stamp_sync::policy::{FollowConfig, Mode};
        let config = FollowConfig::new(0).follow(1, Mode::Before).queue_size(50);
        let mut d = Diagnosis::following(&names(2), &config, at(0), Thresholds::default()).unwrap();
        // The follower's stamps trail by 50 ms: each frame waits one tick.
        flow(
            &mut d,
            0,
            1_000,
            100,
            &[],
            |ch, k| if ch == 1 { k - 50 } else { k },
        );
        assert!(checked(&mut d, 1_000).is_empty());
        let r = d.report(at(1_000), false);
        assert_eq!(r.policy, "follow");
        assert_eq!(r.queue_size, Some(50));
        assert!(r.policy_running);
        // The policy runs from the follower's first message: frames
        // 100..=800 ms are final (a follower stamp after them came).
        assert_eq!(r.sets, 8);
        assert_eq!(
            r.last_sets.last(),
            Some(&vec![at(800).as_nanos(), at(750).as_nanos()])
        );
        assert_eq!(r.topics[0].counts.queued, 1);
        assert_eq!(r.min_queue_size_without_overflow, None);
        // Now it trails by 800 ms (its stamps step back once: out of
        // order): frames wait longer than `stale_min`.
        flow(&mut d, 1_000, 3_000, 100, &[], |ch, k| {
            if ch == 1 { k - 800 } else { k }
        });
        let p = checked(&mut d, 3_000);
        assert_eq!(codes(&p), [Code::Stale, Code::OutOfOrder], "{p:?}");
        assert_eq!(p[0].topics, ["/t1"]);
        assert!(
            p[0].message.starts_with(&format!(
                "/t1: the driver message at {} waits for it (800.000 ms behind the newest stamp; its last stamp {})",
                at(2_100),
                at(2_100)
            )),
            "{}",
            p[0].message
        );
        assert!(p[0].advice.contains("--max-wait"), "{}", p[0].advice);
        // A silent follower is stale as any topic, reported once.
        flow(&mut d, 3_000, 4_000, 100, &[1], |_, k| k);
        let p = checked(&mut d, 4_000);
        assert_eq!(codes(&p), [Code::Stale, Code::OutOfOrder]);
        assert!(p[0].message.contains("silent for"), "{}", p[0].message);
    }

    #[test]
    fn stale_after_three_periods_while_the_others_flow() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 1_000, 100, &[], |_, k| k);
        // Topic 1 stops after 900 ms; 3 periods = 300 ms, at least 500 ms.
        flow(&mut d, 1_000, 1_400, 100, &[1], |_, k| k);
        assert!(checked(&mut d, 1_400).is_empty(), "500 ms not passed");
        flow(&mut d, 1_400, 1_500, 100, &[1], |_, k| k);
        let p = checked(&mut d, 1_401);
        assert_eq!(codes(&p), [Code::Stale]);
        assert_eq!(p[0].topics, ["/t1"]);
        assert!(
            p[0].message
                .contains("silent for 501.000 ms (more than 3 periods of 100.000 ms)"),
            "{}",
            p[0].message
        );
        // Its rate decays while it is silent (9 gaps over 1.401 s); its
        // offset is that of the stamps it has.
        let r = d.report(at(1_401), false);
        approx::assert_relative_eq!(r.topics[1].rate_hz, 9.0 / 1.401, max_relative = 1e-9);
        approx::assert_relative_eq!(r.topics[0].rate_hz, 10.0);
        // The overflow it causes on topic 0 is its problem, not the queue's.
        flow(&mut d, 1_500, 4_000, 100, &[1], |_, k| k);
        assert_eq!(codes(&checked(&mut d, 4_000)), [Code::Stale]);
        let r = d.report(at(4_000), false);
        assert!(r.drops.contains_key("queue_overflow"));
        assert_eq!(r.topics[1].offset_ns, Some(0));
        // Everything silent: nothing flows, nothing is stale (it stays
        // active until `resolve_after`).
        assert_eq!(codes(&checked(&mut d, 4_900)), [Code::Stale]);
        assert!(checked(&mut d, 5_100).is_empty());
        let r = d.report(at(5_100), true);
        assert_eq!(r.problems.len(), 1);
        assert!(!r.problems[0].active);
        approx::assert_relative_eq!(r.problems[0].first_seen_s, 1.401);
        approx::assert_relative_eq!(r.problems[0].last_seen_s, 4.0);
        assert_eq!(d.report(at(5_100), false).problems, []);
    }

    #[test]
    fn a_slow_topic_is_stale_only_after_its_own_periods() {
        let mut d = diag(2, PolicyConfig::approximate(100));
        // Topic 0 at 10 Hz, topic 1 at 1 Hz.
        for k in 0..50 {
            d.arrive(0, at(k * 100), at(k * 100));
            if k % 10 == 0 {
                d.arrive(1, at(k * 100), at(k * 100));
            }
        }
        assert!(checked(&mut d, 4_950).is_empty());
        flow(&mut d, 5_000, 7_100, 100, &[1], |_, k| k);
        let p = checked(&mut d, 7_000);
        assert!(p.is_empty(), "3 periods of 1 s not passed: {p:?}");
        let p = checked(&mut d, 7_001);
        assert_eq!(codes(&p), [Code::Stale]);
        assert_eq!(p[0].topics, ["/t1"]);
    }

    #[test]
    fn stale_for_few_messages_uses_the_unknown_period_threshold() {
        let mut d = diag(2, PolicyConfig::approximate(100));
        d.arrive(1, at(0), at(0));
        flow(&mut d, 0, 3_000, 100, &[1], |_, k| k);
        assert!(checked(&mut d, 3_000).is_empty());
        flow(&mut d, 3_000, 3_200, 100, &[1], |_, k| k);
        let p = checked(&mut d, 3_100);
        assert_eq!(codes(&p), [Code::Stale]);
        assert!(
            p[0].message.contains("after 1 message(s)"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn problems_resolve_after_a_second_without_them() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 1_000, 100, &[], |_, k| k);
        flow(&mut d, 1_000, 1_600, 100, &[1], |_, k| k);
        let c = d.check(at(1_600));
        assert_eq!(codes(&c.appeared), [Code::Stale]);
        assert_eq!(d.check(at(1_650)), Changes::default(), "reported once");
        flow(&mut d, 1_600, 2_000, 100, &[], |_, k| k);
        assert_eq!(d.check(at(2_000)), Changes::default(), "not yet resolved");
        let c = d.check(at(2_650));
        assert_eq!(codes(&c.resolved), [Code::Stale]);
        assert!(c.appeared.is_empty());
        // Found again: appears again.
        flow(&mut d, 2_000, 3_000, 100, &[1], |_, k| k);
        let c = d.check(at(3_000));
        assert_eq!(codes(&c.appeared), [Code::Stale]);
        assert_eq!(d.report(at(3_000), true).problems.len(), 1);
    }

    #[test]
    fn never_equal_for_exact_stamps_that_never_coincide() {
        let mut d = diag(
            3,
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
        );
        // /t0 and /t1 share stamps, /t2 is 3 ms off.
        flow(
            &mut d,
            0,
            400,
            100,
            &[],
            |ch, k| if ch == 2 { k + 3 } else { k },
        );
        assert!(checked(&mut d, 400).is_empty(), "4 stamps are too few");
        flow(
            &mut d,
            400,
            500,
            100,
            &[],
            |ch, k| if ch == 2 { k + 3 } else { k },
        );
        let p = checked(&mut d, 500);
        assert_eq!(codes(&p), [Code::NeverEqual, Code::NeverEqual]);
        assert_eq!(p[0].topics, ["/t0", "/t2"]);
        assert_eq!(p[1].topics, ["/t1", "/t2"]);
        assert!(
            p[0].message.contains("nearest 3.000 ms apart"),
            "{}",
            p[0].message
        );
        assert!(p[0].advice.contains("--policy approximate") && p[0].advice.contains("3.000 ms"));
        // Approximate does not care.
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 1_000, 100, &[], |ch, k| k + ch as i64);
        assert!(checked(&mut d, 1_000).is_empty());
        // One coincidence among the recent stamps is enough.
        let mut d = diag(
            2,
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
        );
        flow(&mut d, 0, 1_000, 100, &[], |ch, k| {
            if ch == 1 && k != 500 { k + 3 } else { k }
        });
        assert!(checked(&mut d, 1_000).is_empty());
    }

    #[test]
    fn never_equal_waits_for_the_window_without_sets() {
        let mut d = diag(
            2,
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
        );
        flow(&mut d, 0, 200, 100, &[], |_, k| k);
        assert_eq!(d.report(at(200), false).sets, 1);
        // From 200 ms on the stamps never coincide; the set at 100 ms is
        // in the window until 10 s later.
        flow(&mut d, 200, 10_100, 100, &[], |ch, k| k + ch as i64);
        assert!(checked(&mut d, 10_100).is_empty());
        flow(&mut d, 10_100, 10_200, 100, &[], |ch, k| k + ch as i64);
        assert_eq!(codes(&checked(&mut d, 10_101)), [Code::NeverEqual]);
    }

    #[test]
    fn clock_mismatch_against_the_topic_stamped_nearest_its_arrival() {
        let mut d = diag(3, PolicyConfig::approximate(10));
        // /t1 is stamped 2000 s in the past (another clock).
        let stamp = |ch: usize, k: i64| if ch == 1 { k - 2_000_000 } else { k - 10 };
        flow(&mut d, 0, 200, 100, &[], stamp);
        assert!(checked(&mut d, 200).is_empty(), "2 messages are too few");
        flow(&mut d, 200, 300, 100, &[], stamp);
        let p = checked(&mut d, 300);
        assert_eq!(codes(&p), [Code::ClockMismatch]);
        assert_eq!(p[0].topics, ["/t1", "/t0"]);
        assert!(
            p[0].message.starts_with(
                "/t1: stamps 1999.990 s behind /t0's (stamp age at arrival 2000.000 s against 10.000 ms)"
            ),
            "{}",
            p[0].message
        );
        assert!(
            p[0].advice.ends_with("--stamp-offset 1=1999990ms"),
            "{}",
            p[0].advice
        );
        // Two topics on the other clock: each is reported.
        let mut d = diag(3, PolicyConfig::approximate(10));
        flow(&mut d, 0, 300, 100, &[], |ch, k| {
            if ch == 0 { k } else { k - 2_000_000 }
        });
        let p = checked(&mut d, 300);
        assert_eq!(codes(&p), [Code::ClockMismatch, Code::ClockMismatch]);
        assert_eq!(p[0].topics, ["/t1", "/t0"]);
        assert_eq!(p[1].topics, ["/t2", "/t0"]);
    }

    #[test]
    fn clock_mismatch_of_two_picks_the_wall_clock_topic_as_reference() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        // /t0 runs 5 s ahead of its arrival; /t1 is stamped at arrival.
        flow(&mut d, 0, 500, 100, &[], |ch, k| {
            if ch == 0 { k + 5_000 } else { k - 1 }
        });
        let p = checked(&mut d, 500);
        assert_eq!(codes(&p), [Code::ClockMismatch]);
        assert_eq!(p[0].topics, ["/t0", "/t1"]);
        assert!(
            p[0].message.contains("stamps 5.001 s ahead of /t1's"),
            "{}",
            p[0].message
        );
        assert!(
            p[0].advice.ends_with("--stamp-offset 0=-5001ms"),
            "{}",
            p[0].advice
        );
        // Within a second: fine.
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(
            &mut d,
            0,
            500,
            100,
            &[],
            |ch, k| if ch == 0 { k + 999 } else { k },
        );
        assert!(checked(&mut d, 500).is_empty());
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 500, 100, &[], |ch, k| {
            if ch == 0 { k + 1_001 } else { k }
        });
        assert_eq!(codes(&checked(&mut d, 500)), [Code::ClockMismatch]);
    }

    #[test]
    fn messages_lost_on_the_way_are_counted_and_a_problem_for_a_while() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 1_000, 100, &[], |_, k| k);
        // Not reported: no count, no problem.
        assert_eq!(d.report(at(1_000), false).topics[0].lost, None);
        d.lost(0, 0, at(500));
        d.lost(1, 0, at(500));
        assert!(checked(&mut d, 1_000).is_empty());
        assert_eq!(d.report(at(1_000), false).topics[0].lost, Some(0));
        d.lost(1, 2, at(1_000));
        d.lost(1, 1, at(1_001)); // never goes down
        let p = checked(&mut d, 1_010);
        assert_eq!(codes(&p), [Code::MessageLost]);
        assert_eq!(p[0].topics, ["/t1"]);
        assert_eq!(
            p[0].message,
            "/t1: the middleware lost 2 message(s) on the way in the last 10.000 s; 2 of 12 (16.7 %) since watching began"
        );
        assert!(p[0].advice.contains("reliable"), "{}", p[0].advice);
        let r = d.report(at(1_010), false);
        assert_eq!((r.topics[0].lost, r.topics[1].lost), (Some(0), Some(2)));
        // Stays 3 s after the last loss, then resolves.
        flow(&mut d, 1_100, 4_000, 100, &[], |_, k| k);
        assert_eq!(codes(&checked(&mut d, 3_900)), [Code::MessageLost]);
        assert!(checked(&mut d, 5_100).is_empty());
        // A later loss counts only what is new in the window.
        d.lost(1, 5, at(12_000));
        flow(&mut d, 4_000, 12_010, 100, &[], |_, k| k);
        let p = checked(&mut d, 12_010);
        assert!(
            p[0].message.contains("lost 3 message(s)"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn out_of_order_stays_for_a_while() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 1_000, 100, &[], |_, k| k);
        d.arrive(1, at(850), at(1_000));
        d.arrive(1, at(880), at(1_001));
        d.arrive(1, at(870), at(1_002));
        let p = checked(&mut d, 1_010);
        assert_eq!(codes(&p), [Code::OutOfOrder]);
        assert_eq!(p[0].topics, ["/t1"]);
        assert!(
            p[0].message
                .contains("went backwards 2 time(s) (by up to 50.000 ms), the last 8.000 ms ago"),
            "{}",
            p[0].message
        );
        assert_eq!(d.report(at(1_010), false).topics[1].out_of_order, 2);
        flow(&mut d, 1_100, 4_000, 100, &[], |_, k| k);
        assert_eq!(codes(&checked(&mut d, 4_002)), [Code::OutOfOrder]);
        assert!(
            checked(&mut d, 4_003)
                .iter()
                .all(|p| p.code == Code::OutOfOrder)
        );
        assert!(checked(&mut d, 5_100).is_empty());
    }

    /// Topic 0 at 200 Hz, topic 1 at 10 Hz from `from_ms`; stamps = arrival.
    fn ratio(d: &mut Diagnosis, from_ms: i64, to_ms: i64) {
        let mut k = from_ms;
        while k < to_ms {
            d.arrive(0, at(k), at(k));
            if k % 100 == 0 {
                d.arrive(1, at(k + 1), at(k + 1));
            }
            k += 5;
        }
    }

    #[test]
    fn queue_overflow_with_the_smallest_queue_that_avoids_it() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        ratio(&mut d, 0, 1_000);
        // Overflow waits half a second for a cause to show.
        assert!(checked(&mut d, 1_000).is_empty());
        ratio(&mut d, 1_000, 1_600);
        let p = checked(&mut d, 1_600);
        assert_eq!(codes(&p), [Code::QueueOverflow]);
        assert_eq!(p[0].topics[0], "/t0");
        assert!(p[0].message.starts_with("/t0"), "{}", p[0].message);
        assert!(
            p[0].message
                .contains("because the queue (size 10) overflowed")
        );
        let trace =
            stamp_sync::trace::Trace::from_pairs(d.history.iter().map(|m| (m.channel, m.stamp)));
        let config = PolicyConfig::approximate(10);
        let q = advice::min_queue_without_overflow(&trace, 2, &config, 4096).unwrap();
        assert!(q > 10, "{q}");
        assert!(
            p[0].advice
                .contains(&format!("--queue-size {q} is the smallest")),
            "{}",
            p[0].advice
        );
        let r = d.report(at(1_600), true);
        assert_eq!(r.min_queue_size_without_overflow, Some(q));
        assert!(r.drops["queue_overflow"] > 0);
        assert!(r.topics[0].counts.dropped["queue_overflow"] > 0);
        // The whole history replays into the live counters.
        let replayed = stamp_sync::trace::replay(&trace, 2, &config).unwrap();
        assert_eq!(replayed.sets.len() as u64, r.sets);
        assert_eq!(trace.messages.len(), r.arrivals);
        // It stops: the problem goes after `recent` + `resolve_after`.
        flow(&mut d, 1_600, 6_000, 100, &[], |_, k| k);
        assert!(checked(&mut d, 6_000).is_empty());
        assert_eq!(d.report(at(6_000), true).problems.len(), 1);
    }

    #[test]
    fn overflow_while_a_cause_is_recent_is_not_the_queues() {
        let mut d = diag(2, PolicyConfig::approximate(10));
        flow(&mut d, 0, 1_000, 100, &[], |_, k| k);
        flow(&mut d, 1_000, 3_000, 100, &[1], |_, k| k);
        assert_eq!(codes(&checked(&mut d, 3_000)), [Code::Stale]);
        // Topic 1 resumes; a burst on topic 0 overflows within 3 s.
        flow(&mut d, 3_000, 3_500, 100, &[], |_, k| k);
        let burst = |d: &mut Diagnosis, from: i64| {
            for i in 0..30 {
                d.arrive(0, at(from + i), at(from + i));
            }
        };
        burst(&mut d, 3_401);
        for t in (3_600..=6_000).step_by(100) {
            flow(&mut d, t - 100, t, 100, &[], |_, k| k);
            let p = checked(&mut d, t);
            assert!(p.iter().all(|p| p.code == Code::Stale), "at {t}: {p:?}");
        }
        assert!(
            d.report(at(6_000), false)
                .drops
                .contains_key("queue_overflow")
        );
        // Later, the same burst is the queue's problem.
        burst(&mut d, 6_001);
        flow(&mut d, 6_100, 6_200, 100, &[], |_, k| k);
        assert!(checked(&mut d, 6_100).is_empty(), "waits half a second");
        flow(&mut d, 6_200, 6_700, 100, &[], |_, k| k);
        assert_eq!(codes(&checked(&mut d, 6_700)), [Code::QueueOverflow]);
        // Another clock: its overflow is not the queue's either.
        let mut d = diag(2, PolicyConfig::approximate(10));
        let mut k = 0;
        while k < 3_000 {
            d.arrive(0, at(k), at(k));
            if k % 100 == 0 {
                d.arrive(1, at(k - 5_000), at(k + 1));
            }
            k += 5;
            if k % 100 == 0 {
                d.check(at(k));
            }
        }
        assert!(
            d.report(at(3_000), false)
                .drops
                .contains_key("queue_overflow")
        );
        assert_eq!(codes(&d.active()), [Code::ClockMismatch]);
    }

    #[test]
    fn a_big_enough_queue_has_no_overflow() {
        let mut d = diag(2, PolicyConfig::approximate(40));
        ratio(&mut d, 0, 3_000);
        assert!(checked(&mut d, 3_000).is_empty());
        assert_eq!(
            d.report(at(3_000), true).min_queue_size_without_overflow,
            None
        );
    }

    #[test]
    fn sets_per_second_of_a_fast_pair() {
        // More sets in the window than are kept: the rate is over those kept.
        let mut d = diag(
            2,
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 5 }),
        );
        flow(&mut d, 0, 6_000, 1, &[], |_, k| k);
        let r = d.report(at(5_999), false);
        assert_eq!(r.sets, 5_999);
        approx::assert_relative_eq!(r.sets_per_s, 1000.0, max_relative = 0.001);
        assert_eq!(r.arrivals, 11_999);
    }

    #[test]
    fn thresholds_can_be_changed() {
        let th = Thresholds {
            stale_min: Duration::from_millis(100),
            ..Thresholds::default()
        };
        let mut d = Diagnosis::with_thresholds(
            &names(2),
            PolicyConfig::approximate(10),
            Options::new(),
            at(0),
            th,
        )
        .unwrap();
        flow(&mut d, 0, 1_000, 10, &[], |_, k| k);
        flow(&mut d, 1_000, 1_200, 10, &[1], |_, k| k);
        assert_eq!(codes(&checked(&mut d, 1_200)), [Code::Stale]);
        assert!(format!("{d:?}").contains("Diagnosis"));
        assert!(
            Diagnosis::new(
                &names(2),
                PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 0 }),
                Options::new(),
                at(0)
            )
            .is_err()
        );
    }
}
