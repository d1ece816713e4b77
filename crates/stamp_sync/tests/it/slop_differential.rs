//! Differential test: `stamp_sync::SlopTime` against Python message_filters'
//! `ApproximateTimeSynchronizer` (ROS 1 1.15.15, Debian's
//! python3-message-filters, driven by `oracle/slop_oracle.py`).
//!
//! Every run generates fresh random traces: 2..5 channels, queue sizes
//! 1..8 (sometimes 20), slops from 0 to twice a period; multi-rate streams
//! with jitter and latency, shared stamps, repeated stamps on a channel
//! (replacement), stamps going back, and tiny traces on a nanosecond grid
//! (many equal distances, so the tie order matters); in some cases one
//! channel is headerless (`allow_headerless`, stamped with the arrival
//! clock). Per case the sets, their members and the arrival that emitted
//! each must be identical.
//!
//! Environment: `STAMP_SYNC_SEED` (printed every run), `STAMP_SYNC_CASES`
//! (default 400), `STAMP_SYNC_CASE` (one case), `STAMP_SYNC_REQUIRE_ORACLE=1`
//! (a missing runner fails). A mismatch prints the seed and case, shrinks
//! it (`target/slop-differential-min.txt`) and fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::oracle as filter_oracle;
use stamp_sync_testkit::tracegen;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use filter_oracle::{FILTERS, case_indices, root, run_seed, write_target};
use stamp_sync::{DropReason, Duration, DynSynchronizer, Event, SlopTime, Stamp};
use tracegen::{Rng, case_seed};

const DEFAULT_CASES: usize = 400;
const MS: i64 = 1_000_000;

#[derive(Copy, Clone, Debug)]
struct Msg {
    channel: usize,
    stamp: i64,
    received: i64,
}

#[derive(Clone, Debug)]
struct Case {
    kind: &'static str,
    channels: usize,
    queue: usize,
    slop: i64,
    headerless: Option<usize>,
    msgs: Vec<Msg>,
}

impl Case {
    fn script(&self) -> String {
        let mut s = format!("case {} {} {}", self.channels, self.queue, self.slop);
        if let Some(h) = self.headerless {
            let _ = write!(s, " headerless {h}");
        }
        s.push('\n');
        for m in &self.msgs {
            let _ = writeln!(s, "{},{},{}", m.channel, m.stamp, m.received);
        }
        s.push_str("run\n");
        s
    }

    /// The stamp channel `m` is matched on.
    fn used(&self, m: &Msg) -> i64 {
        if self.headerless == Some(m.channel) {
            m.received
        } else {
            m.stamp
        }
    }
}

fn gen_case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let channels = rng.pick(&[2, 2, 2, 3, 3, 4, 5]);
    let queue = rng.pick(&[1, 2, 3, 4, 5, 8, 8, 20]);
    let kind = rng.pick(&[
        "jitter",
        "jitter",
        "identical",
        "duplicates",
        "out-of-order",
        "tiny",
    ]);
    let base = rng.pick(&[1_000_000_000, 1_700_000_000_000_000_000]);
    let mut events: Vec<(i64, usize, i64)> = Vec::new(); // (arrival, channel, stamp)
    let slop = if kind == "tiny" {
        // A few stamps on a 1 ns grid: equal distances everywhere.
        let n = rng.urange(2, 40);
        for i in 0..n {
            let ch = rng.urange(0, channels - 1);
            events.push((i as i64, ch, base + rng.range(0, 8)));
        }
        rng.pick(&[0, 1, 2, 3, 4, 6])
    } else {
        let periods: Vec<i64> = (0..channels).map(|_| rng.range(10, 100) * MS).collect();
        let latency: Vec<i64> = (0..channels).map(|_| rng.range(0, 30) * MS).collect();
        let shared = rng.range(10, 60) * MS;
        let span = rng.range(200, 1500) * MS;
        let common_phase = kind == "identical" || rng.chance(0.5);
        let phase = rng.range(0, 10 * MS);
        for ch in 0..channels {
            let p = if kind == "identical" {
                shared
            } else {
                periods[ch]
            };
            let mut t = if common_phase { phase } else { rng.range(0, p) };
            while t < span {
                if !rng.chance(0.03) {
                    let jitter = if kind == "identical" {
                        0
                    } else {
                        rng.range(-2, 2) * MS
                    };
                    let mut stamp = t + jitter;
                    if kind == "out-of-order" && rng.chance(0.15) {
                        stamp -= rng.range(1, 3) * p;
                    }
                    let arrival = t + latency[ch] + rng.range(0, 5) * MS;
                    events.push((arrival, ch, base + stamp.max(0)));
                    if kind == "duplicates" && rng.chance(0.2) {
                        events.push((arrival + rng.range(0, 3) * MS, ch, base + stamp.max(0)));
                    }
                }
                t += p;
            }
        }
        let p = *periods.iter().min().unwrap();
        match rng.below(6) {
            0 => 0,
            1 => p / 10,
            2 => p / 2,
            3 => p,
            4 => 2 * p,
            _ => rng.range(1, 3 * MS),
        }
    };
    events.sort_by_key(|e| e.0);
    // Arrival clock: never goes back (rospy would clear its queues).
    let msgs: Vec<Msg> = events
        .iter()
        .map(|&(arrival, channel, stamp)| Msg {
            channel,
            stamp,
            received: base + arrival,
        })
        .collect();
    let headerless = if rng.chance(0.2) {
        Some(rng.urange(0, channels - 1))
    } else {
        None
    };
    Case {
        kind,
        channels,
        queue,
        slop,
        headerless,
        msgs,
    }
}

