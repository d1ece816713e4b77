//! ROS 2 through [r2r]: stamps for r2r messages and synchronized
//! subscriptions.
//!
//! ```no_run
//! use futures::StreamExt;
//! use futures::task::LocalSpawnExt;
//! use r2r::QosProfile;
//! use r2r::sensor_msgs::msg::{CameraInfo, Image};
//! use stamp_sync::ApproximateTime;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = r2r::Context::create()?;
//! let mut node = r2r::Node::create(ctx, "sync", "")?;
//! let qos = QosProfile::sensor_data();
//! let mut sets = stamp_sync::r2r::subscribe_synced::<(Image, CameraInfo), _>(
//!     &mut node,
//!     [("/image", qos.clone()), ("/camera_info", qos)],
//!     ApproximateTime::new(10)?,
//! )?;
//! let mut pool = futures::executor::LocalPool::new();
//! pool.spawner().spawn_local(async move {
//!     while let Some((image, info)) = sets.next().await {
//!         println!("{} {}", image.header.frame_id, info.header.frame_id);
//!     }
//! })?;
//! loop {
//!     node.spin_once(std::time::Duration::from_millis(100));
//!     pool.run_until_stalled();
//! }
//! # }
//! ```
//!
//! # Stamps
//! Every r2r message type with a top-level `std_msgs/Header header` field
//! implements [`Stamped`] (its `header.stamp`), and so does
//! `std_msgs/Header` itself. r2r has no header trait, so the build script
//! lists those types from the same message definitions r2r generates from
//! (`AMENT_PREFIX_PATH`, `IDL_PACKAGE_FILTER`): with the default filter of
//! `scripts/with-ros` that is all of `sensor_msgs` and the `*Stamped`
//! types of `geometry_msgs` ([`STAMPED_TYPES`] of them). For other types use
//! [`impl_stamped!`](crate::impl_stamped) or pass the stamp explicitly.
//!
//! # QoS: the silent pitfall
//! Every helper takes an explicit [`QosProfile`]. If a subscription asks
//! for more than a publisher offers (a *reliable* subscription and a
//! *best-effort* publisher, as most camera drivers are; or
//! *transient-local* against *volatile*), DDS never matches them: nothing
//! arrives, and neither side reports an error. r2r 0.9.7 exposes no QoS
//! events (`rcl_event`), so this module checks the offered QoS of every
//! publisher on the topic instead: [`qos_report`] says which publishers
//! cannot match and why, and [`StallWatch`] logs that report when a
//! synchronized stream has delivered nothing for a while. The safe default
//! for sensor topics is [`QosProfile::sensor_data`] (best effort, volatile):
//! it matches every publisher.

use std::fmt;
use std::time::{Duration as StdDuration, Instant};

use ::r2r::builtin_interfaces::msg::Time;
use ::r2r::qos::{DurabilityPolicy, ReliabilityPolicy};
use ::r2r::{Node, QosProfile, WrappedTypesupport};
use futures::stream::{BoxStream, StreamExt};

use crate::policy::{ConfigError, Policy};
use crate::stamped::Stamped;
use crate::stream::{QueuesOf, SyncInputs, SyncStream};
use crate::synchronizer::{Channel, Messages, SharedSynchronizer};
use crate::time::Stamp;

pub mod raw;

include!(concat!(env!("OUT_DIR"), "/r2r_stamped.rs"));

impl From<Time> for Stamp {
    fn from(t: Time) -> Stamp {
        Stamp::from_ros(t.sec, t.nanosec)
    }
}

impl From<&Time> for Stamp {
    fn from(t: &Time) -> Stamp {
        Stamp::from_ros(t.sec, t.nanosec)
    }
}

/// A [`Stamp`] whose seconds do not fit the `i32` of `builtin_interfaces/Time`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stamp {0} does not fit builtin_interfaces/Time (seconds must fit an i32)")]
pub struct StampOutOfRange(pub Stamp);

