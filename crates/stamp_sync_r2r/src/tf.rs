//! Transforms on ROS 2 through r2r: a listener on `/tf` and `/tf_static`
//! that keeps a shared [`BufferCore`] for lookups, and [`TfFilter`] on r2r
//! subscriptions (a topic, or any stream such as a synchronizer's sets).
//!
//! Event-driven: every subscription is an r2r stream polled by your
//! executor while the node spins; nothing sleeps. The QoS are tf2_ros's:
//! `/tf` reliable, volatile, keep last 100 ([`tf_qos`]); `/tf_static`
//! reliable, transient local, keep all ([`tf_static_qos`]), so a node that
//! starts late still gets every static transform.
//!
//! ```no_run
//! use futures::{StreamExt, executor::LocalPool, task::LocalSpawnExt};
//! use r2r::{QosProfile, sensor_msgs::msg::Image};
//! use stamp_sync_r2r::tf::{TfListener, subscribe_tf_filtered};
//! use stamp_sync_tf::{TfEvent, TfFilter};
//! use stamp_sync::{Duration, Stamp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = r2r::Node::create(r2r::Context::create()?, "tf_user", "")?;
//! let mut pool = LocalPool::new();
//! // Lookups of your own.
//! let (listener, feed) = TfListener::new(&mut node)?;
//! pool.spawner().spawn_local(feed)?;
//! // Images with their transform to "map", or a failure with its reason.
//! let filter = TfFilter::builder().target("map").timeout(Duration::from_millis(500)).build()?;
//! let mut images = subscribe_tf_filtered::<Image>(&mut node, "image", QosProfile::sensor_data(), filter)?;
//! pool.spawner().spawn_local(async move {
//!     while let Some(event) = images.next().await {
//!         match event {
//!             TfEvent::Released(r) => println!("{:?}", r.transforms[0].transform),
//!             TfEvent::Failed(f) => println!("dropped: {}", f.reason),
//!         }
//!     }
//! })?;
//! loop {
//!     node.spin_once(std::time::Duration::from_millis(10));
//!     pool.run_until_stalled();
//!     let _ = listener.buffer().lookup_transform("map", "base", Stamp::ZERO);
//! }
//! # }
//! ```

use std::sync::{Arc, Mutex, MutexGuard};

use ::r2r::tf2_msgs::msg::TFMessage;
use ::r2r::{Node, QosProfile, WrappedTypesupport};
use futures::stream::{self, BoxStream, Stream, StreamExt};

use super::clock::RosClock;
use super::subscribe::{SubscribeError, subscribe};
use crate::header::{ByHeader, HasHeader};
use stamp_sync::time::Stamp;
use stamp_sync_tf::{
    BufferCore, Framed, Quaternion, StampedTransform, TfError, TfFilter, TfFilterStream, TfInput,
    Transform, Vector3,
};

/// The dynamic transforms topic.
pub const TF_TOPIC: &str = "/tf";
/// The static transforms topic.
pub const TF_STATIC_TOPIC: &str = "/tf_static";
/// How often a [`TfFiltered`] stream checks its timeouts while no input
/// arrives (a wall timer; the timeouts themselves run on the ROS clock).
pub const TIMEOUT_CHECK_PERIOD: std::time::Duration = std::time::Duration::from_millis(10);

/// `/tf`'s QoS, as tf2_ros: reliable, volatile, keep last 100.
pub fn tf_qos() -> QosProfile {
    QosProfile::default().reliable().volatile().keep_last(100)
}

/// `/tf_static`'s QoS, as tf2_ros: reliable, transient local, keep all.
pub fn tf_static_qos() -> QosProfile {
    QosProfile::default()
        .reliable()
        .transient_local()
        .keep_all()
}

/// The transforms of one `TFMessage`.
pub fn tf_inputs(msg: TFMessage, is_static: bool) -> impl Iterator<Item = TfInput> {
    msg.transforms.into_iter().map(move |t| {
        let (v, q) = (t.transform.translation, t.transform.rotation);
        TfInput {
            is_static,
            stamp: crate::header::stamp_of_time(&t.header.stamp),
            parent: t.header.frame_id,
            child: t.child_frame_id,
            transform: Transform::new(
                Vector3::new(v.x, v.y, v.z),
                Quaternion::new(q.x, q.y, q.z, q.w),
            ),
        }
    })
}

