//! Differential test: `stamp_sync_tf::BufferCore` against C++ tf2.
//!
//! `scripts/build-tf-oracle.sh` builds `oracle/tf_oracle.cpp` on Debian's
//! libtf2-dev (tf2 0.7.6 `BufferCore`; installed if missing and we are
//! root). Each run generates fresh random transform traces (chains and
//! trees, static and dynamic links at mixed rates, out-of-order and late
//! arrival, repeated stamps, reparenting, loops, invalid transforms,
//! lookups before, inside, at and after the data, unknown, empty and
//! `/`-prefixed frames, stamp 0, several cache times) and runs each through
//! [`stamp_sync_tf::trace::run_records`] and, in one batch, through the
//! oracle. Line for line these must agree:
//! * every insert accepted or rejected alike;
//! * every lookup ok or failed alike, with the same error kind;
//! * the same result stamp, and every number within 1e-9 absolute
//!   (`approx`; NaN matches NaN).
//!
//! Environment:
//! * `STAMP_SYNC_SEED` — run seed (decimal or `0x` hex); default
//!   time-based. Always printed.
//! * `STAMP_SYNC_TF_CASES` — number of cases (default 2000).
//! * `STAMP_SYNC_REQUIRE_ORACLE=1`, or `CI` set — fail instead of skipping
//!   when the oracle cannot be built.
//!
//! On a mismatch: prints seed, case and the first differing line, writes
//! the trace to `target/tf-differential-failure.csv`, shrinks it (fewer
//! records) into `target/tf-differential-failure-min.csv`, prints the
//! shrunk trace with both outputs and panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use approx::abs_diff_eq;
use stamp_sync::Duration;
use stamp_sync_testkit::oracle::{TF2, run_seed};
use stamp_sync_tf::trace::{TfRecord, TraceOptions, parse_trace, run_records};

const DEFAULT_CASES: usize = 2000;
const TOLERANCE: f64 = 1e-9;

fn root() -> &'static Path {
    stamp_sync_testkit::repo()
}

// ---------------------------------------------------------------------------
// Random traces.

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// One generated case: the trace text and its cache time.
#[derive(Clone)]
struct Case {
    cache_ns: i64,
    lines: Vec<String>,
}

impl Case {
    fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

fn quat(rng: &mut Rng) -> [f64; 4] {
    match rng.below(6) {
        0 => [0.0, 0.0, 0.0, 1.0],
        // A rotation about z.
        1 => {
            let a = rng.unit() * 6.3 - 3.15;
            [0.0, 0.0, (a / 2.0).sin(), (a / 2.0).cos()]
        }
        _ => {
            let mut q = [0.0; 4];
            for x in &mut q {
                *x = rng.unit() * 2.0 - 1.0;
            }
            let n = q.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-3);
            for x in &mut q {
                *x /= n;
            }
            q
        }
    }
}

fn vec3(rng: &mut Rng) -> [f64; 3] {
    let mut v = [0.0; 3];
    for x in &mut v {
        *x = if rng.chance(0.1) {
            0.0
        } else {
            rng.unit() * 20.0 - 10.0
        };
    }
    v
}

struct Link {
    child: usize,
    parent: usize,
    is_static: bool,
    period: i64,
    latency: i64,
}

const BASE_NS: i64 = 1_000_000_000_000; // 1000 s

