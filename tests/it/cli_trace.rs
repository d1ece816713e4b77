//! `stamp-sync match` and `bench` on traces: bad input exits 2 with one
//! line naming the line or option, never a panic.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
        .args(args)
        .output()
        .unwrap()
}

fn trace_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn bad(out: Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(!err.contains("panicked"));
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = trace_file(&dir, "good.csv", "channel,stamp_ns\n0,5\n1,5\n");
    bad(
        run(&[
            "match",
            &trace_file(&dir, "a.csv", "channel,stamp_ns\n0,5\n1,x\n"),
            "--policy",
            "exact",
        ]),
        "line 3",
    );
    bad(
        run(&[
            "match",
            &trace_file(&dir, "b.csv", "channel,stamp_ns\n0,5\n9,6\n"),
            "--policy",
            "exact",
        ]),
        "channel 9",
    );
    bad(
        run(&[
            "match",
            &trace_file(&dir, "c.csv", "chan,stamp\n0,5\n"),
            "--policy",
            "exact",
        ]),
        "line 1",
    );
    bad(
        run(&["match", &good, "--policy", "exact", "--queue-size", "0"]),
        "--queue-size",
    );
    bad(
        run(&["match", &good, "--policy", "approximate", "--bogus"]),
        "--bogus",
    );
    bad(
        run(&[
            "match",
            &good,
            "--policy",
            "approximate",
            "--max-interval",
            "20",
        ]),
        "--max-interval",
    );
    bad(
        run(&[
            "match",
            &good,
            "--policy",
            "approximate",
            "--lower-bound",
            "4=1ms",
        ]),
        "--lower-bound",
    );
    bad(run(&["match", &good, "--policy", "epsilon"]), "--epsilon");
    bad(
        run(&["match", &good, "--policy", "exact", "--channels", "10"]),
        "--channels",
    );
    bad(run(&["match", &good, "--policy", "wat"]), "--policy");
    bad(
        run(&["match", "/nonexistent/x.csv", "--policy", "exact"]),
        "x.csv",
    );
    bad(
        run(&["bench", &good, "--policy", "exact", "--repeat", "0"]),
        "--repeat",
    );
}

#[test]
fn match_prints_only_sets_and_summary_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "t.csv", "channel,stamp_ns\n0,0\n1,0\n0,3\n1,3\n0,9\n");
    let out = run(&["match", &t, "--policy", "exact"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "0,0\n3,3\n");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("messages in: 5, sets out: 2"), "{err}");
    assert!(
        err.contains("channel 0: received 3, emitted 2, dropped 0, queued 1"),
        "{err}"
    );
    let out = run(&["bench", &t, "--policy", "approximate", "--repeat", "3"]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("messages=15 emitted="), "{line}");
    assert!(
        line.contains(" seconds=") && line.contains(" msgs_per_s="),
        "{line}"
    );
}

#[test]
fn errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "t.csv", "channel,stamp_ns\n0,0\n1,0\n");
    bad(
        run(&["match", &t, "--policy", "fast"]),
        "invalid value 'fast' for '--policy <POLICY>'; valid values: exact, approximate, epsilon, latest, slop",
    );
    bad(
        run(&[
            "match",
            &t,
            "--policy",
            "approximate",
            "--max-interval",
            "9223372037s",
        ]),
        "is too long: at most about 292 years",
    );
    // A negative duration after a space is read as a value, not a flag.
    for (flag, more) in [
        ("--stale-after", &[][..]),
        ("--reset-on-jump-back", &[][..]),
        ("--max-interval", &[][..]),
    ] {
        let mut args = vec!["match", &t, "--policy", "approximate", flag, "-5ms"];
        args.extend_from_slice(more);
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        bad(out, flag);
        assert!(err.contains("-5ms"), "{err}");
    }
    let out = run(&[
        "match",
        &t,
        "--policy",
        "approximate",
        "--stamp-offset",
        "1=-5ms",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_trace_is_read_from_a_pipe() {
    use std::io::Write as _;
    use std::process::Stdio;
    let pipe = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let text = "channel,stamp_ns\n0,0\n1,0\n0,3\n1,3\n";
    for input in ["-", "/dev/stdin"] {
        let out = pipe(&["match", input, "--policy", "exact"], text);
        assert!(
            out.status.success(),
            "{input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "0,0\n3,3\n",
            "{input}"
        );
    }
    let out = pipe(&["bench", "-", "--policy", "exact"], text);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("messages=4 emitted=2 ")
    );
    bad(
        pipe(&["match", "-", "--policy", "exact"], "hello\n"),
        "standard input: line 1",
    );
    bad(
        pipe(
            &["match", "/dev/stdin", "--policy", "exact"],
            "#ROSBAG V2.0 not a trace",
        ),
        "/dev/stdin: not a trace CSV (its first line must be `channel,stamp_ns`); a bag must be a regular file, not a pipe",
    );
}

#[test]
fn quiet_prints_no_sets_only_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "t.csv", "channel,stamp_ns\n0,0\n1,0\n0,3\n1,3\n");
    for q in ["--quiet", "-q"] {
        let out = run(&["match", &t, "--policy", "exact", q]);
        assert!(out.status.success());
        assert!(out.stdout.is_empty(), "{q}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("messages in: 4, sets out: 2"), "{err}");
    }
}

