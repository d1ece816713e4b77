//! A raw transport for message types named at run time: subscribe to and
//! publish serialized CDR for any `package/msg/Type`, whether or not r2r
//! generated it.
//!
//! r2r's `subscribe_raw` and `create_publisher_untyped` only know the types
//! compiled into r2r. This module finds a type's support the way `ros2 bag`
//! and `topic_tools` do ([`TypeSupportLoader`]: the ament index on
//! `AMENT_PREFIX_PATH`, then the package's `rosidl_typesupport_c` library),
//! and talks to rcl directly through `r2r_rcl` on a context and node of its
//! own ([`RawContext`], [`RawNode`]): r2r keeps its rcl handles private. The
//! r2r node of the same process keeps parameters, rosout and the clock.
//!
//! Messages are never deserialized: a [`SerializedMsg`] owns the buffer rmw
//! took the message into, exposes it as `&[u8]` (for the header stamp,
//! [`SerializedMsg::header_stamp`]) and is published from that same buffer.
//! Cloning one is an `Arc` increment.
//!
//! The API blocks and suits a dedicated thread: [`Waiter::wait`] returns
//! when a subscription has data, another thread calls [`Wake::wake`], or the
//! timeout passes.
//!
//! ```no_run
//! use std::time::Duration;
//! use r2r::QosProfile;
//! use stamp_sync_r2r::raw::RawNode;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = RawNode::create("relay_raw", "")?;
//! let ty = "sensor_msgs/msg/Image";
//! let mut sub = node.subscribe("/camera/image", ty, QosProfile::sensor_data())?;
//! let publ = node.publisher("/camera/image_relay", ty, QosProfile::default())?;
//! let mut waiter = node.waiter()?;
//! loop {
//!     waiter.wait(&[&sub], Some(Duration::from_millis(100)))?;
//!     while let Some(msg) = sub.take()? {
//!         println!("stamp {}", msg.header_stamp()?);
//!         publ.publish(&msg)?;
//!     }
//! }
//! # }
//! ```
//!
//! All `unsafe` code is in one module (`ffi.rs`), with its invariants
//! written at its top; this module denies `unsafe_code`.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod ffi;
mod typesupport;

use std::ffi::CString;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use ::r2r::QosProfile;

use stamp_sync::time::Stamp;
use stamp_sync_wire::stamp::{StampError, cdr_header_stamp};

pub use typesupport::{Source, TypeName, TypeSupport, TypeSupportError, TypeSupportLoader};

/// Why a raw transport call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawError {
    /// The type's support could not be found or loaded.
    #[error(transparent)]
    TypeSupport(#[from] TypeSupportError),
    /// An rcl call failed.
    #[error("{op} failed{}: rcl error {code}: {message}", fmt_what(.what))]
    Rcl {
        /// The rcl function.
        op: &'static str,
        /// What it was called for (topic, node), if anything.
        what: String,
        /// rcl's return code.
        code: i32,
        /// rcl's error string.
        message: String,
    },
    /// A name passed to rcl contains a NUL byte.
    #[error("{what} {name:?} contains a NUL byte")]
    Nul {
        /// What the name is (topic, node name, ...).
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A subscription of another context was passed to a wait set.
    #[error("subscription {topic} belongs to another RawContext than this waiter")]
    ForeignSubscription {
        /// The subscription's topic.
        topic: String,
    },
}

fn fmt_what(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!(" for {what}")
    }
}

impl RawError {
    fn rcl(e: ffi::RclError, what: impl Into<String>) -> RawError {
        RawError::Rcl {
            op: e.op,
            what: what.into(),
            code: e.code,
            message: e.message,
        }
    }
}

fn c_name(what: &'static str, name: &str) -> Result<CString, RawError> {
    CString::new(name).map_err(|_| RawError::Nul {
        what,
        name: name.to_string(),
    })
}

