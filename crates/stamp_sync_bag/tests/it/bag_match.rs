//! Bag replays give exactly the sets C++ message_filters emits for the same
//! topics, on every bundled real bag and in every storage format.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use stamp_sync_testkit::data as common;

use common::*;
use stamp_sync::trace::{PolicyConfig, replay};
use stamp_sync_bag::{Bag, BagTrace, StampSource};

struct Case {
    bag: &'static str,
    topics: &'static [&'static str],
    reference: &'static str,
    policy: &'static str,
}

const CASES: &[Case] = &[
    Case {
        bag: HUSKY_ROS1,
        topics: &HUSKY_TOPICS,
        reference: "husky-fix-odom-imu",
        policy: "approx-q10",
    },
    Case {
        bag: HUSKY_MCAP,
        topics: &HUSKY_TOPICS,
        reference: "husky-fix-odom-imu",
        policy: "approx-q10",
    },
    Case {
        bag: JACKAL_ROS1,
        topics: &JACKAL_TOPICS,
        reference: "jackal-imu-odom",
        policy: "exact-q10",
    },
    Case {
        bag: JACKAL_ROS1,
        topics: &JACKAL_TOPICS,
        reference: "jackal-imu-odom",
        policy: "approx-q10",
    },
    Case {
        bag: SICK_ROS1,
        topics: &SCAN_CLOUD,
        reference: "sick-scan-cloud",
        policy: "exact-q10",
    },
    Case {
        bag: SICK_ROS1,
        topics: &SCAN_CLOUD,
        reference: "sick-scan-cloud",
        policy: "approx-q10",
    },
    Case {
        bag: SICK_ROS1,
        topics: &RADAR_LIDAR,
        reference: "sick-radar-lidar",
        policy: "approx-q10",
    },
    Case {
        bag: SICK_ROS1_LZ4,
        topics: &RADAR_LIDAR,
        reference: "sick-radar-lidar",
        policy: "approx-q10",
    },
    Case {
        bag: SICK_DB3,
        topics: &SCAN_CLOUD,
        reference: "sick-scan-cloud",
        policy: "exact-q10",
    },
    Case {
        bag: SICK_DB3,
        topics: &SCAN_CLOUD,
        reference: "sick-scan-cloud",
        policy: "approx-q10",
    },
    Case {
        bag: SICK_DB3,
        topics: &RADAR_LIDAR,
        reference: "sick-radar-lidar",
        policy: "approx-q10",
    },
];

fn config(policy: &str) -> PolicyConfig {
    match policy {
        "exact-q10" => PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
        "approx-q10" => PolicyConfig::approximate(10),
        other => panic!("unknown policy {other}"),
    }
}

fn read(bag: &str, topics: &[&str]) -> BagTrace {
    Bag::open(data(bag))
        .unwrap()
        .trace(topics, StampSource::Header)
        .unwrap()
}

#[test]
fn bag_traces_equal_the_reference_traces() {
    for c in CASES {
        let bt = read(c.bag, c.topics);
        assert_eq!(
            bt.trace.to_csv(),
            reference(&format!("{}.csv", c.reference)),
            "{}",
            c.bag
        );
        assert_eq!(bt.messages.len(), bt.trace.messages.len());
    }
}

#[test]
fn bag_replays_emit_the_reference_sets() {
    for c in CASES {
        let bt = read(c.bag, c.topics);
        let out = replay(&bt.trace, c.topics.len(), &config(c.policy)).unwrap();
        let expected = reference(&format!("{}.{}.expected.csv", c.reference, c.policy));
        assert_eq!(out.sets_csv(), expected, "{} {}", c.bag, c.policy);
    }
}

#[test]
fn reference_answers_are_not_trivial() {
    // Guards the test above: the reference sets are real answers.
    assert_eq!(
        reference("husky-fix-odom-imu.approx-q10.expected.csv")
            .lines()
            .count(),
        989
    );
    assert_eq!(
        reference("sick-scan-cloud.exact-q10.expected.csv")
            .lines()
            .count(),
        89
    );
    assert!(reference("jackal-imu-odom.exact-q10.expected.csv").is_empty());
    assert!(
        reference("jackal-imu-odom.approx-q10.expected.csv")
            .lines()
            .count()
            > 3000
    );
}