#[test]
fn a_file_is_a_trace_by_its_name_or_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "channel,stamp_ns\n0,0\n1,0\n";
    let t = trace_file(&dir, "stamps.txt", text);
    let out = run(&["match", &t, "--policy", "exact"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "0,0\n");
    // Not a trace by name or first line: read as a bag, which it is not.
    let b = trace_file(&dir, "stamps.dat", "0,0\n1,0\n");
    let out = run(&["match", &b, "--policy", "exact"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "read as a bag, not as a trace"
    );
    // A `.csv` name is a trace whatever it holds.
    bad(
        run(&[
            "match",
            &trace_file(&dir, "x.csv", "0,0\n"),
            "--policy",
            "exact",
        ]),
        "line 1: expected the header",
    );
}

#[test]
fn partial_sets_are_printed_with_empty_fields() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(
        &dir,
        "t.csv",
        "channel,stamp_ns\n0,0\n1,0\n0,10\n0,20\n0,30\n1,30\n",
    );
    let out = run(&[
        "match",
        &t,
        "--policy",
        "exact",
        "--stale-after",
        "5ns",
        "--partial-sets",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "0,0\n10,\n20,\n30,\n"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("partial sets: 3"), "{err}");
}

#[test]
fn traces_print_as_table_and_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "t.csv", "channel,stamp_ns\n0,0\n1,2\n0,7\n1,7\n");
    let out = run(&["match", &t, "--policy", "approximate", "--format", "table"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].contains("channel 0") && lines[0].contains("spread"));
    assert!(lines[1].trim_end().ends_with("2 ns"), "{table}");
    let out = run(&["match", &t, "--policy", "approximate", "--format", "json"]);
    assert!(out.status.success());
    let sets: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0]["stamps_ns"], serde_json::json!([0, 2]));
    assert_eq!(sets[1]["stamps_ns"], serde_json::json!([7, 7]));
    assert_eq!(sets[0]["members"][1]["topic"], "channel 1");
    assert!(sets[0]["members"][0]["log_time_ns"].is_null());
}

/// Channels 0 and 2 every 10 ms, channel 1 too but silent from 1 s to 2 s.
fn dead_channel_csv() -> String {
    let mut s = String::from("channel,stamp_ns\n");
    for k in 0..300i64 {
        for c in 0..3i64 {
            let t = k * 10_000_000 + c * 1_000;
            if c == 1 && (1_000_000_000..2_000_000_000).contains(&t) {
                continue;
            }
            s += &format!("{c},{t}\n");
        }
    }
    s
}

/// Sets per second of stamp time, by the first member's stamp.
fn per_second(csv: &str) -> [usize; 3] {
    let mut n = [0; 3];
    for line in csv.lines() {
        let t: i64 = line.split(',').next().unwrap().parse().unwrap();
        n[(t / 1_000_000_000) as usize] += 1;
    }
    n
}