/// `/tf` and `/tf_static` of `node` as one stream of transforms, on
/// subscriptions of its own.
pub fn subscribe_transforms(
    node: &mut Node,
) -> Result<BoxStream<'static, TfInput>, SubscribeError> {
    let dynamic = subscribe::<TFMessage>(node, TF_TOPIC, tf_qos())?
        .flat_map(|m| stream::iter(tf_inputs(m, false)));
    let fixed = subscribe::<TFMessage>(node, TF_STATIC_TOPIC, tf_static_qos())?
        .flat_map(|m| stream::iter(tf_inputs(m, true)));
    Ok(stream::select(dynamic, fixed).boxed())
}

/// A shared handle on a transform buffer: clone it freely; every clone
/// sees the same transforms.
#[derive(Clone, Default)]
pub struct TfBuffer(Arc<Mutex<BufferCore>>);

impl std::fmt::Debug for TfBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TfBuffer").finish_non_exhaustive()
    }
}

impl TfBuffer {
    /// An empty buffer with tf2's 10 s cache.
    pub fn new() -> Self {
        TfBuffer::default()
    }

    fn lock(&self) -> MutexGuard<'_, BufferCore> {
        // A panic elsewhere cannot leave a BufferCore half-updated in a
        // way lookups could trip on: use it as it is.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts one transform (see [`BufferCore::set_transform`]).
    pub fn insert(&self, t: &TfInput) -> Result<(), TfError> {
        let mut b = self.lock();
        if t.is_static {
            b.set_static_transform(&t.parent, &t.child, t.stamp, &t.transform)
        } else {
            b.set_transform(&t.parent, &t.child, t.stamp, &t.transform)
        }
    }

    /// `target <- source` at `stamp` (0: the latest common time).
    pub fn lookup_transform(
        &self,
        target: &str,
        source: &str,
        stamp: Stamp,
    ) -> Result<StampedTransform, TfError> {
        self.lock().lookup_transform(target, source, stamp)
    }

    /// Whether [`lookup_transform`](Self::lookup_transform) would succeed.
    pub fn can_transform(&self, target: &str, source: &str, stamp: Stamp) -> bool {
        self.lock().can_transform(target, source, stamp)
    }

    /// Runs `f` on the buffer (frames, latest stamps, ...) under its lock.
    pub fn with<R>(&self, f: impl FnOnce(&BufferCore) -> R) -> R {
        f(&self.lock())
    }
}

/// Keeps a [`TfBuffer`] up to date from `/tf` and `/tf_static`.
#[derive(Clone, Debug)]
pub struct TfListener {
    buffer: TfBuffer,
}

impl TfListener {
    /// Subscribes `node` to `/tf` and `/tf_static`. Spawn the returned
    /// future on the node's executor: it inserts every transform as it
    /// arrives (refused ones are skipped, as tf2 does) and ends when the
    /// node drops the subscriptions.
    pub fn new(
        node: &mut Node,
    ) -> Result<(TfListener, impl Future<Output = ()> + Send + 'static), SubscribeError> {
        let buffer = TfBuffer::new();
        let feed = buffer.clone();
        let transforms = subscribe_transforms(node)?;
        let run = transforms.for_each(move |t| {
            let _ = feed.insert(&t);
            futures::future::ready(())
        });
        Ok((TfListener { buffer }, run))
    }

    /// The shared buffer.
    pub fn buffer(&self) -> &TfBuffer {
        &self.buffer
    }
}

/// The stream [`tf_filtered`] and [`subscribe_tf_filtered`] return: a
/// [`TfFilterStream`] of [`TfEvent`](stamp_sync_tf::TfEvent)s.
pub type TfFiltered<M> = TfFilterStream<BoxStream<'static, M>, BoxStream<'static, TfInput>, M>;

