//! `stamp-sync watch` on real graphs: the installed `stamp-sync`
//! (`scripts/colcon-install.sh`) against real publishers, the Rust
//! `camera_publisher` and rclpy scripts. Each problem code is provoked and
//! must be reported within 5 s (the time is printed: `detection <code>:`);
//! a healthy graph reports none; the live view is checked on a terminal
//! (tmux); `--record` replays into the same sets with `stamp-sync match`;
//! a type from an overlay the build never saw works once the overlay is
//! sourced, and is a clear error otherwise. And an installed node's
//! `/diagnostics`, as an rclpy listener receives it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ros_common::{Proc, WAIT, domain, node, with_overlay};

/// The longest a detection may take.
const DETECT: Duration = Duration::from_secs(5);

/// The installed `stamp-sync watch ARGS` in domain `d`.
fn watch(d: u32, args: &[&str]) -> Proc {
    let mut cmd = Command::new(node("stamp-sync"));
    cmd.arg("watch").args(args);
    Proc::command("stamp-sync watch", cmd, d)
}

/// The installed `camera_publisher` with ROS parameters `params`.
fn camera(d: u32, params: &[&str]) -> Proc {
    let mut args = Vec::new();
    for p in params {
        args.extend(["-p", p]);
    }
    Proc::node("camera_publisher", d, &args)
}

/// Waits for watch's line `problem <code> ...`, at most [`DETECT`] after
/// `provoked`; prints and returns the line and the time it took.
fn detect(w: &mut Proc, code: &str, provoked: Instant) -> (String, Duration) {
    let prefix = format!("problem {code} ");
    let line = w.wait_for(&prefix, |l| l.starts_with(&prefix));
    let took = provoked.elapsed();
    eprintln!("detection {code}: {:.3} s ({line})", took.as_secs_f64());
    assert!(took <= DETECT, "{code} took {took:?}: {line}");
    (line, took)
}

/// The codes of every `problem` line seen, in order.
fn codes_seen(w: &Proc) -> Vec<String> {
    w.seen
        .iter()
        .filter_map(|l| l.strip_prefix("problem "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

/// Checks that the problems watch reported were exactly `codes`.
fn assert_only(w: &Proc, codes: &[&str]) {
    assert_eq!(codes_seen(w), codes, "{}", w.seen.join("\n"));
}

/// Lets watch end (`--seconds`), checks it succeeded, returns its output.
fn finish(w: &mut Proc) -> String {
    assert!(w.wait_exit(), "watch failed: {}", w.stderr());
    w.seen.join("\n")
}

/// The summary line of `code` (`  <code> (a..b s, still|resolved): ...`).
fn summary_line<'a>(out: &'a str, code: &str) -> &'a str {
    let prefix = format!("  {code} (");
    out.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {code} in the summary:\n{out}"))
}

/// Runs watch to the end with `--json` and parses the report.
fn json_report(w: &mut Proc) -> serde_json::Value {
    let out = finish(w);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn no_publisher() {
    let d = domain();
    let mut cam = camera(d, &["rate:=30.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let start = Instant::now();
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/nobody/image",
            "--seconds",
            "6",
        ],
    );
    let (line, _) = detect(&mut w, "no_publisher", start);
    assert!(
        line.ends_with("/nobody/image: no publisher (nothing of that name is on the graph)"),
        "{line}"
    );
    let out = finish(&mut w);
    assert!(
        summary_line(&out, "no_publisher").contains("still"),
        "{out}"
    );
    assert_only(&w, &["no_publisher"]);
    assert!(
        out.contains("the policy starts when every topic has delivered a message"),
        "{out}"
    );
}

#[test]
fn qos_incompatible() {
    let d = domain();
    // A best-effort rclpy camera (as most drivers are): a reliable
    // subscriber never gets anything; watch's best-effort one does.
    let start = Instant::now();
    let _py = Proc::python(
        "ros_rclpy_publisher.py",
        d,
        &[
            "--count",
            "100000",
            "--rate",
            "30",
            "--prefix",
            "/be",
            "--best-effort",
        ],
    );
    let mut w = watch(
        d,
        &[
            "--topic",
            "/be/image",
            "--topic",
            "/be/camera_info",
            "--seconds",
            "6",
        ],
    );
    let (line, _) = detect(&mut w, "qos_incompatible", start);
    // The node's name, unless discovery has not told it yet (`?`).
    assert!(
        line.contains(" offers best_effort, volatile: a reliable subscriber never matches it (subscription is RELIABLE but the publisher is BEST_EFFORT")
            && (line.contains("publisher /rclpy_camera ") || line.contains("publisher ? ")),
        "{line}"
    );
    assert!(!line.contains("sensor_data subscriber"), "{line}");
    let advice = w.wait_for("advice", |l| l.starts_with("  advice: "));
    assert!(advice.contains("sensor_data"), "{advice}");
    let out = finish(&mut w);
    // One problem per topic.
    assert_only(&w, &["qos_incompatible", "qos_incompatible"]);
    // The summary has the latest wording: the node is named by then.
    for topic in ["/be/image", "/be/camera_info"] {
        assert!(
            out.contains(&format!("{topic}: publisher /rclpy_camera offers")),
            "{out}"
        );
    }
    // The best-effort data reaches the watch itself.
    let sets: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("stamp-sync watch summary: "))
        .and_then(|l| l.split("sets ").nth(1))
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no sets in {out}"));
    assert!(sets > 0, "{out}");
}

#[test]
fn no_header() {
    let d = domain();
    let mut words = Proc::python("ros_peer.py", d, &["string", "--topic", "/words"]);
    let mut cam = camera(d, &["rate:=30.0"]);
    words.wait_for("publishing", |l| l == "publishing");
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let start = Instant::now();
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/words",
            "--seconds",
            "5",
        ],
    );
    let (line, _) = detect(&mut w, "no_header", start);
    assert!(
        line.ends_with("/words is std_msgs/msg/String, whose first field is not a std_msgs/Header: there is no stamp to synchronize on"),
        "{line}"
    );
    finish(&mut w);
    assert_only(&w, &["no_header"]);
}