fn gen_case(rng: &mut Rng) -> Case {
    let cache_ns = *rng.pick(&[
        10_000_000_000i64,
        10_000_000_000,
        1_000_000_000,
        200_000_000,
        50_000_000,
    ]);
    let n_frames = rng.range(2, 9) as usize;
    let names: Vec<String> = (0..n_frames).map(|i| format!("f{i}")).collect();
    // Frames 0 (and sometimes 1) are roots; each other frame gets a parent
    // among the earlier ones: a chain or a tree.
    let roots = if n_frames > 3 && rng.chance(0.3) {
        2
    } else {
        1
    };
    let chain = rng.chance(0.3);
    let mut links: Vec<Link> = Vec::new();
    for child in roots..n_frames {
        let parent = if chain {
            child - 1
        } else {
            rng.below(child as u64) as usize
        };
        let is_static = rng.chance(0.3);
        let period = *rng.pick(&[
            5_000_000i64,
            10_000_000,
            33_333_333,
            100_000_000,
            250_000_000,
        ]);
        let latency = rng.range(0, 30_000_000);
        links.push(Link {
            child,
            parent,
            is_static,
            period,
            latency,
        });
    }
    let span = rng.range(100_000_000, 3_000_000_000);
    // (arrival, stamp-ordered tie breaker, line)
    let mut events: Vec<(i64, u64, String)> = Vec::new();
    let mut sample_stamps: Vec<i64> = vec![0];
    let mut tie = 0u64;
    let mut push = |events: &mut Vec<(i64, u64, String)>, arrival: i64, line: String| {
        tie += 1;
        events.push((arrival, tie, line));
    };
    let fmt_tf = |kind: &str, stamp: i64, parent: &str, child: &str, v: [f64; 3], q: [f64; 4]| {
        format!(
            "{kind},{stamp},{parent},{child},{:?},{:?},{:?},{:?},{:?},{:?},{:?}",
            v[0], v[1], v[2], q[0], q[1], q[2], q[3]
        )
    };
    for link in &links {
        let child = &names[link.child];
        let mut parent = names[link.parent].clone();
        if link.is_static {
            let count = rng.range(1, 3);
            for _ in 0..count {
                let stamp = if rng.chance(0.5) {
                    0
                } else {
                    BASE_NS + rng.range(0, span)
                };
                let arrival = BASE_NS + rng.range(-span / 4, span);
                push(
                    &mut events,
                    arrival,
                    fmt_tf("tf_static", stamp, &parent, child, vec3(rng), quat(rng)),
                );
            }
            continue;
        }
        let mut t = BASE_NS + rng.range(0, link.period);
        // Reparent at some time: to an earlier frame (tree stays a tree),
        // rarely to any frame (loops are possible).
        let reparent_at = if rng.chance(0.25) {
            Some(BASE_NS + rng.range(0, span))
        } else {
            None
        };
        let mut v = vec3(rng);
        let mut q = quat(rng);
        while t < BASE_NS + span {
            if let Some(at) = reparent_at {
                if t >= at && parent == names[link.parent] {
                    let p = if rng.chance(0.15) {
                        rng.below(n_frames as u64) as usize
                    } else {
                        rng.below(link.child as u64) as usize
                    };
                    if p != link.child {
                        parent = names[p].clone();
                    }
                }
            }
            // Small smooth motion with occasional jumps.
            for x in &mut v {
                *x += rng.unit() * 0.2 - 0.1;
            }
            if rng.chance(0.2) {
                q = quat(rng);
            }
            let jitter = rng.range(0, 2_000_000);
            let arrival = t + link.latency + jitter;
            let mut qq = q;
            let mut vv = v;
            let kind = if rng.chance(0.02) { "tf_static" } else { "tf" };
            match rng.below(200) {
                0 => vv[rng.below(3) as usize] = f64::NAN,
                1 => qq[3] += 0.02 * qq[3].signum(), // |norm² - 1| > 0.01: refused
                2 => {
                    // |norm² - 1| < 0.01: stored as is
                    let s = 1.002;
                    qq = [q[0] * s, q[1] * s, q[2] * s, q[3] * s];
                }
                3 => qq = [0.0, 0.0, 0.0, 0.0],
                _ => {}
            }
            push(
                &mut events,
                arrival,
                fmt_tf(kind, t, &parent, child, vv, qq),
            );
            sample_stamps.push(t);
            if rng.chance(0.03) {
                // The same stamp again, other values (TF_REPEATED_DATA).
                push(
                    &mut events,
                    arrival + 1,
                    fmt_tf("tf", t, &parent, child, vec3(rng), quat(rng)),
                );
            }
            if rng.chance(0.02) {
                // Very late data (may be older than the cache).
                let late = t - rng.range(0, 2 * cache_ns);
                push(
                    &mut events,
                    arrival + 2,
                    fmt_tf("tf", late.max(0), &parent, child, vec3(rng), quat(rng)),
                );
            }
            if rng.chance(0.01) {
                push(
                    &mut events,
                    arrival,
                    fmt_tf("tf", t + 1, child, child, vv, qq),
                );
            }
            let step = link.period + rng.range(-link.period / 10, link.period / 10);
            t += step.max(1);
        }
    }
    // Lookups, interleaved by arrival.
    let n_lookups = rng.range(50, 300);
    let frame_choice = |rng: &mut Rng| -> String {
        match rng.below(40) {
            0 => "unknown".to_string(),
            1 => String::new(),
            2 => format!("/{}", names[rng.below(n_frames as u64) as usize]),
            3 => "NO_PARENT".to_string(),
            _ => names[rng.below(n_frames as u64) as usize].clone(),
        }
    };
    for _ in 0..n_lookups {
        let arrival = BASE_NS + rng.range(-span / 10, span + span / 5);
        let stamp = match rng.below(10) {
            0 | 1 => 0,
            2 => *rng.pick(&sample_stamps),
            3 => BASE_NS - rng.range(1, 1_000_000_000),
            4 => arrival + rng.range(0, 100_000_000),
            _ => arrival - rng.range(0, (cache_ns * 3 / 2).max(1)),
        }
        .max(0);
        let target = frame_choice(rng);
        let source = if rng.chance(0.05) {
            target.clone()
        } else {
            frame_choice(rng)
        };
        push(
            &mut events,
            arrival,
            format!("lookup,{stamp},{target},{source}"),
        );
    }
    events.sort_by_key(|(a, t, _)| (*a, *t));
    Case {
        cache_ns,
        lines: events.into_iter().map(|(_, _, l)| l).collect(),
    }
}

