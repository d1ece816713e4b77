//! Serialized ROS messages, read without deserializing them: the header
//! stamp from the first bytes of CDR or ROS 1 data ([`stamp`]), and whether
//! a type starts with a `std_msgs/Header` from its message definition
//! ([`schema`]); `tf2_msgs/TFMessage` and `header.frame_id` ([`tf`]).
//!
//! Pure functions (no I/O), shared by bag replay (`bag`, which re-exports
//! both modules) and the raw ROS transport (`r2r::raw`), so that a live
//! relay and a bag replay read stamps with the same code.

pub mod schema;
pub mod stamp;
pub mod tf;
