//! Transforms from bags: `stamp-sync tf BAG` and `stamp-sync match BAG
//! --target-frame`.
//!
//! * The bundled SICK bag has `/tf` (ROS 1 and its rosbag2 sqlite3
//!   conversion): both encodings answer identically, and the same as the
//!   C++ tf2 oracle on the exported trace.
//! * An MCAP written here (CDR encoded by hand, every value known) checks the
//!   decoding, the log-time rule of `--delay`, numbers against an
//!   independent 2-D pose model, trace mode and the oracle, and the
//!   `--target-frame` report against a model of when each message's
//!   transform arrives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::data as common;
use stamp_sync_testkit::oracle as filter_oracle;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use approx::abs_diff_eq;
use common::{SICK_DB3, SICK_ROS1, SICK_ROS1_LZ4, data};
use filter_oracle::TF2;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
        .args(args)
        .output()
        .unwrap()
}

fn ok_stdout(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The oracle's answers to `trace` agree with `ours` line for line: same
/// kinds and stamps, numbers within 1e-9.
fn assert_oracle_agrees(test: &str, trace: &str, ours: &str) {
    let Some(oracle) = TF2.or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("trace.csv");
    std::fs::write(&input, trace).unwrap();
    let out = Command::new(oracle)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cpp = String::from_utf8(out.stdout).unwrap();
    assert_eq!(cpp.lines().count(), ours.lines().count(), "{test}");
    for (k, (a, b)) in cpp.lines().zip(ours.lines()).enumerate() {
        let (fa, fb): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        assert_eq!(fa.len(), fb.len(), "{test} line {k}: C++ {a} / ours {b}");
        assert_eq!(
            fa[..fa.len().min(3)],
            fb[..fb.len().min(3)],
            "{test} line {k}: C++ {a} / ours {b}"
        );
        for (x, y) in fa.iter().zip(&fb).skip(3) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                abs_diff_eq!(x, y, epsilon = 1e-9),
                "{test} line {k}: C++ {a} / ours {b}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The SICK bag: one /tf link, ROS 1 and CDR.

const SICK_ARGS: [&str; 6] = [
    "--target",
    "cloud",
    "--source",
    "radar",
    "--at-topic",
    "/cloud_radar_track",
];

#[test]
fn sick_bag_answers_alike_from_ros1_lz4_and_cdr_and_like_cpp() {
    let answer = |bag: &str, extra: &[&str]| {
        let path = data(bag);
        let mut args = vec!["tf", path.to_str().unwrap()];
        args.extend(SICK_ARGS);
        args.extend(extra);
        ok_stdout(&args)
    };
    let ros1 = answer(SICK_ROS1, &[]);
    assert_eq!(ros1, answer(SICK_ROS1_LZ4, &[]));
    assert_eq!(ros1, answer(SICK_DB3, &[]));
    // 108 radar messages (6 per stamp), one line each: the first 12
    // arrive before any transform (unknown frames), the next 6 are older
    // than the first transform, the rest interpolate.
    let kinds: Vec<&str> = ros1
        .lines()
        .map(|l| match l.split(',').collect::<Vec<_>>().as_slice() {
            ["ok", ..] => "ok",
            ["error", _, kind] => kind,
            _ => panic!("{l}"),
        })
        .collect();
    assert_eq!(kinds.len(), 108);
    assert_eq!(kinds[..12], ["lookup"; 12]);
    assert_eq!(kinds[12..18], ["extrapolation"; 6]);
    assert!(kinds[18..].iter().all(|k| *k == "ok"), "{ros1}");
    // The recorded link is "/cloud" -> "/radar": tf2 strips the slashes
    // on insert, and refuses them in a lookup.
    let trace = answer(SICK_ROS1, &["--print-trace"]);
    // 17 transforms, the last logged after the last radar message.
    assert_eq!(trace.lines().filter(|l| l.starts_with("tf,")).count(), 16);
    assert!(trace.contains(",/cloud,/radar,"), "{trace}");
    assert_eq!(trace, answer(SICK_DB3, &["--print-trace"]));
    assert_oracle_agrees("sick", &trace, &ros1);
}

// ---------------------------------------------------------------------------
// A bag written here.

const T0_NS: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;
/// /tf samples j = 0..30 at j * 100 ms, logged 40 ms late; 12..=16 missing.
const GAP: std::ops::RangeInclusive<i64> = 12..=16;
const SAMPLES: i64 = 30;
/// Base -> cam rotation about z: (0, 0, 0.6, 0.8).
const CAM_Q: [f64; 4] = [0.0, 0.0, 0.6, 0.8];

fn sample_present(j: i64) -> bool {
    (0..SAMPLES).contains(&j) && !GAP.contains(&j)
}

/// Camera message k: stamp k * 100 + 20 ms, logged 5 ms later, frame
/// "cam" except k = 5 (empty) and k = 7 ("nowhere").
fn camera_frame(k: i64) -> &'static str {
    match k {
        5 => "",
        7 => "nowhere",
        _ => "cam",
    }
}

struct Cdr(Vec<u8>);

impl Cdr {
    fn new() -> Cdr {
        Cdr(vec![0, 1, 0, 0])
    }
    fn pad(&mut self, n: usize) {
        while (self.0.len() - 4) % n != 0 {
            self.0.push(0);
        }
    }
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.0.extend(v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.pad(8);
        self.0.extend(v.to_le_bytes());
    }
    fn string(&mut self, s: &str) {
        self.u32(u32::try_from(s.len() + 1).unwrap());
        self.0.extend(s.as_bytes());
        self.0.push(0);
    }
    fn header(&mut self, ns: i64, frame: &str) {
        self.u32(u32::try_from(ns / 1_000_000_000).unwrap());
        self.u32(u32::try_from(ns % 1_000_000_000).unwrap());
        self.string(frame);
    }
}

/// A `TFMessage` of `items`.
/// (stamp, parent, child, translation, rotation).
type Sample<'a> = (i64, &'a str, &'a str, [f64; 3], [f64; 4]);

fn tf_message(items: &[Sample<'_>]) -> Vec<u8> {
    let mut w = Cdr::new();
    w.u32(u32::try_from(items.len()).unwrap());
    for (ns, parent, child, t, q) in items {
        w.header(*ns, parent);
        w.string(child);
        for v in t.iter().chain(q) {
            w.f64(*v);
        }
    }
    w.0
}

fn yaw_q(yaw: f64) -> [f64; 4] {
    [0.0, 0.0, (yaw / 2.0).sin(), (yaw / 2.0).cos()]
}

/// odom -> base and map -> odom at sample `j` (also at fractional `j`:
/// the model the interpolation must reproduce).
fn odom_base(j: f64) -> ([f64; 3], f64) {
    ([0.1 * j, 0.05 * j, 0.0], 0.05 * j)
}
fn map_odom(j: f64) -> [f64; 3] {
    [5.0 + 0.01 * j, 0.0, 0.0]
}

/// Writes the bag: /tf_static (base -> cam) at T0, /tf (map -> odom and
/// odom -> base in one message per sample), /camera (a header and a
/// point: `geometry_msgs/msg/PointStamped`).
fn write_bag(path: &Path) {
    let mut w = mcap::WriteOptions::new()
        .profile("ros2")
        .create(std::io::BufWriter::new(
            std::fs::File::create(path).unwrap(),
        ))
        .unwrap();
    let tf_schema = w
        .add_schema(
            "tf2_msgs/msg/TFMessage",
            "ros2msg",
            b"geometry_msgs/TransformStamped[] transforms\n",
        )
        .unwrap();
    let point_schema = w
        .add_schema(
            "geometry_msgs/msg/PointStamped",
            "ros2msg",
            b"std_msgs/Header header\ngeometry_msgs/Point point\n",
        )
        .unwrap();
    let meta = BTreeMap::new();
    let tf = w.add_channel(tf_schema, "/tf", "cdr", &meta).unwrap();
    let tf_static = w
        .add_channel(tf_schema, "/tf_static", "cdr", &meta)
        .unwrap();
    let camera = w
        .add_channel(point_schema, "/camera", "cdr", &meta)
        .unwrap();
    let mut records: Vec<(i64, u16, Vec<u8>)> = vec![(
        T0_NS,
        tf_static,
        tf_message(&[(T0_NS, "base", "cam", [0.1, 0.0, 0.2], CAM_Q)]),
    )];
    for j in (0..SAMPLES).filter(|&j| sample_present(j)) {
        let stamp = T0_NS + j * 100 * MS;
        let (t, yaw) = odom_base(j as f64);
        records.push((
            stamp + 40 * MS,
            tf,
            tf_message(&[
                (
                    stamp,
                    "map",
                    "odom",
                    map_odom(j as f64),
                    [0.0, 0.0, 0.0, 1.0],
                ),
                (stamp, "odom", "base", t, yaw_q(yaw)),
            ]),
        ));
    }
    for k in 0..SAMPLES {
        let stamp = T0_NS + k * 100 * MS + 20 * MS;
        let mut c = Cdr::new();
        c.header(stamp, camera_frame(k));
        for v in [1.0, 2.0, 3.0] {
            c.f64(v);
        }
        records.push((stamp + 5 * MS, camera, c.0));
    }
    records.sort_by_key(|r| r.0);
    for (seq, (log, channel, bytes)) in records.iter().enumerate() {
        let header = mcap::records::MessageHeader {
            channel_id: *channel,
            sequence: u32::try_from(seq).unwrap(),
            log_time: u64::try_from(*log).unwrap(),
            publish_time: u64::try_from(*log).unwrap(),
        };
        w.write_to_known_channel(&header, bytes).unwrap();
    }
    w.finish().unwrap();
}

fn bag() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tf.mcap");
    write_bag(&p);
    let s = p.to_string_lossy().into_owned();
    (dir, s)
}

fn lookup_args<'a>(bag: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "tf",
        bag,
        "--target",
        "map",
        "--source",
        "cam",
        "--at-topic",
        "/camera",
    ];
    a.extend(extra);
    a
}

