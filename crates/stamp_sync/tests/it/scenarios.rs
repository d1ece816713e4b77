//! The upstream message_filters test scenarios, as data, run through every
//! front end (bare policy, `Synchronizer`, `SharedSynchronizer`).
//! Source tables: upstream `test_approximate_time_policy.cpp`,
//! `test_exact_time_policy.cpp`, `time_synchronizer_unittest.cpp`,
//! `test_fuzz.cpp`, plus derived cases D1–D7 confirmed against C++.

use stamp_sync_testkit::frontends as support;

use stamp_sync::trace::{PolicyConfig, Trace};
use stamp_sync::{DropReason, Duration, DynSynchronizer, ExactTime, Stamp};
use support::{all_front_ends, trace_of};

const SEC: f64 = 1e9;

struct Case {
    name: &'static str,
    n: usize,
    config: PolicyConfig,
    input: &'static [(f64, usize)],
    expected: &'static [&'static [f64]],
}

fn approx(q: usize) -> PolicyConfig {
    PolicyConfig::approximate(q)
}

fn with(q: usize, age: f64, max: Option<f64>, bounds: &[(usize, f64)]) -> PolicyConfig {
    PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
        queue_size: q,
        age_penalty: age,
        max_interval: max.map(|s| Duration::from_nanos((s * SEC) as i64)),
        lower_bounds: bounds
            .iter()
            .map(|&(c, s)| (c, Duration::from_nanos((s * SEC) as i64)))
            .collect(),
        deadline: None,
    })
}