/// An rcl context of its own: its own DDS participant, in the domain of
/// `ROS_DOMAIN_ID` or a given one. Initialized without the process's
/// `--ros-args` (no remapping applies to raw entities; resolve names with
/// the r2r node, e.g. [`resolve_topic`](crate::resolve_topic)).
#[derive(Clone)]
pub struct RawContext {
    inner: Arc<ffi::Context>,
}

impl fmt::Debug for RawContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawContext")
    }
}

impl RawContext {
    /// A context in the domain of `ROS_DOMAIN_ID` (0 if unset).
    pub fn new() -> Result<RawContext, RawError> {
        RawContext::init(None)
    }

    /// A context in `domain_id`, whatever `ROS_DOMAIN_ID` says.
    pub fn with_domain(domain_id: usize) -> Result<RawContext, RawError> {
        RawContext::init(Some(domain_id))
    }

    fn init(domain_id: Option<usize>) -> Result<RawContext, RawError> {
        ffi::Context::new(domain_id)
            .map(|inner| RawContext { inner })
            .map_err(|e| RawError::rcl(e, "a raw context"))
    }
}

/// A node of a [`RawContext`] (without rosout): creates raw subscriptions
/// and publishers and answers graph queries. Cheap to clone; entities
/// created from it keep it (and its context) alive.
#[derive(Clone)]
pub struct RawNode {
    inner: Arc<ffi::Node>,
    loader: TypeSupportLoader,
}

impl fmt::Debug for RawNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawNode")
            .field("name", &self.inner.fully_qualified_name())
            .finish()
    }
}

/// One publisher or subscription of a topic, as the graph reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointInfo {
    /// The node's name.
    pub node_name: String,
    /// The node's namespace.
    pub node_namespace: String,
    /// The type it uses, `package/msg/Type`.
    pub topic_type: String,
    /// Its QoS.
    pub qos: QosProfile,
}

impl RawNode {
    /// A node `name` in `namespace` on a new [`RawContext`], finding types
    /// through `AMENT_PREFIX_PATH`.
    pub fn create(name: &str, namespace: &str) -> Result<RawNode, RawError> {
        RawNode::new(&RawContext::new()?, name, namespace)
    }

    /// A node `name` in `namespace` on `context`, finding types through
    /// `AMENT_PREFIX_PATH`.
    pub fn new(context: &RawContext, name: &str, namespace: &str) -> Result<RawNode, RawError> {
        RawNode::with_loader(context, name, namespace, TypeSupportLoader::from_env())
    }

    /// As [`new`](Self::new), finding types with `loader`.
    pub fn with_loader(
        context: &RawContext,
        name: &str,
        namespace: &str,
        loader: TypeSupportLoader,
    ) -> Result<RawNode, RawError> {
        let c_node = c_name("node name", name)?;
        let c_ns = c_name("namespace", namespace)?;
        let inner = ffi::Node::new(&context.inner, &c_node, &c_ns)
            .map_err(|e| RawError::rcl(e, format!("node {name:?} in {namespace:?}")))?;
        Ok(RawNode { inner, loader })
    }

    /// The loader that finds this node's types.
    pub fn loader(&self) -> &TypeSupportLoader {
        &self.loader
    }

    /// The node's fully qualified name.
    pub fn fully_qualified_name(&self) -> String {
        self.inner.fully_qualified_name()
    }

    /// Subscribes to `topic`, of type `type_name` (`package/msg/Type`).
    pub fn subscribe(
        &self,
        topic: &str,
        type_name: &str,
        qos: QosProfile,
    ) -> Result<RawSubscription, RawError> {
        let ts = self.loader.load(type_name)?;
        self.subscribe_with(topic, &ts, qos)
    }

    /// Subscribes to `topic` with an already loaded type support.
    pub fn subscribe_with(
        &self,
        topic: &str,
        ts: &TypeSupport,
        qos: QosProfile,
    ) -> Result<RawSubscription, RawError> {
        let c_topic = c_name("topic", topic)?;
        let inner = ffi::Subscription::new(&self.inner, &c_topic, &ts.handle, qos.into())
            .map_err(|e| RawError::rcl(e, format!("subscription to {topic} ({})", ts.name())))?;
        Ok(RawSubscription {
            inner,
            type_support: ts.clone(),
            capacity_hint: 0,
            pool: Arc::default(),
        })
    }

