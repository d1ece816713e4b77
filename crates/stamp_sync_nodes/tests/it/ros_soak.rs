//! Soak: a real publisher → the `rgbd_sync` sync node, 100 Hz × 3 topics,
//! for `STAMP_SYNC_SOAK_SECS` seconds (default 600). Samples the node's RSS
//! and counters every second and writes a report
//! (`STAMP_SYNC_SOAK_REPORT`, default `build/soak-report.md`, plus a
//! `.json` next to it). Fails if RSS grows past the tolerance after warm-up,
//! or if any message is unaccounted for: every published message must be
//! received, and per channel received = emitted + dropped (with a reason)
//! + still queued.
//!
//! Ignored by default; run it with `scripts/soak.sh [SECONDS]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ros_common::{NodeStats, Proc, count_of, domain, handshake, published_counts};

const RATE: u64 = 100;
const TOPICS: [&str; 3] = ["camera1/image", "camera1/depth", "camera1/camera_info"];

struct Sample {
    wall_s: f64,
    rss_kb: u64,
    pub_rss_kb: u64,
    stats: NodeStats,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?}")))
        .unwrap_or(default)
}

#[test]
#[ignore = "long; run by scripts/soak.sh"]
fn soak() {
    let secs = env_u64("STAMP_SYNC_SOAK_SECS", 600);
    assert!(secs >= 10, "a soak needs at least 10 s");
    // RSS may grow by this much after warm-up (KiB), or by this percent.
    let tol_kb = env_u64("STAMP_SYNC_SOAK_RSS_TOL_KB", 4096);
    let tol_pct = env_u64("STAMP_SYNC_SOAK_RSS_TOL_PCT", 10);
    let report: PathBuf = std::env::var("STAMP_SYNC_SOAK_REPORT").map_or_else(
        |_| {
            stamp_sync_testkit::repo()
                .to_path_buf()
                .join("build/soak-report.md")
        },
        PathBuf::from,
    );

    let d = domain();
    let mut sync = Proc::node(
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
            "print_sets:=false",
            "-p",
            "stats_period:=1.0",
            "-p",
            "qos:=reliable",
            "-p",
            "stale_after:=1.0",
        ],
    );
    let count = format!("count:={}", secs * RATE);
    let rate = format!("rate:={RATE}.0");
    let mut publ = Proc::node(
        "camera_publisher",
        d,
        &[
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
        ],
    );
    handshake(&mut sync, &mut publ);
    let t0 = Instant::now();

    // One sample per stats line (the node prints one a second).
    let mut samples = Vec::new();
    let run = Duration::from_secs(secs);
    while t0.elapsed() < run {
        let line = sync.wait_for("a stats line", |l| l.starts_with("stats "));
        samples.push(Sample {
            wall_s: t0.elapsed().as_secs_f64(),
            rss_kb: sync.rss_kb().expect("the node's RSS"),
            pub_rss_kb: publ.rss_kb().unwrap_or(0),
            stats: NodeStats::parse(&line),
        });
    }
    let published =
        published_counts(&publ.wait_for("the publisher's totals", |l| l.starts_with("published ")));
    let sent: Vec<u64> = TOPICS.iter().map(|t| count_of(&published, t)).collect();
    // Let the last messages arrive (bounded): the final counts are those of
    // the first stats line that has everything, or the last one seen.
    sync.send("stats");
    let mut last = samples.last().map(|s| s.stats.clone()).unwrap_or_default();
    let settle = Instant::now();
    while last.received() != sent && settle.elapsed() < Duration::from_secs(10) {
        let Some(line) = sync.try_wait_for(Duration::from_secs(2), |l| l.starts_with("stats "))
        else {
            break;
        };
        last = NodeStats::parse(&line);
    }
    sync.send("quit");
    let elapsed = t0.elapsed().as_secs_f64();

    // RSS: after a warm-up of 10 % of the run (at least 5 s).
    let warm_s = (secs as f64 * 0.1).max(5.0);
    let steady: Vec<&Sample> = samples.iter().filter(|s| s.wall_s >= warm_s).collect();
    assert!(steady.len() >= 3, "too few samples after warm-up");
    let base = steady[0].rss_kb;
    let end = steady[steady.len() - 1].rss_kb;
    let max = steady.iter().map(|s| s.rss_kb).max().unwrap();
    let min = steady.iter().map(|s| s.rss_kb).min().unwrap();
    let allowed = tol_kb.max(base * tol_pct / 100);
    let growth = max.saturating_sub(base);
    // Least-squares slope of RSS over time, KiB per minute.
    let n = steady.len() as f64;
    let (mx, my) = (
        steady.iter().map(|s| s.wall_s).sum::<f64>() / n,
        steady.iter().map(|s| s.rss_kb as f64).sum::<f64>() / n,
    );
    let sxy: f64 = steady
        .iter()
        .map(|s| (s.wall_s - mx) * (s.rss_kb as f64 - my))
        .sum();
    let sxx: f64 = steady.iter().map(|s| (s.wall_s - mx).powi(2)).sum();
    let slope_kb_min = if sxx > 0.0 { sxy / sxx * 60.0 } else { 0.0 };

    let lost: Vec<i64> = sent
        .iter()
        .zip(last.received())
        .map(|(&s, r)| s as i64 - r as i64)
        .collect();
    let unbalanced = last.unbalanced();
    let dropped: u64 = last.channels.iter().map(|c| c[2]).sum();
    let by_reason: u64 = last.drops.iter().map(|(_, n)| n).sum();
    let rss_ok = growth <= allowed;
    let counts_ok = lost.iter().all(|&l| l == 0) && unbalanced.is_empty() && dropped == by_reason;
    let verdict = if rss_ok && counts_ok { "PASS" } else { "FAIL" };

    let mut md = String::new();
    let _ = writeln!(md, "# stamp_sync soak report\n");
    let _ = writeln!(
        md,
        "camera_publisher → rgbd_sync (ApproximateTime, queue 10, stale_after 1 s), \
         {RATE} Hz × 3 topics (image, depth, camera_info; reliable, depth 100), Fast DDS on loopback."
    );
    let _ = writeln!(md, "\n**{verdict}**\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| requested duration | {secs} s |");
    let _ = writeln!(md, "| measured duration | {elapsed:.1} s |");
    let _ = writeln!(
        md,
        "| samples | {} (warm-up {warm_s:.0} s) |",
        samples.len()
    );
    let _ = writeln!(
        md,
        "| node RSS after warm-up / end / min / max | {base} / {end} / {min} / {max} KiB |"
    );
    let _ = writeln!(
        md,
        "| node RSS growth after warm-up | {growth} KiB (allowed {allowed} KiB) → {} |",
        if rss_ok { "flat" } else { "GROWING" }
    );
    let _ = writeln!(md, "| node RSS slope | {slope_kb_min:+.1} KiB/min |");
    let _ = writeln!(
        md,
        "| publisher RSS first / last | {} / {} KiB |",
        samples.first().map_or(0, |s| s.pub_rss_kb),
        samples.last().map_or(0, |s| s.pub_rss_kb)
    );
    let _ = writeln!(md, "| sets emitted | {} |", last.sets);
    let _ = writeln!(md, "| stale reports | {} |", last.stale);
    let _ = writeln!(
        md,
        "\n| topic | published | received | lost in transport | emitted | dropped | queued at end |\n|---|---|---|---|---|---|---|"
    );
    for (i, t) in TOPICS.iter().enumerate() {
        let [r, e, dr, q] = last.channels.get(i).copied().unwrap_or_default();
        let _ = writeln!(
            md,
            "| {t} | {} | {r} | {} | {e} | {dr} | {q} |",
            sent[i], lost[i]
        );
    }
    let reasons = if last.drops.is_empty() {
        "none".to_string()
    } else {
        last.drops
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(md, "\nDrops by reason: {reasons}.");
    let _ = writeln!(
        md,
        "Accounting (received = emitted + dropped + queued, per channel): {}.",
        if unbalanced.is_empty() {
            "holds".to_string()
        } else {
            format!("BROKEN on channels {unbalanced:?}")
        }
    );
    let _ = writeln!(
        md,
        "\n## Samples\n\n| t (s) | node RSS (KiB) | publisher RSS (KiB) | sets | received |\n|---|---|---|---|---|"
    );
    let step = samples.len().div_ceil(40).max(1);
    for (k, s) in samples.iter().enumerate() {
        if k % step == 0 || k + 1 == samples.len() {
            let _ = writeln!(
                md,
                "| {:.0} | {} | {} | {} | {} |",
                s.wall_s,
                s.rss_kb,
                s.pub_rss_kb,
                s.stats.sets,
                s.stats.received().iter().sum::<u64>()
            );
        }
    }
    let json = format!(
        "{{\"verdict\":\"{verdict}\",\"secs\":{secs},\"measured_s\":{elapsed:.1},\"samples\":{},\
         \"rss_kb\":{{\"warm\":{base},\"end\":{end},\"min\":{min},\"max\":{max},\"growth\":{growth},\"allowed\":{allowed},\"slope_per_min\":{slope_kb_min:.1}}},\
         \"published\":{sent:?},\"received\":{:?},\"lost\":{lost:?},\"sets\":{},\"dropped\":{dropped},\"stale\":{},\"unbalanced\":{unbalanced:?}}}\n",
        samples.len(),
        last.received(),
        last.sets,
        last.stale
    );
    if let Some(dir) = report.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&report, &md).unwrap();
    std::fs::write(report.with_extension("json"), &json).unwrap();
    eprintln!("{md}");
    eprintln!("soak report: {}", report.display());
    assert!(sync.wait_exit(), "rgbd_sync failed: {}", sync.stderr());
    assert!(
        rss_ok,
        "node RSS grew by {growth} KiB after warm-up (allowed {allowed})"
    );
    assert!(
        counts_ok,
        "unexplained drops: lost {lost:?}, unbalanced channels {unbalanced:?}, dropped {dropped} vs by reason {by_reason}"
    );
}