const A2_IN: &[(f64, usize)] = &[(0., 0), (1., 1), (3., 0), (4., 1), (6., 0), (7., 1)];
const A5_IN: &[(f64, usize)] = &[
    (0., 0),
    (1., 1),
    (3., 1),
    (4., 0),
    (7., 1),
    (8., 0),
    (10., 0),
    (11., 1),
    (13., 0),
    (14., 1),
];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "A1 ExactMatch",
            n: 2,
            config: approx(10),
            input: &[(0., 0), (0., 1), (3., 0), (3., 1), (6., 0), (6., 1)],
            expected: &[&[0., 0.], &[3., 3.], &[6., 6.]],
        },
        Case {
            name: "A2 PerfectMatch",
            n: 2,
            config: approx(10),
            input: A2_IN,
            expected: &[&[0., 1.], &[3., 4.]],
        },
        Case {
            name: "A3 ImperfectMatch",
            n: 2,
            config: approx(10),
            input: &[
                (0., 0),
                (1., 1),
                (2., 0),
                (3., 0),
                (5., 1),
                (6., 0),
                (7., 1),
            ],
            expected: &[&[0., 1.], &[6., 5.]],
        },
        Case {
            name: "A4 Acceleration",
            n: 2,
            config: approx(10),
            input: &[(0., 0), (7., 1), (12., 0), (15., 1), (17., 0), (18., 1)],
            expected: &[&[12., 7.], &[17., 18.]],
        },
        Case {
            name: "A5a DroppedMessages q1",
            n: 2,
            config: approx(1),
            input: A5_IN,
            expected: &[&[4., 3.], &[10., 11.]],
        },
        Case {
            name: "A5b DroppedMessages q2",
            n: 2,
            config: approx(2),
            input: A5_IN,
            expected: &[&[0., 1.], &[4., 3.], &[8., 7.], &[10., 11.]],
        },
        Case {
            name: "A6 LongQueue",
            n: 2,
            config: approx(5),
            input: &[
                (0., 0),
                (1., 0),
                (2., 0),
                (3., 0),
                (4., 0),
                (5., 0),
                (6., 0),
                (7., 0),
                (8., 0),
                (3., 1),
                (9., 0),
                (10., 0),
                (11., 0),
                (12., 0),
                (10., 1),
                (13., 0),
            ],
            expected: &[&[10., 10.]],
        },
        Case {
            name: "A7 DoublePublish",
            n: 2,
            config: approx(10),
            input: &[(0., 0), (1., 1), (3., 1), (3., 0)],
            expected: &[&[0., 1.], &[3., 3.]],
        },
        Case {
            name: "A8 FourTopics",
            n: 4,
            config: approx(10),
            input: &[
                (0., 0),
                (1., 1),
                (2., 2),
                (3., 3),
                (5., 0),
                (5., 3),
                (6., 1),
                (6., 2),
                (8., 0),
                (9., 1),
                (10., 2),
                (11., 3),
                (10., 0),
                (13., 0),
                (14., 1),
            ],
            expected: &[&[0., 1., 2., 3.], &[5., 6., 6., 5.], &[10., 9., 10., 11.]],
        },
        Case {
            name: "A9 EarlyPublish",
            n: 4,
            config: approx(10),
            input: &[(0., 0), (1., 1), (2., 2), (3., 3), (7., 0)],
            expected: &[&[0., 1., 2., 3.]],
        },
        Case {
            name: "A10a RateBound 1.5s",
            n: 2,
            config: with(10, 0.1, None, &[(0, 1.5)]),
            input: A2_IN,
            expected: &[&[0., 1.], &[3., 4.]],
        },
        Case {
            name: "A10b RateBound 2s",
            n: 2,
            config: with(10, 0.1, None, &[(0, 2.0)]),
            input: A2_IN,
            expected: &[&[0., 1.], &[3., 4.], &[6., 7.]],
        },
        Case {
            name: "A11a RateBoundAll none",
            n: 2,
            config: approx(10),
            input: A2_IN,
            expected: &[&[0., 1.], &[3., 4.]],
        },
        Case {
            name: "A11b RateBoundAll 2s",
            n: 2,
            config: with(10, 0.1, None, &[(0, 2.0), (1, 2.0)]),
            input: A2_IN,
            expected: &[&[0., 1.], &[3., 4.], &[6., 7.]],
        },
        Case {
            name: "D1 out of order on ch0",
            n: 2,
            config: approx(10),
            input: &[(0., 0), (2., 0), (1., 0), (1., 1), (3., 1)],
            expected: &[&[0., 1.]],
        },
        Case {
            name: "D2 backwards time",
            n: 2,
            config: approx(10),
            input: &[
                (10., 0),
                (10., 1),
                (11., 0),
                (11., 1),
                (0., 0),
                (0., 1),
                (1., 0),
                (1., 1),
            ],
            expected: &[&[10., 10.], &[11., 11.], &[0., 0.], &[1., 1.]],
        },
        Case {
            name: "D3 exact ties publish at once",
            n: 3,
            config: approx(10),
            input: &[(5., 0), (5., 1), (5., 2), (6., 0), (6., 1), (6., 2)],
            expected: &[&[5., 5., 5.], &[6., 6., 6.]],
        },
        Case {
            name: "D4 one message each",
            n: 2,
            config: approx(10),
            input: &[(0., 0), (1., 1)],
            expected: &[],
        },
        Case {
            name: "D5 max interval",
            n: 2,
            config: with(10, 0.1, Some(0.5), &[]),
            input: &[(0., 0), (1., 1), (2., 0), (2.2, 1), (5., 0)],
            expected: &[&[2., 2.2]],
        },
        Case {
            name: "D6 age penalty 0",
            n: 2,
            config: with(10, 0.0, None, &[]),
            input: A2_IN,
            expected: &[&[0., 1.], &[3., 4.]],
        },
        Case {
            name: "D7 overflow drops the offending channel",
            n: 2,
            config: approx(3),
            input: &[
                (0., 0),
                (1., 0),
                (2., 0),
                (3., 0),
                (4., 0),
                (3.9, 1),
                (10., 0),
            ],
            expected: &[&[4., 3.9]],
        },
    ]
}

#[test]
fn upstream_approximate_scenarios() {
    let cases = cases();
    for c in &cases {
        let trace = trace_of(SEC, c.input);
        let got = all_front_ends(&trace, c.n, &c.config);
        let want: Vec<Vec<i64>> = c
            .expected
            .iter()
            .map(|s| s.iter().map(|t| (t * SEC).round() as i64).collect())
            .collect();
        assert_eq!(got, want, "{}", c.name);
    }
    assert_eq!(cases.len(), 21);
}