// ---------------------------------------------------------------------------
// Running both sides.

fn rust_output(case: &Case) -> String {
    let records: Vec<TfRecord> = parse_trace(&case.text()).unwrap();
    run_records(
        &records,
        &TraceOptions {
            cache_time: Duration::from_nanos(case.cache_ns),
            report_inserts: true,
        },
    )
}

/// Runs all cases through one oracle process (batch mode).
fn run_oracle(oracle: &Path, cases: &[Case]) -> Vec<String> {
    let mut input = String::new();
    for c in cases {
        let _ = writeln!(input, "case {}", c.cache_ns);
        input.push_str(&c.text());
        input.push_str("run\n");
    }
    let mut child = Command::new(oracle)
        .args(["--batch", "--inserts"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", oracle.display()));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut answers = Vec::with_capacity(cases.len());
    let mut cur = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "end" {
            answers.push(std::mem::take(&mut cur));
        } else {
            cur.push_str(&line);
            cur.push('\n');
        }
    }
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "oracle failed");
    assert_eq!(
        answers.len(),
        cases.len(),
        "oracle answered {} of {} cases",
        answers.len(),
        cases.len()
    );
    answers
}

fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('-');
    if t.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    s.parse().ok()
}

/// The first differing line (1-based), with both lines, or `None`.
fn compare(rust: &str, cpp: &str) -> Option<(usize, String, String)> {
    let r: Vec<&str> = rust.lines().collect();
    let c: Vec<&str> = cpp.lines().collect();
    for i in 0..r.len().max(c.len()) {
        let (a, b) = (
            r.get(i).copied().unwrap_or("<none>"),
            c.get(i).copied().unwrap_or("<none>"),
        );
        if !same_line(a, b) {
            return Some((i + 1, a.to_string(), b.to_string()));
        }
    }
    None
}

fn same_line(a: &str, b: &str) -> bool {
    if !(a.starts_with("ok,") && b.starts_with("ok,")) {
        return a == b;
    }
    let fa: Vec<&str> = a.split(',').collect();
    let fb: Vec<&str> = b.split(',').collect();
    if fa.len() != 10 || fb.len() != 10 || fa[1] != fb[1] || fa[2] != fb[2] {
        return false;
    }
    fa[3..]
        .iter()
        .zip(&fb[3..])
        .all(|(x, y)| match (parse_num(x), parse_num(y)) {
            (Some(x), Some(y)) if x.is_nan() || y.is_nan() => x.is_nan() && y.is_nan(),
            (Some(x), Some(y)) => abs_diff_eq!(x, y, epsilon = TOLERANCE),
            _ => false,
        })
}

/// Greedy delta debugging over the trace lines: drop chunks while the
/// outputs still differ. One oracle batch per round.
fn shrink(oracle: &Path, case: &Case) -> Case {
    let mut best = case.clone();
    let mut chunk = (best.lines.len() / 2).max(1);
    loop {
        let mut progress = false;
        let mut start = 0;
        while start < best.lines.len() {
            let cands: Vec<Case> = (start..best.lines.len())
                .step_by(chunk)
                .take(32)
                .map(|s| {
                    let mut c = best.clone();
                    c.lines.drain(s..(s + chunk).min(c.lines.len()));
                    c
                })
                .collect();
            let answers = run_oracle(oracle, &cands);
            if let Some(i) = cands
                .iter()
                .zip(&answers)
                .position(|(c, a)| compare(&rust_output(c), a).is_some())
            {
                best = cands[i].clone();
                progress = true;
                start += i * chunk;
            } else {
                start += cands.len() * chunk;
            }
        }
        if !progress {
            if chunk == 1 {
                return best;
            }
            chunk = (chunk / 2).max(1);
        }
    }
}