    /// A publisher on `topic`, of type `type_name` (`package/msg/Type`).
    pub fn publisher(
        &self,
        topic: &str,
        type_name: &str,
        qos: QosProfile,
    ) -> Result<RawPublisher, RawError> {
        let ts = self.loader.load(type_name)?;
        self.publisher_with(topic, &ts, qos)
    }

    /// A publisher on `topic` with an already loaded type support.
    pub fn publisher_with(
        &self,
        topic: &str,
        ts: &TypeSupport,
        qos: QosProfile,
    ) -> Result<RawPublisher, RawError> {
        let c_topic = c_name("topic", topic)?;
        let inner = ffi::Publisher::new(&self.inner, &c_topic, &ts.handle, qos.into())
            .map_err(|e| RawError::rcl(e, format!("publisher on {topic} ({})", ts.name())))?;
        Ok(RawPublisher {
            inner,
            topic: topic.to_string(),
            type_support: ts.clone(),
        })
    }

    /// A wait set for this node's subscriptions, with its own [`Wake`].
    pub fn waiter(&self) -> Result<Waiter, RawError> {
        let context = self.inner.context();
        let ws = ffi::WaitSet::new(context).map_err(|e| RawError::rcl(e, "a wait set"))?;
        let guard =
            ffi::GuardCondition::new(context).map_err(|e| RawError::rcl(e, "a guard condition"))?;
        Ok(Waiter {
            ws,
            wake: Wake {
                guard: Arc::new(guard),
            },
            ready: Vec::new(),
        })
    }

    /// Every topic on the graph (fully qualified) with its type names, as
    /// this node sees it.
    pub fn topic_names_and_types(&self) -> Result<Vec<(String, Vec<String>)>, RawError> {
        self.inner
            .topic_names_and_types()
            .map_err(|e| RawError::rcl(e, "the graph"))
    }

    /// The publishers of a fully qualified topic name.
    pub fn publishers_info(&self, topic: &str) -> Result<Vec<EndpointInfo>, RawError> {
        self.endpoints(topic, true)
    }

    /// The subscriptions of a fully qualified topic name.
    pub fn subscriptions_info(&self, topic: &str) -> Result<Vec<EndpointInfo>, RawError> {
        self.endpoints(topic, false)
    }

    fn endpoints(&self, topic: &str, publishers: bool) -> Result<Vec<EndpointInfo>, RawError> {
        let c_topic = c_name("topic", topic)?;
        let list = self
            .inner
            .endpoints(&c_topic, publishers)
            .map_err(|e| RawError::rcl(e, topic))?;
        Ok(list
            .into_iter()
            .map(|e| EndpointInfo {
                node_name: e.node_name,
                node_namespace: e.node_namespace,
                topic_type: e.topic_type,
                qos: e.qos.into(),
            })
            .collect())
    }
}

/// A serialized message in a buffer of its own (CDR with its 4-byte
/// encapsulation header). `Clone` shares the buffer; `Send + Sync`.
#[derive(Clone)]
pub struct SerializedMsg {
    buf: Arc<PooledBuf>,
    info: TakeInfo,
}

/// Spare buffers a subscription keeps per topic: a taken message's buffer
/// goes back here when its last clone drops, so steady state neither
/// allocates nor faults in fresh pages (a 1080p image is 1,500 pages).
const POOL_MAX: usize = 4;

type Pool = Arc<Mutex<Vec<ffi::SerializedBuf>>>;

/// A buffer that returns to its subscription's pool (if the subscription
/// is still there and the pool not full) when dropped.
struct PooledBuf {
    buf: Option<ffi::SerializedBuf>,
    pool: Weak<Mutex<Vec<ffi::SerializedBuf>>>,
}