#[test]
fn drop_out_keeps_sets_coming_while_a_channel_is_dead() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "dead.csv", &dead_channel_csv());
    let plain = run(&["match", &t, "--policy", "approximate"]);
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(per_second(&plain), [100, 0, 99]);
    let out = run(&[
        "match",
        &t,
        "--policy",
        "approximate",
        "--drop-out-after",
        "50ms",
    ]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(per_second(&csv), [100, 100, 99]);
    // During the hole: an empty field for channel 1.
    let hole: Vec<&str> = csv.lines().filter(|l| l.contains(",,")).collect();
    assert_eq!(hole.len(), 100);
    assert_eq!(hole[0], "1000000000,,1000002000");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("drop-outs: 1, rejoins: 1"), "{err}");
    assert!(err.contains("latency: p50"), "{err}");
    // The report as JSON: the period out, the sets without it, latency.
    let report = dir.path().join("r.json");
    let out = run(&[
        "match",
        &t,
        "--policy",
        "approximate",
        "--drop-out-after",
        "50ms",
        "--report",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "the report goes to the file");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["sets"], 299);
    assert_eq!(r["sets_with_members_missing"], 100);
    let ch1 = &r["topics"][1];
    assert_eq!(ch1["topic"], "channel 1");
    assert_eq!(ch1["rejoins"], 1);
    assert_eq!(ch1["dropped_out"][0]["from_ns"], 1_040_002_000);
    assert_eq!(ch1["dropped_out"][0]["to_ns"], 2_000_001_000);
    assert_eq!(ch1["dropped_out"][0]["sets_without"], 100);
    assert_eq!(r["topics"][0]["dropped_out"], serde_json::json!([]));
    let lat = &r["latency_ns"];
    assert!(lat["p50"].as_i64() <= lat["p99"].as_i64());
    assert_eq!(lat["max"], 40_000_000);
    // Table and JSON show the missing member too.
    let out = run(&[
        "match",
        &t,
        "--policy",
        "approximate",
        "--drop-out-after",
        "50ms",
        "--format",
        "json",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 299);
    let first_partial = lines
        .iter()
        .find(|l| l["missing"] != serde_json::json!([]))
        .unwrap();
    assert_eq!(first_partial["missing"], serde_json::json!(["channel 1"]));
    assert_eq!(
        first_partial["stamps_ns"],
        serde_json::json!([1_000_000_000i64, null, 1_000_002_000i64])
    );
    assert_eq!(first_partial["members"].as_array().unwrap().len(), 2);
    let out = run(&[
        "match",
        &t,
        "--policy",
        "approximate",
        "--drop-out-after",
        "50ms",
        "--format",
        "table",
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        table.lines().filter(|l| l.contains(" - ")).count(),
        100,
        "{}",
        &table[..400]
    );
}

#[test]
fn drop_out_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "t.csv", "channel,stamp_ns\n0,0\n1,0\n");
    let out = run(&["match", &t, "--policy", "exact", "--drop-out-after", "-5ms"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--drop-out-after -5ms: must not be negative"),
        "{err}"
    );
    let out = run(&[
        "match",
        &t,
        "--policy",
        "exact",
        "--drop-out-clock",
        "arrival",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "match",
        &t,
        "--policy",
        "exact",
        "--drop-out-after",
        "5ms",
        "--drop-out-clock",
        "wall",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["match", &t, "--policy", "exact", "--deadline", "5ms"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("deadline"), "{err}");
    let out = run(&[
        "match",
        &t,
        "--policy",
        "exact",
        "--drop-out-after",
        "5ms",
        "--drop-out-clock",
        "arrival",
    ]);
    assert!(out.status.success());
}

#[test]
fn a_deadline_on_a_trace_is_compared_with_the_run_without_it() {
    let dir = tempfile::tempdir().unwrap();
    // Channel 2 a little before its partners, every 100 ms: upstream waits
    // for its next message to prove a set.
    let mut s = String::from("channel,stamp_ns\n");
    for t in (0..2_000i64).step_by(10) {
        if t % 100 == 0 {
            s += &format!("2,{}\n", t * 1_000_000);
        }
        s += &format!(
            "0,{}\n1,{}\n",
            t * 1_000_000 + 4_000_000,
            t * 1_000_000 + 5_000_000
        );
    }
    let t = trace_file(&dir, "slow.csv", &s);
    let report = dir.path().join("r.json");
    let out = run(&[
        "match",
        &t,
        "--policy",
        "approximate",
        "--queue-size",
        "20",
        "--deadline",
        "15ms",
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let d = &r["deadline"];
    assert_eq!(d["deadline_ns"], 15_000_000);
    assert!(
        d["latency_ns"]["max"].as_i64().unwrap() <= 24_000_000,
        "{d}"
    );
    assert!(
        d["latency_without_deadline_ns"]["max"].as_i64().unwrap() >= 90_000_000,
        "{d}"
    );
    assert_eq!(r["latency_ns"], d["latency_ns"]);
    assert!(
        r["advice"][0]
            .as_str()
            .unwrap()
            .starts_with("deadline 15.000 ms: "),
        "{r}"
    );
}

#[test]
fn follow_prints_one_line_per_driver_message_with_each_followers_part() {
    let dir = tempfile::tempdir().unwrap();
    // Frames (0) at 10, 20; IMU (1) every 4; odometry (2) at 8, 17, 26;
    // GPS (3) at 0, 30.
    let t = trace_file(
        &dir,
        "f.csv",
        "channel,stamp_ns\n3,0\n1,4\n1,8\n2,8\n0,10\n1,12\n1,16\n2,17\n0,20\n1,20\n1,24\n2,26\n3,30\n",
    );
    let args = [
        "match",
        &t,
        "--policy",
        "follow",
        "--driver",
        "0",
        "--follow",
        "1=ranged",
        "--follow",
        "2=before",
        "--follow",
        "3=bracket",
    ];
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "10,4;8,8,0;30\n20,12;16;20,17,0;30\n"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--- report: follow policy, queue size 100, 2 sets ---"),
        "{err}"
    );
    assert!(err.contains("per set: min 2  median 2  max 3"), "{err}");
    // JSON: the driver and each follower's stamps.
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let out = run(&json);
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["stamp_ns"], 10);
    assert_eq!(first["followers"][0]["mode"], "ranged");
    assert_eq!(
        first["followers"][0]["stamps_ns"],
        serde_json::json!([4, 8])
    );
    assert_eq!(
        first["followers"][2]["stamps_ns"],
        serde_json::json!([0, 30])
    );
    // max_wait: GPS passes nothing, the frames go out with the upper side missing.
    let t2 = trace_file(&dir, "w.csv", "channel,stamp_ns\n1,0\n0,10\n0,20\n0,30\n");
    let out = run(&[
        "match",
        &t2,
        "--policy",
        "follow",
        "--driver",
        "0",
        "--follow",
        "1=bracket",
        "--max-wait",
        "15ns",
    ]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "10,0;\n");
    // The bench takes it too.
    let out = run(&[
        "bench",
        &t,
        "--policy",
        "follow",
        "--driver",
        "0",
        "--follow",
        "1=ranged",
        "--follow",
        "2=before",
        "--follow",
        "3=bracket",
    ]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("messages=13 emitted=2 "), "{line}");
}

#[test]
fn follow_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace_file(&dir, "t.csv", "channel,stamp_ns\n0,0\n1,0\n2,0\n");
    let bad = |args: &[&str], says: &str| {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(says), "{args:?}: {err}");
    };
    bad(
        &["match", &t, "--policy", "follow"],
        "--policy follow needs --driver CH",
    );
    bad(
        &[
            "match", &t, "--policy", "follow", "--driver", "0", "--follow", "1=ranged",
        ],
        "channel 2 is neither the driver nor a follower",
    );
    bad(
        &[
            "match",
            &t,
            "--policy",
            "follow",
            "--driver",
            "0",
            "--follow",
            "1=sideways",
        ],
        "--follow 1=sideways: unknown follower mode",
    );
    bad(
        &[
            "match",
            &t,
            "--policy",
            "follow",
            "--driver",
            "0",
            "--follow",
            "1=ranged",
            "--follow",
            "2=before",
            "--max-interval",
            "5ms",
        ],
        "--max-interval does not apply to --policy follow",
    );
    bad(
        &[
            "match",
            &t,
            "--policy",
            "follow",
            "--driver",
            "0",
            "--follow",
            "1=ranged",
            "--follow",
            "2=before",
            "--max-wait",
            "-5ms",
        ],
        "--max-wait -5ms: must not be negative",
    );
    bad(
        &["match", &t, "--policy", "approximate", "--driver", "0"],
        "--driver applies to --policy follow",
    );
}

