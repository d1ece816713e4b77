//! Real ROS 2 faults (see also `ros_restart.rs`):
//! * one of three channels stops for 10 s and comes back: the stale-channel
//!   diagnostic fires, the sync recovers, every message is accounted for;
//! * a burst of 10× the nominal rate for 5 s on one topic: the node's RSS
//!   stays bounded, and the extra messages are dropped with reasons;
//! * an incompatible QoS: the sync node itself says so on stderr;
//! * the publisher of all three topics killed and restarted: the node
//!   resumes, and its counts still add up.
//!
//! The tests run concurrently (one ROS domain each).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::collections::HashSet;

use ros_common::{
    NodeStats, Proc, WAIT, count_of, domain, handshake, published_counts, set_stamps,
};
use stamp_sync::Stamp;
use stamp_sync::trace::{PolicyConfig, Trace, replay};

const START_NS: i64 = 1000 * 1_000_000_000;
const TOPICS: [&str; 3] = ["camera1/image", "camera1/depth", "camera1/camera_info"];

fn watch_node(d: u32) -> Proc {
    Proc::node(
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
            "stale_after:=1.0",
            "-p",
            "stats_period:=0.25",
        ],
    )
}

fn publisher(d: u32, rate: u32, count: u32, extra: &[&str]) -> Proc {
    let rate = format!("rate:={rate}.0");
    let count = format!("count:={count}");
    let mut args = vec![
        "-p",
        "wait_subscribers:=3",
        "-p",
        &rate,
        "-p",
        &count,
        "-p",
        "start_sec:=1000",
        "-p",
        "start_on_stdin:=true",
        "-p",
        "linger:=true",
    ];
    args.extend(extra);
    Proc::node("camera_publisher", d, &args)
}

/// Waits for the publisher's totals, then for the node's stats line that
/// shows every one of them received (bounded); returns both, and how many
/// of the node's lines came up to that stats line (once the publisher has
/// stopped, every channel goes silent and is reported stale).
fn settle(sync: &mut Proc, publ: &mut Proc) -> (Vec<u64>, NodeStats, usize) {
    let counts =
        published_counts(&publ.wait_for("the publisher's totals", |l| l.starts_with("published ")));
    let sent: Vec<u64> = TOPICS.iter().map(|t| count_of(&counts, t)).collect();
    let mut last = None;
    let got = sync.try_wait_for(WAIT, |l| {
        if !l.starts_with("stats ") {
            return false;
        }
        let s = NodeStats::parse(l);
        let done = s.received() == sent;
        last = Some(s);
        done
    });
    let stats = last.unwrap_or_default();
    assert!(
        got.is_some(),
        "not every published message arrived: published {sent:?}, received {:?}; stderr:\n{}",
        stats.received(),
        sync.stderr()
    );
    let upto = sync.seen.len();
    sync.send("quit");
    assert!(sync.wait_exit(), "rgbd_sync failed: {}", sync.stderr());
    (sent, stats, upto)
}

/// Received = emitted + dropped + queued on every channel, and every drop
/// has a reason.
fn assert_accounted(stats: &NodeStats) {
    assert!(stats.unbalanced().is_empty(), "{stats:?}");
    let dropped: u64 = stats.channels.iter().map(|c| c[2]).sum();
    let by_reason: u64 = stats.drops.iter().map(|(_, n)| n).sum();
    assert_eq!(dropped, by_reason, "{stats:?}");
}

fn offline(trace: &[(usize, i64)]) -> Vec<Vec<i64>> {
    let t = Trace::from_pairs(trace.iter().map(|&(c, s)| (c, Stamp::from_nanos(s))));
    replay(&t, 3, &PolicyConfig::approximate(10))
        .unwrap()
        .sets
        .iter()
        .map(|s| s.iter().map(|m| m.stamp.as_nanos()).collect())
        .collect()
}

fn sets_of(p: &Proc) -> Vec<Vec<i64>> {
    p.seen
        .iter()
        .filter(|l| l.starts_with("set "))
        .map(|l| set_stamps(l))
        .collect()
}