impl TryFrom<Stamp> for Time {
    type Error = StampOutOfRange;
    fn try_from(s: Stamp) -> Result<Time, StampOutOfRange> {
        let (sec, nanosec) = s.to_ros().ok_or(StampOutOfRange(s))?;
        Ok(Time { sec, nanosec })
    }
}

/// Why a subscription helper failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The policy does not fit the number of topics.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// rcl refused the subscription (bad topic name, no type support, ...).
    #[error("cannot subscribe to {topic:?}: {source}")]
    Ros {
        /// The topic as given.
        topic: String,
        /// r2r's error.
        source: ::r2r::Error,
    },
}

/// One typed subscription as a boxed stream: what the helpers hand out and
/// what [`SyncStream`] polls.
pub type Subscription<T> = BoxStream<'static, T>;

/// Subscribes to `topic` with an explicit `qos`: one input channel.
///
/// The same as `Node::subscribe`, boxed so the type can be named, and with
/// the topic in the error.
pub fn subscribe<T>(
    node: &mut Node,
    topic: &str,
    qos: QosProfile,
) -> Result<Subscription<T>, SubscribeError>
where
    T: WrappedTypesupport + Send + 'static,
{
    node.subscribe::<T>(topic, qos)
        .map(|s| s.boxed())
        .map_err(|source| SubscribeError::Ros {
            topic: topic.to_string(),
            source,
        })
}

/// Subscribes to `topic` and feeds every message into channel `I` of a
/// [`SharedSynchronizer`], whose callbacks receive the sets. Spawn the
/// returned future on any executor; it finishes when the node drops the
/// subscription.
pub fn feed<const I: usize, T, P>(
    node: &mut Node,
    topic: &str,
    qos: QosProfile,
    sync: SharedSynchronizer<T, P>,
) -> Result<impl Future<Output = ()> + Send + 'static, SubscribeError>
where
    T: Messages + Channel<I> + 'static,
    <T as Channel<I>>::Msg: WrappedTypesupport + Stamped + Send + 'static,
    P: Policy<T::Queues> + 'static,
    SharedSynchronizer<T, P>: Send,
{
    let s = subscribe::<<T as Channel<I>>::Msg>(node, topic, qos)?;
    Ok(s.for_each(move |m| {
        sync.add::<I>(m);
        futures::future::ready(())
    }))
}

mod sealed {
    pub trait Sealed {}
}

/// A tuple of 2 to 9 r2r message types that can be subscribed to and
/// synchronized together. Sealed; implemented for tuples of types that are
/// `WrappedTypesupport + Stamped + Send`.
pub trait SyncTopics: sealed::Sealed {
    /// `[(&str, QosProfile); N]`: one topic and QoS per message type.
    type Topics<'a>;
    /// The tuple of subscriptions.
    type Streams: SyncInputs;
    /// Subscribes to every topic, in order.
    fn subscribe_all(
        node: &mut Node,
        topics: Self::Topics<'_>,
    ) -> Result<Self::Streams, SubscribeError>;
}

/// The synchronized stream [`subscribe_synced`] returns: items are the
/// tuple `T` of messages.
pub type Synced<T, P> = SyncStream<<T as SyncTopics>::Streams, P>;

/// Subscribes to 2 to 9 topics and synchronizes them with `policy`.
///
/// `T` is the tuple of message types, `topics` one `(topic, QoS)` per
/// type in the same order. Poll the result on any executor while the node
/// spins; see the [module example](self). Drops can be observed with
/// [`SyncStream::on_drop`], counters with [`SyncStream::stats`].
pub fn subscribe_synced<T: SyncTopics, P: Policy<QueuesOf<T::Streams>>>(
    node: &mut Node,
    topics: T::Topics<'_>,
    policy: P,
) -> Result<Synced<T, P>, SubscribeError> {
    let streams = T::subscribe_all(node, topics)?;
    Ok(streams.synchronize(policy)?)
}

