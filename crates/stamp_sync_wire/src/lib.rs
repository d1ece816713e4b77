//! Serialized ROS messages, read without deserializing them: the header
//! stamp from the first bytes of CDR or ROS 1 data ([`stamp`]), and whether
//! a type starts with a `std_msgs/Header` from its message definition
//! ([`schema`]); `tf2_msgs/TFMessage` and `header.frame_id` ([`tf`]).
//!
//! Pure functions (no I/O), shared by bag replay (`stamp_sync_bag`) and the
//! raw ROS transport (`stamp_sync_r2r::raw`), so that a live relay and a bag
//! replay read stamps with the same code.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod schema;
pub mod stamp;
pub mod tf;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