#[test]
fn dying_channel_is_reported_and_the_sync_recovers() {
    let d = domain();
    // 50 Hz; depth stops at tick 50 (1 s in) for 10 s, then 50 more ticks.
    let (rate, pause_at, pause_ticks, after) = (50, 50, 500, 50);
    let period = 1_000_000_000 / rate as i64;
    let count = pause_at + pause_ticks + after;
    let mut sync = watch_node(d);
    let p_at = format!("pause_at:={pause_at}");
    let mut publ = publisher(
        d,
        rate,
        count,
        &[
            "-p",
            "pause_topic:=camera1/depth",
            "-p",
            &p_at,
            "-p",
            "pause_secs:=10.0",
        ],
    );
    handshake(&mut sync, &mut publ);
    let (sent, stats, upto) = settle(&mut sync, &mut publ);
    assert_eq!(
        sent,
        [count as u64, (count - pause_ticks) as u64, count as u64]
    );

    // The diagnostic: channel 1 (depth), reported about once a second.
    let stale: Vec<(usize, i64)> = sync.seen[..upto]
        .iter()
        .filter_map(|l| l.strip_prefix("stale "))
        .map(|l| {
            let (c, ms) = l.split_once(' ').unwrap();
            (c.parse().unwrap(), ms.parse().unwrap())
        })
        .collect();
    assert!(stale.len() >= 5, "stale reports: {stale:?}");
    assert!(
        stale.iter().all(|&(c, ms)| c == 1 && ms >= 1000),
        "{stale:?}"
    );
    assert_eq!(stats.stale, stale.len() as u64);

    // The sets: exactly what the policy computes offline for what was
    // published, which includes every tick after depth came back.
    let stamp = |k: u32| START_NS + k as i64 * period;
    let mut trace = Vec::new();
    for k in 0..count {
        trace.push((0, stamp(k)));
        if !(pause_at..pause_at + pause_ticks).contains(&k) {
            trace.push((1, stamp(k)));
        }
        trace.push((2, stamp(k)));
    }
    let expected = offline(&trace);
    let live = sets_of(&sync);
    assert_eq!(live, expected);
    let resumed = stamp(pause_at + pause_ticks);
    let after_sets = live.iter().filter(|s| s[1] >= resumed).count();
    assert!(
        after_sets >= after as usize - 1,
        "{after_sets} sets after the outage"
    );
    // Recovery comes after the reports, in the node's output order.
    let first_after = sync
        .seen
        .iter()
        .position(|l| l.starts_with("set ") && set_stamps(l)[1] >= resumed)
        .unwrap();
    let last_stale = sync
        .seen
        .iter()
        .rposition(|l| l.starts_with("stale "))
        .unwrap();
    assert!(last_stale < first_after);

    // Nothing lost silently: rgb and camera_info piled up during the
    // outage and were dropped with a reason.
    assert_accounted(&stats);
    assert!(stats.dropped_for("queue_overflow") > 0, "{stats:?}");
    eprintln!(
        "dying channel: {} stale reports (every ~1 s, up to {} ms silent), {} sets ({} after the outage), drops {:?}",
        stale.len(),
        stale.iter().map(|s| s.1).max().unwrap_or(0),
        live.len(),
        after_sets,
        stats.drops
    );
}

#[test]
fn burst_keeps_memory_bounded_and_drops_with_reasons() {
    let d = domain();
    // 50 Hz nominal; from tick 50 (1 s in), camera1/image at 500 Hz for 5 s.
    let (rate, burst_at, factor, burst_secs, after) = (50u32, 50u32, 10u32, 5u32, 50u32);
    let burst_ticks = rate * burst_secs * factor;
    let count = burst_at + burst_ticks + after;
    let mut sync = watch_node(d);
    let b_at = format!("burst_at:={burst_at}");
    let b_factor = format!("burst_factor:={factor}");
    let b_secs = format!("burst_secs:={burst_secs}.0");
    let mut publ = publisher(
        d,
        rate,
        count,
        &[
            "-p",
            "burst_topic:=camera1/image",
            "-p",
            &b_at,
            "-p",
            &b_factor,
            "-p",
            &b_secs,
        ],
    );
    handshake(&mut sync, &mut publ);
    // RSS at every stats line (4 a second) until the burst is over.
    let mut rss: Vec<(u64, u64)> = Vec::new(); // (rgb received, KiB)
    loop {
        let line = sync.wait_for("a stats line", |l| l.starts_with("stats "));
        let s = NodeStats::parse(&line);
        rss.push((s.channels[0][0], sync.rss_kb().unwrap()));
        if s.channels[0][0] >= (burst_at + burst_ticks) as u64 {
            break;
        }
    }
    let (sent, stats, _) = settle(&mut sync, &mut publ);
    let nominal = (burst_at + burst_ticks / factor + after) as u64;
    assert_eq!(sent, [count as u64, nominal, nominal]);

    let before = rss
        .iter()
        .filter(|(n, _)| *n <= burst_at as u64)
        .map(|r| r.1)
        .max()
        .unwrap_or(rss[0].1);
    let peak = rss.iter().map(|r| r.1).max().unwrap();
    eprintln!(
        "burst: node RSS {before} KiB before, peak {peak} KiB (+{} KiB) over {} samples; \
         {} sets; drops {:?}",
        peak.saturating_sub(before),
        rss.len(),
        stats.sets,
        stats.drops
    );
    // Bounded: the policy keeps at most queue_size messages per channel,
    // r2r 10 per subscription, DDS `depth` per reader.
    assert!(
        peak <= before + 16 * 1024,
        "RSS grew from {before} to {peak} KiB"
    );

    // Every extra image was dropped with a reason; the nominal channels
    // lost nothing to the burst.
    assert_accounted(&stats);
    let [r0, e0, d0, q0] = stats.channels[0];
    assert!(
        d0 >= (burst_ticks - burst_ticks / factor) as u64 / 2,
        "{stats:?}"
    );
    assert_eq!(r0, e0 + d0 + q0);
    assert!(stats.channels[1][1] + 2 >= nominal, "{stats:?}");

    // The sets: compare with the offline answer for the published order.
    let period = 1_000_000_000 / rate as i64;
    let mut trace = Vec::new();
    let mut t = START_NS;
    for k in 0..count {
        let in_burst = (burst_at..burst_at + burst_ticks).contains(&k);
        trace.push((0, t));
        if !in_burst || (k - burst_at) % factor == 0 {
            trace.push((1, t));
            trace.push((2, t));
        }
        t += if in_burst {
            period / factor as i64
        } else {
            period
        };
    }
    let expected = offline(&trace);
    let live = sets_of(&sync);
    let want: HashSet<&Vec<i64>> = expected.iter().collect();
    let same = live.iter().filter(|s| want.contains(s)).count();
    let agreement = same as f64 / expected.len().max(live.len()) as f64;
    eprintln!(
        "burst: {} live sets, {} offline, agreement {agreement:.4}",
        live.len(),
        expected.len()
    );
    assert!(agreement >= 0.95, "agreement {agreement:.4}");
}

