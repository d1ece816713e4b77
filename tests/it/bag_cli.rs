//! `stamp-sync match BAG` and `stamp-sync info BAG` end to end, and every
//! bad input: exit code 2 and a one-line error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use stamp_sync_testkit::data as common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn stamp_sync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
        .args(args)
        .output()
        .unwrap()
}

fn match_args<'a>(bag: &'a str, topics: &[&'a str], policy: &'a str) -> Vec<&'a str> {
    let mut v = vec!["match", bag];
    for t in topics {
        v.push("--topic");
        v.push(t);
    }
    v.extend(["--policy", policy]);
    v
}

fn ok(out: &Output) -> (String, String) {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {stderr}",
        out.status.code()
    );
    (stdout, stderr)
}

/// Checks the bad-input contract and returns the error line.
fn bad(out: &Output) -> String {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("stamp-sync: error: "), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn match_prints_the_reference_sets_as_csv() {
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            HUSKY_ROS1,
            &HUSKY_TOPICS,
            "approximate",
            "husky-fix-odom-imu.approx-q10",
        ),
        (
            HUSKY_MCAP,
            &HUSKY_TOPICS,
            "approximate",
            "husky-fix-odom-imu.approx-q10",
        ),
        (
            JACKAL_ROS1,
            &JACKAL_TOPICS,
            "exact",
            "jackal-imu-odom.exact-q10",
        ),
        (
            JACKAL_ROS1,
            &JACKAL_TOPICS,
            "approximate",
            "jackal-imu-odom.approx-q10",
        ),
        (SICK_ROS1, &SCAN_CLOUD, "exact", "sick-scan-cloud.exact-q10"),
        (
            SICK_DB3,
            &SCAN_CLOUD,
            "approximate",
            "sick-scan-cloud.approx-q10",
        ),
        (
            SICK_DB3,
            &RADAR_LIDAR,
            "approximate",
            "sick-radar-lidar.approx-q10",
        ),
    ];
    for (bag, topics, policy, reference_name) in cases {
        let path = data(bag);
        let (stdout, stderr) = ok(&stamp_sync(&match_args(s(&path), topics, policy)));
        assert_eq!(
            stdout,
            reference(&format!("{reference_name}.expected.csv")),
            "{bag} {policy}"
        );
        assert!(stderr.contains("--- report"), "report on stderr: {stderr}");
    }
}

#[test]
fn channel_order_follows_topic_order() {
    let path = data(SICK_ROS1);
    let (a, _) = ok(&stamp_sync(&match_args(
        s(&path),
        &["/cloud_radar_track", "/cloud"],
        "approximate",
    )));
    let (b, _) = ok(&stamp_sync(&match_args(
        s(&path),
        &["/cloud", "/cloud_radar_track"],
        "approximate",
    )));
    let swapped: String = b
        .lines()
        .map(|l| {
            let (x, y) = l.split_once(',').unwrap();
            format!("{y},{x}\n")
        })
        .collect();
    assert!(!a.is_empty());
    assert_eq!(a, swapped);
}

#[test]
fn table_shows_set_numbers_stamps_and_spread() {
    let path = data(SICK_ROS1);
    let mut args = match_args(s(&path), &RADAR_LIDAR, "approximate");
    args.extend(["--format", "table"]);
    let (stdout, _) = ok(&stamp_sync(&args));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains("set")
            && lines[0].contains("/cloud_radar_track")
            && lines[0].contains("spread")
    );
    // First reference set: 1663929585508605567,1663929585508013649,1663929585498528480
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        first,
        [
            "1",
            "1663929585.508605567",
            "1663929585.508013649",
            "1663929585.498528480",
            "10.077",
            "ms"
        ]
    );
    assert_eq!(lines.len(), 1 + 76);
}

#[test]
fn json_lines_one_object_per_set() {
    let path = data(JACKAL_ROS1);
    let mut args = match_args(s(&path), &JACKAL_TOPICS, "approximate");
    args.extend(["--format", "json"]);
    let (stdout, _) = ok(&stamp_sync(&args));
    let expected = reference("jackal-imu-odom.approx-q10.expected.csv");
    assert_eq!(stdout.lines().count(), expected.lines().count());
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["set"], 1);
    assert_eq!(
        first["stamps_ns"],
        serde_json::json!([47580000000i64, 47584000000i64])
    );
    assert_eq!(first["spread_ns"], 4000000);
    assert_eq!(
        first["members"][1]["topic"],
        "/jackal_velocity_controller/odom"
    );
}

