//! Typed subscriptions: one topic as a stream, a topic fed into a shared
//! synchronizer, and 2 to 9 topics synchronized into one stream.

use ::r2r::{Node, QosProfile, WrappedTypesupport};
use futures::stream::{BoxStream, StreamExt};

use crate::driver::stream::{QueuesOf, SyncInputs, SyncStream};
use crate::driver::{Channel, Messages, SharedSynchronizer};
use crate::policy::{ConfigError, Policy};
use crate::stamped::Stamped;

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