#[test]
fn incompatible_qos_is_reported_by_the_node() {
    let d = domain();
    // A best-effort publisher, started first...
    let mut publ = Proc::node(
        "camera_publisher",
        d,
        &["-p", "qos:=sensor_data", "-p", "rate:=20.0"],
    );
    publ.wait_for_err("publishing", |l| l.contains("publishing at"));
    // ...and a reliable subscriber: DDS never matches them. The node's
    // StallWatch says why after 5 s without a set.
    let mut sync = Proc::node(
        "image_info_sync",
        d,
        &[
            "-r",
            "image:=/camera1/image",
            "-r",
            "camera_info:=/camera1/camera_info",
            "-p",
            "qos:=reliable",
        ],
    );
    let line = sync.wait_for_err("a stall report", |l| l.contains("stalled"));
    assert!(
        line.contains("incompatible") && line.contains("BEST_EFFORT"),
        "{line}"
    );
    assert!(!sync.seen.iter().any(|l| l.starts_with("set ")));
    eprintln!("incompatible QoS: {line}");
}

#[test]
fn publisher_restart_with_three_channels_resumes_and_accounts() {
    let d = domain();
    let mut sync = watch_node(d);
    let mut first = publisher(d, 50, 0, &[]);
    handshake(&mut sync, &mut first);
    sync.take("set ", 20);
    first.kill();
    // The second run stamps from index 10_000 on; it starts as soon as it
    // sees the node's three subscriptions.
    let mut second = Proc::node(
        "camera_publisher",
        d,
        &[
            "-p",
            "wait_subscribers:=3",
            "-p",
            "rate:=50.0",
            "-p",
            "start_sec:=1000",
            "-p",
            "first_index:=10000",
        ],
    );
    let start = ros_common::pub_line(&second.take("pub ", 1)[0]).1;
    let resumed = sync.wait_for("a set from the restarted publisher", |l| {
        l.starts_with("set ") && set_stamps(l)[0] >= start
    });
    let mut after = vec![set_stamps(&resumed)];
    for l in sync.take("set ", 20) {
        after.push(set_stamps(&l));
    }
    // Every set after the restart is one tick of run 2, all three stamps equal.
    assert!(
        after
            .iter()
            .all(|s| s[0] >= start && s[0] == s[1] && s[1] == s[2]),
        "{after:?}"
    );
    assert!(
        after.windows(2).all(|w| w[1][0] - w[0][0] == 20_000_000),
        "{after:?}"
    );
    sync.send("stats");
    let stats = NodeStats::parse(&sync.wait_for("stats", |l| l.starts_with("stats ")));
    assert_accounted(&stats);
    second.kill();
    sync.send("quit");
    assert!(sync.wait_exit(), "rgbd_sync failed: {}", sync.stderr());
    let stale = sync.seen.iter().filter(|l| l.starts_with("stale ")).count();
    eprintln!(
        "restart: resumed at stamp {start}; {stale} stale reports while the publisher was down or \
         after; counts {:?}, drops {:?}",
        stats.channels, stats.drops
    );
}