#[test]
fn messages_come_out_in_log_time_order_not_stamp_order() {
    let bt = read(HUSKY_ROS1, &HUSKY_TOPICS);
    assert!(bt.messages.is_sorted_by_key(|m| m.log_time));
    // IMU is recorded ~25 ms after its stamp: stamps do go backwards.
    assert!(!bt.trace.messages.is_sorted_by_key(|m| m.stamp));
}

#[test]
fn ros1_bag_and_its_ros2_conversions_read_identically() {
    let a = read(HUSKY_ROS1, &HUSKY_TOPICS);
    let b = read(HUSKY_MCAP, &HUSKY_TOPICS);
    assert_eq!(a.trace, b.trace);
    let times = |t: &BagTrace| t.messages.iter().map(|m| m.log_time).collect::<Vec<_>>();
    assert_eq!(times(&a), times(&b));
    for topics in [&SCAN_CLOUD[..], &RADAR_LIDAR[..]] {
        let ros1 = read(SICK_ROS1, topics);
        let lz4 = read(SICK_ROS1_LZ4, topics);
        let db3 = read(SICK_DB3, topics);
        assert_eq!(ros1.trace, db3.trace);
        assert_eq!(ros1.trace, lz4.trace);
        assert_eq!(times(&ros1), times(&db3));
    }
}

#[test]
fn bare_db3_file_and_bag_directory_are_the_same_bag() {
    let dir = read(SICK_DB3, &SCAN_CLOUD);
    let file = read("bags/ros2/sick_db3/sick_db3.db3", &SCAN_CLOUD);
    assert_eq!(dir.trace, file.trace);
}

#[test]
fn topics_are_listed_with_types_counts_and_headers() {
    let bag = Bag::open(data(HUSKY_MCAP)).unwrap();
    assert_eq!(bag.format(), stamp_sync_bag::Format::Mcap);
    let fix = &bag.topics()[bag.topic_index("/fix").unwrap()];
    assert_eq!(fix.type_name, "sensor_msgs/msg/NavSatFix");
    assert_eq!(fix.count, 989);
    assert!(fix.has_header());
    let sick = Bag::open(data(SICK_ROS1)).unwrap();
    let tf = &sick.topics()[sick.topic_index("/tf").unwrap()];
    assert!(
        !tf.has_header(),
        "tf2_msgs/TFMessage starts with an array, not a header"
    );
    let cfg = &sick.topics()[sick.topic_index("/sick_lms_1xx/parameter_updates").unwrap()];
    assert!(!cfg.has_header());
}

/// Rewrites the Husky MCAP with other chunk compressions (via the mcap
/// writer) and checks the reader gives the same trace.
#[test]
fn mcap_lz4_and_uncompressed_chunks_read_like_zstd() {
    let src = std::fs::read(data("bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap")).unwrap();
    let expected = read(HUSKY_MCAP, &HUSKY_TOPICS);
    let dir = tempfile::tempdir().unwrap();
    for (name, compression) in [("lz4", Some(mcap::Compression::Lz4)), ("none", None)] {
        let path = dir.path().join(format!("{name}.mcap"));
        let mut w = mcap::WriteOptions::new()
            .compression(compression)
            .profile("ros2")
            .chunk_size(Some(64 * 1024))
            .create(std::io::BufWriter::new(
                std::fs::File::create(&path).unwrap(),
            ))
            .unwrap();
        let mut ids = McapIds::new();
        for msg in mcap::MessageStream::new(&src).unwrap() {
            mcap_copy(&mut w, &mut ids, &msg.unwrap());
        }
        w.finish().unwrap();
        drop(w);
        let got = Bag::open(&path)
            .unwrap()
            .trace(&HUSKY_TOPICS, StampSource::Header)
            .unwrap();
        assert_eq!(got.trace, expected.trace, "{name}");
    }
}