#[test]
fn never_equal() {
    let d = domain();
    // Camera 2's stamps are jittered by up to 3 ms: never equal to camera 1's.
    let mut cam = camera(d, &["rate:=30.0", "jitter_ms:=3.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let start = Instant::now();
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/camera2/image",
            "--policy",
            "exact",
            "--seconds",
            "5",
        ],
    );
    let (line, _) = detect(&mut w, "never_equal", start);
    assert!(
        line.contains("ExactTime: the stamps of /camera1/image and /camera2/image never coincide"),
        "{line}"
    );
    let advice = w.wait_for("advice", |l| l.starts_with("  advice: "));
    assert!(advice.contains("use --policy approximate"), "{advice}");
    finish(&mut w);
    // The exact queue overflows too: a symptom, not reported as a cause.
    assert_only(&w, &["never_equal"]);
}

#[test]
fn clock_mismatch() {
    let d = domain();
    // rclpy stamps from 2000 s (a simulator's clock), the Rust camera
    // from now.
    let mut cam = camera(d, &["rate:=30.0"]);
    let _py = Proc::python(
        "ros_rclpy_publisher.py",
        d,
        &["--count", "100000", "--rate", "30", "--prefix", "/sim"],
    );
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let start = Instant::now();
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/sim/image",
            "--topic",
            "/sim/camera_info",
            "--seconds",
            "6",
        ],
    );
    let (line, _) = detect(&mut w, "clock_mismatch", start);
    // The camera is stamped nearest its arrival (the system clock): each
    // topic on the simulator's clock is behind it.
    let behind = |l: &str, topic: &str| {
        l.contains(&format!("{topic}: stamps ")) && l.contains(" behind /camera1/image's")
    };
    assert!(
        behind(&line, "/sim/image") || behind(&line, "/sim/camera_info"),
        "{line}"
    );
    let advice = w.wait_for("advice", |l| l.starts_with("  advice: "));
    assert!(
        advice.contains("--stamp-offset 1=") || advice.contains("--stamp-offset 2="),
        "{advice}"
    );
    let other = if behind(&line, "/sim/image") {
        "/sim/camera_info"
    } else {
        "/sim/image"
    };
    let second = w.wait_for("the other topic's clock_mismatch", |l| {
        l.starts_with("problem clock_mismatch ")
    });
    assert!(behind(&second, other), "{second}");
    finish(&mut w);
    assert_only(&w, &["clock_mismatch", "clock_mismatch"]);
}

