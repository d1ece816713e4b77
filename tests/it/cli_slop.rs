//! `stamp-sync match TRACE.csv --policy slop --slop DUR [--queue-size Q]`:
//! the sets of SlopTime on stdout, like the other policies; bad flags exit
//! 2 with one line.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use stamp_sync::trace::{PolicyConfig, Trace, replay};
use stamp_sync::{Duration, Stamp};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn match_prints_the_slop_sets() {
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    // Three channels at 10, 20 and 30 Hz with a few ms of offset.
    let mut pairs = Vec::new();
    for k in 0..60i64 {
        pairs.push((0, ms(k * 100 + 3)));
        if k % 2 == 0 {
            pairs.push((1, ms(k * 100 + 7)));
        }
        if k % 3 == 0 {
            pairs.push((2, ms(k * 100 - 4)));
        }
    }
    let trace = Trace::from_pairs(pairs);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, trace.to_csv()).unwrap();
    let out = run(&[
        "match",
        path.to_str().unwrap(),
        "--policy",
        "slop",
        "--slop",
        "20ms",
        "--queue-size",
        "5",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = PolicyConfig::Slop(stamp_sync::policy::SlopConfig {
        queue_size: 5,
        slop: Some(Duration::from_millis(20)),
    });
    let want = replay(&trace, 3, &config).unwrap();
    assert_eq!(want.sets.len(), 10, "every 6th step has all three");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want.sets_csv());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sets out: 10"));
}

#[test]
fn slop_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "channel,stamp_ns\n0,5\n1,5\n").unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["match", p, "--policy", "slop"],
        vec!["match", p, "--policy", "exact", "--slop", "5ms"],
        vec!["match", p, "--policy", "slop", "--slop=-5ms"],
        vec!["match", p, "--policy", "slop", "--slop", "5"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("slop"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}
