//! The ROS 2 package as a user meets it: the nodes colcon installed
//! (`scripts/colcon-install.sh`), run by name from the install tree, with
//! rclpy peers we did not write: a best-effort camera, a consumer of the
//! relay's outputs, the parameter services, `/rosout`, and `/clock` from a
//! bag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::collections::{HashMap, HashSet};

use std::time::{Duration, Instant};

use ros_common::{NodeStats, Proc, WAIT, domain, overlay, set_stamps};
use stamp_sync::Stamp;
use stamp_sync::trace::{PolicyConfig, Trace, replay};

/// A best-effort publisher (as camera drivers are) and `image_info_sync`
/// with no parameters at all: the default QoS matches it.
#[test]
fn best_effort_camera_feeds_image_info_sync_with_defaults() {
    let d = domain();
    let n = 60;
    let mut sync = Proc::node(
        "image_info_sync",
        d,
        &[
            "-r",
            "image:=/be/image",
            "-r",
            "camera_info:=/be/camera_info",
        ],
    );
    let mut py = Proc::python(
        "ros_rclpy_publisher.py",
        d,
        &[
            "--count",
            &n.to_string(),
            "--rate",
            "50",
            "--prefix",
            "/be",
            "--best-effort",
            "--start-on-stdin",
        ],
    );
    sync.wait_for_err("`matched`", |l| l.ends_with(": matched"));
    py.send("go");
    let published: Vec<i64> = py
        .take("pub ", n)
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap().parse().unwrap())
        .collect();
    // Best effort may lose a message on a busy machine; pairs that arrive
    // are exact.
    let last = *published.last().unwrap();
    let _ = sync.try_wait_for(Duration::from_secs(5), |l| {
        l.starts_with("set ") && set_stamps(l)[0] == last
    });
    let sets: Vec<Vec<i64>> = sync
        .seen
        .iter()
        .filter(|l| l.starts_with("set "))
        .map(|l| set_stamps(l))
        .collect();
    let want: HashSet<i64> = published.iter().copied().collect();
    assert!(
        sets.iter().all(|s| s[0] == s[1] && want.contains(&s[0])),
        "{sets:?}"
    );
    assert!(
        sets.len() >= n * 9 / 10,
        "best effort delivered {} of {n} pairs",
        sets.len()
    );
    eprintln!(
        "best-effort rclpy camera -> image_info_sync (default parameters): {} of {n} pairs",
        sets.len()
    );
}

/// What the rclpy relay peer reported: the messages it sent and got back.
struct PeerReport {
    /// `(channel, stamp ns, length, digest)` in send order.
    sent: Vec<(usize, i64, usize, String)>,
    /// `(channel, stamp ns, length, digests of the bytes without 0..3
    /// trailing padding bytes)` in arrival order per channel.
    got: Vec<(usize, i64, usize, Vec<String>)>,
}

fn peer_report(py: &mut Proc) -> PeerReport {
    py.wait_for("the peer's end", |l| l == "done");
    let mut r = PeerReport {
        sent: Vec::new(),
        got: Vec::new(),
    };
    for l in &py.seen {
        let f: Vec<&str> = l.split(' ').collect();
        match f[0] {
            "sent" => r.sent.push((
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].to_string(),
            )),
            "got" => r.got.push((
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].split(',').map(str::to_string).collect(),
            )),
            _ => {}
        }
    }
    r
}