impl PooledBuf {
    fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref().map_or(&[], ffi::SerializedBuf::as_bytes)
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        if let (Some(buf), Some(pool)) = (self.buf.take(), self.pool.upgrade()) {
            let mut spare = pool.lock().unwrap_or_else(PoisonError::into_inner);
            if spare.len() < POOL_MAX {
                spare.push(buf);
            }
        }
    }
}

/// When a taken message was sent and received, as rmw reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakeInfo {
    /// When the publisher wrote it (ns since the epoch; 0 if unknown).
    pub source_timestamp: i64,
    /// When it was received (ns since the epoch; 0 if unknown).
    pub received_timestamp: i64,
}

impl fmt::Debug for SerializedMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SerializedMsg")
            .field("len", &self.len())
            .field("info", &self.info)
            .finish()
    }
}

impl SerializedMsg {
    /// A copy of already serialized bytes, e.g. to publish a recorded message.
    pub fn from_bytes(bytes: &[u8]) -> Result<SerializedMsg, RawError> {
        let buf = ffi::SerializedBuf::from_bytes(bytes)
            .map_err(|e| RawError::rcl(e, "a message buffer"))?;
        Ok(SerializedMsg {
            buf: Arc::new(PooledBuf {
                buf: Some(buf),
                pool: Weak::new(),
            }),
            info: TakeInfo::default(),
        })
    }

    /// The serialized bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_bytes()
    }

    /// Their number.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timestamps of the take (default for a message made by `from_bytes`).
    pub fn info(&self) -> TakeInfo {
        self.info
    }

    /// The `header.stamp` of a message whose type starts with a
    /// `std_msgs/Header` (the same reader bag replay uses,
    /// [`cdr_header_stamp`]). For other types the result is meaningless:
    /// check [`TypeSupportLoader::has_header`] first.
    pub fn header_stamp(&self) -> Result<Stamp, StampError> {
        cdr_header_stamp(self.as_bytes())
    }
}

impl AsRef<[u8]> for SerializedMsg {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A subscription that takes serialized messages.
pub struct RawSubscription {
    inner: ffi::Subscription,
    type_support: TypeSupport,
    /// The last message's size: the next buffer is allocated this large, so
    /// rmw never has to grow it.
    capacity_hint: usize,
    /// Buffers of dropped messages, reused by `take`.
    pool: Pool,
}

impl fmt::Debug for RawSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSubscription")
            .field("topic", &self.topic())
            .field("type", &self.type_support.name().to_string())
            .finish()
    }
}

impl RawSubscription {
    /// Takes the next message, if one is waiting, into a buffer of its own.
    pub fn take(&mut self) -> Result<Option<SerializedMsg>, RawError> {
        let spare = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut buf = match spare {
            Some(b) => b,
            None => ffi::SerializedBuf::with_capacity(self.capacity_hint)
                .map_err(|e| RawError::rcl(e, "a message buffer"))?,
        };
        let taken = self.inner.take(&mut buf);
        match taken {
            Ok(Some(info)) => {
                self.capacity_hint = buf.as_bytes().len();
                Ok(Some(SerializedMsg {
                    buf: Arc::new(PooledBuf {
                        buf: Some(buf),
                        pool: Arc::downgrade(&self.pool),
                    }),
                    info: TakeInfo {
                        source_timestamp: info.source_timestamp,
                        received_timestamp: info.received_timestamp,
                    },
                }))
            }
            Ok(None) => {
                self.pool
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(buf);
                Ok(None)
            }
            Err(e) => Err(RawError::rcl(e, self.topic())),
        }
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> String {
        self.inner.topic_name()
    }

    /// The message type.
    pub fn type_support(&self) -> &TypeSupport {
        &self.type_support
    }

    /// Messages the middleware reports lost before they reached this
    /// subscription, in all so far (rmw's `RMW_EVENT_MESSAGE_LOST`: Fast DDS
    /// counts the gaps in a best-effort writer's sequence numbers). `None`
    /// where rmw does not report lost messages.
    pub fn lost(&self) -> Result<Option<u64>, RawError> {
        self.inner
            .lost_total()
            .map_err(|e| RawError::rcl(e, self.topic()))
    }

    /// Publishers matched with this subscription.
    pub fn publisher_count(&self) -> Result<usize, RawError> {
        self.inner
            .publisher_count()
            .map_err(|e| RawError::rcl(e, self.topic()))
    }
}

/// A publisher of serialized messages.
pub struct RawPublisher {
    inner: ffi::Publisher,
    topic: String,
    type_support: TypeSupport,
}

impl fmt::Debug for RawPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPublisher")
            .field("topic", &self.topic)
            .field("type", &self.type_support.name().to_string())
            .finish()
    }
}

