//! The integration tests of the installed ROS 2 package: real nodes and
//! peers over Fast DDS (scripts/with-ros, after scripts/colcon-install.sh).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod launch_files;
mod ros_bag;
mod ros_drop_out;
mod ros_faults;
mod ros_follow;
mod ros_hosts;
mod ros_interfaces;
mod ros_latency;
mod ros_live_params;
mod ros_package;
mod ros_pubsub;
mod ros_rclpy;
mod ros_restart;
mod ros_soak;
mod ros_tf;
mod ros_watch;
