//! Driver and followers on ROS 2 topics: a `Stream` of typed follower
//! sets, e.g. each `Image` with every `Imu` sample since the previous one
//! ([`stamp_sync::policy::follow`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use r2r::sensor_msgs::msg::{Image, Imu};
//! use stamp_sync::policy::{FollowConfig, Mode};
//! use stamp_sync_r2r::follow::subscribe_following;
//!
//! let mut node = r2r::Node::create(r2r::Context::create()?, "vio", "")?;
//! let qos = r2r::QosProfile::sensor_data();
//! let config = FollowConfig::new(0).follow(1, Mode::Ranged);
//! let mut frames = subscribe_following::<Image, Imu>(
//!     &mut node,
//!     ("/camera/image", qos.clone()),
//!     &[("/imu/data", qos)],
//!     &config,
//! )?;
//! while let Some(frame) = frames.next().await {
//!     let imu = frame.ranged(0).unwrap_or_default();
//!     println!("{} IMU samples for the frame", imu.len());
//! }
//! # Ok(()) }
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use ::r2r::{Node, QosProfile, WrappedTypesupport};
use futures::stream::{BoxStream, Stream, StreamExt};
use stamp_sync::Event;
use stamp_sync::driver::follow::FollowSynchronizer;
use stamp_sync::policy::{ConfigError, FollowConfig, Follower};
use stamp_sync::{Dropped, Stats};

use super::header::HasHeader;
use super::subscribe::{SubscribeError, subscribe};

/// One message of either kind, as the synchronizer holds it.
#[derive(Clone, Debug)]
enum Either<D, F> {
    Driver(D),
    Follower(F),
}

/// A driver message with what each follower has for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Following<D, F> {
    /// The driver message.
    pub driver: D,
    /// Per follower topic, in the order given, its part.
    pub followers: Vec<Follower<F>>,
}

impl<D, F> Following<D, F> {
    /// The messages of `ranged` follower `k` (0 = the first follower topic).
    pub fn ranged(&self, k: usize) -> Option<&[F]> {
        match self.followers.get(k)? {
            Follower::Ranged(v) => Some(v),
            _ => None,
        }
    }
    /// The one message of `before` or `closest` follower `k`.
    pub fn one(&self, k: usize) -> Option<&F> {
        match self.followers.get(k)? {
            Follower::Before(m) | Follower::Closest(m) => m.as_ref(),
            _ => None,
        }
    }
    /// The pair of `bracket` follower `k`.
    pub fn bracket(&self, k: usize) -> Option<(Option<&F>, Option<&F>)> {
        match self.followers.get(k)? {
            Follower::Bracket(lo, hi) => Some((lo.as_ref(), hi.as_ref())),
            _ => None,
        }
    }
}

/// The stream [`subscribe_following`] returns. Drops go to
/// [`on_drop`](Self::on_drop) if set, else are only counted
/// ([`stats`](Self::stats)).
pub struct FollowStream<D, F> {
    inputs: BoxStream<'static, (usize, Either<D, F>)>,
    sync: FollowSynchronizer<Either<D, F>>,
    ready: std::collections::VecDeque<Following<D, F>>,
    on_drop: Option<Box<dyn FnMut(Dropped<()>) + Send>>,
    ended: bool,
}

impl<D, F> std::fmt::Debug for FollowStream<D, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowStream")
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl<D: Clone, F: Clone> FollowStream<D, F> {
    /// Calls `f` with each drop (channel, stamp, reason; the message itself
    /// is freed).
    pub fn on_drop(mut self, f: impl FnMut(Dropped<()>) + Send + 'static) -> Self {
        self.on_drop = Some(Box::new(f));
        self
    }

    /// The counters: channel 0 is the driver, follower `k` is channel `k + 1`.
    pub fn stats(&self) -> &Stats {
        self.sync.stats()
    }

    /// Messages queued on channel `channel` (0: the driver).
    pub fn queued(&self, channel: usize) -> usize {
        self.sync.queued(channel)
    }

    fn take(&mut self, channel: usize, msg: Either<D, F>)
    where
        D: HasHeader,
        F: HasHeader,
    {
        let stamp = match &msg {
            Either::Driver(m) => m.stamp(),
            Either::Follower(m) => m.stamp(),
        };
        let events: Vec<_> = self.sync.push(channel, msg, stamp).collect();
        for e in events {
            match e {
                Event::Set(s) => {
                    let Either::Driver(driver) = s.driver else {
                        continue;
                    };
                    let followers = s.followers.into_iter().map(|(_, p)| typed(p)).collect();
                    self.ready.push_back(Following { driver, followers });
                }
                Event::Drop(d) => {
                    if let Some(f) = &mut self.on_drop {
                        f(Dropped {
                            channel: d.channel,
                            stamp: d.stamp,
                            reason: d.reason,
                            message: (),
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

fn typed<D, F>(p: Follower<Either<D, F>>) -> Follower<F> {
    let one = |m: Option<Either<D, F>>| match m {
        Some(Either::Follower(f)) => Some(f),
        _ => None,
    };
    match p {
        Follower::Ranged(v) => {
            Follower::Ranged(v.into_iter().filter_map(|m| one(Some(m))).collect())
        }
        Follower::Before(m) => Follower::Before(one(m)),
        Follower::Closest(m) => Follower::Closest(one(m)),
        Follower::Bracket(lo, hi) => Follower::Bracket(one(lo), one(hi)),
    }
}

impl<D, F> Stream for FollowStream<D, F>
where
    D: HasHeader + Clone + Unpin,
    F: HasHeader + Clone + Unpin,
{
    type Item = Following<D, F>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(set) = this.ready.pop_front() {
                return Poll::Ready(Some(set));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.inputs.poll_next_unpin(cx) {
                Poll::Ready(Some((channel, msg))) => this.take(channel, msg),
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Subscribes to the driver topic (channel 0 of `config`, whose followers
/// are channels `1..`, one per topic of `followers` in order) and to the
/// followers, and synchronizes them into a stream of [`Following`] sets.
/// Stamps are the header stamps.
pub fn subscribe_following<D, F>(
    node: &mut Node,
    driver: (&str, QosProfile),
    followers: &[(&str, QosProfile)],
    config: &FollowConfig,
) -> Result<FollowStream<D, F>, SubscribeError>
where
    D: WrappedTypesupport + HasHeader + Clone + Send + 'static,
    F: WrappedTypesupport + HasHeader + Clone + Send + 'static,
{
    if config.driver != 0 {
        return Err(SubscribeError::Config(ConfigError::Unsupported {
            option: "driver",
            why: "the driver topic is channel 0 and the followers 1, 2, ... in the order given",
        }));
    }
    let sync = FollowSynchronizer::new(followers.len() + 1, config)?;
    let d = subscribe::<D>(node, driver.0, driver.1)?.map(|m| (0, Either::Driver(m)));
    let mut inputs: Vec<BoxStream<'static, (usize, Either<D, F>)>> = vec![d.boxed()];
    for (k, (topic, qos)) in followers.iter().enumerate() {
        let s = subscribe::<F>(node, topic, qos.clone())?;
        inputs.push(s.map(move |m| (k + 1, Either::Follower(m))).boxed());
    }
    Ok(FollowStream {
        inputs: futures::stream::select_all(inputs).boxed(),
        sync,
        ready: std::collections::VecDeque::new(),
        on_drop: None,
        ended: false,
    })
}