macro_rules! impl_sync_topics {
    ($n:expr; $($T:ident),+) => {
        impl<$($T),+> sealed::Sealed for ($($T,)+) {}

        impl<$($T),+> SyncTopics for ($($T,)+)
        where
            $($T: WrappedTypesupport + Stamped + Send + 'static,)+
        {
            type Topics<'a> = [(&'a str, QosProfile); $n];
            type Streams = ($(Subscription<$T>,)+);

            #[allow(non_snake_case)]
            fn subscribe_all(
                node: &mut Node,
                topics: Self::Topics<'_>,
            ) -> Result<Self::Streams, SubscribeError> {
                // Type names double as the variables of their topics.
                let [$($T),+] = topics;
                Ok(($(subscribe::<$T>(node, $T.0, $T.1)?,)+))
            }
        }
    };
}

impl_sync_topics!(2; A, B);
impl_sync_topics!(3; A, B, C);
impl_sync_topics!(4; A, B, C, D);
impl_sync_topics!(5; A, B, C, D, E);
impl_sync_topics!(6; A, B, C, D, E, F);
impl_sync_topics!(7; A, B, C, D, E, F, G);
impl_sync_topics!(8; A, B, C, D, E, F, G, H);
impl_sync_topics!(9; A, B, C, D, E, F, G, H, I);

/// Why one publisher can never match a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QosMismatch {
    /// The subscription wants reliable delivery; the publisher is best effort.
    Reliability,
    /// The subscription wants transient-local durability; the publisher is volatile.
    Durability,
    /// The subscription's deadline is shorter than the publisher's offer.
    Deadline,
}

impl fmt::Display for QosMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QosMismatch::Reliability => {
                "subscription is RELIABLE but the publisher is BEST_EFFORT (use best_effort() or QosProfile::sensor_data())"
            }
            QosMismatch::Durability => {
                "subscription is TRANSIENT_LOCAL but the publisher is VOLATILE (use volatile())"
            }
            QosMismatch::Deadline => "subscription deadline is shorter than the publisher's",
        })
    }
}

/// Checks one offered (publisher) QoS against a requested (subscription)
/// QoS with the DDS request-vs-offered rules. Empty = compatible.
pub fn qos_mismatches(offered: &QosProfile, requested: &QosProfile) -> Vec<QosMismatch> {
    let mut v = Vec::new();
    if requested.reliability == ReliabilityPolicy::Reliable
        && offered.reliability == ReliabilityPolicy::BestEffort
    {
        v.push(QosMismatch::Reliability);
    }
    if requested.durability == DurabilityPolicy::TransientLocal
        && offered.durability == DurabilityPolicy::Volatile
    {
        v.push(QosMismatch::Durability);
    }
    let infinite = |d: StdDuration| d.is_zero() || d.as_secs() >= i32::MAX as u64;
    if !infinite(requested.deadline)
        && (infinite(offered.deadline) || offered.deadline > requested.deadline)
    {
        v.push(QosMismatch::Deadline);
    }
    v
}

/// What [`qos_report`] found on one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QosReport {
    /// The topic as given.
    pub topic: String,
    /// Publishers seen on the topic (any QoS).
    pub publishers: usize,
    /// Publishers that can never match, by node name, with the reasons.
    pub incompatible: Vec<(String, Vec<QosMismatch>)>,
}

impl QosReport {
    /// True if at least one publisher exists and can match.
    pub fn ok(&self) -> bool {
        self.publishers > self.incompatible.len()
    }
}

impl fmt::Display for QosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.publishers == 0 {
            return write!(f, "{}: no publisher", self.topic);
        }
        write!(
            f,
            "{}: {} publisher(s), {} incompatible",
            self.topic,
            self.publishers,
            self.incompatible.len()
        )?;
        for (node, why) in &self.incompatible {
            for w in why {
                write!(f, "; {node}: {w}")?;
            }
        }
        Ok(())
    }
}

/// Expands `name` in namespace `ns` of node `node_name` (relative and `~`
/// names) to a fully qualified name.
fn expand(ns: &str, node_name: &str, name: &str) -> String {
    let ns = ns.trim_end_matches('/');
    if name.starts_with('/') {
        name.to_string()
    } else if let Some(rest) = name.strip_prefix('~') {
        format!("{ns}/{node_name}{rest}")
    } else {
        format!("{ns}/{name}")
    }
}