/// stamp_sync's answer in the runner's format, and drops by reason.
fn rust_answer(case: &Case) -> (Vec<String>, BTreeMap<&'static str, usize>) {
    let mut policy = SlopTime::new(case.queue, Duration::from_nanos(case.slop)).unwrap();
    if let Some(h) = case.headerless {
        policy = policy.headerless(h);
    }
    let mut sync = DynSynchronizer::new(case.channels, policy).unwrap();
    let mut lines = Vec::new();
    let mut drops = BTreeMap::new();
    for (k, m) in case.msgs.iter().enumerate() {
        let events = sync
            .push_stamped(
                m.channel,
                k,
                Stamp::from_nanos(m.stamp),
                Stamp::from_nanos(m.received),
            )
            .unwrap();
        for e in events {
            match e {
                Event::Set(ids) => {
                    let stamps: Vec<String> = ids
                        .iter()
                        .map(|&i| case.used(&case.msgs[i]).to_string())
                        .collect();
                    let ids: Vec<String> = ids.iter().map(usize::to_string).collect();
                    lines.push(format!("{k}:{};{}", stamps.join(","), ids.join(",")));
                }
                Event::Drop(d) => {
                    assert!(
                        matches!(d.reason, DropReason::Replaced | DropReason::QueueOverflow),
                        "unexpected drop {d:?}"
                    );
                    *drops.entry(d.reason.as_str()).or_default() += 1;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        for c in 0..case.channels {
            assert!(sync.queued(c) <= case.queue, "channel {c} over its queue");
        }
    }
    (lines, drops)
}

/// Runs the cases through one Python process.
fn python_answers(runner: &Path, cases: &[&Case]) -> Vec<Vec<String>> {
    let mut input = String::new();
    for c in cases {
        input += &c.script();
    }
    // Debian's ROS 1 Python: without the ROS 2 wheels `scripts/with-ros`
    // puts on PYTHONPATH (their rosgraph_msgs hides ROS 1's).
    let mut child = Command::new("/usr/bin/python3")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .arg(runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start /usr/bin/python3");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut answers = Vec::with_capacity(cases.len());
    let mut cur = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        assert!(!line.starts_with("error"), "slop runner: {line}");
        if line == "end" {
            answers.push(std::mem::take(&mut cur));
        } else {
            cur.push(line);
        }
    }
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "slop runner failed");
    assert_eq!(
        answers.len(),
        cases.len(),
        "slop runner answered too few cases"
    );
    answers
}

fn differs(runner: &Path, case: &Case) -> bool {
    python_answers(runner, &[case])[0] != rust_answer(case).0
}

fn without_channel(case: &Case, c: usize) -> Case {
    let msgs = case
        .msgs
        .iter()
        .filter(|m| m.channel != c)
        .map(|m| Msg {
            channel: m.channel - usize::from(m.channel > c),
            ..*m
        })
        .collect();
    let headerless = match case.headerless {
        Some(h) if h == c => None,
        Some(h) => Some(h - usize::from(h > c)),
        None => None,
    };
    Case {
        channels: case.channels - 1,
        headerless,
        msgs,
        ..case.clone()
    }
}

/// Fewer channels, messages, a smaller queue, no headerless channel, while
/// the answers differ.
fn shrink(runner: &Path, case: &Case) -> Case {
    let mut best = case.clone();
    loop {
        let mut cands: Vec<Case> = Vec::new();
        if best.channels > 2 {
            cands.extend((0..best.channels).map(|c| without_channel(&best, c)));
        }
        if best.headerless.is_some() {
            cands.push(Case {
                headerless: None,
                ..best.clone()
            });
        }
        if best.queue > 1 {
            cands.push(Case {
                queue: best.queue - 1,
                ..best.clone()
            });
        }
        let mut chunk = best.msgs.len().div_ceil(2);
        while chunk >= 1 {
            for start in (0..best.msgs.len()).step_by(chunk) {
                let mut c = best.clone();
                c.msgs.drain(start..(start + chunk).min(best.msgs.len()));
                cands.push(c);
            }
            chunk /= 2;
        }
        match cands.into_iter().find(|c| differs(runner, c)) {
            Some(c) => best = c,
            None => return best,
        }
    }
}

#[test]
fn slop_time_matches_python_approximate_time_synchronizer() {
    let started = Instant::now();
    let seed = run_seed();
    eprintln!("slop_differential: seed {seed:#x} (replay: STAMP_SYNC_SEED={seed:#x})");
    if FILTERS.or_skip("slop_differential").is_none() {
        return;
    }
    let runner = root().join("oracle/slop_oracle.py");
    let indices = case_indices(DEFAULT_CASES);
    let cases: Vec<Case> = indices
        .iter()
        .map(|&i| gen_case(case_seed(seed, i)))
        .collect();
    let refs: Vec<&Case> = cases.iter().collect();
    let python = python_answers(&runner, &refs);
    let mut per_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut drops: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut messages, mut sets, mut headerless) = (0, 0, 0);
    let mut failures = Vec::new();
    for (k, (case, py)) in cases.iter().zip(&python).enumerate() {
        let (rust, d) = rust_answer(case);
        for (r, n) in d {
            *drops.entry(r).or_default() += n;
        }
        messages += case.msgs.len();
        sets += py.len();
        headerless += usize::from(case.headerless.is_some());
        let e = per_kind.entry(case.kind).or_default();
        e.0 += 1;
        e.1 += usize::from(!py.is_empty());
        if rust != *py {
            failures.push(k);
        }
    }
    let kinds: Vec<String> = per_kind
        .iter()
        .map(|(k, (n, s))| format!("{k}={n}/{s}"))
        .collect();
    let drops: Vec<String> = drops.iter().map(|(r, n)| format!("{r}={n}")).collect();
    eprintln!(
        "slop_differential: {} cases ({headerless} with a headerless channel), {messages} messages, \
         {sets} Python sets; kinds (cases/with sets): {}; stamp_sync drops: {}; {:.1?}",
        cases.len(),
        kinds.join(" "),
        drops.join(" "),
        started.elapsed()
    );
    if let Some(&k) = failures.iter().min_by_key(|&&k| cases[k].msgs.len()) {
        let small = shrink(&runner, &cases[k]);
        let py = python_answers(&runner, &[&small]).remove(0);
        let (rust, _) = rust_answer(&small);
        let p = write_target("slop-differential-min.txt", &small.script());
        panic!(
            "slop_differential (seed {seed:#x}): {} of {} cases differ from Python \
             ApproximateTimeSynchronizer: {:?}\n  replay: STAMP_SYNC_SEED={seed:#x} \
             STAMP_SYNC_CASE={} cargo test -p stamp_sync --test it slop_differential\n\
             SHRUNK ({}; lines `K:STAMPS;IDS`, K = arrival that emitted the set):\n{}\
             Python:\n  {}\nstamp_sync:\n  {}",
            failures.len(),
            cases.len(),
            failures
                .iter()
                .map(|&k| indices[k])
                .take(30)
                .collect::<Vec<_>>(),
            indices[k],
            p.display(),
            small.script(),
            py.join("\n  "),
            rust.join("\n  ")
        );
    }
}
