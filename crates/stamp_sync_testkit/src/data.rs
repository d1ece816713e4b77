//! Shared helpers of the bag tests: paths of the bundled test data.

use std::path::PathBuf;

/// `tests/data/<rel>`.
pub fn data(rel: &str) -> PathBuf {
    crate::repo().to_path_buf().join("tests/data").join(rel)
}

pub const HUSKY_ROS1: &str = "bags/rl_husky_gps_odom_imu/test1.bag";
pub const HUSKY_MCAP: &str = "bags/ros2/rl_husky_mcap";
pub const JACKAL_ROS1: &str = "bags/rl_jackal_imu_odom/test2.bag";
pub const SICK_ROS1: &str = "bags/sick_lms_rms_lidar_radar/rms_1xxx_lms_1xx_movement_off.bag";
pub const SICK_ROS1_LZ4: &str = "bags/sick_lms_rms_lidar_radar/movement_off.lz4.bag";
pub const SICK_DB3: &str = "bags/ros2/sick_db3";

pub const HUSKY_TOPICS: [&str; 3] = ["/fix", "/husky_velocity_controller/odom", "/imu/data"];
pub const JACKAL_TOPICS: [&str; 2] = ["/imu/data", "/jackal_velocity_controller/odom"];
pub const SCAN_CLOUD: [&str; 2] = ["/sick_lms_1xx/scan", "/cloud"];
pub const RADAR_LIDAR: [&str; 3] = [
    "/cloud_radar_rawtarget",
    "/cloud_radar_track",
    "/sick_lms_1xx/scan",
];

/// Reads a reference file of `tests/data/reference`.
pub fn reference(name: &str) -> String {
    std::fs::read_to_string(data(&format!("reference/{name}"))).unwrap()
}

/// Message ids of an MCAP being copied: source channel id -> id in the copy.
pub type McapIds = std::collections::HashMap<u16, u16>;

/// Declares `channel` and its schema in `w` unless already there; its id.
pub fn mcap_channel<W: std::io::Write + std::io::Seek>(
    w: &mut mcap::Writer<W>,
    ids: &mut McapIds,
    channel: &mcap::Channel<'_>,
) -> u16 {
    if let Some(&id) = ids.get(&channel.id) {
        return id;
    }
    let schema = channel.schema.as_ref().unwrap();
    let sid = w
        .add_schema(&schema.name, &schema.encoding, &schema.data)
        .unwrap();
    let id = w
        .add_channel(
            sid,
            &channel.topic,
            &channel.message_encoding,
            &channel.metadata,
        )
        .unwrap();
    ids.insert(channel.id, id);
    id
}

/// Copies `msg` into `w`, declaring its channel on first use.
pub fn mcap_copy<W: std::io::Write + std::io::Seek>(
    w: &mut mcap::Writer<W>,
    ids: &mut McapIds,
    msg: &mcap::Message<'_>,
) {
    let header = mcap::records::MessageHeader {
        channel_id: mcap_channel(w, ids, &msg.channel),
        sequence: msg.sequence,
        log_time: msg.log_time,
        publish_time: msg.publish_time,
    };
    w.write_to_known_channel(&header, &msg.data).unwrap();
}
