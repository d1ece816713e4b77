//! Typed subscriptions: one topic as a stream, a topic fed into a shared
//! synchronizer, and 2 to 9 topics synchronized into one stream.

use ::r2r::{Node, QosProfile, WrappedTypesupport};
use futures::stream::{BoxStream, StreamExt};

use super::clock::RosClock;
use crate::header::RosHeader;
use stamp_sync::driver::stream::{MessagesOf, QueuesOf, StreamBuilder, SyncInputs, SyncStream};
use stamp_sync::driver::{Channel, Messages, SharedSynchronizer, StampAt, StampGetters};
use stamp_sync::policy::{ConfigError, Policy};

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
/// [`SharedSynchronizer`], whose callbacks receive the sets. Messages are
/// stamped by their `Stamped` impls and received on the node's ROS clock
/// (sim time under `use_sim_time`). Spawn the returned future on any
/// executor; it finishes when the node drops the subscription. For a
/// synchronizer with stamp getters use [`feed_with`].
pub fn feed<const I: usize, T, P>(
    node: &mut Node,
    topic: &str,
    qos: QosProfile,
    sync: SharedSynchronizer<T, P, RosHeader>,
) -> Result<impl Future<Output = ()> + Send + 'static, SubscribeError>
where
    T: Messages + Channel<I> + 'static,
    RosHeader: StampAt<T, I>,
    <T as Channel<I>>::Msg: WrappedTypesupport + Send + 'static,
    P: Policy<T::Queues> + 'static,
    SharedSynchronizer<T, P, RosHeader>: Send,
{
    feed_with::<I, T, P, RosHeader>(node, topic, qos, sync)
}

/// [`feed`] for a [`SharedSynchronizer`] with any stamp getters
/// ([`Builder::stamp_with`](stamp_sync::Builder::stamp_with)).
pub fn feed_with<const I: usize, T, P, G>(
    node: &mut Node,
    topic: &str,
    qos: QosProfile,
    sync: SharedSynchronizer<T, P, G>,
) -> Result<impl Future<Output = ()> + Send + 'static, SubscribeError>
where
    T: Messages + Channel<I> + 'static,
    <T as Channel<I>>::Msg: WrappedTypesupport + Send + 'static,
    P: Policy<T::Queues> + 'static,
    G: StampAt<T, I> + 'static,
    SharedSynchronizer<T, P, G>: Send,
{
    let clock = RosClock::of(node);
    let s = subscribe::<<T as Channel<I>>::Msg>(node, topic, qos)?;
    Ok(s.for_each(move |m| {
        sync.add_at::<I>(m, clock.now());
        futures::future::ready(())
    }))
}

mod sealed {
    pub trait Sealed {}
}

/// A tuple of 2 to 9 r2r message types that can be subscribed to and
/// synchronized together. Sealed; implemented for tuples of types that are
/// `WrappedTypesupport + Send` (stamped by their `Stamped` impl, or by
/// the getters given to [`Builder::stamp_with`](stamp_sync::Builder::stamp_with)).
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
/// tuple `T` of messages; `G` the stamp getters.
pub type Synced<T, P, G = RosHeader> = SyncStream<<T as SyncTopics>::Streams, P, G>;

/// The builder [`subscribe_synced_with`] returns.
pub type SyncedBuilder<T, P, G = RosHeader> = StreamBuilder<<T as SyncTopics>::Streams, P, G>;

/// Subscribes to 2 to 9 topics and synchronizes them with `policy`.
///
/// `T` is the tuple of message types, `topics` one `(topic, QoS)` per
/// type in the same order. Messages are stamped by their header
/// ([`RosHeader`]) and received on the node's ROS clock (sim time under `use_sim_time`;
/// what arrival-clock policies such as `LatestTime` use). Poll the result
/// on any executor while the node spins; see the [module example](crate).
/// Counters with [`SyncStream::stats`]. For drop, stale and partial-set
/// callbacks, options and stamp getters use [`subscribe_synced_with`].
pub fn subscribe_synced<T: SyncTopics, P: Policy<QueuesOf<T::Streams>>>(
    node: &mut Node,
    topics: T::Topics<'_>,
    policy: P,
) -> Result<Synced<T, P>, SubscribeError>
where
    RosHeader: StampGetters<MessagesOf<T::Streams>>,
{
    Ok(subscribe_synced_with::<T, P>(node, topics, policy)?.build()?)
}

/// Subscribes to 2 to 9 topics and returns a stream [`Builder`](stamp_sync::Builder) whose arrival
/// clock is the node's ROS clock: add [`Options`](stamp_sync::Options)
/// (arrival stamps, stale reports and partial sets then run on ROS time),
/// per-channel stamp getters, and drop, stale and partial-set callbacks,
/// then `build()`.
///
/// Any r2r message type works, including ones generated from your own
/// workspace, which have no `Stamped` impl: give a getter per channel.
///
/// ```no_run
/// use r2r::QosProfile;
/// use r2r::sensor_msgs::msg::Image;
/// use r2r::std_msgs::msg::String as Note; // no header at all
/// use stamp_sync::{ApproximateTime, Duration, Options, Stamp};
/// use stamp_sync_r2r::RosHeader;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut node = r2r::Node::create(r2r::Context::create()?, "sync", "")?;
/// let qos = QosProfile::sensor_data();
/// let clock = stamp_sync_r2r::clock::RosClock::of(&node);
/// let sets = stamp_sync_r2r::subscribe_synced_with::<(Image, Note), _>(
///     &mut node,
///     [("image", qos.clone()), ("note", qos)],
///     ApproximateTime::new(10)?,
/// )?
/// // The note is stamped when it arrives, on the node's clock.
/// .stamp_with((RosHeader, move |_: &Note| clock.now()))
/// .options(Options::new().stale_after(Duration::from_secs(2)))
/// .on_stale(|s| eprintln!("channel {} silent for {}", s.channel, s.silent_for))
/// .build()?;
/// # let _ = sets;
/// # Ok(()) }
/// ```
pub fn subscribe_synced_with<T: SyncTopics, P: Policy<QueuesOf<T::Streams>>>(
    node: &mut Node,
    topics: T::Topics<'_>,
    policy: P,
) -> Result<SyncedBuilder<T, P>, SubscribeError> {
    let clock = RosClock::of(node);
    let streams = T::subscribe_all(node, topics)?;
    Ok(SyncStream::builder(streams, policy)
        .stamp_with(RosHeader)
        .clock(move || clock.now()))
}

macro_rules! impl_sync_topics {
    ($n:expr; $($T:ident),+) => {
        impl<$($T),+> sealed::Sealed for ($($T,)+) {}

        impl<$($T),+> SyncTopics for ($($T,)+)
        where
            $($T: WrappedTypesupport + Send + 'static,)+
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