/// [`resolve_topic`] without a node: namespace, node name and the
/// process arguments given.
fn resolve_with(
    ns: &str,
    node_name: &str,
    args: impl IntoIterator<Item = String>,
    topic: &str,
) -> String {
    let expanded = expand(ns, node_name, topic);
    let mut args = args.into_iter().skip_while(|a| a != "--ros-args");
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if a != "-r" && a != "--remap" {
            continue;
        }
        let Some(rule) = args.next() else { break };
        let Some((lhs, to)) = rule.split_once(":=") else {
            continue;
        };
        let from = match lhs.split_once(':') {
            Some((n, from)) if n == node_name => from,
            Some(_) => continue,
            None => lhs,
        };
        if expand(ns, node_name, from) == expanded {
            return expand(ns, node_name, to);
        }
    }
    expanded
}

/// The fully qualified name a subscription of `node` to `topic` really
/// uses: `topic` expanded in the node's namespace, then remapped by the
/// first matching `-r from:=to` (or `-r node:from:=to`) rule of this
/// process's `--ros-args`. rcl's graph queries expand names but do not
/// remap them, so look topics up under this name.
pub fn resolve_topic(node: &Node, topic: &str) -> String {
    let ns = node.namespace().unwrap_or_else(|_| "/".into());
    let name = node.name().unwrap_or_default();
    resolve_with(&ns, &name, std::env::args(), topic)
}

/// Lists the publishers on `topic` and which of them can never match a
/// subscription with QoS `requested`: the check r2r's missing QoS events
/// would have made. `topic` is resolved like a subscription's name
/// ([`resolve_topic`]: namespace, `-r` remapping).
pub fn qos_report(
    node: &Node,
    topic: &str,
    requested: &QosProfile,
) -> Result<QosReport, ::r2r::Error> {
    let pubs = node.get_publishers_info_by_topic(&resolve_topic(node, topic), false)?;
    let incompatible = pubs
        .iter()
        .filter_map(|p| {
            let why = qos_mismatches(&p.qos_profile, requested);
            (!why.is_empty()).then(|| (p.node_name.clone(), why))
        })
        .collect();
    Ok(QosReport {
        topic: topic.to_string(),
        publishers: pubs.len(),
        incompatible,
    })
}

/// Warns when a synchronized stream delivers nothing for too long, with the
/// QoS report of every input topic: the "nothing arrives" diagnosis.
///
/// Call [`delivered`](Self::delivered) on each set and
/// [`check`](Self::check) from the spin loop.
#[derive(Debug)]
pub struct StallWatch {
    topics: Vec<(String, QosProfile)>,
    after: StdDuration,
    last: Instant,
    warned: bool,
}