#[test]
fn mcap_trace_holds_every_record_in_log_time_order() {
    let (_dir, bag) = bag();
    let trace = ok_stdout(&lookup_args(&bag, &["--delay", "120ms", "--print-trace"]));
    // Built here from the model: for each message the samples logged by
    // its log time + 120 ms, then its lookup.
    let mut want = format!("tf_static,{T0_NS},base,cam,0.1,0.0,0.2,0.0,0.0,0.6,0.8\n");
    let mut next = 0;
    for k in 0..SAMPLES {
        let horizon = k * 100 + 25 + 120;
        while next < SAMPLES && next * 100 + 40 <= horizon {
            if sample_present(next) {
                let stamp = T0_NS + next * 100 * MS;
                let [x, y, z] = map_odom(next as f64);
                want += &format!("tf,{stamp},map,odom,{x:?},{y:?},{z:?},0.0,0.0,0.0,1.0\n");
                let ([x, y, z], yaw) = odom_base(next as f64);
                let [qx, qy, qz, qw] = yaw_q(yaw);
                want += &format!(
                    "tf,{stamp},odom,base,{x:?},{y:?},{z:?},{qx:?},{qy:?},{qz:?},{qw:?}\n"
                );
            }
            next += 1;
        }
        want += &format!("lookup,{},map,cam\n", T0_NS + k * 100 * MS + 20 * MS);
    }
    assert_eq!(trace, want);
}

