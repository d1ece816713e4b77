//! The node's ROS clock as [`Stamp`]s: the system clock, or `/clock` when
//! the node runs with `use_sim_time:=true`. Every clock a stamp_sync node
//! reads (arrival stamps, stall watch, diagnostics periods) is this one.

use std::sync::{Arc, Mutex};

use ::r2r::{Clock, Node};

use stamp_sync::time::Stamp;

/// A cloneable, thread-safe handle on a node's ROS clock.
#[derive(Clone)]
pub struct RosClock(Arc<Mutex<Clock>>);

impl std::fmt::Debug for RosClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RosClock")
    }
}

impl RosClock {
    /// `node`'s clock (it follows `/clock` under sim time).
    pub fn of(node: &Node) -> RosClock {
        RosClock(node.get_ros_clock())
    }

    /// Now on this clock; `Stamp::ZERO` if it cannot be read (sim time
    /// before the first `/clock` message reads 0 as well, as in rclcpp).
    pub fn now(&self) -> Stamp {
        let Ok(mut clock) = self.0.lock() else {
            return Stamp::ZERO;
        };
        match clock.get_now() {
            Ok(d) => Stamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(_) => Stamp::ZERO,
        }
    }
}
