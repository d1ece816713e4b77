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
use stamp_sync_nodes::{SyncNode, print_set, sync_params};
use stamp_sync_r2r::HasHeader;

fn main() -> Result<(), Box<dyn Error>> {
    let mut node = SyncNode::<(Image, Image)>::start(
        "stereo_sync",
        sync_params("approximate"),
        |rt, _, sync| {
            let print = rt.params().get_bool("print_sets").unwrap_or(true);
            Ok(sync.on_set(move |(left, right): (Image, Image)| {
                if print {
                    let skew = right.stamp().since(left.stamp());
                    print_set(
                        &[left.stamp(), right.stamp()],
                        &format!("skew_us={}", skew.as_nanos() / 1000),
                    );
                }
            }))
        },
    )?;
    node.input::<0>("left")?;
    node.input::<1>("right")?;
    node.watch()?;
    node.run()
}
