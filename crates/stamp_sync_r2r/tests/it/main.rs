//! The integration tests of stamp_sync_r2r, on a real ROS 2 (scripts/with-ros).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ros_getters;
mod ros_qos;
mod ros_raw;
mod ros_tf_listener;