#[test]
fn arrival_stamps_use_log_time_and_work_without_headers() {
    let bag = Bag::open(data(SICK_ROS1)).unwrap();
    let bt = bag.trace(&["/tf", "/cloud"], StampSource::Arrival).unwrap();
    assert_eq!(bt.trace.messages.len(), 17 + 89);
    for (m, t) in bt.messages.iter().zip(&bt.trace.messages) {
        assert_eq!(m.log_time, t.stamp);
    }
}

/// A split rosbag2 directory: `metadata.yaml` of `src_dir` listing `files`.
fn split_dir(src_dir: &str, dir: &std::path::Path, files: &[&str]) {
    let meta = std::fs::read_to_string(data(&format!("{src_dir}/metadata.yaml"))).unwrap();
    let (head, rest) = meta.split_once("  relative_file_paths:\n").unwrap();
    let rest = &rest[rest.find("  ros_distro").unwrap()..];
    let list: String = files.iter().map(|f| format!("  - {f}\n")).collect();
    std::fs::write(
        dir.join("metadata.yaml"),
        format!("{head}  relative_file_paths:\n{list}{rest}"),
    )
    .unwrap();
}

/// The Husky MCAP split in two at its median log time, the second file
/// declaring its channels in another order (other topic indices), reads
/// as the original.
#[test]
fn split_mcap_bag_reads_as_one_bag() {
    let src = std::fs::read(data("bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap")).unwrap();
    let msgs: Vec<_> = mcap::MessageStream::new(&src)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mid = msgs[msgs.len() / 2].log_time;
    let dir = tempfile::tempdir().unwrap();
    for (name, first_half) in [("part_0.mcap", true), ("part_1.mcap", false)] {
        let mut w = mcap::WriteOptions::new()
            .profile("ros2")
            .create(std::io::BufWriter::new(
                std::fs::File::create(dir.path().join(name)).unwrap(),
            ))
            .unwrap();
        let mut ids = McapIds::new();
        // The second file declares its channels in reverse order.
        let mut order: Vec<_> = msgs.iter().map(|m| m.channel.clone()).collect();
        if !first_half {
            order.reverse();
        }
        for c in &order {
            mcap_channel(&mut w, &mut ids, c);
        }
        for m in msgs.iter().filter(|m| (m.log_time < mid) == first_half) {
            mcap_copy(&mut w, &mut ids, m);
        }
        w.finish().unwrap();
    }
    split_dir(HUSKY_MCAP, dir.path(), &["part_0.mcap", "part_1.mcap"]);
    let names = |f: &str| -> Vec<String> {
        let b = Bag::open(dir.path().join(f)).unwrap();
        b.topics().iter().map(|t| t.name.clone()).collect()
    };
    assert_ne!(
        names("part_0.mcap"),
        names("part_1.mcap"),
        "topic indices must differ"
    );

    let whole = Bag::open(data(HUSKY_MCAP)).unwrap();
    let split = Bag::open(dir.path()).unwrap();
    assert_eq!(split.files().count(), 2);
    assert_eq!(split.path(), dir.path());
    let count = |b: &Bag, t: &str| b.topics()[b.topic_index(t).unwrap()].count;
    for t in HUSKY_TOPICS {
        assert_eq!(count(&split, t), count(&whole, t), "{t}");
    }
    let a = whole.trace(&HUSKY_TOPICS, StampSource::Header).unwrap();
    let b = split.trace(&HUSKY_TOPICS, StampSource::Header).unwrap();
    assert_eq!(a.trace, b.trace);
    let times = |t: &BagTrace| t.messages.iter().map(|m| m.log_time).collect::<Vec<_>>();
    assert_eq!(times(&a), times(&b));
    let sets = |t: &BagTrace| {
        replay(&t.trace, 3, &config("approx-q10"))
            .unwrap()
            .sets_csv()
    };
    assert_eq!(sets(&a), sets(&b));
}

