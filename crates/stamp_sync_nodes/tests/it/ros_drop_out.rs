//! Drop-out on real ROS 2: camera_publisher pauses `camera1/depth` for 3 s
//! under `rgbd_sync` and `sync_relay` with `drop_out_after:=0.2`. Sets
//! keep coming at the camera rate with depth missing, full sets resume
//! after the pause, and the drop-out shows in `/diagnostics`, on `/rosout`
//! and in `stamp-sync watch`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::process::Command;

use ros_common::{NodeStats, Proc, WAIT, count_of, domain, node, published_counts};

const RATE: i64 = 30;
const START_NS: i64 = 1000 * 1_000_000_000;
/// Ticks before the pause, during it (3 s), after it.
const BEFORE: i64 = 30;
const PAUSE: i64 = 90;
const AFTER: i64 = 60;

/// `set a,b,c` and `partial a,,c` lines: per channel its stamp, `None`
/// for a missing member.
fn emitted(p: &Proc) -> (Vec<Vec<i64>>, Vec<Vec<Option<i64>>>) {
    let mut full = Vec::new();
    let mut partial = Vec::new();
    for l in &p.seen {
        let field = |s: &str| (!s.is_empty()).then(|| s.parse::<i64>().unwrap());
        if let Some(rest) = l.strip_prefix("set ") {
            let stamps = rest.split(' ').next().unwrap();
            full.push(stamps.split(',').map(|s| s.parse().unwrap()).collect());
        } else if let Some(rest) = l.strip_prefix("partial ") {
            partial.push(rest.split(',').map(field).collect());
        }
    }
    (full, partial)
}

/// The tick of a stamp (the publisher's stamps are rounded to 10 ns).
fn tick(stamp: i64) -> i64 {
    ((stamp - START_NS) * RATE + 500_000_000) / 1_000_000_000
}

/// What both nodes must show, with the figures printed for the notes.
fn check_sets(who: &str, full: &[Vec<i64>], partial: &[Vec<Option<i64>>]) {
    let resumed = BEFORE + PAUSE;
    let before = full.iter().filter(|s| tick(s[0]) < BEFORE).count();
    let after = full.iter().filter(|s| tick(s[0]) >= resumed).count();
    let ticks: Vec<i64> = partial
        .iter()
        .map(|s| tick(s[0].expect("rgb in every partial set")))
        .collect();
    eprintln!(
        "{who}: {before} full sets before the pause, {} with depth missing during it \
         (ticks {:?}..{:?}), {after} full after",
        partial.len(),
        ticks.first(),
        ticks.last()
    );
    assert!(before as i64 >= BEFORE - 2, "{who}: {before} sets before");
    // Depth missing, rgb and camera_info there, one per tick of the pause
    // (the first 0.2 s included: what was held goes out without depth).
    assert!(
        partial
            .iter()
            .all(|s| s.len() == 3 && s[1].is_none() && s[2].is_some()),
        "{who}: {partial:?}"
    );
    assert!(
        partial.len() as i64 >= PAUSE - 3,
        "{who}: {} sets during the pause",
        partial.len()
    );
    // At the camera rate: consecutive ticks, no gap.
    assert!(
        ticks.windows(2).all(|w| w[1] == w[0] + 1),
        "{who}: ticks {ticks:?}"
    );
    assert!(after as i64 >= AFTER - 3, "{who}: {after} full sets after");
}

