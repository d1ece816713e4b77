//! `rgbd_sync`: ApproximateTime over `rgb`, `depth` and `camera_info`
//! (remap, e.g. `-r rgb:=/camera1/image`), with the diagnostics a driver
//! debugging session wants: stale-input reports on the node's clock and
//! counter lines.
//!
//! Parameters: those of every stamp_sync node (`policy` = `approximate`,
//! `queue_size`, `qos` = `sensor_data`, ..., see `docs/ros2.md`), notably
//! `stale_after` (seconds; report an input silent that long while the
//! others flow), `drop_out_after` (seconds; sets go on without an input
//! that long behind, see `docs/keep-going.md`) and `stats_period` (seconds
//! between `stats` lines).
//!
//! Prints on stdout:
//! * `set <rgb ns>,<depth ns>,<info ns>` per set (if `print_sets`);
//! * `partial <rgb ns>,,<info ns>` per set with members missing, made while
//!   an input is out (`drop_out_after`; an empty field for each missing);
//! * `stale <channel> <silent ms>` when an input has been silent for
//!   `stale_after` (again every timeout);
//! * `stats t_ms=<ms since start> sets=<n> partial=<n> stale=<n> ch<i>=received:<n>,emitted:<n>,dropped:<n>,queued:<n> ... drops=<reason>:<n>,...`
//!   every `stats_period`, and when a line `stats` arrives on stdin. For
//!   every input, received = emitted + dropped + queued.
//!
//! A line `quit` on stdin prints the stats and exits.

use std::error::Error;

use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync_nodes::{SyncNode, SyncParams, print_partial, print_set};
use stamp_sync_r2r::HasHeader;

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code("rgbd_sync", run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let node = SyncNode::<(Image, Image, CameraInfo)>::start(
        "rgbd_sync",
        SyncParams::declare("approximate"),
        &["rgb", "depth", "camera_info"],
    )?;
    node.run_with_partial(
        |p, (rgb, depth, info)| {
            if p.print_sets {
                print_set(&[rgb.stamp(), depth.stamp(), info.stamp()], "");
            }
        },
        |p, (rgb, depth, info)| {
            if p.print_sets {
                print_partial(&[
                    rgb.as_ref().map(HasHeader::stamp),
                    depth.as_ref().map(HasHeader::stamp),
                    info.as_ref().map(HasHeader::stamp),
                ]);
            }
        },
    )
}