/// Runs `sync_relay` with `policy` between an rclpy publisher and an rclpy
/// subscriber of its outputs; checks every relayed message is byte for
/// byte one that was sent, and returns the relayed sets (from 3000 s on,
/// after the warm-up) and the offline answer for the sent trace.
/// `overlay`: the inputs are `stamp_sync_test_msgs/msg/Tick` from the test
/// overlay (a type this build never saw), sourced for both processes.
fn relay_round(
    d: u32,
    policy: &str,
    jitter_ns: i64,
    overlay: bool,
) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let p_policy = format!("policy:={policy}");
    let topics = if overlay {
        "topics:=[/peer/a, /peer/b]"
    } else {
        "topics:=[/peer/image, /peer/camera_info]"
    };
    let relay_args = [
        "-p",
        topics,
        "-p",
        &p_policy,
        "-p",
        "qos:=reliable",
        "-p",
        "queue_size:=10",
    ];
    let jitter = jitter_ns.to_string();
    let mut peer_args = vec![
        "relay",
        "--count",
        "60",
        "--rate",
        "40",
        "--jitter-ns",
        &jitter,
    ];
    let (mut relay, mut py) = if overlay {
        peer_args.push("--tick");
        (
            Proc::node_in_overlay("sync_relay", d, &relay_args),
            Proc::python_in_overlay("ros_peer.py", d, &peer_args),
        )
    } else {
        (
            Proc::node("sync_relay", d, &relay_args),
            Proc::python("ros_peer.py", d, &peer_args),
        )
    };
    let r = peer_report(&mut py);
    // Every message that came back is exactly one that was sent, with the
    // same stamp (rmw may pad the payload with up to 3 zero bytes).
    let sent: HashMap<(usize, i64), (usize, &String)> = r
        .sent
        .iter()
        .map(|(ch, ns, len, d)| ((*ch, *ns), (*len, d)))
        .collect();
    for (ch, ns, len, digests) in &r.got {
        let (sent_len, digest) = sent
            .get(&(*ch, *ns))
            .unwrap_or_else(|| panic!("got channel {ch} stamp {ns}, never sent"));
        assert!(
            len >= sent_len && len - sent_len < 4,
            "length {len} vs {sent_len}"
        );
        assert!(
            digests.contains(digest),
            "channel {ch} stamp {ns}: the bytes differ from the sent ones"
        );
    }
    // The sets, from each output's messages in order.
    let real = |ch: usize| -> Vec<i64> {
        r.got
            .iter()
            .filter(|g| g.0 == ch && g.1 >= 3000 * 1_000_000_000)
            .map(|g| g.1)
            .collect()
    };
    let (a, b) = (real(0), real(1));
    assert_eq!(a.len(), b.len(), "both outputs carry every set");
    let live: Vec<Vec<i64>> = a.iter().zip(&b).map(|(x, y)| vec![*x, *y]).collect();
    // The offline answer for the arrivals as sent (warm-up included).
    let trace = Trace::from_pairs(
        r.sent
            .iter()
            .map(|(ch, ns, _, _)| (*ch, Stamp::from_nanos(*ns))),
    );
    let config = match policy {
        "exact" => PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
        _ => PolicyConfig::approximate(10),
    };
    let offline: Vec<Vec<i64>> = replay(&trace, 2, &config)
        .unwrap()
        .sets
        .iter()
        .map(|s| s.iter().map(|m| m.stamp.as_nanos()).collect())
        .filter(|s: &Vec<i64>| s[0] >= 3000 * 1_000_000_000)
        .collect();
    relay.send("quit");
    assert!(relay.wait_exit(), "sync_relay failed: {}", relay.stderr());
    (live, offline)
}

#[test]
fn sync_relay_relays_exact_sets_byte_for_byte() {
    let (live, offline) = relay_round(domain(), "exact", 0, false);
    assert_eq!(live.len(), 60);
    assert_eq!(live, offline);
    eprintln!(
        "sync_relay ExactTime -> rclpy: {} sets, byte for byte",
        live.len()
    );
}

#[test]
fn sync_relay_relays_approximate_sets_byte_for_byte() {
    let (live, offline) = relay_round(domain(), "approximate", 3_000_000, false);
    assert!(live.len() >= 50, "{} sets", live.len());
    assert_eq!(live, offline);
    eprintln!(
        "sync_relay ApproximateTime -> rclpy: {} sets as offline, byte for byte",
        live.len()
    );
}

/// A message type from an overlay sourced at run time (never seen by this
/// build): the installed relay finds its type support through the ament
/// index and relays it unchanged; without the overlay it names the
/// missing package and the prefixes it searched, and exits non-zero.
#[test]
fn sync_relay_relays_types_from_an_overlay_sourced_at_run_time() {
    let d = domain();
    let (live, offline) = relay_round(d, "exact", 0, true);
    assert_eq!(live.len(), 60);
    assert_eq!(live, offline);
    eprintln!(
        "sync_relay on stamp_sync_test_msgs/msg/Tick (overlay) -> rclpy: {} sets, byte for byte",
        live.len()
    );

    // The same publishers, the relay without the overlay.
    let d = domain();
    let _a = Proc::python_in_overlay(
        "ros_raw_peer.py",
        d,
        &["pub", "stamp_sync_test_msgs/msg/Tick", "/plain/a", "1"],
    );
    let _b = Proc::python_in_overlay(
        "ros_raw_peer.py",
        d,
        &["pub", "stamp_sync_test_msgs/msg/Tick", "/plain/b", "1"],
    );
    let mut relay = Proc::node("sync_relay", d, &["-p", "topics:=[/plain/a, /plain/b]"]);
    assert!(
        !relay.wait_exit(),
        "the relay must fail without the overlay"
    );
    let err = relay.stderr();
    assert!(
        err.contains("package \"stamp_sync_test_msgs\" is not installed"),
        "{err}"
    );
    let prefixes = std::env::var("AMENT_PREFIX_PATH").unwrap();
    for p in std::env::split_paths(&prefixes) {
        assert!(err.contains(&p.display().to_string()), "{err}");
    }
    assert!(!err.contains(&overlay().display().to_string()), "{err}");
}