impl RawPublisher {
    /// Publishes `msg` from its own buffer (rmw copies it into the DDS
    /// sample; no other copy).
    pub fn publish(&self, msg: &SerializedMsg) -> Result<(), RawError> {
        self.publish_bytes(msg.as_bytes())
    }

    /// Publishes already serialized bytes (CDR with encapsulation header).
    /// They must be a valid message of this publisher's type.
    pub fn publish_bytes(&self, bytes: &[u8]) -> Result<(), RawError> {
        self.inner
            .publish(bytes)
            .map_err(|e| RawError::rcl(e, &self.topic))
    }

    /// Subscriptions matched with this publisher (of any process).
    pub fn subscription_count(&self) -> Result<usize, RawError> {
        self.inner
            .subscription_count()
            .map_err(|e| RawError::rcl(e, &self.topic))
    }

    /// The message type.
    pub fn type_support(&self) -> &TypeSupport {
        &self.type_support
    }
}

/// Wakes a [`Waiter`] from any thread. Cheap to clone.
#[derive(Clone)]
pub struct Wake {
    guard: Arc<ffi::GuardCondition>,
}

impl fmt::Debug for Wake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wake")
    }
}

impl Wake {
    /// Makes the waiter's current or next `wait` return with `woken`.
    pub fn wake(&self) -> Result<(), RawError> {
        self.guard
            .trigger()
            .map_err(|e| RawError::rcl(e, "a wake-up"))
    }
}

/// What ended a [`Waiter::wait`].
#[derive(Debug, PartialEq, Eq)]
pub struct Ready<'a> {
    /// Indices (into the slice passed to `wait`) of the subscriptions that
    /// have data.
    pub subscriptions: &'a [usize],
    /// [`Wake::wake`] was called.
    pub woken: bool,
    /// The timeout passed with nothing ready.
    pub timed_out: bool,
}

/// Blocks a thread until subscriptions have data or it is woken.
pub struct Waiter {
    ws: ffi::WaitSet,
    wake: Wake,
    ready: Vec<usize>,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Waiter")
    }
}

impl Waiter {
    /// A handle that wakes this waiter from any thread.
    pub fn wake_handle(&self) -> Wake {
        self.wake.clone()
    }

    /// Blocks until one of `subscriptions` has data, [`Wake::wake`] is
    /// called, or `timeout` passes (`None`: no timeout). The subscriptions
    /// must come from nodes of this waiter's context.
    pub fn wait(
        &mut self,
        subscriptions: &[&RawSubscription],
        timeout: Option<Duration>,
    ) -> Result<Ready<'_>, RawError> {
        if let Some(s) = subscriptions
            .iter()
            .find(|s| !Arc::ptr_eq(s.inner.context(), self.ws.context()))
        {
            return Err(RawError::ForeignSubscription { topic: s.topic() });
        }
        let subs: smallvec::SmallVec<[&ffi::Subscription; 8]> =
            subscriptions.iter().map(|s| &s.inner).collect();
        self.ready.clear();
        let (woken_by, woken) = self
            .ws
            .wait(&subs, &self.wake.guard, timeout, &mut self.ready)
            .map_err(|e| RawError::rcl(e, "a wait"))?;
        Ok(Ready {
            subscriptions: &self.ready,
            woken,
            timed_out: matches!(woken_by, ffi::Woken::Timeout),
        })
    }
}
