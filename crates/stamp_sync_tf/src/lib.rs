//! Transforms: a tf2-compatible transform buffer and a tf-aware message
//! filter, as pure cores (no ROS, no clock, no locks).
//!
//! * [`BufferCore`]: dynamic and static transforms per child frame, a
//!   time window per link, interpolation (translation: linear, rotation:
//!   slerp), lookups through the common ancestor, stamp 0 = latest common
//!   time, frames that change parent over time. Same answers as C++ tf2
//!   0.7.6 (`crates/stamp_sync_tf/tests/it/tf_differential.rs`), typed errors of tf2's kinds
//!   ([`TfErrorKind`]).
//! * [`TfFilter`]: holds messages (or matched sets) until the transforms
//!   from their frame to every target frame exist at their stamp, then
//!   releases them with those transforms; bounded wait and queue, every
//!   failure counted by [`FailureReason`]. [`TfFilterStream`] runs it
//!   over `futures` streams.
//! * [`trace`]: the text trace format of `stamp-sync tf`.
//!
//! Rules, the evaluation of existing crates and the differences between
//! tf2 0.7.6 and ROS 2's tf2: `docs/transforms.md`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod buffer;
mod cache;
mod error;
mod filter;
mod math;
mod stream;
pub mod trace;

pub use buffer::{
    BufferCore, DEFAULT_CACHE_TIME, MAX_GRAPH_DEPTH, QUATERNION_NORMALIZATION_TOLERANCE,
    StampedTransform,
};
pub use error::{Extrapolation, FrameRole, TfError, TfErrorKind};
pub use filter::{
    DEFAULT_QUEUE_SIZE, DEFAULT_TIMEOUT, Failed, FailureReason, Framed, FramedSet, Released,
    TfEvent, TfFilter, TfFilterBuilder, TfFilterConfigError, TfFilterStats, TimeoutClock,
};
pub use math::{Quaternion, Transform, Vector3};
pub use stream::{TF_POLL_BUDGET, TfFilterStream, TfInput};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