/// Feeds `(t, ch)` steps (t in units of 0.1 s) and returns (sets, drops) after each.
fn exact_steps(n: usize, q: usize, input: &[(f64, usize)]) -> Vec<(usize, usize)> {
    let mut sync = DynSynchronizer::new(n, ExactTime::new(q).unwrap()).unwrap();
    let (mut sets, mut drops) = (0, 0);
    let mut after = Vec::new();
    for &(t, ch) in input {
        for e in sync
            .push(ch, Stamp::from_nanos((t * 1e8).round() as i64))
            .unwrap()
        {
            match e {
                stamp_sync::Event::Set(_) => sets += 1,
                stamp_sync::Event::Drop(_) => drops += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        after.push((sets, drops));
    }
    after
}

#[test]
fn x1_multiple_times() {
    let steps = exact_steps(3, 2, &[(0., 0), (1., 1), (1., 0), (1., 2)]);
    let sets: Vec<usize> = steps.iter().map(|s| s.0).collect();
    assert_eq!(sets, [0, 0, 0, 1]);
    let trace = trace_of(1e8, &[(0., 0), (1., 1), (1., 0), (1., 2)]);
    let rows = all_front_ends(
        &trace,
        3,
        &PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 2 }),
    );
    assert_eq!(rows, vec![vec![100_000_000; 3]]);
}

#[test]
fn x2_queue_size() {
    let steps = exact_steps(3, 1, &[(0., 0), (0., 1), (1., 1), (0., 1), (0., 2)]);
    assert!(steps.iter().all(|s| s.0 == 0), "{steps:?}");
    // Every message but the t=0.1 one is evicted, and each eviction is reported.
    assert_eq!(steps.last().unwrap().1, 4);
}

#[test]
fn x3_drop_callback() {
    let steps = exact_steps(2, 1, &[(0., 0), (1., 0)]);
    assert_eq!(steps, [(0, 0), (0, 1)]);
}

#[test]
fn x5_immediate_2_to_9() {
    for n in 2..=9 {
        let input: Vec<(f64, usize)> = (0..n).map(|ch| (7., ch)).collect();
        let steps = exact_steps(n, 1, &input);
        for (k, s) in steps.iter().enumerate() {
            assert_eq!(s.0, usize::from(k == n - 1), "n={n} after add {k}");
        }
        let trace = trace_of(1e8, &input);
        assert_eq!(
            all_front_ends(
                &trace,
                n,
                &PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 1 })
            )
            .len(),
            1
        );
    }
}

#[test]
fn x8_fuzz_synchronizer() {
    // 5 s at 50 Hz: each pair completes on its second message, exactly once.
    let mut input = Vec::new();
    for k in 0..250 {
        input.push((k as f64 * 0.2, 0));
        input.push((k as f64 * 0.2, 1));
    }
    let steps = exact_steps(2, 1, &input);
    for (k, s) in steps.iter().enumerate() {
        assert_eq!(s.0, k.div_ceil(2), "after add {k}");
    }
    assert_eq!(steps.last().unwrap(), &(250, 0));
}

#[test]
fn exact_replaces_same_stamp_and_drops_older_than_last_set() {
    // ch0 x@0, ch1 y@1, ch0 y@1 -> (1,1); then ch1 x@0 is older than the last set.
    let trace = trace_of(SEC, &[(0., 0), (1., 1), (1., 0), (0., 1)]);
    let r = stamp_sync::trace::replay(
        &trace,
        2,
        &PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
    )
    .unwrap();
    assert_eq!(
        support::rows_of(&r.sets),
        vec![vec![1_000_000_000, 1_000_000_000]]
    );
    assert_eq!(r.drops.len(), 1);
    assert_eq!(r.drops[0].reason, DropReason::OlderThanLastSet);
    assert_eq!(r.queued, [0, 1]);
    // A duplicate stamp on one channel replaces the first message.
    let trace = trace_of(SEC, &[(5., 0), (5., 0), (5., 1)]);
    let r = stamp_sync::trace::replay(
        &trace,
        2,
        &PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 10 }),
    )
    .unwrap();
    assert_eq!(r.drops.len(), 1);
    assert_eq!(r.drops[0].reason, DropReason::Replaced);
    assert_eq!(r.drops[0].message.index, 0);
    assert_eq!(r.sets[0][0].index, 1);
}

#[test]
fn every_front_end_agrees_on_an_empty_trace() {
    let t = Trace::default();
    assert!(all_front_ends(&t, 2, &approx(3)).is_empty());
}