#[test]
fn random_traces_match_cpp_tf2() {
    let Some(oracle) = TF2.or_skip("random_traces_match_cpp_tf2") else {
        return;
    };
    let seed = run_seed();
    let cases_n: usize = std::env::var("STAMP_SYNC_TF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    eprintln!(
        "tf differential: seed {seed:#x} (STAMP_SYNC_SEED={seed:#x} replays), {cases_n} cases"
    );
    let t0 = Instant::now();
    let mut rng = Rng(seed);
    let cases: Vec<Case> = (0..cases_n).map(|_| gen_case(&mut rng)).collect();
    let answers = run_oracle(oracle, &cases);
    let (mut lookups, mut oks, mut errors, mut inserts) = (0usize, 0usize, [0usize; 4], 0usize);
    for (i, (case, cpp)) in cases.iter().zip(&answers).enumerate() {
        let rust = rust_output(case);
        if let Some((line, r, c)) = compare(&rust, cpp) {
            let dir = root().join("target");
            std::fs::create_dir_all(&dir).unwrap();
            let full = dir.join("tf-differential-failure.csv");
            std::fs::write(&full, case.text()).unwrap();
            eprintln!(
                "MISMATCH seed {seed:#x} case {i} (cache {} ns) output line {line}:\n  rust: {r}\n  c++:  {c}\n\
                 trace written to {}; shrinking...",
                case.cache_ns,
                full.display()
            );
            let min = shrink(oracle, case);
            let min_path = dir.join("tf-differential-failure-min.csv");
            std::fs::write(&min_path, min.text()).unwrap();
            let cpp_min = run_oracle(oracle, std::slice::from_ref(&min)).remove(0);
            panic!(
                "tf differential mismatch (seed {seed:#x}, case {i}, cache {} ns); shrunk trace ({} lines, {}):\n{}\
                 --- rust ---\n{}--- c++ ---\n{}",
                min.cache_ns,
                min.lines.len(),
                min_path.display(),
                min.text(),
                rust_output(&min),
                cpp_min
            );
        }
        for l in cpp.lines() {
            if l.starts_with("insert,") {
                inserts += 1;
                continue;
            }
            lookups += 1;
            if l.starts_with("ok,") {
                oks += 1;
            } else if l.ends_with(",lookup") {
                errors[0] += 1;
            } else if l.ends_with(",connectivity") {
                errors[1] += 1;
            } else if l.ends_with(",extrapolation") {
                errors[2] += 1;
            } else if l.ends_with(",invalid_argument") {
                errors[3] += 1;
            }
        }
    }
    eprintln!(
        "tf differential: {cases_n} cases, {inserts} inserts, {lookups} lookups identical \
         (ok {oks}, lookup {}, connectivity {}, extrapolation {}, invalid_argument {}) in {:.1} s",
        errors[0],
        errors[1],
        errors[2],
        errors[3],
        t0.elapsed().as_secs_f64()
    );
    // The generator must reach every outcome, or the comparison proves
    // little (checked on full-size runs only).
    if cases_n >= 200 {
        assert!(
            oks > lookups / 10,
            "too few successful lookups: {oks} of {lookups}"
        );
        for (k, n) in [
            "lookup",
            "connectivity",
            "extrapolation",
            "invalid_argument",
        ]
        .iter()
        .zip(errors)
        {
            assert!(n > 0, "no {k} errors generated");
        }
    }
}

/// Hand-picked traces whose C++ answers are known (see the probes in
/// `docs/transforms.md`): the oracle and the library both reproduce them.
#[test]
fn edge_cases_match_cpp_tf2() {
    let Some(oracle) = TF2.or_skip("edge_cases_match_cpp_tf2") else {
        return;
    };
    let text = std::fs::read_to_string(root().join("tests/data/tf/edge_cases.csv")).unwrap();
    let case = Case {
        cache_ns: 10_000_000_000,
        lines: text.lines().map(str::to_string).collect(),
    };
    let cpp = run_oracle(oracle, std::slice::from_ref(&case)).remove(0);
    let rust = rust_output(&case);
    assert!(cpp.lines().count() > 40);
    if let Some((line, r, c)) = compare(&rust, &cpp) {
        panic!("edge cases differ at output line {line}:\n  rust: {r}\n  c++:  {c}");
    }
}
