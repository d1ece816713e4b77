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