/// Runs `filter` over `messages` (a subscription, or a synchronizer's sets
/// mapped to [`FramedSet`](stamp_sync_tf::FramedSet)s) and the transforms of
/// `/tf` and `/tf_static` (subscriptions of its own).
///
/// Arrival times and [`TimeoutClock::ArrivalTime`](stamp_sync_tf::TimeoutClock)
/// timeouts run on the node's ROS clock (sim time under
/// `use_sim_time`), checked as inputs arrive and every
/// [`TIMEOUT_CHECK_PERIOD`] of wall time: a message fails with
/// `Timeout` after its wait, never before, and at most one period late.
///
/// With a synchronizer: each matched set, held until the transform for
/// its image's stamp exists, comes out with it.
///
/// ```no_run
/// use futures::StreamExt;
/// use r2r::QosProfile;
/// use r2r::sensor_msgs::msg::{CameraInfo, Image};
/// use stamp_sync_r2r::{subscribe_synced, tf::tf_filtered};
/// use stamp_sync_tf::{FramedSet, TfFilter};
/// use stamp_sync::ExactTime;
/// use stamp_sync_r2r::HasHeader;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut node = r2r::Node::create(r2r::Context::create()?, "sets_in_map", "")?;
/// let qos = QosProfile::sensor_data();
/// let sets = subscribe_synced::<(Image, CameraInfo), _>(
///     &mut node,
///     [("image", qos.clone()), ("camera_info", qos)],
///     ExactTime::new(10)?,
/// )?
/// .map(|(image, info)| FramedSet::new(image.stamp(), image.header.frame_id.clone(), (image, info)));
/// let filter = TfFilter::builder().target("map").build()?;
/// let events = tf_filtered(&mut node, sets, filter)?; // TfEvent<FramedSet<(Image, CameraInfo)>>
/// # let _ = events; Ok(()) }
/// ```
pub fn tf_filtered<M>(
    node: &mut Node,
    messages: impl Stream<Item = M> + Send + 'static,
    filter: TfFilter<M>,
) -> Result<TfFiltered<M>, SubscribeError>
where
    M: Framed + Send + 'static,
{
    let transforms = subscribe_transforms(node)?;
    tf_filtered_with(node, messages, transforms, filter)
}

/// [`tf_filtered`] with the transforms from `transforms` (e.g.
/// [`subscribe_transforms`] observed on the way, or a recorded stream).
pub fn tf_filtered_with<M>(
    node: &mut Node,
    messages: impl Stream<Item = M> + Send + 'static,
    transforms: impl Stream<Item = TfInput> + Send + 'static,
    filter: TfFilter<M>,
) -> Result<TfFiltered<M>, SubscribeError>
where
    M: Framed + Send + 'static,
{
    let clock = RosClock::of(node);
    let timer = node
        .create_wall_timer(TIMEOUT_CHECK_PERIOD)
        .map_err(|source| SubscribeError::Ros {
            topic: "(timeout timer)".to_string(),
            source,
        })?;
    let ticks = stream::unfold(timer, |mut t| async move {
        t.tick().await.ok().map(|_| ((), t))
    });
    Ok(
        TfFilterStream::new(messages.boxed(), transforms.boxed(), filter)
            .with_clock(move || clock.now())
            .with_ticks(ticks),
    )
}

/// Subscribes to `topic` and runs `filter` over its messages: see
/// [`tf_filtered`]. Every header-bearing r2r type works, wrapped in
/// [`ByHeader`] (its `header.stamp` and `header.frame_id`).
pub fn subscribe_tf_filtered<T>(
    node: &mut Node,
    topic: &str,
    qos: QosProfile,
    filter: TfFilter<ByHeader<T>>,
) -> Result<TfFiltered<ByHeader<T>>, SubscribeError>
where
    T: WrappedTypesupport + HasHeader + Send + 'static,
{
    let messages = subscribe::<T>(node, topic, qos)?.map(ByHeader);
    tf_filtered(node, messages, filter)
}