/// The SICK `.db3` split in two by timestamp reads as the original; a
/// part whose topic changed type is an error naming that file.
#[test]
fn split_db3_bag_reads_as_one_bag_and_rejects_mismatched_parts() {
    let src = data("bags/ros2/sick_db3/sick_db3.db3");
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(&src).unwrap();
    let mid: i64 = conn
        .query_row(
            "SELECT timestamp FROM messages ORDER BY timestamp LIMIT 1 OFFSET 221",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    for (name, keep) in [("a.db3", "timestamp < ?1"), ("b.db3", "timestamp >= ?1")] {
        let path = dir.path().join(name);
        std::fs::copy(&src, &path).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(&format!("DELETE FROM messages WHERE NOT ({keep})"), [mid])
            .unwrap();
    }
    split_dir(SICK_DB3, dir.path(), &["a.db3", "b.db3"]);
    let whole = read(SICK_DB3, &SCAN_CLOUD);
    let split = Bag::open(dir.path())
        .unwrap()
        .trace(&SCAN_CLOUD, StampSource::Header)
        .unwrap();
    assert_eq!(split.trace, whole.trace);
    assert!(split.trace.messages.len() > 100);

    let conn = rusqlite::Connection::open(dir.path().join("b.db3")).unwrap();
    conn.execute(
        "UPDATE topics SET type = 'sensor_msgs/msg/PointCloud' WHERE name = '/cloud'",
        [],
    )
    .unwrap();
    drop(conn);
    let e = Bag::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("b.db3"), "{e}");
    assert!(
        e.contains("topic /cloud is sensor_msgs/msg/PointCloud"),
        "{e}"
    );
}

/// rosbag2 `--compression-mode file --compression-format zstd`: each
/// storage file compressed whole (`.db3.zstd`), listed either plainly or,
/// as older rosbag2 wrote it, behind the bag directory's name.
#[test]
fn zstd_file_compressed_bag_reads_like_the_plain_one() {
    let plain = read(SICK_DB3, &SCAN_CLOUD);
    let db3 = std::fs::read(data("bags/ros2/sick_db3/sick_db3.db3")).unwrap();
    let packed = zstd::stream::encode_all(&db3[..], 3).unwrap();
    let root = tempfile::tempdir().unwrap();
    for listed in ["sick_db3.db3.zstd", "old_name/sick_db3.db3.zstd"] {
        let dir = root.path().join(listed.replace(['/', '.'], "_"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("sick_db3.db3.zstd"), &packed).unwrap();
        split_dir(SICK_DB3, &dir, &[listed]);
        let meta = std::fs::read_to_string(dir.join("metadata.yaml"))
            .unwrap()
            .replace("compression_format: ''", "compression_format: zstd")
            .replace("compression_mode: ''", "compression_mode: FILE");
        std::fs::write(dir.join("metadata.yaml"), meta).unwrap();
        let bag = Bag::open(&dir).unwrap();
        assert!(
            bag.path().ends_with("sick_db3.db3.zstd"),
            "{}",
            bag.path().display()
        );
        let got = bag.trace(&SCAN_CLOUD, StampSource::Header).unwrap();
        assert_eq!(got.trace, plain.trace, "{listed}");
    }
    // Not zstd after all: an error naming the file.
    let dir = root.path().join("broken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("sick_db3.db3.zstd"), &db3[..4096]).unwrap();
    split_dir(SICK_DB3, &dir, &["sick_db3.db3.zstd"]);
    let meta = std::fs::read_to_string(dir.join("metadata.yaml"))
        .unwrap()
        .replace("compression_format: ''", "compression_format: zstd")
        .replace("compression_mode: ''", "compression_mode: FILE");
    std::fs::write(dir.join("metadata.yaml"), meta).unwrap();
    let e = Bag::open(&dir).unwrap_err().to_string();
    assert!(
        e.contains("sick_db3.db3.zstd") && e.contains("does not decompress"),
        "{e}"
    );
}
