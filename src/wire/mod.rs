//! Serialized ROS messages, read without deserializing them: the header
//! stamp from the first bytes of CDR (ROS 2) or ROS 1 data ([`stamp`]), and
//! whether a type starts with a `std_msgs/Header`, decided from its
//! message definition ([`schema`]).
//!
//! Pure and dependency-free: the bag readers (feature `bag`) and the raw
//! ROS 2 transport (feature `r2r`) share it.

pub mod schema;
pub mod stamp;