/// Parameters: visible and settable through the standard services (rclpy's
/// client); a valid policy change drops what is queued (reason `reset`,
/// counted) and takes effect; an invalid value is refused with a reason
/// and the node runs on.
#[test]
fn parameters_through_the_standard_services() {
    let d = domain();
    let mut relay = Proc::node(
        "sync_relay",
        d,
        &[
            "-p",
            "topics:=[/camera1/image, /camera1/camera_info]",
            "-p",
            "qos:=reliable",
            "-p",
            "queue_size:=5",
        ],
    );
    // Only images flow (camera_info is paused from tick 0): they queue.
    let mut publ = Proc::node(
        "camera_publisher",
        d,
        &[
            "-p",
            "rate:=50.0",
            "-p",
            "pause_topic:=camera1/camera_info",
            "-p",
            "pause_secs:=1000.0",
        ],
    );
    publ.wait_for_err("publishing", |l| l.contains("publishing at"));
    let client = |actions: &[&str]| -> Vec<String> {
        let mut args = vec!["params", "sync_relay"];
        args.extend(actions);
        let mut c = Proc::python("ros_peer.py", d, &args);
        assert!(c.wait_exit(), "param client failed: {}", c.stderr());
        c.seen.clone()
    };
    let list = client(&["list"]);
    let names: HashSet<&str> = list[0].split(' ').skip(1).collect();
    for p in [
        "topics",
        "policy",
        "queue_size",
        "max_interval",
        "age_penalty",
        "epsilon",
        "qos",
        "output_suffix",
        "use_sim_time",
    ] {
        assert!(names.contains(p), "{p} not listed: {list:?}");
    }
    let got = client(&["get:policy,queue_size,qos,topics"]);
    assert_eq!(
        got,
        [
            "get policy approximate",
            "get queue_size 5",
            "get qos reliable",
            "get topics [/camera1/image,/camera1/camera_info]"
        ]
    );
    // Images queue up (5 held, the rest overflow).
    let queued = |relay: &mut Proc| loop {
        relay.send("stats");
        let s = NodeStats::parse(&relay.wait_for("stats", |l| l.starts_with("stats ")));
        if s.channels[0][3] == 5 {
            return s;
        }
    };
    let before = queued(&mut relay);
    // Refused, with a reason; nothing changes.
    let refused = client(&[
        "set:age_penalty=double:-1.0",
        "set:queue_size=int:0",
        "set:policy=str:fastest",
        "set:topics=str:/x",
    ]);
    assert!(
        refused[0].starts_with("set age_penalty refused")
            && refused[0].contains("age_penalty must be in [0, inf), got -1"),
        "{refused:?}"
    );
    assert!(
        refused[1].starts_with("set queue_size refused")
            && refused[1].contains("queue_size must be in [1, inf), got 0"),
        "{refused:?}"
    );
    assert!(
        refused[2].starts_with("set policy refused")
            && refused[2]
                .contains("policy must be one of exact, approximate, epsilon, latest, slop"),
        "{refused:?}"
    );
    assert!(
        refused[3].starts_with("set topics refused")
            && refused[3].contains("only be set at start-up"),
        "{refused:?}"
    );
    assert_eq!(
        client(&["get:policy,age_penalty"]),
        ["get policy approximate", "get age_penalty 0.1"]
    );
    assert_eq!(before.dropped_for("reset"), 0);
    // Accepted: the 5 queued images are dropped with reason reset.
    let ok = client(&["set:policy=str:exact"]);
    assert_eq!(ok, ["set policy ok "]);
    let deadline = Instant::now() + WAIT;
    loop {
        relay.send("stats");
        let s = NodeStats::parse(&relay.wait_for("stats", |l| l.starts_with("stats ")));
        if s.dropped_for("reset") >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "no reset drops: {s:?}");
    }
    assert_eq!(client(&["get:policy"]), ["get policy exact"]);
    relay.send("quit");
    assert!(relay.wait_exit(), "{}", relay.stderr());
}

