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
//! let mut sets = stamp_sync_r2r::subscribe_synced::<(Image, CameraInfo), _>(
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
//! implements [`HasHeader`] (and so does `std_msgs/Header` itself): the
//! build script lists those types from the same message definitions r2r
//! generates from (`AMENT_PREFIX_PATH`, `IDL_PACKAGE_FILTER`); with the
//! default filter of `scripts/with-ros` that is all of `sensor_msgs` and
//! the `*Stamped` types of `geometry_msgs` ([`STAMPED_TYPES`] of them).
//! The drivers of `stamp_sync` take [`RosHeader`] as the stamp getter of
//! such types (the helpers here use it by default), and the tf filter
//! takes them wrapped in [`ByHeader`]. (The types live in `r2r` and the
//! `Stamped` trait in `stamp_sync`, so neither can be implemented for the
//! other here: Rust's orphan rule.)
//!
//! Any other r2r type, including ones generated from your own workspace,
//! gets a stamp getter instead: give a closure, or define a named getter in
//! your crate with [`stamp_getter!`](stamp_sync::stamp_getter), and pass the
//! getters to [`subscribe_synced_with`] (or a driver's `stamp_with`):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut node = r2r::Node::create(r2r::Context::create()?, "n", "")?;
//! use r2r::geometry_msgs::msg::PoseStamped;
//! use r2r::sensor_msgs::msg::Image;
//! use stamp_sync_r2r::RosHeader;
//! // Stands for a type of your workspace (r2r::my_msgs::msg::Foo).
//! stamp_sync::stamp_getter!(PoseStamp: PoseStamped);
//! let qos = r2r::QosProfile::sensor_data();
//! let sets = stamp_sync_r2r::subscribe_synced_with::<(Image, PoseStamped), _>(
//!     &mut node,
//!     [("image", qos.clone()), ("pose", qos)],
//!     stamp_sync::ExactTime::new(10)?,
//! )?
//! .stamp_with((RosHeader, PoseStamp))
//! .build()?;
//! # let _ = sets; Ok(()) }
//! ```
//!
//! # QoS: the silent pitfall
//! Every helper takes an explicit [`QosProfile`](::r2r::QosProfile). If a subscription asks
//! for more than a publisher offers (a *reliable* subscription and a
//! *best-effort* publisher, as most camera drivers are; or
//! *transient-local* against *volatile*), DDS never matches them: nothing
//! arrives, and neither side reports an error. r2r 0.9.7 exposes no QoS
//! events (`rcl_event`), so this module checks the offered QoS of every
//! publisher on the topic instead: [`qos_report`] says which publishers
//! cannot match and why, and [`StallWatch`] logs that report when a
//! synchronized stream has delivered nothing for a while. The safe default
//! for sensor topics is [`QosProfile::sensor_data`](::r2r::QosProfile::sensor_data) (best effort, volatile):
//! it matches every publisher.

pub mod clock;
pub mod diagnostics;
pub mod follow;
pub mod inputs;
pub mod logging;
mod names;
pub mod params;
mod qos;
pub mod relay;
pub mod runtime;
mod subscribe;
pub mod tf;
pub mod watch;

pub use names::resolve_topic;
pub use qos::{QosMismatch, QosReport, StallWatch, qos_mismatches, qos_report};
pub use subscribe::{
    SubscribeError, Subscription, SyncTopics, Synced, SyncedBuilder, feed, feed_with, subscribe,
    subscribe_synced, subscribe_synced_with,
};

pub use header::{
    ByHeader, HasHeader, RosHeader, STAMPED_TYPES, StampOutOfRange, stamp_of_time, time_of_stamp,
};

mod header;
pub mod raw;

#[cfg(test)]
mod tests {
    use super::*;
    use ::r2r::{Node, QosProfile};
    use r2r::sensor_msgs::msg::{CameraInfo, Image};

    /// Arity 9 type-checks end to end (compiled, not run: it needs a node).
    #[allow(dead_code)]
    fn nine_topics(node: &mut Node) -> Result<(), SubscribeError> {
        use futures::StreamExt;
        use stamp_sync::policy::ApproximateTime;
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
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
