//! Differential test: `stamp_sync::filters::Cache` against C++
//! `message_filters::Cache` (ROS 1 1.15.15, Debian's
//! libmessage-filters-dev, through `oracle/cache_oracle.cpp`).
//!
//! Every run generates fresh random scripts of adds and queries: cache
//! sizes 1..16, stamps on a coarse grid (many equal stamps), in order, in
//! random order or going back now and then, so eviction at size and
//! out-of-order insertion are exercised; after adds, every query
//! (`interval`, `surrounding_interval`, `elem_before`, `elem_after`,
//! `oldest`, `newest`, the whole content) at times taken from held stamps,
//! one nanosecond either side of them, and beyond both ends. Each answer
//! (which messages, in which order) must be identical.
//!
//! Environment: `STAMP_SYNC_SEED` (printed every run), `STAMP_SYNC_CASES`
//! (default 600), `STAMP_SYNC_CASE` (one case), `STAMP_SYNC_REQUIRE_ORACLE=1`
//! (a missing oracle fails). A mismatch prints the seed and case, shrinks
//! the script (`target/cache-differential-min.txt`) and fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::oracle as filter_oracle;
use stamp_sync_testkit::tracegen;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use filter_oracle::{FILTERS, case_indices, run_seed, write_target};
use stamp_sync::Stamp;
use stamp_sync::filters::Cache;
use tracegen::{Rng, case_seed};

const DEFAULT_CASES: usize = 600;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Add(i64),
    Interval(i64, i64),
    Surround(i64, i64),
    Before(i64),
    After(i64),
    Oldest,
    Newest,
    Dump,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add(_) => "add",
            Op::Interval(..) => "interval",
            Op::Surround(..) => "surround",
            Op::Before(_) => "before",
            Op::After(_) => "after",
            Op::Oldest => "oldest",
            Op::Newest => "newest",
            Op::Dump => "dump",
        }
    }

    fn line(self) -> String {
        match self {
            Op::Add(t) | Op::Before(t) | Op::After(t) => format!("{} {t}", self.name()),
            Op::Interval(a, b) | Op::Surround(a, b) => format!("{} {a} {b}", self.name()),
            Op::Oldest | Op::Newest | Op::Dump => self.name().to_string(),
        }
    }
}

#[derive(Clone, Debug)]
struct Case {
    size: usize,
    ops: Vec<Op>,
}

impl Case {
    fn script(&self) -> String {
        let mut s = format!("case {}\n", self.size);
        for op in &self.ops {
            s += &op.line();
            s.push('\n');
        }
        s.push_str("end\n");
        s
    }
}

fn gen_case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let size = rng.pick(&[1, 1, 2, 3, 4, 5, 8, 10, 16, 64, 128]);
    let unit = rng.pick(&[1, 1_000, 1_000_000, 1_000_000_000]);
    // Stamps must be valid ROS 1 times: >= 0 and below 2^32 s.
    let base = rng.pick(&[0, 1_000_000_000, 1_700_000_000_000_000_000]);
    let range = rng.pick(&[4i64, 12, 40, 200]);
    let order = rng.below(3); // 0 increasing, 1 random, 2 increasing with setbacks
    let n_ops = rng.urange(5, 160);
    let mut held: Vec<i64> = Vec::new();
    let mut ops = Vec::with_capacity(n_ops);
    let mut next = 0i64;
    let time = |rng: &mut Rng, held: &[i64]| -> i64 {
        let t = match rng.below(6) {
            0 | 1 if !held.is_empty() => rng.pick(held),
            2 if !held.is_empty() => rng.pick(held) + rng.pick(&[-1, 1]),
            3 => base - unit,
            4 => base + (range + 2) * unit,
            _ => base + rng.range(-1, range + 1) * unit + rng.pick(&[0, 0, 0, 1, -1]),
        };
        t.max(0)
    };
    for _ in 0..n_ops {
        if rng.chance(0.55) {
            let k = match order {
                0 => {
                    next += rng.range(0, 2);
                    next
                }
                1 => rng.range(0, range),
                _ if rng.chance(0.2) => next - rng.range(0, 5),
                _ => {
                    next += rng.range(0, 3);
                    next
                }
            };
            let t = (base + k.max(0) * unit).max(0);
            held.push(t);
            ops.push(Op::Add(t));
            continue;
        }
        let (a, b) = (time(&mut rng, &held), time(&mut rng, &held));
        ops.push(match rng.below(8) {
            0 => Op::Interval(a.min(b), a.max(b)),
            1 => Op::Interval(a, b),
            2 => Op::Surround(a.min(b), a.max(b)),
            3 => Op::Surround(a, b),
            4 => Op::Before(a),
            5 => Op::After(a),
            6 => [Op::Oldest, Op::Newest][rng.below(2) as usize],
            _ => Op::Dump,
        });
    }
    Case { size, ops }
}