/// The node's stall warning reaches `/rosout` under its name.
#[test]
fn stall_warning_reaches_rosout() {
    let d = domain();
    let mut listener = Proc::python(
        "ros_peer.py",
        d,
        &["rosout", "--node", "sync_relay", "--contains", "stalled"],
    );
    listener.wait_for("listening", |l| l == "listening");
    // Two topics whose stamps never coincide: ExactTime never fires.
    let _publ = Proc::node(
        "camera_publisher",
        d,
        &["-p", "rate:=20.0", "-p", "jitter_ms:=5.0"],
    );
    let _relay = Proc::node(
        "sync_relay",
        d,
        &[
            "-p",
            "topics:=[/camera1/image, /camera2/image]",
            "-p",
            "policy:=exact",
            "-p",
            "stall_after:=1.0",
        ],
    );
    let line = listener.wait_for("the stall on /rosout", |l| l.starts_with("log "));
    assert!(
        line.contains("level=30") && line.contains("name=sync_relay"),
        "{line}"
    );
    assert!(listener.wait_exit(), "{}", listener.stderr());
    eprintln!("rosout: {line}");
}

fn husky() -> String {
    stamp_sync_testkit::repo()
        .to_path_buf()
        .join("tests/data/bags/ros2/rl_husky_mcap")
        .display()
        .to_string()
}

/// Under `use_sim_time`, a node measures a stall in bag time: played at
/// 4x, a 2 s stall (ExactTime on topics that never share a stamp) is
/// reported after about 0.5 s of wall time, and says 2 s.
#[test]
fn sim_time_stalls_are_measured_in_bag_time() {
    let d = domain();
    let mut relay = Proc::node(
        "sync_relay",
        d,
        &[
            "-p",
            "use_sim_time:=true",
            "-p",
            "topics:=[/fix, /imu/data]",
            "-p",
            "policy:=exact",
            "-p",
            "stall_after:=2.0",
            "-p",
            "qos:=reliable",
        ],
    );
    let p_bag = format!("bag:={}", husky());
    let mut player = Proc::node(
        "bag_player",
        d,
        &[
            "-p",
            &p_bag,
            "-p",
            "topics:=[/fix, /imu/data]",
            "-p",
            "speed:=4.0",
            "-p",
            "duration:=20.0",
            "-p",
            "wait_subscribers:=2",
            "-p",
            "start_on_stdin:=true",
        ],
    );
    relay.wait_for_err("the relay's types", |l| l.contains("types:"));
    player.send("go");
    let start = Instant::now();
    player.wait_for_err("playing", |l| l.contains("playing"));
    let line = relay.wait_for_err("a stall warning", |l| l.contains("stalled"));
    let wall = start.elapsed();
    // "no synchronized set for 2.0xxs": the bag-time stall.
    let silent: f64 = line
        .split("no synchronized set for ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !(c.is_ascii_digit() || c == '.')).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {line:?}"));
    eprintln!(
        "sim time at 4x: stall of {silent} s (bag time) reported after {wall:?} of wall time"
    );
    assert!(
        (2.0..3.0).contains(&silent),
        "the stall is reported in bag time: {line}"
    );
    assert!(
        wall < Duration::from_millis(1800),
        "a 2 s bag-time stall at 4x took {wall:?} of wall time"
    );
}

/// A topic that never appears, or whose type has no header, is an error on
/// rosout and the relay exits non-zero.
#[test]
fn relay_refuses_missing_topics_and_headerless_types() {
    let d = domain();
    let mut missing = Proc::node(
        "sync_relay",
        d,
        &[
            "-p",
            "topics:=[/nobody/a, /nobody/b]",
            "-p",
            "wait_for_topics:=1.0",
        ],
    );
    assert!(!missing.wait_exit(), "a relay without inputs must fail");
    assert!(
        missing.stderr().contains("did not appear on the graph"),
        "{}",
        missing.stderr()
    );
    let _s1 = Proc::python("ros_peer.py", d, &["string", "--topic", "/words/a"]);
    let _s2 = Proc::python("ros_peer.py", d, &["string", "--topic", "/words/b"]);
    let mut headerless = Proc::node("sync_relay", d, &["-p", "topics:=[/words/a, /words/b]"]);
    assert!(
        !headerless.wait_exit(),
        "a relay of headerless types must fail"
    );
    let err = headerless.stderr();
    assert!(
        err.contains("no_header") && err.contains("std_msgs/msg/String"),
        "{err}"
    );
}