#[test]
fn stale() {
    let d = domain();
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/camera1/depth",
            "--seconds",
            "9",
        ],
    );
    // camera1/depth pauses for 3 s from tick 60; the ticks start once
    // watch has subscribed to both topics.
    let mut cam = camera(
        d,
        &[
            "rate:=30.0",
            "wait_subscribers:=2",
            "pause_topic:=camera1/depth",
            "pause_at:=60",
            "pause_secs:=3.0",
        ],
    );
    cam.wait_for("tick 60", |l| l.starts_with("pub 60 "));
    let provoked = Instant::now();
    let (line, took) = detect(&mut w, "stale", provoked);
    assert!(line.contains("/camera1/depth: silent for "), "{line}");
    // 3 periods of 33 ms, at least 500 ms.
    assert!(took >= Duration::from_millis(400), "{took:?}");
    w.wait_for("resolved stale", |l| l.starts_with("resolved stale "));
    let out = finish(&mut w);
    assert!(summary_line(&out, "stale").contains("resolved"), "{out}");
    // The image queue overflowed meanwhile: the silent topic's fault.
    assert_only(&w, &["stale"]);
    assert!(
        out.contains("queue_overflow"),
        "overflow drops are counted: {out}"
    );
}

/// Overflow drops in a `match` summary (stderr).
fn match_overflow(summary: &str) -> u64 {
    summary
        .lines()
        .flat_map(|l| l.split(['(', ',', ')']))
        .filter_map(|f| {
            let f = f.trim();
            f.strip_prefix("queue_overflow ")
                .or_else(|| f.strip_prefix("after_overflow "))
        })
        .map(|n| n.parse::<u64>().unwrap())
        .sum()
}

/// The installed `stamp-sync match TRACE ARGS`: (stdout, stderr).
fn replay(trace: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(node("stamp-sync"))
        .arg("match")
        .arg(trace)
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{stderr}");
    (stdout, stderr)
}

#[test]
fn queue_overflow() {
    let d = domain();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.csv");
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/camera2/image",
            "--seconds",
            "8",
            "--record",
            rec.to_str().unwrap(),
        ],
    );
    // From tick 30 (3 s) camera1/image comes 20 times as fast: 200 Hz
    // against 10 Hz, more than a queue of 10 holds.
    let mut cam = camera(
        d,
        &[
            "rate:=10.0",
            "wait_subscribers:=2",
            "burst_topic:=camera1/image",
            "burst_at:=30",
            "burst_factor:=20",
            "burst_secs:=100.0",
        ],
    );
    cam.wait_for("tick 30", |l| l.starts_with("pub 30 "));
    let provoked = Instant::now();
    let (line, _) = detect(&mut w, "queue_overflow", provoked);
    assert!(
        line.contains("/camera1/image") && line.contains("queue (size 10) overflowed"),
        "{line}"
    );
    let advice = w.wait_for("advice", |l| l.starts_with("  advice: "));
    assert!(
        advice.contains("is the smallest that avoids all overflow drops on the arrivals seen"),
        "{advice}"
    );
    let out = finish(&mut w);
    assert_only(&w, &["queue_overflow"]);
    // The advised size, checked on the recorded arrivals: it avoids every
    // overflow drop, one less does not.
    let q: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("smallest queue size without overflow on the arrivals seen: "))
        .unwrap_or_else(|| panic!("no queue size advice: {out}"))
        .parse()
        .unwrap();
    assert!(q > 10, "{q}");
    let (_, at_10) = replay(&rec, &["--policy", "approximate"]);
    assert!(match_overflow(&at_10) > 0, "{at_10}");
    for (size, clean) in [(q, true), (q - 1, false)] {
        let (_, summary) = replay(
            &rec,
            &["--policy", "approximate", "--queue-size", &size.to_string()],
        );
        assert_eq!(
            match_overflow(&summary) == 0,
            clean,
            "queue {size}: {summary}"
        );
    }
    eprintln!("queue_overflow: 200 Hz against 10 Hz needs --queue-size {q}");
}

#[test]
fn out_of_order() {
    let d = domain();
    // Camera 2's stamps jitter by up to 40 ms at 30 Hz (33 ms apart): some
    // go backwards.
    let mut cam = camera(d, &["rate:=30.0", "jitter_ms:=40.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let start = Instant::now();
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/camera2/image",
            "--seconds",
            "5",
        ],
    );
    let (line, _) = detect(&mut w, "out_of_order", start);
    assert!(
        line.contains("/camera2/image: stamps went backwards"),
        "{line}"
    );
    finish(&mut w);
    assert_eq!(
        codes_seen(&w)
            .iter()
            .filter(|c| *c != "out_of_order")
            .count(),
        0,
        "{:?}",
        w.seen
    );
}

