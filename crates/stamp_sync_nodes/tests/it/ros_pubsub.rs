//! Rust publisher → Rust sync nodes over Fast DDS on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use ros_common::{Proc, domain, handshake, pub_line, set_stamps};
use stamp_sync::Stamp;
use stamp_sync::trace::{PolicyConfig, Trace, replay};

/// Starts `camera_publisher` after the sync node, waiting for `subs`
/// subscriptions, publishing `count` ticks at `rate` Hz, then lingering.
fn publisher(domain: u32, subs: usize, count: usize, rate: f64, extra: &[&str]) -> Proc {
    let subs = format!("wait_subscribers:={subs}");
    let count = format!("count:={count}");
    let rate = format!("rate:={rate}");
    let mut args = vec!["-p", &subs, "-p", &count, "-p", &rate];
    args.extend([
        "-p",
        "start_sec:=1000",
        "-p",
        "linger:=true",
        "-p",
        "start_on_stdin:=true",
    ]);
    args.extend(extra);
    Proc::node("camera_publisher", domain, &args)
}

#[test]
fn exact_time_gets_every_published_pair() {
    let d = domain();
    let n = 200;
    let max = format!("max_sets:={n}");
    let mut sync = Proc::node(
        "image_info_sync",
        d,
        &[
            "-p",
            "qos:=reliable",
            "-r",
            "image:=/camera1/image",
            "-r",
            "camera_info:=/camera1/camera_info",
            "-p",
            &max,
        ],
    );
    let mut publ = publisher(d, 2, n, 200.0, &[]);
    handshake(&mut sync, &mut publ);
    let published: Vec<i64> = publ.take("pub ", n).iter().map(|l| pub_line(l).1).collect();
    let sets: Vec<Vec<i64>> = sync.take("set ", n).iter().map(|l| set_stamps(l)).collect();
    let expected: Vec<Vec<i64>> = published.iter().map(|&s| vec![s, s]).collect();
    assert_eq!(sets, expected);
    assert!(sync.wait_exit(), "sync node failed: {}", sync.stderr());
    assert!(!sync.stderr().contains("drop "), "drops: {}", sync.stderr());
}

/// The sets the policy computes offline for the published stamps, in the
/// publisher's order.
fn offline(channels: usize, ticks: &[Vec<i64>], config: &PolicyConfig) -> Vec<Vec<i64>> {
    let trace = Trace::from_pairs(ticks.iter().flat_map(|t| {
        t.iter()
            .enumerate()
            .map(|(ch, &s)| (ch, Stamp::from_nanos(s)))
    }));
    let r = replay(&trace, channels, config).unwrap();
    r.sets
        .iter()
        .map(|s| s.iter().map(|m| m.stamp.as_nanos()).collect())
        .collect()
}

#[test]
fn approximate_time_gets_the_offline_pairs() {
    let d = domain();
    let n = 150;
    let mut sync = Proc::node(
        "stereo_sync",
        d,
        &[
            "-p",
            "qos:=reliable",
            "-r",
            "left:=/camera1/image",
            "-r",
            "right:=/camera2/image",
            "-p",
            "queue_size:=10",
        ],
    );
    let mut publ = publisher(d, 2, n, 100.0, &["-p", "jitter_ms:=2.0", "-p", "seed:=7"]);
    handshake(&mut sync, &mut publ);
    let ticks: Vec<Vec<i64>> = publ
        .take("pub ", n)
        .iter()
        .map(|l| {
            let (_, a, b) = pub_line(l);
            vec![a, b]
        })
        .collect();
    let expected = offline(2, &ticks, &PolicyConfig::approximate(10));
    assert!(expected.len() >= n - 2, "{} offline sets", expected.len());
    // The jitter really is there: not every pair is identical.
    assert!(expected.iter().any(|s| s[0] != s[1]));
    let sets: Vec<Vec<i64>> = sync
        .take("set ", expected.len())
        .iter()
        .map(|l| set_stamps(l))
        .collect();
    assert_eq!(sets, expected);
    // The skew it reports is right - left.
    let line = sync.seen.iter().find(|l| l.starts_with("set ")).unwrap();
    let s = set_stamps(line);
    assert!(
        line.ends_with(&format!("skew_us={}", (s[1] - s[0]) / 1000)),
        "{line}"
    );
}

#[test]
fn rgbd_three_topics_get_the_offline_sets() {
    let d = domain();
    let n = 100;
    let mut sync = Proc::node(
        "rgbd_sync",
        d,
        &[
            "-p",
            "qos:=reliable",
            "-r",
            "rgb:=/camera1/image",
            "-r",
            "depth:=/camera1/depth",
            "-r",
            "camera_info:=/camera1/camera_info",
        ],
    );
    let mut publ = publisher(d, 3, n, 100.0, &[]);
    handshake(&mut sync, &mut publ);
    let ticks: Vec<Vec<i64>> = publ
        .take("pub ", n)
        .iter()
        .map(|l| {
            let (_, a, _) = pub_line(l);
            vec![a, a, a]
        })
        .collect();
    let expected = offline(3, &ticks, &PolicyConfig::approximate(10));
    assert!(expected.len() >= n - 1, "{} offline sets", expected.len());
    let sets: Vec<Vec<i64>> = sync
        .take("set ", expected.len())
        .iter()
        .map(|l| set_stamps(l))
        .collect();
    assert_eq!(sets, expected);
}