#[test]
fn a_dead_depth_leaves_the_sets_and_they_keep_coming() {
    let d = domain();
    let py = std::env::var("STAMP_SYNC_ROS_PYTHON").expect("run under scripts/with-ros");
    let mut cmd = Command::new(&py);
    cmd.arg("-u")
        .arg(stamp_sync_testkit::repo().join("tests/ros_watch_peer.py"))
        .args(["diagnostics", "--node", "rgbd_sync"]);
    let mut diag = Proc::command("ros_watch_peer.py diagnostics", cmd, d);
    diag.wait_for("listening", |l| l == "listening");
    let mut rgbd = Proc::node(
        "rgbd_sync",
        d,
        &[
            "-r",
            "rgb:=/camera1/image",
            "-r",
            "depth:=/camera1/depth",
            "-r",
            "camera_info:=/camera1/camera_info",
            "-p",
            "qos:=reliable",
            "-p",
            "drop_out_after:=0.2",
            "-p",
            "diagnostics_period:=0.25",
            "-p",
            "stats_period:=0.25",
        ],
    );
    let mut relay = Proc::node(
        "sync_relay",
        d,
        &[
            "-p",
            "topics:=[/camera1/image, /camera1/depth, /camera1/camera_info]",
            "-p",
            "qos:=reliable",
            "-p",
            "drop_out_after:=0.2",
            "-p",
            "print_sets:=true",
        ],
    );
    let mut watch_cmd = Command::new(node("stamp-sync"));
    watch_cmd.args([
        "watch",
        "--topic",
        "/camera1/image",
        "--topic",
        "/camera1/depth",
        "--topic",
        "/camera1/camera_info",
        "--policy",
        "approximate",
        "--drop-out-after",
        "200ms",
        "--seconds",
        "9",
    ]);
    let mut watch = Proc::command("stamp-sync watch", watch_cmd, d);
    let count = (BEFORE + PAUSE + AFTER).to_string();
    let pause_at = format!("pause_at:={BEFORE}");
    let count = format!("count:={count}");
    let mut publ = Proc::node(
        "camera_publisher",
        d,
        &[
            "-p",
            "rate:=30.0",
            "-p",
            &count,
            "-p",
            "start_sec:=1000",
            "-p",
            "wait_subscribers:=9",
            "-p",
            "start_on_stdin:=true",
            "-p",
            "linger:=true",
            "-p",
            "pause_topic:=camera1/depth",
            "-p",
            &pause_at,
            "-p",
            "pause_secs:=3.0",
        ],
    );
    rgbd.wait_for_err("`matched`", |l| l.ends_with(": matched"));
    publ.send("go");

    // /diagnostics: WARN on depth while it is out, naming it.
    let warn = diag.wait_for("a WARN for depth", |l| {
        l.starts_with("status 1 ") && l.contains(": depth|dropped out")
    });
    eprintln!("diagnostics: {warn}");
    // watch: the problem, then resolved on rejoin.
    let problem = watch.wait_for("problem dropped_out", |l| {
        l.starts_with("problem dropped_out ")
    });
    assert!(
        problem.contains("/camera1/depth: out since stamp "),
        "{problem}"
    );
    eprintln!("watch: {problem}");
    let resolved = watch.wait_for("resolved dropped_out", |l| {
        l.starts_with("resolved dropped_out ")
    });
    eprintln!("watch: {resolved}");

    let counts =
        published_counts(&publ.wait_for("the publisher's totals", |l| l.starts_with("published ")));
    let sent: Vec<u64> = ["camera1/image", "camera1/depth", "camera1/camera_info"]
        .iter()
        .map(|t| count_of(&counts, t))
        .collect();
    assert_eq!(sent[1] as i64, BEFORE + AFTER);
    // rosout, once each (reliable, transient local: read while the node lives).
    for text in ["dropped out", "rejoined"] {
        let mut l = Proc::python(
            "ros_peer.py",
            d,
            &["rosout", "--node", "rgbd_sync", "--contains", text],
        );
        let line = l.wait_for("the record", |l| l.starts_with("log "));
        eprintln!("rosout: {line}");
        assert!(l.wait_exit(), "{}", l.stderr());
    }
    let mut last = None;
    let got = rgbd.try_wait_for(WAIT, |l| {
        if !l.starts_with("stats ") {
            return false;
        }
        let s = NodeStats::parse(l);
        let done = s.received() == sent;
        last = Some(s);
        done
    });
    let stats = last.unwrap_or_default();
    assert!(got.is_some(), "received {:?} of {sent:?}", stats.received());
    rgbd.send("quit");
    assert!(rgbd.wait_exit(), "{}", rgbd.stderr());
    relay.send("quit");
    assert!(relay.wait_exit(), "{}", relay.stderr());
    assert!(stats.unbalanced().is_empty(), "{stats:?}");
    assert!(stats.dropped_for("dropped_out") <= 1, "{stats:?}");

    let (full, partial) = emitted(&rgbd);
    check_sets("rgbd_sync", &full, &partial);
    assert_eq!(stats.partial, partial.len() as u64);
    assert_eq!(stats.sets, full.len() as u64);
    let (full, partial) = emitted(&relay);
    check_sets("sync_relay", &full, &partial);
}