const CAMERA_TOPICS: [&str; 4] = [
    "/camera1/image",
    "/camera1/depth",
    "/camera1/camera_info",
    "/camera2/image",
];

fn topic_args(topics: &[&str]) -> Vec<String> {
    topics
        .iter()
        .flat_map(|t| ["--topic".to_string(), t.to_string()])
        .collect()
}

#[test]
fn a_healthy_graph_has_no_problem() {
    let d = domain();
    let mut cam = camera(d, &["rate:=30.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let mut args = topic_args(&CAMERA_TOPICS);
    args.extend(["--seconds", "7", "--json"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut w = watch(d, &args);
    let r = json_report(&mut w);
    assert_eq!(r["problems"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["policy"], "approximate");
    assert_eq!(r["queue_size"], 10);
    assert!(r["sets"].as_u64().unwrap() > 60, "{r:#}");
    for (t, name) in r["topics"].as_array().unwrap().iter().zip(CAMERA_TOPICS) {
        assert_eq!(t["topic"], name);
        assert_eq!(t["publishers"], serde_json::json!(["/camera_publisher"]));
        let rate = t["rate_hz"].as_f64().unwrap();
        assert!((25.0..35.0).contains(&rate), "{name}: {rate} Hz");
        assert!(t["received"].as_u64().unwrap() > 60, "{t}");
        // Fast DDS reports lost messages; on loopback it loses none.
        assert_eq!(t["lost"], 0, "{t}");
    }
    assert_eq!(r["topics"][2]["type"], "sensor_msgs/msg/CameraInfo");
    for (reason, _) in r["drops"].as_object().unwrap() {
        assert_ne!(reason, "queue_overflow", "{r:#}");
    }
}

#[test]
fn follow_watches_frames_with_their_imu() {
    let d = domain();
    let mut cam = camera(d, &["rate:=30.0", "imu_rate:=200.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let mut w = watch(
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/imu/data",
            "--policy",
            "follow",
            "--driver",
            "0",
            "--follow",
            "1=ranged",
            "--seconds",
            "5",
            "--json",
        ],
    );
    let r = json_report(&mut w);
    assert_eq!(r["problems"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["policy"], "follow");
    assert!(r["policy_running"].as_bool().unwrap(), "{r:#}");
    assert!(r["sets"].as_u64().unwrap() > 90, "{r:#}");
    let imu_rate = r["topics"][1]["rate_hz"].as_f64().unwrap();
    assert!((180.0..220.0).contains(&imu_rate), "{imu_rate} Hz");
    // Each set: the frame, then the 6 or 7 IMU samples since the last one.
    let sets = r["last_sets"].as_array().unwrap();
    assert!(!sets.is_empty(), "{r:#}");
    for s in sets {
        let s: Vec<i64> = s
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert!((7..=8).contains(&s.len()), "{s:?}");
        assert!(s[1..].iter().all(|imu| *imu <= s[0]), "{s:?}");
    }
    // No sample is lost: none late, none overflowed, none unchosen.
    assert_eq!(r["drops"], serde_json::json!({}), "{r:#}");
}

/// tmux on a private server, killed on drop.
struct Tmux {
    socket: String,
    /// Where the command's stderr goes, for failure messages.
    stderr: PathBuf,
}

impl Tmux {
    fn new(width: u32, height: u32, cmd: &str, stderr: &Path) -> Tmux {
        let t = Tmux {
            socket: format!("stamp_sync_watch_{}", std::process::id()),
            stderr: stderr.to_path_buf(),
        };
        let w = width.to_string();
        let h = height.to_string();
        t.run(&["new-session", "-d", "-s", "w", "-x", &w, "-y", &h, cmd]);
        t.run(&["set-option", "-t", "w", "remain-on-exit", "on"]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux: {e} (scripts/ros-setup.sh installs it)"));
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "w"])
    }

    /// Captures the screen until `done` holds (bounded).
    fn wait_screen(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if done(&s) {
                return s;
            }
            if Instant::now() >= deadline {
                let pane = self.run(&[
                    "display-message",
                    "-p",
                    "-t",
                    "w",
                    "dead=#{pane_dead} status=#{pane_dead_status} pid=#{pane_pid}",
                ]);
                let pid = pane.split("pid=").nth(1).unwrap_or("").trim().to_string();
                let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .map(|st| st.lines().take(3).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default();
                let wchan =
                    std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
                panic!(
                    "no {what} on screen:\n{s}\npane: {pane} {proc_status} wchan={wchan}\nstderr: {}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            // Polling a screen: there is no event to wait on.
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn live_view_on_a_terminal() {
    let d = domain();
    let mut cam = camera(d, &["rate:=30.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let exe = node("stamp-sync");
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    let cmd = format!(
        "env ROS_DOMAIN_ID={d} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST {} watch --topic /camera1/image --topic /camera2/image --topic /nobody/image 2>{}; echo \"watch exited with status $?\"",
        shell_quote(&exe.display().to_string()),
        shell_quote(&stderr.display().to_string())
    );
    let tmux = Tmux::new(200, 40, &cmd, &stderr);
    let screen = tmux.wait_screen("the table with a problem", |s| {
        s.contains("problems (1):") && s.contains("no_publisher: /nobody/image")
    });
    eprintln!("live view:\n{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[0].starts_with("stamp-sync watch: policy approximate (queue 10), "),
        "{screen}"
    );
    assert!(
        lines[1].starts_with("topic")
            && lines[1].contains("rate Hz")
            && lines[1].contains("age at arrival"),
        "{screen}"
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with("/camera1/image "))
        .unwrap_or_else(|| panic!("no row: {screen}"));
    assert!(
        row.contains("sensor_msgs/msg/Image") && row.contains("/camera_publisher"),
        "{row}"
    );
    assert!(
        screen.contains("      advice: start the node that publishes /nobody/image"),
        "{screen}"
    );
    // Redrawn, not scrolled: one head line on screen.
    assert_eq!(screen.matches("stamp-sync watch").count(), 1, "{screen}");
    // Ctrl-C: a clean stop with the summary.
    tmux.run(&["send-keys", "-t", "w", "C-c"]);
    let end = tmux.wait_screen("the summary", |s| s.contains("problems seen (1):"));
    assert!(
        end.contains("stamp-sync watch summary: policy approximate"),
        "{end}"
    );
    assert!(
        end.contains("no_publisher (") && end.contains("still"),
        "{end}"
    );
    // The shell around it reports how it ended.
    let status = tmux.wait_screen("the exit status", |s| {
        s.contains("watch exited with status")
    });
    assert!(status.contains("watch exited with status 0"), "{status}");
    eprintln!("after Ctrl-C:\n{end}");
}

#[test]
fn record_replays_into_the_live_sets() {
    let d = domain();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("live.csv");
    let mut cam = camera(d, &["rate:=30.0", "jitter_ms:=3.0"]);
    cam.wait_for_err("publishing", |l| l.contains("publishing at"));
    let policy = ["--queue-size", "4", "--max-interval", "2ms"];
    let mut args = topic_args(&["/camera1/image", "/camera2/image", "/camera1/depth"]);
    args.extend(policy.map(String::from));
    args.extend(
        [
            "--seconds",
            "7",
            "--json",
            "--record",
            rec.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut w = watch(d, &args);
    let r = json_report(&mut w);
    let mut match_args = vec!["--policy", "approximate"];
    match_args.extend(policy);
    let (sets, summary) = replay(&rec, &match_args);
    let sets: Vec<Vec<i64>> = sets
        .lines()
        .map(|l| l.split(',').map(|s| s.parse().unwrap()).collect())
        .collect();
    let live_sets = r["sets"].as_u64().unwrap();
    assert!(live_sets > 50, "{r:#}");
    assert_eq!(sets.len() as u64, live_sets);
    let last: Vec<Vec<i64>> = serde_json::from_value(r["last_sets"].clone()).unwrap();
    assert_eq!(&sets[sets.len() - last.len()..], &last[..]);
    assert_eq!(
        summary.lines().next().unwrap(),
        format!("messages in: {}, sets out: {live_sets}", r["arrivals"])
    );
    // The same drops, reason by reason.
    for (reason, n) in r["drops"].as_object().unwrap() {
        let total: u64 = summary
            .lines()
            .flat_map(|l| l.split(['(', ',', ')']))
            .filter_map(|f| f.trim().strip_prefix(&format!("{reason} ")))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, n.as_u64().unwrap(), "{reason}: {summary}");
    }
    assert!(
        r["drops"]["max_interval"].as_u64().unwrap_or(0) > 0,
        "{r:#}"
    );
    eprintln!("--record: {live_sets} live sets, the same from stamp-sync match");
}

#[test]
fn overlay_types_need_no_rebuild() {
    let d = domain();
    let py = std::env::var("STAMP_SYNC_ROS_PYTHON").expect("run under scripts/with-ros");
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(stamp_sync_testkit::repo().join("tests/ros_watch_peer.py"))
        .args(["tick", "--rate", "20", "/tick/a", "/tick/b"]);
    with_overlay(&mut cmd);
    let mut peer = Proc::command("ros_watch_peer.py", cmd, d);
    peer.wait_for("publishing", |l| l == "publishing");
    // Without the overlay: a clear error naming the package and where it
    // was looked for.
    let mut w = watch(
        d,
        &[
            "--topic",
            "/tick/a",
            "--topic",
            "/tick/b",
            "--seconds",
            "20",
        ],
    );
    assert!(!w.wait_exit(), "watch must fail without the overlay");
    let err = w.stderr();
    assert!(
        err.contains(
            "stamp_sync_test_msgs/msg/Tick: package \"stamp_sync_test_msgs\" is not installed"
        ),
        "{err}"
    );
    let prefixes = std::env::var("AMENT_PREFIX_PATH").unwrap();
    for p in std::env::split_paths(&prefixes) {
        assert!(err.contains(&p.display().to_string()), "{err}");
    }
    // With it: rates and sets, no problem.
    let mut cmd = Command::new(node("stamp-sync"));
    cmd.args([
        "watch",
        "--topic",
        "/tick/a",
        "--topic",
        "/tick/b",
        "--seconds",
        "6",
        "--json",
    ]);
    with_overlay(&mut cmd);
    let mut w = Proc::command("stamp-sync watch (overlay)", cmd, d);
    let r = json_report(&mut w);
    assert_eq!(r["problems"], serde_json::json!([]), "{r:#}");
    // Discovery may take a few seconds on a busy machine.
    assert!(r["sets"].as_u64().unwrap() >= 20, "{r:#}");
    for t in r["topics"].as_array().unwrap() {
        assert_eq!(t["type"], "stamp_sync_test_msgs/msg/Tick");
        let rate = t["rate_hz"].as_f64().unwrap();
        assert!((17.0..23.0).contains(&rate), "{rate} Hz");
    }
    eprintln!(
        "overlay Tick: {} sets at {:.1} Hz",
        r["sets"], r["topics"][0]["rate_hz"]
    );
}

/// One status of a `/diagnostics` array: level, name, message, key-values.
#[derive(Debug)]
struct Status {
    level: u8,
    name: String,
    message: String,
    values: Vec<(String, String)>,
}

impl Status {
    fn parse(line: &str) -> Status {
        let rest = line.strip_prefix("status ").unwrap();
        let (level, rest) = rest.split_once(' ').unwrap();
        let mut f = rest.splitn(3, '|');
        let (name, message, kv) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        Status {
            level: level.parse().unwrap(),
            name: name.to_string(),
            message: message.to_string(),
            values: kv
                .split(';')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect(),
        }
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An installed node publishes `/diagnostics` once a second: one status
/// per input, ERROR for an input without publisher, WARN for one whose
/// queue overflows, with its rate, sets and drops by reason.
#[test]
fn installed_nodes_publish_diagnostics() {
    let d = domain();
    let py = std::env::var("STAMP_SYNC_ROS_PYTHON").expect("run under scripts/with-ros");
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(stamp_sync_testkit::repo().join("tests/ros_watch_peer.py"))
        .args(["diagnostics", "--node", "image_info_sync"]);
    let mut listener = Proc::command("ros_watch_peer.py diagnostics", cmd, d);
    listener.wait_for("listening", |l| l == "listening");
    let _cam = camera(d, &["rate:=30.0"]);
    // ExactTime on an image whose camera_info nobody publishes.
    let _sync = Proc::node(
        "image_info_sync",
        d,
        &[
            "-r",
            "image:=/camera1/image",
            "-r",
            "camera_info:=/nobody/camera_info",
        ],
    );
    let mut arrivals = Vec::new();
    let (image, info) = loop {
        let head = listener.wait_for("a /diagnostics array", |l| l.starts_with("diag "));
        let t: f64 = head.split(' ').nth(1).unwrap().parse().unwrap();
        arrivals.push(t);
        let n: usize = head.split(' ').nth(2).unwrap().parse().unwrap();
        let mut statuses: Vec<Status> = listener
            .take("status ", n)
            .iter()
            .map(|l| Status::parse(l))
            .collect();
        assert_eq!(statuses.len(), 2, "one status per input: {statuses:?}");
        let i = statuses
            .iter()
            .position(|s| s.name.ends_with(": image"))
            .unwrap();
        let overflow: u64 = statuses[i]
            .value("dropped_queue_overflow")
            .map_or(0, |v| v.parse().unwrap());
        let received: u64 = statuses[i]
            .value("received")
            .map_or(0, |v| v.parse().unwrap());
        // A whole period at full rate: the first one may be partial.
        if statuses[i].level == 1 && overflow > 0 && received > 60 {
            let image = statuses.remove(i);
            break (image, statuses.remove(0));
        }
    };
    assert_eq!(image.name, "image_info_sync: image");
    assert!(image.message.starts_with("queue overflow: "), "{image:?}");
    let rate: f64 = image.value("rate_hz").unwrap().parse().unwrap();
    assert!((25.0..35.0).contains(&rate), "{image:?}");
    assert_eq!(image.value("sets"), Some("0"), "{image:?}");
    assert_eq!(image.value("publishers"), Some("1"), "{image:?}");
    assert!(image.value("received").unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(info.level, 2, "{info:?}");
    assert_eq!(info.message, "no publisher");
    assert_eq!(info.value("publishers"), Some("0"), "{info:?}");
    // Once a second.
    let next = listener.wait_for("the next array", |l| l.starts_with("diag "));
    arrivals.push(next.split(' ').nth(1).unwrap().parse().unwrap());
    let gap = arrivals[arrivals.len() - 1] - arrivals[arrivals.len() - 2];
    assert!((0.7..1.5).contains(&gap), "{gap} s between arrays");
    eprintln!("/diagnostics: {image:?}\n{info:?}");
}

/// The installed `tf_filter` publishes its input's status on
/// `/diagnostics`: images whose frame never gets a transform fail, and the
/// status says WARN with the failures by reason.
#[test]
fn tf_filter_publishes_diagnostics() {
    let d = domain();
    let py = std::env::var("STAMP_SYNC_ROS_PYTHON").expect("run under scripts/with-ros");
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(stamp_sync_testkit::repo().join("tests/ros_watch_peer.py"))
        .args(["diagnostics", "--node", "tf_filter"]);
    let mut listener = Proc::command("ros_watch_peer.py diagnostics", cmd, d);
    listener.wait_for("listening", |l| l == "listening");
    let _cam = camera(d, &["rate:=30.0"]);
    // Nobody broadcasts tf: each image waits 0.2 s, then fails.
    let _filter = Proc::node(
        "tf_filter",
        d,
        &["-r", "image:=/camera1/image", "-p", "timeout:=0.2"],
    );
    let status = loop {
        let head = listener.wait_for("a /diagnostics array", |l| l.starts_with("diag "));
        let n: usize = head.split(' ').nth(2).unwrap().parse().unwrap();
        let statuses: Vec<Status> = listener
            .take("status ", n)
            .iter()
            .map(|l| Status::parse(l))
            .collect();
        assert_eq!(statuses.len(), 1, "one status for the input: {statuses:?}");
        let s = statuses.into_iter().next().unwrap();
        // A whole period at full rate: the first ones may be partial.
        let received: u64 = s.value("received").map_or(0, |v| v.parse().unwrap());
        if s.level == 1 && received > 40 {
            break s;
        }
    };
    eprintln!("/diagnostics: {status:?}");
    assert_eq!(status.name, "tf_filter: image");
    assert!(
        status
            .message
            .starts_with("failed this period: unknown_frame "),
        "{status:?}"
    );
    let num = |k: &str| -> u64 { status.value(k).unwrap().parse().unwrap() };
    assert!(num("failed_unknown_frame") > 0, "{status:?}");
    assert_eq!(num("released"), 0, "{status:?}");
    assert_eq!(
        num("received"),
        num("failed") + num("pending"),
        "every image failed or waits: {status:?}"
    );
    assert_eq!(status.value("publishers"), Some("1"), "{status:?}");
    let rate: f64 = status.value("rate_hz").unwrap().parse().unwrap();
    assert!((20.0..40.0).contains(&rate), "{status:?}");
}
