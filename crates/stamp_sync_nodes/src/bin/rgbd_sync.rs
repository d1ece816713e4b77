//! `rgbd_sync`: ApproximateTime over `rgb`, `depth` and `camera_info`
//! (remap, e.g. `-r rgb:=/camera1/image`), with the diagnostics a driver
//! debugging session wants: stale-input reports on the node's clock and
//! counter lines.
//!
//! Parameters: those of every stamp_sync node (`policy` = `approximate`,
//! `queue_size`, `qos` = `sensor_data`, ..., see `docs/ros2.md`), notably
//! `stale_after` (seconds; report an input silent that long while the
//! others flow) and `stats_period` (seconds between `stats` lines).
//!
//! Prints on stdout:
//! * `set <rgb ns>,<depth ns>,<info ns>` per set (if `print_sets`);
//! * `stale <channel> <silent ms>` when an input has been silent for
//!   `stale_after` (again every timeout);
//! * `stats t_ms=<ms since start> sets=<n> stale=<n> ch<i>=<received>/<emitted>/<dropped>/<queued> ... drops=<reason>:<n>,...`
//!   every `stats_period`, and when a line `stats` arrives on stdin. For
//!   every input, received = emitted + dropped + queued.
//!
//! A line `quit` on stdin prints the stats and exits.

use std::error::Error;

use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync_nodes::{SyncNode, print_set, sync_params};
use stamp_sync_r2r::HasHeader;

fn main() -> Result<(), Box<dyn Error>> {
    let mut node = SyncNode::<(Image, Image, CameraInfo)>::start(
        "rgbd_sync",
        sync_params("approximate"),
        |rt, _, sync| {
            let print = rt.params().get_bool("print_sets").unwrap_or(true);
            Ok(
                sync.on_set(move |(rgb, depth, info): (Image, Image, CameraInfo)| {
                    if print {
                        print_set(&[rgb.stamp(), depth.stamp(), info.stamp()], "");
                    }
                }),
            )
        },
    )?;
    node.input::<0>("rgb")?;
    node.input::<1>("depth")?;
    node.input::<2>("camera_info")?;
    node.watch()?;
    node.run()
}
