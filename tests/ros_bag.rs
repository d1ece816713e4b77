//! Bag → live: `bag_player` publishes a bundled rosbag2 bag's messages as
//! raw CDR (r2r's untyped publisher), in recorded order and at recorded
//! pace; `bag_sync` synchronizes them live from raw subscriptions. ExactTime
//! must give exactly what `stamp-sync match` gives on the bag; for
//! ApproximateTime the agreement with the offline answer is measured.
#![cfg(all(feature = "r2r", feature = "cli"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ros_common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

use ros_common::{Proc, domain, handshake, set_stamps};
use stamp_sync::bag::{Bag, StampSource};
use stamp_sync::trace::{PolicyConfig, Trace, replay};

fn bag(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bags")
        .join(rel)
        .display()
        .to_string()
}

/// Messages of `topics` in the bag (within the first `duration` s).
fn message_count(path: &str, topics: &[&str], duration: Option<f64>) -> usize {
    let b = Bag::open(path).unwrap();
    let ids: Vec<usize> = topics.iter().map(|t| b.topic_index(t).unwrap()).collect();
    let all = b.read(&ids, &mut |_| {}).unwrap();
    match duration {
        None => all.len(),
        Some(d) => {
            let end = all[0].log_time.as_nanos() + (d * 1e9) as i64;
            all.iter().filter(|m| m.log_time.as_nanos() < end).count()
        }
    }
}

/// Starts the sync node on `topics` and the player on the same topics,
/// plays, and returns the node's sets once it has every message.
#[allow(clippy::too_many_arguments)]
fn play(
    d: u32,
    path: &str,
    topics: &[&str],
    types: &[&str],
    policy: &str,
    speed: f64,
    duration: Option<f64>,
) -> Vec<Vec<i64>> {
    let expect = message_count(path, topics, duration);
    let joined = topics.join(",");
    let p_topics = format!("topics:={joined}");
    let p_types = format!("types:={}", types.join(","));
    let p_policy = format!("policy:={policy}");
    let p_expect = format!("expect:={expect}");
    let mut sync = Proc::example(
        "bag_sync",
        d,
        &[
            "-p", &p_topics, "-p", &p_types, "-p", &p_policy, "-p", &p_expect,
        ],
    );
    let p_bag = format!("bag:={path}");
    let p_speed = format!("speed:={speed:?}");
    let p_subs = format!("wait_subscribers:={}", topics.len());
    let p_duration = format!("duration:={:?}", duration.unwrap_or(0.0));
    let mut player = Proc::example(
        "bag_player",
        d,
        &[
            "-p",
            &p_bag,
            "-p",
            &p_topics,
            "-p",
            &p_speed,
            "-p",
            &p_duration,
            "-p",
            &p_subs,
            "-p",
            "start_on_stdin:=true",
            "-p",
            "linger:=true",
        ],
    );
    handshake(&mut sync, &mut player);
    let done = sync.wait_for("all messages", |l| l.starts_with("done "));
    assert_eq!(
        done.split(' ').nth(1),
        Some(format!("received={expect}").as_str()),
        "{done}"
    );
    assert!(sync.wait_exit(), "bag_sync failed: {}", sync.stderr());
    sync.seen
        .iter()
        .filter(|l| l.starts_with("set "))
        .map(|l| set_stamps(l))
        .collect()
}

#[test]
fn exact_time_live_equals_stamp_sync_match() {
    let path = bag("ros2/sick_db3");
    let topics = ["/sick_lms_1xx/scan", "/cloud"];
    // The offline answer, from the command-line tool.
    let out = Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
        .args(["match", "--policy", "exact", "--queue-size", "10"])
        .args(topics.iter().flat_map(|t| ["--topic", t]))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline: Vec<Vec<i64>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(|s| s.parse().unwrap()).collect())
        .collect();
    assert!(offline.len() >= 80, "{} offline sets", offline.len());

    let live = play(
        domain(7),
        &path,
        &topics,
        &["sensor_msgs/msg/LaserScan", "sensor_msgs/msg/PointCloud2"],
        "exact",
        1.0,
        None,
    );
    assert_eq!(live, offline);
    eprintln!(
        "bag -> live, ExactTime, sick_db3 scan+cloud: {} live sets == {} offline sets",
        live.len(),
        offline.len()
    );
}

#[test]
fn approximate_time_live_agrees_with_offline() {
    let path = bag("ros2/rl_husky_mcap");
    let topics = ["/fix", "/imu/data"];
    // The first 120 s of the recording, played 12 times faster.
    let (speed, duration) = (12.0, 120.0);
    let b = Bag::open(&path).unwrap();
    let read = b.trace(&topics, StampSource::Header).unwrap();
    let end = read.messages[0].log_time.as_nanos() + (duration * 1e9) as i64;
    let window = Trace::from_pairs(
        read.messages
            .iter()
            .zip(&read.trace.messages)
            .filter(|(m, _)| m.log_time.as_nanos() < end)
            .map(|(_, t)| (t.channel, t.stamp)),
    );
    let offline: Vec<Vec<i64>> = replay(&window, 2, &PolicyConfig::approximate(10))
        .unwrap()
        .sets
        .iter()
        .map(|s| s.iter().map(|m| m.stamp.as_nanos()).collect())
        .collect();
    assert!(offline.len() >= 250, "{} offline sets", offline.len());

    let live = play(
        domain(8),
        &path,
        &topics,
        &["sensor_msgs/msg/NavSatFix", "sensor_msgs/msg/Imu"],
        "approximate",
        speed,
        Some(duration),
    );
    let offline_set: HashSet<&Vec<i64>> = offline.iter().collect();
    let same = live.iter().filter(|s| offline_set.contains(s)).count();
    let agreement = same as f64 / offline.len().max(live.len()) as f64;
    eprintln!(
        "bag -> live, ApproximateTime, husky /fix+/imu/data, {duration} s at {speed}x: \
         {same} identical sets of {} live / {} offline: agreement {agreement:.4}",
        live.len(),
        offline.len()
    );
    // Arrival order across topics can differ live (two subscriptions, one
    // spin loop), which may change a few sets; most must be identical.
    assert!(agreement >= 0.9, "agreement {agreement:.4}");
}