#[test]
fn mcap_answers_follow_the_delay_the_model_and_cpp() {
    let (dir, bag) = bag();
    // Without delay the sample after each stamp has not arrived yet: every
    // lookup fails, which is the run failing (exit 2, after the answers).
    let out = run(&lookup_args(&bag, &[]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "stamp-sync: error: all 30 lookups failed (the first with error `lookup`)\n"
    );
    let now = String::from_utf8(out.stdout).unwrap();
    assert_eq!(now.lines().count(), 30);
    assert!(now.lines().all(|l| l.starts_with("error,")), "{now}");
    // 120 ms later it has, except around the gap and at the end.
    let later = ok_stdout(&lookup_args(&bag, &["--delay", "120ms"]));
    for (k, line) in (0..SAMPLES).zip(later.lines()) {
        let stamp = T0_NS + k * 100 * MS + 20 * MS;
        let f: Vec<&str> = line.split(',').collect();
        // Every message looks up map <- cam, whatever its own frame.
        // Sample k + 1 and one at or before k (sample 0 always is) are
        // in; across the gap the model is linear: the answer is the same.
        if !sample_present(k + 1) {
            let want = ["error", &stamp.to_string(), "extrapolation"];
            assert_eq!(&f[..], want, "{line}");
            continue;
        }
        assert_eq!(
            &f[..3],
            ["ok", &stamp.to_string(), &stamp.to_string()],
            "{line}"
        );
        let v: Vec<f64> = f[3..].iter().map(|s| s.parse().unwrap()).collect();
        // The model: odom -> base interpolated at j = k + 0.2, composed
        // in 2-D with map -> odom and base -> cam.
        let j = k as f64 + 0.2;
        let ([bx, by, _], yaw) = odom_base(j);
        let [ox, _, _] = map_odom(j);
        let x = ox + bx + 0.1 * yaw.cos();
        let y = by + 0.1 * yaw.sin();
        let total = yaw + 2.0 * 0.6f64.atan2(0.8);
        let want = [
            x,
            y,
            0.2,
            0.0,
            0.0,
            (total / 2.0).sin(),
            (total / 2.0).cos(),
        ];
        for (got, want) in v.iter().zip(want) {
            assert!(
                abs_diff_eq!(*got, want, epsilon = 1e-9),
                "message {k}: {line} vs {want}"
            );
        }
    }
    // The printed trace answers the same in trace mode and in C++.
    let trace = ok_stdout(&lookup_args(&bag, &["--delay", "120ms", "--print-trace"]));
    let file = dir.path().join("trace.csv");
    std::fs::write(&file, &trace).unwrap();
    assert_eq!(ok_stdout(&["tf", file.to_str().unwrap()]), later);
    assert_oracle_agrees("mcap", &trace, &later);
}

#[test]
fn tf_bag_errors_name_the_flag_and_exit_2() {
    let (_dir, bag) = bag();
    let bag = bag.as_str();
    for (args, want) in [
        (
            vec!["tf", bag, "--target", "map", "--source", "cam"],
            "--at-topic",
        ),
        (
            vec!["tf", bag, "--target", "map", "--at-topic", "/camera"],
            "pairs",
        ),
        (lookup_args(bag, &["--delay=-1ms"]), "--delay"),
        (
            vec![
                "tf",
                bag,
                "--target",
                "a",
                "--source",
                "b",
                "--at-topic",
                "/nope",
            ],
            "/nope",
        ),
        (
            vec![
                "tf",
                bag,
                "--target",
                "a",
                "--source",
                "b",
                "--at-topic",
                "/tf",
            ],
            "/tf",
        ),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    // Bag flags on a trace.
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.csv");
    std::fs::write(&t, "lookup,0,a,b\n").unwrap();
    let out = run(&["tf", t.to_str().unwrap(), "--at-topic", "/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at-topic applies to a bag"));
    let t = dir.path().join("m.csv");
    std::fs::write(&t, "0,1\n1,1\n").unwrap();
    let t = t.to_str().unwrap();
    let out = run(&["match", t, "--policy", "exact", "--target-frame", "map"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--target-frame apply to bags"));
}

// ---------------------------------------------------------------------------
// match --target-frame.

/// When message k's transforms arrive under the model: the log time of
/// the first sample after its stamp (it is never on one), or `None`.
fn release_ms(k: i64) -> Option<i64> {
    ((k + 1)..SAMPLES)
        .find(|&j| sample_present(j))
        .map(|j| j * 100 + 40)
}

#[test]
fn match_reports_waits_and_failures_like_the_model() {
    let (dir, bag) = bag();
    for wait_ms in [1000i64, 500] {
        let json = dir.path().join(format!("r{wait_ms}.json"));
        let wait = format!("{wait_ms}ms");
        let out = run(&[
            "match",
            &bag,
            "--topic",
            "/camera",
            "--target-frame",
            "map",
            "--tf-wait",
            &wait,
            "--report",
            json.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let t = &v["tf"]["topics"][0];
        // The model.
        let mut waits = Vec::new();
        let (mut timeouts, mut held) = (0, 0);
        for k in (0..SAMPLES).filter(|&k| camera_frame(k) == "cam") {
            let arrival = k * 100 + 25;
            match release_ms(k) {
                Some(r) if r - arrival <= wait_ms => waits.push((r - arrival) * MS),
                Some(_) => timeouts += 1,
                None => held += 1,
            }
        }
        waits.sort_unstable();
        let rank = |p: usize| waits[(p * waits.len()).div_ceil(100) - 1];
        assert_eq!(t["input"], "/camera");
        assert_eq!(t["received"], 30);
        assert_eq!(t["at_once"], 0);
        assert_eq!(t["waited"], waits.len());
        assert_eq!(t["queued"], held);
        assert_eq!(t["wait"]["p50_ns"], rank(50));
        assert_eq!(t["wait"]["p99_ns"], rank(99));
        assert_eq!(t["wait"]["max_ns"], *waits.last().unwrap());
        assert_eq!(t["failed"]["empty_frame_id"], 1);
        assert_eq!(t["failed"]["unknown_frame"], 1);
        assert_eq!(
            t["failed"]
                .get("timeout")
                .map_or(0, |n| n.as_i64().unwrap()),
            timeouts
        );
        assert_eq!(v["tf"]["tf_wait_ns"], wait_ms * MS);
        assert_eq!(v["tf"]["transforms"], 1 + 2 * (SAMPLES - 5));
    }
    // The 500 ms run times out the two longest waits (615 and 515 ms).
    let text = run(&[
        "match",
        &bag,
        "--topic",
        "/camera",
        "--target-frame",
        "map",
        "--tf-wait",
        "500ms",
    ]);
    let err = String::from_utf8(text.stderr).unwrap();
    assert!(err.contains("timeout=2"), "{err}");
    assert!(err.contains("unknown_frame=1"), "{err}");
}

#[test]
fn match_with_a_policy_reports_sets_too_and_needs_a_policy_for_policy_flags() {
    // Husky has no tf: everything fails as unknown_frame after the wait.
    let husky = data(common::HUSKY_ROS1);
    let h = husky.to_str().unwrap();
    let out = run(&[
        "match",
        h,
        "--topic",
        "/fix",
        "--topic",
        "/imu/data",
        "--policy",
        "approximate",
        "--target-frame",
        "map",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--- report: approximate"), "{err}");
    assert!(err.contains("has no /tf or /tf_static"), "{err}");
    let sets_line = err.lines().find(|l| l.starts_with("sets ")).unwrap();
    let sets_out = String::from_utf8(out.stdout).unwrap().lines().count();
    // Every set is read by the filter; none can be released.
    assert!(sets_line.contains(&format!(" {sets_out} ")), "{sets_line}");
    for (args, want) in [
        (
            vec![
                "match",
                h,
                "--topic",
                "/fix",
                "--target-frame",
                "map",
                "--queue-size",
                "3",
            ],
            "--queue-size needs --policy",
        ),
        (
            vec!["match", h, "--target-frame", "map"],
            "at least one --topic",
        ),
        (
            vec!["match", h, "--topic", "/fix", "--topic", "/imu/data"],
            "--policy is required",
        ),
        (
            vec![
                "match",
                h,
                "--topic",
                "/fix",
                "--target-frame",
                "map",
                "--stamp",
                "arrival",
            ],
            "--stamp arrival",
        ),
        (
            vec![
                "match",
                h,
                "--topic",
                "/fix",
                "--target-frame",
                "map",
                "--tf-wait=-1s",
            ],
            "--tf-wait",
        ),
    ] {
        let out = run(&args);
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(want), "{args:?}: {e}");
    }
}
