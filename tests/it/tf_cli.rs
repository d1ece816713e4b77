//! `stamp-sync tf TRACE.csv`: exact output lines, `--cache-time`, and
//! bad input exiting 2 with one line naming the line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
        .args(args)
        .output()
        .unwrap()
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

const TRACE: &str = "\
# map -> base moves along x; base -> laser is static
tf,1000000000,map,base,1,0,0,0,0,0,1
tf,2000000000,map,base,3,0,0,0,0,0.7071067811865476,0.7071067811865476
tf_static,0,base,laser,0.5,0,0,0,0,0,1

lookup,1500000000,map,base
lookup,0,map,laser
lookup,2500000000,map,base
lookup,1000000000,map,nowhere
lookup,1000000000,other,base
lookup,1000000000,/map,base
tf,1000000000,other,thing,0,0,0,0,0,0,1
lookup,1000000000,other,base
";

/// The expected lines are C++ tf2's answers (`build/tf_oracle < trace`),
/// printed as Rust's shortest round-trip numbers.
#[test]
fn answers_each_lookup_with_one_exact_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["tf", &file(&dir, "t.csv", TRACE)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let want = "\
ok,1500000000,1500000000,2.0,0.0,0.0,0.0,0.0,0.38268343236508984,0.9238795325112868
ok,0,2000000000,3.0,0.5000000000000001,0.0,0.0,0.0,0.7071067811865476,0.7071067811865476
error,2500000000,extrapolation
error,1000000000,lookup
error,1000000000,lookup
error,1000000000,invalid_argument
error,1000000000,connectivity
";
    assert_eq!(text, want);
}

#[test]
fn cache_time_limits_what_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let trace = "tf,1000000000,map,base,1,0,0,0,0,0,1\n\
                 tf,2000000000,map,base,3,0,0,0,0,0,1\n\
                 lookup,1500000000,map,base\n";
    let f = file(&dir, "c.csv", trace);
    let long = String::from_utf8(run(&["tf", &f]).stdout).unwrap();
    assert!(long.starts_with("ok,"), "{long}");
    // With 500 ms the sample at 1 s is pruned when the one at 2 s arrives.
    let short = String::from_utf8(run(&["tf", &f, "--cache-time", "500ms"]).stdout).unwrap();
    assert_eq!(short, "error,1500000000,extrapolation\n");
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
fn bad_input_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = |name: &str, text: &str| file(&dir, name, text);
    bad(
        run(&["tf", &t("a.csv", "lookup,0,a,b\ntf,1,a,b,0,0,0,0,0,1\n")]),
        "line 2",
    );
    bad(
        run(&["tf", &t("b.csv", "# x\nlookup,soon,a,b\n")]),
        "line 2: bad stamp",
    );
    bad(
        run(&["tf", &t("c.csv", "transform,1,a,b\n")]),
        "line 1: unknown record",
    );
    bad(
        run(&["tf", &t("d.csv", "tf,1,a,b,0,0,x,0,0,0,1\n")]),
        "line 1: bad number \"x\"",
    );
    bad(
        run(&["tf", &dir.path().join("missing.csv").to_string_lossy()]),
        "cannot read",
    );
    bad(
        run(&["tf", &t("e.csv", "lookup,1,a,b\n"), "--cache-time", "10"]),
        "invalid duration",
    );
}

#[test]
fn bench_reports_lookup_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["tf", &file(&dir, "t.csv", TRACE), "--bench", "3"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("lookups=21 ok=6 "), "{err}");
    assert!(err.contains("lookups_per_s="), "{err}");
}

#[test]
fn a_run_whose_lookups_all_fail_exits_2_after_its_answers() {
    let dir = tempfile::tempdir().unwrap();
    let t = file(&dir, "t.csv", "lookup,1,a,b\nlookup,2,a,c\n");
    let out = run(&["tf", &t]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "error,1,lookup\nerror,2,lookup\n"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "stamp-sync: error: all 2 lookups failed (the first with error `lookup`)\n"
    );
    // One answer is enough for success.
    let t = file(
        &dir,
        "u.csv",
        "tf_static,0,a,b,0,0,0,0,0,0,1\nlookup,1,a,b\nlookup,2,a,c\n",
    );
    assert_eq!(run(&["tf", &t]).status.code(), Some(0));
    // Negative durations after a space are values.
    bad(
        run(&["tf", &t, "--cache-time", "-5ms"]),
        "--cache-time -5ms: must not be negative",
    );
}