fn ids<'a>(it: impl Iterator<Item = &'a (Stamp, usize)>) -> String {
    let v: Vec<String> = it.map(|m| m.1.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

/// The answers of stamp_sync's Cache, one line per query.
fn rust_answers(case: &Case) -> Vec<String> {
    let s = Stamp::from_nanos;
    let mut cache = Cache::new(case.size).unwrap();
    let mut next_id = 0;
    let mut out = Vec::new();
    for op in &case.ops {
        let one = |m: Option<&(Stamp, usize)>| m.map_or("-".into(), |m| m.1.to_string());
        match *op {
            Op::Add(t) => {
                let before = cache.len();
                let evicted = cache.add((s(t), next_id));
                next_id += 1;
                // Eviction exactly when full, never beyond the size.
                assert_eq!(evicted.is_some(), before == case.size);
                assert!(cache.len() <= case.size);
            }
            Op::Interval(a, b) => out.push(ids(cache.interval(s(a), s(b)))),
            Op::Surround(a, b) => out.push(ids(cache.surrounding_interval(s(a), s(b)))),
            Op::Before(t) => out.push(one(cache.elem_before(s(t)))),
            Op::After(t) => out.push(one(cache.elem_after(s(t)))),
            // C++ answers time 0 for an empty cache.
            Op::Oldest => out.push(cache.oldest_stamp().map_or(0, |t| t.as_nanos()).to_string()),
            Op::Newest => out.push(cache.newest_stamp().map_or(0, |t| t.as_nanos()).to_string()),
            Op::Dump => out.push(ids(cache.iter())),
        }
    }
    out
}

/// Runs the cases through one oracle process.
fn cpp_answers(oracle: &Path, cases: &[&Case]) -> Vec<Vec<String>> {
    let mut input = String::new();
    for c in cases {
        input += &c.script();
    }
    let mut child = Command::new(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", oracle.display()));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut answers = Vec::with_capacity(cases.len());
    let mut cur = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        assert!(!line.starts_with("error"), "cache oracle: {line}");
        if line == "end" {
            answers.push(std::mem::take(&mut cur));
        } else {
            cur.push(line);
        }
    }
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "cache oracle failed");
    assert_eq!(
        answers.len(),
        cases.len(),
        "cache oracle answered too few cases"
    );
    answers
}

fn differs(oracle: &Path, case: &Case) -> bool {
    cpp_answers(oracle, &[case])[0] != rust_answers(case)
}

/// Drops chunks of operations and shrinks the size while the answers differ.
fn shrink(oracle: &Path, case: &Case) -> Case {
    let mut best = case.clone();
    let mut chunk = best.ops.len().div_ceil(2).max(1);
    while chunk >= 1 {
        let mut progress = false;
        let mut start = 0;
        while start < best.ops.len() {
            let mut cand = best.clone();
            cand.ops.drain(start..(start + chunk).min(best.ops.len()));
            if differs(oracle, &cand) {
                best = cand;
                progress = true;
            } else {
                start += chunk;
            }
        }
        if !progress {
            chunk /= 2;
        }
    }
    while best.size > 1 {
        let cand = Case {
            size: best.size - 1,
            ..best.clone()
        };
        if !differs(oracle, &cand) {
            break;
        }
        best = cand;
    }
    best
}

fn side_by_side(case: &Case, cpp: &[String], rust: &[String]) -> String {
    let mut s = String::new();
    let mut q = 0;
    for op in &case.ops {
        if let Op::Add(_) = op {
            let _ = writeln!(s, "  {}", op.line());
            continue;
        }
        let (c, r) = (&cpp[q], &rust[q]);
        let mark = if c == r { ' ' } else { '!' };
        let _ = writeln!(s, "{mark} {:<40} C++ {c:<20} stamp_sync {r}", op.line());
        q += 1;
    }
    s
}

#[test]
fn cache_matches_cpp_message_filters_cache() {
    let started = Instant::now();
    let seed = run_seed();
    eprintln!("cache_differential: seed {seed:#x} (replay: STAMP_SYNC_SEED={seed:#x})");
    let Some(dir) = FILTERS.or_skip("cache_differential") else {
        return;
    };
    let oracle = dir.join("cache_oracle");
    let indices = case_indices(DEFAULT_CASES);
    let cases: Vec<Case> = indices
        .iter()
        .map(|&i| gen_case(case_seed(seed, i)))
        .collect();
    let refs: Vec<&Case> = cases.iter().collect();
    let cpp = cpp_answers(&oracle, &refs);
    let mut per_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut evictions, mut adds) = (0, 0);
    let mut failures = Vec::new();
    for (k, (case, cpp)) in cases.iter().zip(&cpp).enumerate() {
        let rust = rust_answers(case);
        let mut q = 0;
        let mut n_added = 0;
        for op in &case.ops {
            if let Op::Add(_) = op {
                adds += 1;
                evictions += usize::from(n_added >= case.size);
                n_added += 1;
                continue;
            }
            let e = per_op.entry(op.name()).or_default();
            e.0 += 1;
            e.1 += usize::from(cpp.get(q).is_some_and(|a| a != "-" && a != "0"));
            q += 1;
        }
        if rust != *cpp {
            failures.push(k);
        }
    }
    let ops: Vec<String> = per_op
        .iter()
        .map(|(op, (n, found))| format!("{op}={n} ({found} non-empty)"))
        .collect();
    eprintln!(
        "cache_differential: {} cases, {adds} adds ({evictions} evicting), queries: {}; {:.1?}",
        cases.len(),
        ops.join(", "),
        started.elapsed()
    );
    if let Some(&k) = failures.iter().min_by_key(|&&k| cases[k].ops.len()) {
        let case = &cases[k];
        let small = shrink(&oracle, case);
        let small_cpp = cpp_answers(&oracle, &[&small]).remove(0);
        let small_rust = rust_answers(&small);
        let p = write_target("cache-differential-min.txt", &small.script());
        panic!(
            "cache_differential (seed {seed:#x}): {} of {} cases differ from C++ \
             message_filters::Cache: {:?}\n  replay: STAMP_SYNC_SEED={seed:#x} \
             STAMP_SYNC_CASE={} cargo test -p stamp_sync --test it cache_differential\n\
             SHRUNK to size {}, {} operations ({}; oracle script, `!` = different answer):\n{}",
            failures.len(),
            cases.len(),
            failures
                .iter()
                .map(|&k| indices[k])
                .take(30)
                .collect::<Vec<_>>(),
            indices[k],
            small.size,
            small.ops.len(),
            p.display(),
            side_by_side(&small, &small_cpp, &small_rust)
        );
    }
}
