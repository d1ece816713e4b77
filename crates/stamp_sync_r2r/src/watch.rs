//! The ROS side of `stamp-sync watch`: raw subscriptions to topics of any
//! type (found on the graph, type support loaded at run time), their header
//! stamps read from the CDR bytes, and what the graph says of each topic
//! (type, header, publishers by node, which subscriber QoS profiles could
//! never match them). It feeds the pure diagnosis (the `stamp_sync_tools` diagnosis);
//! it decides nothing itself.
//!
//! ```no_run
//! use std::time::Duration;
//! use stamp_sync_r2r::raw::RawNode;
//! use stamp_sync_r2r::watch::{FeedEvent, WatchFeed};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = RawNode::create("watch", "")?;
//! let mut feed = WatchFeed::new(node, vec!["/image".into(), "/camera_info".into()])?;
//! let mut events = Vec::new();
//! loop {
//!     feed.poll(Duration::from_millis(100), &mut events)?;
//!     for e in events.drain(..) {
//!         if let FeedEvent::Arrival { channel, stamp, arrival } = e {
//!             println!("{channel}: stamp {stamp}, age {}", arrival.since(stamp));
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! Subscriptions are best effort and volatile: they match every publisher,
//! so the watch sees messages a misconfigured subscriber would not. A topic
//! is subscribed as soon as its type is on the graph and has a header; the
//! graph is read again every half second.

use std::time::{Duration as StdDuration, Instant, SystemTime};

use ::r2r::QosProfile;
use ::r2r::qos::{DurabilityPolicy, ReliabilityPolicy};

use super::inputs::{Inputs, Taken, TopicType, topic_type};
use super::qos::{QosMismatch, qos_mismatches};
use super::raw::{RawError, RawNode, TypeSupportError, Waiter, Wake};
use stamp_sync::time::Stamp;
use stamp_sync_wire::stamp::StampError;

/// How often the graph is read.
pub const GRAPH_EVERY: StdDuration = StdDuration::from_millis(500);

/// Why the watch cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The watch needs 2 to 9 topics.
    #[error("watch needs 2 to 9 topics, got {0}")]
    Topics(usize),
    /// Publishers of a topic disagree on its type.
    #[error("topic {topic} has endpoints of several types: {}", types.join(", "))]
    AmbiguousType {
        /// The topic.
        topic: String,
        /// The types seen.
        types: Vec<String>,
    },
    /// The raw transport (rcl, type support).
    #[error(transparent)]
    Raw(#[from] RawError),
}

impl From<TypeSupportError> for WatchError {
    fn from(e: TypeSupportError) -> Self {
        WatchError::Raw(RawError::TypeSupport(e))
    }
}

/// One publisher of a topic.
#[derive(Clone, Debug, PartialEq)]
pub struct PublisherFacts {
    /// Its node, fully qualified (`/ns/name`); empty while discovery has
    /// not named it.
    pub node: String,
    /// The QoS it offers.
    pub qos: QosProfile,
    /// Why a `reliable` subscriber (the rclcpp and rclpy default) could
    /// never match it; empty if it can.
    pub reliable: Vec<QosMismatch>,
    /// Why a `sensor_data` subscriber could never match it; empty if it can.
    pub sensor_data: Vec<QosMismatch>,
}

impl PublisherFacts {
    /// Its QoS in words: `reliable, volatile`, `best_effort, transient_local`.
    pub fn qos_words(&self) -> String {
        let r = match self.qos.reliability {
            ReliabilityPolicy::BestEffort => "best_effort",
            ReliabilityPolicy::Reliable => "reliable",
            _ => "system_default",
        };
        let d = match self.qos.durability {
            DurabilityPolicy::TransientLocal => "transient_local",
            DurabilityPolicy::Volatile => "volatile",
            _ => "system_default",
        };
        format!("{r}, {d}")
    }
}

/// What the graph says of one topic.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphFacts {
    /// Its type, if the topic is on the graph.
    pub type_name: Option<String>,
    /// Whether that type starts with a `std_msgs/Header`.
    pub has_header: Option<bool>,
    /// Its publishers.
    pub publishers: Vec<PublisherFacts>,
}

/// What [`WatchFeed::poll`] delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum FeedEvent {
    /// A message arrived on topic `channel`, in reception order.
    Arrival {
        /// The topic's index.
        channel: usize,
        /// Its header stamp.
        stamp: Stamp,
        /// When rmw received it (system clock).
        arrival: Stamp,
    },
    /// A message whose stamp could not be read.
    Unreadable {
        /// The topic's index.
        channel: usize,
        /// Why.
        error: StampError,
    },
    /// The middleware's count of messages lost on the way to topic
    /// `channel`'s subscription is `total`: sent once it is subscribed and
    /// whenever the count grows (read every [`GRAPH_EVERY`]; never sent
    /// where rmw reports no losses).
    Lost {
        /// The topic's index.
        channel: usize,
        /// Lost since the subscription was made.
        total: u64,
    },
    /// The graph's facts of topic `channel` (every [`GRAPH_EVERY`]).
    Graph {
        /// The topic's index.
        channel: usize,
        /// The facts.
        facts: GraphFacts,
    },
}