#[test]
fn bench_dynamic_takes_more_than_nine_channels_and_matches_the_typed_count() {
    let dir = tempfile::tempdir().unwrap();
    // 12 channels, 3 complete stamps and one partial: 3 sets.
    let mut text = String::from("channel,stamp_ns\n");
    for t in [10, 20, 30] {
        for ch in 0..12 {
            text.push_str(&format!("{ch},{t}\n"));
        }
    }
    text.push_str("0,40\n");
    let t = trace_file(&dir, "t12.csv", &text);
    let out = run(&["bench", &t, "--policy", "exact", "--dynamic"]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("messages=37 emitted=3 "), "{line}");
    // The typed driver stops at 9 channels and says so.
    bad(run(&["bench", &t, "--policy", "exact"]), "channel");
    bad(
        run(&[
            "bench",
            &t,
            "--policy",
            "exact",
            "--dynamic",
            "--channels",
            "65",
        ]),
        "--channels must be between 2 and 64, got 65",
    );
    // On a 9-channel trace both drivers emit the same sets.
    let nine: String = text
        .lines()
        .filter(|l| !l.starts_with("9,") && !l.starts_with("10,") && !l.starts_with("11,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let t9 = trace_file(&dir, "t9.csv", &nine);
    for policy in ["exact", "approximate"] {
        let emitted = |extra: &[&str]| {
            let mut args = vec!["bench", t9.as_str(), "--policy", policy];
            args.extend_from_slice(extra);
            let line = String::from_utf8(run(&args).stdout).unwrap();
            line.split_whitespace().nth(1).unwrap().to_string()
        };
        assert_eq!(emitted(&[]), emitted(&["--dynamic"]), "{policy}");
    }
}
