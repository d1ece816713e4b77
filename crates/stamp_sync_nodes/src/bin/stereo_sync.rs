//! `stereo_sync`: ApproximateTime over a left and a right camera image;
//! reports each pair's skew.
//!
//! Topics: `left`, `right` (remap with `--ros-args -r left:=/camera1/image`).
//! Parameters: those of every stamp_sync node (`policy` = `approximate`,
//! `queue_size`, `max_interval`, `age_penalty`, `qos` = `sensor_data`,
//! ..., see `docs/ros2.md`).
//!
//! Prints `set <left ns>,<right ns> skew_us=<right - left>` per pair.

use std::error::Error;

use r2r::sensor_msgs::msg::Image;
use stamp_sync_nodes::{SyncNode, SyncParams, print_set};
use stamp_sync_r2r::HasHeader;

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code("stereo_sync", run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let node = SyncNode::<(Image, Image)>::start(
        "stereo_sync",
        SyncParams::declare("approximate"),
        &["left", "right"],
    )?;
    node.run(|p, (left, right)| {
        if p.print_sets {
            let skew = right.stamp().since(left.stamp());
            print_set(
                &[left.stamp(), right.stamp()],
                &format!("skew_us={}", skew.as_nanos() / 1000),
            );
        }
    })
}