/// The system clock as a [`Stamp`] (the clock rmw stamps receptions with).
pub fn system_now() -> Stamp {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(Stamp::ZERO, |d| {
            Stamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        })
}

/// Subscriptions and graph queries for the watched topics; see the
/// [module docs](self).
pub struct WatchFeed {
    node: RawNode,
    topics: Vec<String>,
    inputs: Inputs,
    waiter: Waiter,
    next_graph: Instant,
    batch: Vec<Taken>,
    /// The lost totals last sent, per topic.
    lost: Vec<Option<u64>>,
}

impl std::fmt::Debug for WatchFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchFeed")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl WatchFeed {
    /// Watches `topics` (2 to 9, fully qualified) from `node`.
    pub fn new(node: RawNode, topics: Vec<String>) -> Result<WatchFeed, WatchError> {
        if !(2..=9).contains(&topics.len()) {
            return Err(WatchError::Topics(topics.len()));
        }
        let waiter = node.waiter()?;
        let topics_len = topics.len();
        Ok(WatchFeed {
            inputs: Inputs::new(topics.len()),
            node,
            topics,
            waiter,
            next_graph: Instant::now(),
            batch: Vec::new(),
            lost: vec![None; topics_len],
        })
    }

    /// Wakes a [`poll`](Self::poll) in progress from another thread (a
    /// signal handler's, say).
    pub fn wake_handle(&self) -> Wake {
        self.waiter.wake_handle()
    }

    /// Reads the graph if it is time, then waits up to `timeout` for
    /// messages and appends what happened to `out`: graph facts first,
    /// then arrivals in reception order.
    pub fn poll(
        &mut self,
        timeout: StdDuration,
        out: &mut Vec<FeedEvent>,
    ) -> Result<(), WatchError> {
        let now = Instant::now();
        if now >= self.next_graph {
            self.read_graph(out)?;
            self.next_graph = now + GRAPH_EVERY;
        }
        let left = self.next_graph.saturating_duration_since(Instant::now());
        self.inputs
            .wait(&mut self.waiter, Some(timeout.min(left)))?;
        self.inputs.take_into(&mut self.batch)?;
        for (received, channel, msg) in self.batch.drain(..) {
            let arrival = if received > 0 {
                Stamp::from_nanos(received)
            } else {
                system_now()
            };
            out.push(match msg.header_stamp() {
                Ok(stamp) => FeedEvent::Arrival {
                    channel,
                    stamp,
                    arrival,
                },
                Err(error) => FeedEvent::Unreadable { channel, error },
            });
        }
        Ok(())
    }

    fn read_graph(&mut self, out: &mut Vec<FeedEvent>) -> Result<(), WatchError> {
        let graph = self.node.topic_names_and_types()?;
        let reliable = QosProfile::default();
        let sensor_data = QosProfile::sensor_data();
        for (channel, topic) in self.topics.iter().enumerate() {
            let type_name = match topic_type(&graph, topic) {
                TopicType::Missing => None,
                TopicType::One(t) => Some(t),
                TopicType::Several(types) => {
                    return Err(WatchError::AmbiguousType {
                        topic: topic.clone(),
                        types,
                    });
                }
            };
            let has_header = match &type_name {
                Some(ty) => Some(self.node.loader().has_header(ty)?),
                None => None,
            };
            if let (Some(ty), Some(true)) = (&type_name, has_header) {
                if !self.inputs.is_subscribed(channel) {
                    let ts = self.node.loader().load(ty)?;
                    // Best effort and volatile: matches every publisher.
                    let qos = QosProfile::sensor_data().keep_last(100);
                    self.inputs
                        .set(channel, self.node.subscribe_with(topic, &ts, qos)?);
                }
            }
            let publishers = self
                .node
                .publishers_info(topic)?
                .into_iter()
                .map(|e| PublisherFacts {
                    // rmw's placeholder until discovery names the node.
                    node: if e.node_name == "_NODE_NAME_UNKNOWN_" {
                        String::new()
                    } else {
                        format!("{}/{}", e.node_namespace.trim_end_matches('/'), e.node_name)
                    },
                    reliable: qos_mismatches(&e.qos, &reliable),
                    sensor_data: qos_mismatches(&e.qos, &sensor_data),
                    qos: e.qos,
                })
                .collect();
            if let Some(total) = self.inputs.lost(channel)? {
                if self.lost[channel] != Some(total) {
                    self.lost[channel] = Some(total);
                    out.push(FeedEvent::Lost { channel, total });
                }
            }
            out.push(FeedEvent::Graph {
                channel,
                facts: GraphFacts {
                    type_name,
                    has_header,
                    publishers,
                },
            });
        }
        Ok(())
    }
}