/// A bad parameter ends a node with exit code 2 and one sentence naming
/// the parameter: a wrong type, a wrong choice, topics that clash.
#[test]
fn bad_parameters_exit_2_with_one_sentence() {
    let d = domain();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "image_info_sync",
            &["-p", "queue_size:=abc"],
            r#"image_info_sync: error: parameter queue_size takes an integer, got "abc" (a string)"#,
        ),
        (
            "image_info_sync",
            &["-p", "policy:=3"],
            "image_info_sync: error: parameter policy takes a string, got 3 (an integer)",
        ),
        (
            "sync_relay",
            &["-p", "topics:=[/a,/a]"],
            "sync_relay: error: topics lists /a twice: each input needs a topic of its own",
        ),
    ];
    for (node, args, line) in cases {
        let mut p = Proc::node(node, d, args);
        assert_eq!(
            p.wait_exit_code(),
            Some(2),
            "{node} {args:?}: {}",
            p.stderr()
        );
        let err = p.stderr();
        let ours: Vec<&str> = err.lines().filter(|l| l.starts_with(node)).collect();
        assert_eq!(ours, [line], "{node} {args:?}: {err}");
    }
}

/// Discovery: a node started after its publisher finished gets none of
/// its messages over volatile QoS (the default), and every one of them
/// with `qos:=reliable durability:=transient_local` on both sides.
#[test]
fn a_late_node_gets_the_history_with_transient_local() {
    let d = domain();
    let n = 150;
    // Returns the publisher too: it lingers (its history alive) until dropped.
    let run = |durability: &str| -> (Vec<(String, u64)>, Proc, Proc) {
        let ns = format!("/late_{durability}");
        let depth = "depth:=200".to_string();
        let tl = format!("durability:={durability}");
        // Both sides: reliable, a history that holds every tick.
        let qos = &["-p", "qos:=reliable", "-p", &depth, "-p", &tl][..];
        let mut cam = Proc::node(
            "camera_publisher",
            d,
            &[
                &[
                    "-r",
                    &format!("__ns:={ns}"),
                    "-p",
                    &format!("count:={n}"),
                    "-p",
                    "rate:=500.0",
                    "-p",
                    "linger:=true",
                ][..],
                qos,
            ]
            .concat(),
        );
        let published = ros_common::published_counts(
            &cam.wait_for("`published`", |l| l.starts_with("published")),
        );
        let mut sync = Proc::node(
            "image_info_sync",
            d,
            &[
                &[
                    "-r",
                    &format!("image:={ns}/camera1/image"),
                    "-r",
                    &format!("camera_info:={ns}/camera1/camera_info"),
                    "-p",
                    "queue_size:=200",
                ][..],
                qos,
            ]
            .concat(),
        );
        sync.wait_for_err("`matched`", |l| l.ends_with(": matched"));
        (published, sync, cam)
    };

    let (published, mut tl, _cam) = run("transient_local");
    assert!(
        published.iter().all(|(_, c)| *c == n as u64),
        "{published:?}"
    );
    let sets = tl.take("set ", n);
    assert!(sets.iter().all(|l| {
        let s = set_stamps(l);
        s[0] == s[1]
    }));
    tl.send("stats");
    let stats = NodeStats::parse(&tl.wait_for("`stats`", |l| l.starts_with("stats ")));
    assert_eq!(stats.received(), [n as u64, n as u64], "{stats:?}");
    assert_eq!(stats.sets, n as u64);

    let (_, mut volatile, _cam) = run("volatile");
    volatile.send("stats");
    let stats = NodeStats::parse(&volatile.wait_for("`stats`", |l| l.starts_with("stats ")));
    assert_eq!(stats.received(), [0, 0], "{stats:?}");
    eprintln!(
        "a node started after its publisher's {n} messages: volatile received 0 of them, transient_local {n}"
    );
}