impl StallWatch {
    /// Watches `topics` (as subscribed); warns after `after` without a set.
    pub fn new<'a>(
        topics: impl IntoIterator<Item = (&'a str, &'a QosProfile)>,
        after: StdDuration,
    ) -> Self {
        StallWatch {
            topics: topics
                .into_iter()
                .map(|(t, q)| (t.to_string(), q.clone()))
                .collect(),
            after,
            last: Instant::now(),
            warned: false,
        }
    }

    /// A set was delivered: the clock restarts.
    pub fn delivered(&mut self) {
        self.last = Instant::now();
        self.warned = false;
    }

    /// If the stream has stalled (once per stall), returns the reports of
    /// the topics that have no matching publisher, and logs them with
    /// `log::warn!`.
    pub fn check(&mut self, node: &Node) -> Option<Vec<QosReport>> {
        if self.warned || self.last.elapsed() < self.after {
            return None;
        }
        self.warned = true;
        let reports: Vec<QosReport> = self
            .topics
            .iter()
            .filter_map(|(t, q)| qos_report(node, t, q).ok())
            .filter(|r| !r.ok())
            .collect();
        for r in &reports {
            log::warn!("no synchronized set for {:?}: {r}", self.after);
        }
        Some(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2r::sensor_msgs::msg::{CameraInfo, Image};

    #[test]
    fn stamps_convert_both_ways() {
        let t = Time { sec: 3, nanosec: 5 };
        let s = Stamp::from(t.clone());
        assert_eq!(s.as_nanos(), 3_000_000_005);
        assert_eq!(Time::try_from(s), Ok(t));
        assert!(Time::try_from(Stamp::MAX).is_err());
    }

    #[test]
    fn header_types_are_stamped() {
        let mut img = Image::default();
        img.header.stamp.sec = 1;
        let mut info = CameraInfo::default();
        info.header.stamp.nanosec = 2;
        assert_eq!(img.stamp().as_nanos(), 1_000_000_000);
        assert_eq!(info.stamp().as_nanos(), 2);
        assert_eq!(img.header.stamp(), img.stamp());
        let mut p = r2r::geometry_msgs::msg::PoseStamped::default();
        p.header.stamp.sec = 7;
        assert_eq!(p.stamp().as_nanos(), 7_000_000_000);
        // sensor_msgs alone has ~27 header types, geometry_msgs ~15.
        const { assert!(STAMPED_TYPES > 30) };
    }

    /// Arity 9 type-checks end to end (compiled, not run: it needs a node).
    #[allow(dead_code)]
    fn nine_topics(node: &mut Node) -> Result<(), SubscribeError> {
        use crate::ApproximateTime;
        use futures::StreamExt;
        let q = || QosProfile::sensor_data();
        let mut s = subscribe_synced::<
            (
                Image,
                Image,
                Image,
                Image,
                Image,
                Image,
                Image,
                Image,
                CameraInfo,
            ),
            _,
        >(
            node,
            [
                ("a", q()),
                ("b", q()),
                ("c", q()),
                ("d", q()),
                ("e", q()),
                ("f", q()),
                ("g", q()),
                ("h", q()),
                ("i", q()),
            ],
            ApproximateTime::new(3)?,
        )?;
        let _next = s.next();
        Ok(())
    }

    #[test]
    fn topics_resolve_like_rcl() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = args(&[
            "prog",
            "--ros-args",
            "-r",
            "image:=/camera1/image",
            "-r",
            "other_node:camera_info:=/wrong",
            "--remap",
            "sync:camera_info:=ci",
            "-p",
            "x:=1",
        ]);
        assert_eq!(
            resolve_with("/", "sync", a.clone(), "image"),
            "/camera1/image"
        );
        assert_eq!(
            resolve_with("/", "sync", a.clone(), "/image"),
            "/camera1/image"
        );
        assert_eq!(resolve_with("/", "sync", a.clone(), "camera_info"), "/ci");
        assert_eq!(
            resolve_with("/robot", "sync", a.clone(), "camera_info"),
            "/robot/ci"
        );
        assert_eq!(
            resolve_with("/robot", "sync", a.clone(), "depth"),
            "/robot/depth"
        );
        assert_eq!(
            resolve_with("/robot/", "sync", a.clone(), "~/status"),
            "/robot/sync/status"
        );
        // Rules outside --ros-args, or after its `--`, do not count.
        let b = args(&[
            "prog",
            "-r",
            "image:=/x",
            "--ros-args",
            "--",
            "-r",
            "image:=/y",
        ]);
        assert_eq!(resolve_with("/", "sync", b, "image"), "/image");
    }

    #[test]
    fn qos_rules() {
        let be = QosProfile::sensor_data();
        let rel = QosProfile::default();
        assert!(qos_mismatches(&rel, &be).is_empty());
        assert_eq!(qos_mismatches(&be, &rel), [QosMismatch::Reliability]);
        let tl = QosProfile::default().transient_local();
        assert_eq!(qos_mismatches(&rel, &tl), [QosMismatch::Durability]);
        assert!(qos_mismatches(&tl, &rel).is_empty());
        let dl = QosProfile::default().deadline(StdDuration::from_millis(10));
        assert_eq!(qos_mismatches(&rel, &dl), [QosMismatch::Deadline]);
        let offer = QosProfile::default().deadline(StdDuration::from_millis(5));
        assert!(qos_mismatches(&offer, &dl).is_empty());
    }
}
