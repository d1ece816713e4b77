//! An RGB-D node with diagnostics: ApproximateTime over `rgb`, `depth` and
//! `camera_info` (remap, e.g. `-r rgb:=/camera1/image`), driven by a
//! [`Synchronizer`] with [`Options::stale_after`] on the arrival clock.
//! Every message is added with the moment it left its subscription
//! (`add_at`), and a timer calls `poll(now)`, so a channel that stops is
//! reported even while nothing else arrives.
//!
//! Parameters: `queue_size` (10), `qos`, `depth`, `stale_after_ms` (1000;
//! 0 = off), `poll_ms` (100), `stats_ms` (500; 0 = never),
//! `print_sets` (true).
//!
//! Prints on stdout:
//! * `set <rgb ns>,<depth ns>,<info ns>` per set (if `print_sets`);
//! * `stale <channel> <silent ms>` when a channel has been silent for
//!   `stale_after_ms` while the others flow (again every timeout);
//! * `stats t_ms=<ms since start> sets=<n> stale=<n> ch<i>=<received>/<emitted>/<dropped>/<queued> ... drops=<reason>:<n>,...`
//!   every `stats_ms`, and when a line `stats` arrives on stdin. For every
//!   channel, received = emitted + dropped + queued.
//!
//! A line `quit` on stdin prints the stats and exits.
mod common;

use std::error::Error;
use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{param_bool, param_i64, print_set, qos_param, report_matched, say};
use futures::{FutureExt, StreamExt};
use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync::{ApproximateTime, DropReason, Options, Stamp, Stamped, Synchronizer};

type Sync = Synchronizer<(Image, Image, CameraInfo), ApproximateTime>;

fn stats_line(sync: &Sync, t_ms: u128) -> String {
    let s = sync.stats();
    let mut line = format!("stats t_ms={t_ms} sets={} stale={}", s.sets, s.stale);
    for (i, c) in s.channels.iter().enumerate() {
        let _ = write!(
            line,
            " ch{i}={}/{}/{}/{}",
            c.received,
            c.emitted,
            c.dropped_total(),
            sync.queued(i)
        );
    }
    line.push_str(" drops=");
    let mut first = true;
    for r in DropReason::ALL {
        let n: u64 = s.channels.iter().map(|c| c.dropped_for(r)).sum();
        if n > 0 {
            if !first {
                line.push(',');
            }
            first = false;
            let _ = write!(line, "{r}:{n}");
        }
    }
    if first {
        line.push('-');
    }
    line
}

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = r2r::Context::create()?;
    let mut node = r2r::Node::create(ctx, "rgbd_watch", "")?;
    let queue_size = param_i64(&node, "queue_size", 10)?.max(0) as usize;
    let stale_ms = param_i64(&node, "stale_after_ms", 1000)?.max(0);
    let poll_ms = param_i64(&node, "poll_ms", 100)?.max(1) as u64;
    let stats_ms = param_i64(&node, "stats_ms", 500)?.max(0) as u64;
    let print_sets = param_bool(&node, "print_sets", true)?;
    let qos = qos_param(&node)?;

    let mut options = Options::new();
    if stale_ms > 0 {
        options = options.stale_after(stamp_sync::Duration::from_millis(stale_ms));
    }
    let mut sync: Sync = Sync::with_options(ApproximateTime::new(queue_size)?, options)?
        .on_set(move |(rgb, depth, info): (Image, Image, CameraInfo)| {
            if print_sets {
                print_set(&[rgb.stamp(), depth.stamp(), info.stamp()], "");
            }
        })
        .on_stale(|s| {
            say(&format!(
                "stale {} {}",
                s.channel,
                s.silent_for.as_nanos() / 1_000_000
            ))
        });

    let mut rgb = stamp_sync::r2r::subscribe::<Image>(&mut node, "rgb", qos.clone())?;
    let mut depth = stamp_sync::r2r::subscribe::<Image>(&mut node, "depth", qos.clone())?;
    let mut info = stamp_sync::r2r::subscribe::<CameraInfo>(&mut node, "camera_info", qos.clone())?;

    // Commands on stdin, read on their own thread.
    let (tx, commands) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let start = Instant::now();
    // The arrival clock: monotonic time since start.
    let now = || Stamp::from_nanos(start.elapsed().as_nanos() as i64);
    let mut last_poll = Instant::now();
    let mut last_stats = Instant::now();
    let mut matched = false;
    let topics = [("rgb", &qos), ("depth", &qos), ("camera_info", &qos)];
    loop {
        report_matched(&node, &topics, &mut matched);
        node.spin_once(Duration::from_millis(5));
        // spin_once takes at most one message per subscription: drain them.
        while let Some(Some(m)) = rgb.next().now_or_never() {
            sync.add_at::<0>(m, now());
        }
        while let Some(Some(m)) = depth.next().now_or_never() {
            sync.add_at::<1>(m, now());
        }
        while let Some(Some(m)) = info.next().now_or_never() {
            sync.add_at::<2>(m, now());
        }
        if last_poll.elapsed() >= Duration::from_millis(poll_ms) {
            last_poll = Instant::now();
            sync.poll(now());
        }
        let mut quit = false;
        let mut report = stats_ms > 0 && last_stats.elapsed() >= Duration::from_millis(stats_ms);
        while let Ok(c) = commands.try_recv() {
            match c.trim() {
                "stats" => report = true,
                "quit" => quit = true,
                other => eprintln!("rgbd_watch: unknown command {other:?}"),
            }
        }
        if report || quit {
            last_stats = Instant::now();
            say(&stats_line(&sync, start.elapsed().as_millis()));
        }
        if quit {
            return Ok(());
        }
    }
}