#[test]
fn report_json_has_counts_spread_gap_and_queue_advice() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let path = data(HUSKY_MCAP);
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--report", s(&report)]);
    let (_, stderr) = ok(&stamp_sync(&args));
    assert!(
        !stderr.contains("--- report"),
        "the report goes to the file: {stderr}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["sets"], 989);
    assert_eq!(r["topics"][2]["topic"], "/imu/data");
    assert_eq!(r["topics"][2]["received"], 11865);
    assert_eq!(r["topics"][2]["emitted"], 989);
    assert!(
        r["topics"][2]["dropped"]["queue_overflow"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(r["spread"]["max_ns"].as_i64().unwrap() >= r["spread"]["p95_ns"].as_i64().unwrap());
    assert!(r["longest_gap"]["length_ns"].as_i64().unwrap() > 0);
    // The advised queue size really avoids overflow, and one less does not.
    let q = r["min_queue_size_without_overflow"].as_u64().unwrap();
    for (size, clean) in [(q, true), (q - 1, false)] {
        let out = dir.path().join(format!("q{size}.json"));
        let qs = size.to_string();
        let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
        args.extend(["--queue-size", &qs, "--report", s(&out)]);
        ok(&stamp_sync(&args));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let overflow: u64 = (0..3)
            .map(|i| {
                let d = &r["topics"][i]["dropped"];
                d["queue_overflow"].as_u64().unwrap_or(0)
                    + d["after_overflow"].as_u64().unwrap_or(0)
            })
            .sum();
        assert_eq!(overflow == 0, clean, "queue size {size}");
    }
}

#[test]
fn exact_with_no_match_says_so_and_points_to_approximate() {
    let path = data(JACKAL_ROS1);
    let (stdout, stderr) = ok(&stamp_sync(&match_args(s(&path), &JACKAL_TOPICS, "exact")));
    assert!(stdout.is_empty());
    assert!(stderr.contains("ExactTime matched nothing"), "{stderr}");
    assert!(stderr.contains("4.000 ms"), "typical difference: {stderr}");
    assert!(stderr.contains("--policy approximate"), "{stderr}");
}

#[test]
fn policy_options_are_applied() {
    let path = data(HUSKY_ROS1);
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend([
        "--max-interval",
        "10ms",
        "--lower-bound",
        "/imu/data=1ms",
        "--age-penalty",
        "0.5",
    ]);
    let (stdout, _) = ok(&stamp_sync(&args));
    let n = stdout.lines().count();
    assert!(n > 0 && n < 989, "{n} sets");
    for l in stdout.lines() {
        let v: Vec<i64> = l.split(',').map(|x| x.parse().unwrap()).collect();
        assert!(v.iter().max().unwrap() - v.iter().min().unwrap() <= 10_000_000);
    }
}

#[test]
fn stamp_arrival_uses_log_time_for_topics_without_header() {
    let path = data(SICK_ROS1);
    let mut args = match_args(s(&path), &["/tf", "/cloud"], "approximate");
    args.extend(["--stamp", "arrival"]);
    let (stdout, _) = ok(&stamp_sync(&args));
    assert_eq!(stdout.lines().count(), 17);
}

#[test]
fn info_lists_topics_and_sync_facts() {
    let path = data(HUSKY_ROS1);
    let (stdout, _) = ok(&stamp_sync(&["info", s(&path)]));
    assert!(stdout.contains("format:    ros1"), "{stdout}");
    let imu = stdout.lines().find(|l| l.starts_with("/imu/data")).unwrap();
    assert!(
        imu.contains("sensor_msgs/Imu")
            && imu.contains("11865")
            && imu.contains("30.01 Hz")
            && imu.contains("yes"),
        "{imu}"
    );
    assert!(stdout.contains("identical stamps: none"), "{stdout}");
    assert!(stdout.contains("repeated"), "{stdout}");
    // The bag README's fact: arrival order disagrees with stamp order 3288 times.
    assert!(
        stdout.contains("disagrees with stamp order: 3288 times"),
        "{stdout}"
    );

    let sick = data(SICK_DB3);
    let (stdout, _) = ok(&stamp_sync(&["info", s(&sick), "--json"]));
    let f: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(f["format"], "sqlite3");
    let pair = f["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["a"] == "/sick_lms_1xx/scan" && p["b"] == "/cloud")
        .unwrap();
    assert_eq!(pair["identical"], 89);
    let tf = f["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "/tf")
        .unwrap();
    assert_eq!(tf["stamped"], "no");
}

#[test]
fn plot_writes_an_svg_with_sets_drops_and_legend() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("p.svg");
    let path = data(HUSKY_ROS1);
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--plot", s(&svg), "--plot-window", "0..2.5"]);
    let (_, stderr) = ok(&stamp_sync(&args));
    assert!(stderr.contains("plot:"), "{stderr}");
    assert!(stderr.contains("; 7 of 989 sets shown;"), "{stderr}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    for label in [
        "/fix",
        "/imu/data",
        "matched set",
        "dropped: queue overflow",
        "dropped: not chosen",
    ] {
        assert!(text.contains(label), "{label}");
    }
    assert!(
        text.contains("7 of 989 sets shown"),
        "window 0..2.5 s holds 7 sets"
    );
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--plot", s(&svg), "--plot-window", "5..1"]);
    bad(&stamp_sync(&args));
}

#[test]
fn missing_file() {
    let e = bad(&stamp_sync(&match_args(
        "/nonexistent/x.bag",
        &["/a", "/b"],
        "exact",
    )));
    assert!(e.contains("/nonexistent/x.bag"), "{e}");
    bad(&stamp_sync(&["info", "/nonexistent/x.mcap"]));
}

#[test]
fn not_a_bag() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.bag");
    std::fs::write(&text, "hello\n").unwrap();
    let e = bad(&stamp_sync(&match_args(s(&text), &["/a", "/b"], "exact")));
    assert!(e.contains("not a bag"), "{e}");
    let empty = dir.path().join("empty.mcap");
    std::fs::write(&empty, "").unwrap();
    assert!(bad(&stamp_sync(&["info", s(&empty)])).contains("empty"));
    // An SQLite database that is not a rosbag2 bag.
    let db = dir.path().join("other.db3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE t(x INTEGER);").unwrap();
    drop(conn);
    assert!(bad(&stamp_sync(&["info", s(&db)])).contains("not a rosbag2 bag"));
    // A directory without a bag.
    let empty_dir = dir.path().join("nothing");
    std::fs::create_dir(&empty_dir).unwrap();
    assert!(bad(&stamp_sync(&["info", s(&empty_dir)])).contains("not a bag"));
}

fn truncated_copy(dir: &Path, rel: &str, keep: f64) -> std::path::PathBuf {
    let bytes = std::fs::read(data(rel)).unwrap();
    let name = Path::new(rel).file_name().unwrap();
    let out = dir.join(name);
    std::fs::write(&out, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
    out
}

#[test]
fn truncated_bags() {
    let dir = tempfile::tempdir().unwrap();
    for (rel, topics) in [
        (HUSKY_ROS1, &HUSKY_TOPICS[..]),
        (
            "bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap",
            &HUSKY_TOPICS[..],
        ),
        ("bags/ros2/sick_db3/sick_db3.db3", &SCAN_CLOUD[..]),
    ] {
        for keep in [0.5, 0.9, 0.999] {
            let t = truncated_copy(dir.path(), rel, keep);
            let e = bad(&stamp_sync(&match_args(s(&t), topics, "approximate")));
            assert!(e.contains("truncated or corrupted"), "{rel} {keep}: {e}");
        }
    }
}

/// A copy of `rel` with `len` bytes from `at` (a fraction of the size, or
/// a byte offset if above 1) overwritten.
fn corrupted_copy(dir: &Path, rel: &str, at: f64, len: usize) -> std::path::PathBuf {
    let mut bytes = std::fs::read(data(rel)).unwrap();
    let start = if at > 1.0 {
        at as usize
    } else {
        (bytes.len() as f64 * at) as usize
    };
    for (i, b) in bytes[start..start + len].iter_mut().enumerate() {
        *b = [0xde, 0xad, 0xbe, 0xef][i % 4];
    }
    let out = dir.join(format!(
        "c{at}-{}",
        Path::new(rel).file_name().unwrap().to_str().unwrap()
    ));
    std::fs::write(&out, &bytes).unwrap();
    out
}

#[test]
fn corrupted_bags() {
    let dir = tempfile::tempdir().unwrap();
    // Damage inside a compressed chunk: bz2 and zstd.
    let ros1 = corrupted_copy(dir.path(), HUSKY_ROS1, 0.5, 64);
    let e = bad(&stamp_sync(&match_args(
        s(&ros1),
        &HUSKY_TOPICS,
        "approximate",
    )));
    assert!(
        e.contains("truncated or corrupted ros1 bag at chunk"),
        "{e}"
    );
    let mcap = corrupted_copy(
        dir.path(),
        "bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap",
        0.45,
        64,
    );
    let e = bad(&stamp_sync(&match_args(
        s(&mcap),
        &HUSKY_TOPICS,
        "approximate",
    )));
    assert!(e.contains("truncated or corrupted mcap bag"), "{e}");
    // Damage to the SQLite schema page (page 1 after the 100-byte file header).
    let db3 = corrupted_copy(dir.path(), "bags/ros2/sick_db3/sick_db3.db3", 100.0, 3996);
    bad(&stamp_sync(&match_args(
        s(&db3),
        &SCAN_CLOUD,
        "approximate",
    )));
}

#[test]
fn unsupported_compression() {
    let dir = tempfile::tempdir().unwrap();
    // MCAP chunks named "lzma" (same length as "zstd").
    let src = std::fs::read(data("bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap")).unwrap();
    let from = b"\x04\x00\x00\x00zstd";
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    let mut replaced = 0;
    while i < src.len() {
        if src[i..].starts_with(from) {
            out.extend_from_slice(b"\x04\x00\x00\x00lzma");
            i += from.len();
            replaced += 1;
        } else {
            out.push(src[i]);
            i += 1;
        }
    }
    assert!(replaced > 0);
    let mcap = dir.path().join("lzma.mcap");
    std::fs::write(&mcap, out).unwrap();
    let e = bad(&stamp_sync(&match_args(
        s(&mcap),
        &HUSKY_TOPICS,
        "approximate",
    )));
    assert!(e.contains("unsupported compression \"lzma\""), "{e}");

    // A ROS 1 chunk with an unknown compression.
    let src = std::fs::read(data("bags/small/small_bz2.bag")).unwrap();
    let text = unsafe_free_replace(&src, b"compression=bz2", b"compression=xz2");
    let ros1 = dir.path().join("xz.bag");
    std::fs::write(&ros1, text).unwrap();
    let e = bad(&stamp_sync(&match_args(
        s(&ros1),
        &["/cloud_radar_track", "/cloud_radar_rawtarget"],
        "approximate",
    )));
    assert!(e.contains("unsupported compression \"xz2\""), "{e}");

    // A rosbag2 directory compressed message by message by rosbag2.
    let bagdir = dir.path().join("zstd_bag");
    std::fs::create_dir(&bagdir).unwrap();
    let meta = std::fs::read_to_string(data("bags/ros2/sick_db3/metadata.yaml")).unwrap();
    let meta = meta
        .replace("compression_format: ''", "compression_format: zstd")
        .replace("compression_mode: ''", "compression_mode: MESSAGE");
    std::fs::write(bagdir.join("metadata.yaml"), meta).unwrap();
    let e = bad(&stamp_sync(&["info", s(&bagdir)]));
    assert!(
        e.contains("unsupported compression \"zstd (MESSAGE mode)\"")
            && e.contains("supported: zstd FILE mode"),
        "{e}"
    );
}

fn unsafe_free_replace(src: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        if src[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(src[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn unknown_topic_lists_the_available_ones() {
    let path = data(HUSKY_MCAP);
    let e = bad(&stamp_sync(&match_args(
        s(&path),
        &["/fix", "/camera/image"],
        "approximate",
    )));
    assert!(e.contains("no topic \"/camera/image\""), "{e}");
    assert!(
        e.contains("/fix, /husky_velocity_controller/odom")
            || e.contains("/imu/data, /husky_velocity_controller/odom, /fix"),
        "{e}"
    );
}

#[test]
fn topic_without_header_names_topic_and_type() {
    let path = data(SICK_DB3);
    let e = bad(&stamp_sync(&match_args(
        s(&path),
        &["/cloud", "/tf"],
        "approximate",
    )));
    assert!(e.contains("/tf (tf2_msgs/msg/TFMessage)"), "{e}");
    assert!(e.contains("--stamp arrival"), "{e}");
    let ros1 = data(SICK_ROS1);
    let e = bad(&stamp_sync(&match_args(
        s(&ros1),
        &["/cloud", "/sick_lms_1xx/parameter_updates"],
        "exact",
    )));
    assert!(e.contains("dynamic_reconfigure/Config"), "{e}");
}

#[test]
fn db3_without_stored_definitions_cannot_tell_headers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db3");
    std::fs::copy(data("bags/small/small.db3"), &db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE message_definitions;")
        .unwrap();
    drop(conn);
    let topics = ["/cloud_radar_track", "/cloud_radar_rawtarget"];
    let e = bad(&stamp_sync(&match_args(s(&db), &topics, "approximate")));
    assert!(e.contains("no message definition stored"), "{e}");
    let mut args = match_args(s(&db), &topics, "approximate");
    args.extend(["--stamp", "arrival"]);
    ok(&stamp_sync(&args));
}

#[test]
fn bad_options() {
    let path = data(HUSKY_MCAP);
    let one = bad(&stamp_sync(&match_args(s(&path), &["/fix"], "approximate")));
    assert!(one.contains("at least 2 --topic"), "{one}");
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--queue-size", "0"]);
    let e = bad(&stamp_sync(&args));
    assert!(e.contains("--queue-size 0: must be in [1, inf)"), "{e}");
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--lower-bound", "/nope=5ms"]);
    bad(&stamp_sync(&args));
    let twice = bad(&stamp_sync(&match_args(
        s(&path),
        &["/fix", "/fix"],
        "exact",
    )));
    assert!(twice.contains("more than once"), "{twice}");
}

#[test]
fn a_deadline_on_a_bag_reports_the_trade() {
    let dir = tempfile::tempdir().unwrap();
    let path = data(HUSKY_MCAP);
    let report = dir.path().join("r.json");
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--deadline", "50ms", "--report", s(&report), "-q"]);
    ok(&stamp_sync(&args));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let d = &r["deadline"];
    assert_eq!(d["deadline_ns"], 50_000_000);
    assert_eq!(d["sets_without_deadline"], 989);
    let share = d["identical_share"].as_f64().unwrap();
    assert!((0.99..1.0).contains(&share), "{d}");
    let with = d["latency_ns"]["p50"].as_i64().unwrap();
    let without = d["latency_without_deadline_ns"]["p50"].as_i64().unwrap();
    assert!(with < without, "{d}");
    assert!(d["smallest_for_99_percent_ns"].as_i64().unwrap() <= 50_000_000);
    let advice = r["advice"].as_array().unwrap();
    assert!(
        advice.iter().any(|a| a
            .as_str()
            .unwrap()
            .starts_with("deadline 50.000 ms: 1 of 989 sets differ")),
        "{advice:?}"
    );
    // Without a deadline, no comparison.
    let mut args = match_args(s(&path), &HUSKY_TOPICS, "approximate");
    args.extend(["--report", s(&report), "-q"]);
    ok(&stamp_sync(&args));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(r.get("deadline").is_none());
    assert_eq!(r["sets_with_members_missing"], 0);
    assert!(r["latency_ns"]["max"].as_i64().unwrap() > 0);
}

/// GPS drives, every IMU sample since the last fix rides along, and the two
/// odometry messages around each fix bracket it.
#[test]
fn follow_on_the_husky_bag_uses_every_imu_sample() {
    let dir = tempfile::tempdir().unwrap();
    let path = data(HUSKY_MCAP);
    let report = dir.path().join("f.json");
    let out = stamp_sync(&[
        "match",
        s(&path),
        "--topic",
        "/fix",
        "--topic",
        "/imu/data",
        "--topic",
        "/husky_velocity_controller/odom",
        "--policy",
        "follow",
        "--driver",
        "0",
        "--follow",
        "1=ranged",
        "--follow",
        "2=bracket",
        "--report",
        s(&report),
    ]);
    let (stdout, _) = ok(&out);
    assert_eq!(stdout.lines().count(), 989);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["sets"], 989);
    let imu = &r["topics"][1];
    assert_eq!(
        (imu["role"].as_str(), imu["received"].as_u64()),
        (Some("ranged"), Some(11865))
    );
    // ApproximateTime keeps one IMU sample per fix; here all but the 2 after
    // the last fix go out.
    assert_eq!(imu["appearances"], 11863);
    assert_eq!(imu["queued"], 2);
    assert_eq!(imu["dropped"], serde_json::json!({}));
    assert_eq!(
        imu["per_set"],
        serde_json::json!({"min": 2, "median": 12, "max": 13})
    );
    let odom = &r["topics"][2];
    assert_eq!(odom["role"], "bracket");
    assert_eq!(odom["appearances"], 2 * 989);
    assert_eq!(odom["received"], 3952);
    assert_eq!(odom["dropped"]["not_chosen"], 1973);
    assert_eq!(
        odom["emitted"].as_u64().unwrap() + 1973 + odom["queued"].as_u64().unwrap(),
        3952
    );
    assert!(r["wait"]["max_ns"].as_i64().unwrap() > 0);
}
