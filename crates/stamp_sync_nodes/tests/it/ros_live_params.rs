//! Live policy settings on the installed nodes: a parameter the policy can
//! take live (`age_penalty`) goes through its run-time setter and drops
//! nothing; a new `queue_size` replaces the policy and drops what is
//! queued (reason `reset`), once. Both engines: `sync_relay` (the relay)
//! and `stereo_sync` (a typed node). And `drop_out_after` set and unset
//! at run time on both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::time::Instant;

use ros_common::{NodeStats, Proc, WAIT, domain};

/// Sets `name:=value` through the parameter services (rclpy's client).
fn set(d: u32, node: &str, action: &str) {
    let mut c = Proc::python("ros_peer.py", d, &["params", node, action]);
    assert!(c.wait_exit(), "param client failed: {}", c.stderr());
    assert!(
        c.seen
            .iter()
            .any(|l| l.ends_with(" ok ") || l.contains(" ok")),
        "{action} not accepted: {:?}",
        c.seen
    );
}

/// Polls `stats` until `pred` holds.
fn stats_until(node: &mut Proc, what: &str, pred: impl Fn(&NodeStats) -> bool) -> NodeStats {
    let deadline = Instant::now() + WAIT;
    loop {
        node.send("stats");
        let s = NodeStats::parse(&node.wait_for("stats", |l| l.starts_with("stats ")));
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: {s:?}");
    }
}

/// Only channel 0 flows, so it holds `queue_size` messages. Changing the
/// age penalty must not drop them; changing the queue size drops exactly
/// those 5 (had the first change reset too, the queue would have refilled
/// and 10 would go).
fn live_then_replace(name: &str, d: u32, args: &[&str], paused: &str) {
    let mut node = Proc::node(name, d, args);
    let pause = format!("pause_topic:={paused}");
    let mut publ = Proc::node(
        "camera_publisher",
        d,
        &["-p", "rate:=50.0", "-p", &pause, "-p", "pause_secs:=1000.0"],
    );
    publ.wait_for_err("publishing", |l| l.contains("publishing at"));
    stats_until(&mut node, "channel 0 never filled", |s| {
        s.channels[0][3] == 5
    });
    set(d, name, "set:age_penalty=double:0.5");
    node.wait_for_err("the change", |l| l.contains("age penalty 0.5"));
    set(d, name, "set:queue_size=int:7");
    let s = stats_until(&mut node, "the new queue never filled", |s| {
        s.channels[0][3] == 7
    });
    assert_eq!(s.dropped_for("reset"), 5, "{name}: {s:?}");
    node.send("quit");
    assert!(node.wait_exit(), "{}", node.stderr());
}

#[test]
fn a_live_setting_drops_nothing_a_new_queue_size_drops_once() {
    let d = domain();
    live_then_replace(
        "sync_relay",
        d,
        &[
            "-p",
            "topics:=[/camera1/image, /camera2/image]",
            "-p",
            "queue_size:=5",
        ],
        "camera2/image",
    );
    live_then_replace(
        "stereo_sync",
        d,
        &[
            "-r",
            "left:=/camera1/image",
            "-r",
            "right:=/camera2/image",
            "-p",
            "queue_size:=5",
        ],
        "camera2/image",
    );
}

/// `drop_out_after` set at run time: the silent input leaves the sets and
/// the flowing one's messages go out without it; set back to 0, the sets
/// need both again and the flowing input's queue fills.
fn drop_out_live(name: &str, d: u32, args: &[&str], paused: &str) {
    let mut node = Proc::node(name, d, args);
    let pause = format!("pause_topic:={paused}");
    let mut publ = Proc::node(
        "camera_publisher",
        d,
        &["-p", "rate:=50.0", "-p", &pause, "-p", "pause_secs:=1000.0"],
    );
    publ.wait_for_err("publishing", |l| l.contains("publishing at"));
    stats_until(&mut node, "channel 0 never filled", |s| {
        s.channels[0][3] == 5
    });
    set(d, name, "set:drop_out_after=double:0.2");
    node.wait_for_err("the change", |l| {
        l.contains("drop_out_after now 200ms (arrival clock)")
    });
    let first = stats_until(&mut node, "no sets without the silent input", |s| {
        s.partial >= 20
    });
    // From then on channel 0's messages go out alone: no more drops,
    // nothing waits.
    let s = stats_until(&mut node, "sets without the silent input stopped", |s| {
        s.partial >= first.partial + 20
    });
    assert_eq!(s.channels[0][2], first.channels[0][2], "{name}: {s:?}");
    assert!(s.channels[0][3] <= 1, "{name}: {s:?}");
    set(d, name, "set:drop_out_after=double:0.0");
    node.wait_for_err("the change", |l| l.contains("drop_out_after now off"));
    let before = s.partial;
    let s = stats_until(&mut node, "channel 0 never filled again", |s| {
        s.channels[0][3] == 5
    });
    assert!(s.partial >= before && s.sets == 0, "{name}: {s:?}");
    assert!(s.unbalanced().is_empty(), "{name}: {s:?}");
    node.send("quit");
    assert!(node.wait_exit(), "{}", node.stderr());
}

#[test]
fn drop_out_after_changes_live() {
    let d = domain();
    drop_out_live(
        "sync_relay",
        d,
        &[
            "-p",
            "topics:=[/camera1/image, /camera2/image]",
            "-p",
            "queue_size:=5",
        ],
        "camera2/image",
    );
    drop_out_live(
        "stereo_sync",
        d,
        &[
            "-r",
            "left:=/camera1/image",
            "-r",
            "right:=/camera2/image",
            "-p",
            "queue_size:=5",
        ],
        "camera2/image",
    );
}
