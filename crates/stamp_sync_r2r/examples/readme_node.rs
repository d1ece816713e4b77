//! The README's "Use it in a ROS 2 node" example, compiled (tests/it/readme.rs
//! checks that the README shows exactly these lines).
use futures::{StreamExt, executor::LocalPool, task::LocalSpawnExt};
use r2r::{
    QosProfile,
    sensor_msgs::msg::{CameraInfo, Image},
};
use stamp_sync::ApproximateTime;
use stamp_sync_r2r::subscribe_synced;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut node = r2r::Node::create(r2r::Context::create()?, "sync", "")?;
    let qos = QosProfile::sensor_data(); // best effort: matches reliable and best-effort publishers
    let mut sets = subscribe_synced::<(Image, CameraInfo), _>(
        &mut node,
        [("image", qos.clone()), ("camera_info", qos)],
        ApproximateTime::new(10)?,
    )?;
    let mut pool = LocalPool::new();
    pool.spawner().spawn_local(async move {
        while let Some((image, info)) = sets.next().await {
            println!("{:?} {}", image.header.stamp, info.width)
        }
    })?;
    loop {
        node.spin_once(std::time::Duration::from_millis(10));
        pool.run_until_stalled();
    }
}
