//! Bag → live: `bag_player` publishes a bundled rosbag2 bag's messages as
//! raw CDR, in recorded order and at recorded pace; `sync_relay` (types
//! found on the graph) synchronizes them live from raw subscriptions. ExactTime
//! must give exactly what `stamp-sync match` gives on the bag; for
//! ApproximateTime the agreement with the offline answer is measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::collections::HashSet;

use std::process::Command;

use ros_common::{Proc, domain, set_stamps};
use stamp_sync::trace::{PolicyConfig, Trace, replay};
use stamp_sync_bag::{Bag, StampSource};

fn bag(rel: &str) -> String {
    stamp_sync_testkit::repo()
        .to_path_buf()
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

/// Starts `sync_relay` on `topics` (types found on the graph) and the
/// player on the same topics, plays, and returns the relay's sets once it
/// has received every message (asked with `stats` on its stdin).
fn play(
    d: u32,
    path: &str,
    topics: &[&str],
    policy: &str,
    speed: f64,
    duration: Option<f64>,
) -> Vec<Vec<i64>> {
    let expect = message_count(path, topics, duration);
    let p_topics = format!("topics:=[{}]", topics.join(", "));
    let p_policy = format!("policy:={policy}");
    let mut sync = Proc::node(
        "sync_relay",
        d,
        &[
            "-p",
            &p_topics,
            "-p",
            &p_policy,
            "-p",
            "qos:=reliable",
            "-p",
            "print_sets:=true",
        ],
    );
    let p_bag = format!("bag:={path}");
    let p_speed = format!("speed:={speed:?}");
    let p_subs = format!("wait_subscribers:={}", topics.len());
    let p_duration = format!("duration:={:?}", duration.unwrap_or(0.0));
    let mut player = Proc::node(
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
    // The relay subscribes once the player's topics are on the graph.
    player.send("go");
    player.wait_for("the player's totals", |l| l.starts_with("published "));
    let deadline = std::time::Instant::now() + ros_common::WAIT;
    loop {
        sync.send("stats");
        let line = sync.wait_for("a stats line", |l| l.starts_with("stats "));
        let got: u64 = ros_common::NodeStats::parse(&line).received().iter().sum();
        if got as usize == expect {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the relay received {got} of {expect} messages"
        );
    }
    sync.send("quit");
    assert!(sync.wait_exit(), "sync_relay failed: {}", sync.stderr());
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
    let out = Command::new(stamp_sync_testkit::ros::node("stamp-sync"))
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

    let live = play(domain(), &path, &topics, "exact", 1.0, None);
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
        domain(),
        &path,
        &topics,
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
