//! The policy registry (`stamp_sync::policy::registry`): the policy and
//! setting names the CLI and the ROS nodes' parameters use, which policy
//! takes which setting, the round trip config → params → config, and
//! `AnyPolicy` behaving exactly as the policy it holds.

#![allow(clippy::unwrap_used)] // test code may panic

use std::sync::{Arc, Mutex};

use stamp_sync::dynamic::VecQueues;
use stamp_sync::policy::{AnyPolicy, Param, PolicyConfig, PolicyKind, PolicyParams};
use stamp_sync::{
    ApproximateEpsilonTime, ApproximateTime, ConfigError, Duration, DynSynchronizer, ExactTime,
    LatestTime, Policy, SlopTime, Stamp,
};

fn ms(t: i64) -> Duration {
    Duration::from_millis(t)
}

#[test]
fn setting_names_are_the_parameter_names() {
    let names: Vec<String> = Param::ALL.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        names,
        [
            "queue_size",
            "age_penalty",
            "max_interval",
            "lower_bound",
            "epsilon",
            "slop"
        ]
    );
    for p in Param::ALL {
        assert_eq!(p.name(), p.to_string());
    }
}

#[test]
fn policy_names_print_and_parse() {
    let names: Vec<String> = PolicyKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(names, ["exact", "approximate", "epsilon", "latest", "slop"]);
    for k in PolicyKind::ALL {
        assert_eq!(k.name().parse::<PolicyKind>(), Ok(k));
    }
    assert_eq!(
        "Exact".parse::<PolicyKind>(),
        Err(ConfigError::UnknownPolicy("Exact".into()))
    );
}

/// Per policy, the settings it takes and the ones it requires.
fn table(kind: PolicyKind) -> (&'static [Param], &'static [Param]) {
    use Param::*;
    match kind {
        PolicyKind::Exact => (&[QueueSize], &[]),
        PolicyKind::Approximate => (&[QueueSize, AgePenalty, MaxInterval, LowerBound], &[]),
        PolicyKind::Epsilon => (&[QueueSize, Epsilon], &[Epsilon]),
        PolicyKind::Latest => (&[], &[]),
        PolicyKind::Slop => (&[QueueSize, Slop], &[Slop]),
    }
}

/// Params with exactly setting `p` given.
fn only(p: Param) -> PolicyParams {
    let mut params = PolicyParams::default();
    match p {
        Param::QueueSize => params.queue_size = Some(4),
        Param::AgePenalty => params.age_penalty = Some(0.5),
        Param::MaxInterval => params.max_interval = Some(ms(30)),
        Param::LowerBound => params.lower_bounds = vec![(1, ms(5))],
        Param::Epsilon => params.epsilon = Some(ms(3)),
        Param::Slop => params.slop = Some(ms(40)),
        _ => unreachable!("a setting this test does not know"),
    }
    params
}

#[test]
fn params_say_which_settings_are_given() {
    for p in Param::ALL {
        assert!(!PolicyParams::default().has(p), "{p}");
        for q in Param::ALL {
            assert_eq!(only(p).has(q), p == q, "{p} given, asked for {q}");
        }
    }
}

#[test]
fn each_policy_takes_its_settings_and_refuses_the_others() {
    for kind in PolicyKind::ALL {
        let (takes, requires) = table(kind);
        for p in Param::ALL {
            assert_eq!(kind.accepts(p), takes.contains(&p), "{kind} accepts {p}");
            assert_eq!(
                kind.requires(p),
                requires.contains(&p),
                "{kind} requires {p}"
            );
            let mut params = only(p);
            // A required setting goes with it, so only `p` is judged.
            for &r in requires {
                if r != p {
                    params = merge(params, only(r));
                }
            }
            let got = PolicyConfig::from_params(kind, &params);
            if takes.contains(&p) {
                assert!(got.is_ok(), "{kind} with {p}: {got:?}");
            } else {
                assert_eq!(
                    got,
                    Err(ConfigError::NotForPolicy {
                        param: p.name(),
                        policy: kind.name()
                    })
                );
            }
        }
        for &r in requires {
            assert_eq!(
                PolicyConfig::from_params(kind, &PolicyParams::default()),
                Err(ConfigError::MissingParam {
                    param: r.name(),
                    policy: kind.name()
                })
            );
        }
    }
}

fn merge(a: PolicyParams, b: PolicyParams) -> PolicyParams {
    PolicyParams {
        queue_size: a.queue_size.or(b.queue_size),
        age_penalty: a.age_penalty.or(b.age_penalty),
        max_interval: a.max_interval.or(b.max_interval),
        lower_bounds: [a.lower_bounds, b.lower_bounds].concat(),
        epsilon: a.epsilon.or(b.epsilon),
        slop: a.slop.or(b.slop),
    }
}

/// One config of each policy, every setting away from its default.
fn configs() -> Vec<PolicyConfig> {
    vec![
        PolicyConfig::Exact { queue_size: 3 },
        PolicyConfig::Approximate {
            queue_size: 4,
            age_penalty: 0.5,
            max_interval: Some(ms(30)),
            lower_bounds: vec![(1, ms(5))],
        },
        PolicyConfig::Epsilon {
            queue_size: 5,
            epsilon: ms(3),
        },
        PolicyConfig::Latest,
        PolicyConfig::Slop {
            queue_size: 6,
            slop: ms(40),
        },
    ]
}

#[test]
fn a_config_round_trips_through_its_params_and_its_policy() {
    for (config, kind) in configs().into_iter().zip(PolicyKind::ALL) {
        assert_eq!(config.kind(), kind);
        assert_eq!(
            PolicyConfig::from_params(kind, &config.params()).as_ref(),
            Ok(&config)
        );
        let policy = config.build().unwrap();
        assert_eq!(policy.kind(), kind);
        assert_eq!(policy.config(), config);
    }
}

#[test]
fn defaults_fill_what_params_leave_out() {
    let approximate = PolicyConfig::from_params(PolicyKind::Approximate, &PolicyParams::default());
    assert_eq!(approximate, Ok(PolicyConfig::approximate(10)));
    assert_eq!(
        PolicyConfig::approximate(7),
        PolicyConfig::Approximate {
            queue_size: 7,
            age_penalty: 0.1,
            max_interval: None,
            lower_bounds: Vec::new(),
        }
    );
    assert_eq!(
        PolicyConfig::from_params(PolicyKind::Exact, &PolicyParams::default()),
        Ok(PolicyConfig::Exact { queue_size: 10 })
    );
}

#[test]
fn queue_size_reads_and_changes_only_the_queue_size() {
    let want = [Some(3), Some(4), Some(5), None, Some(6)];
    for (config, q) in configs().into_iter().zip(want) {
        assert_eq!(config.queue_size(), q, "{config}");
        let bigger = config.with_queue_size(20);
        assert_eq!(bigger.queue_size(), q.map(|_| 20));
        assert_eq!(bigger.with_queue_size(q.unwrap_or(0)), config);
    }
}

#[test]
fn configs_print_for_people() {
    let text: Vec<String> = configs().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        text,
        [
            "ExactTime, queue size 3",
            "ApproximateTime, queue size 4, age penalty 0.5, max interval 30ms, \
             lower bound 5ms on channel 1",
            "ApproximateEpsilonTime, queue size 5, epsilon 3ms",
            "LatestTime",
            "SlopTime (Python ApproximateTimeSynchronizer), queue size 6, slop 40ms",
        ]
    );
}

type Store = VecQueues<Stamp>;

/// Runs a trace (channel, stamp in ms; received 1 ms later) and reports
/// every event, `queued` and the search state after each message, then
/// the reset's events.
fn run<P: Policy<Store>>(policy: P, trace: &[(usize, i64)]) -> Vec<String> {
    let reset: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = reset.clone();
    let mut sync = DynSynchronizer::builder(3, policy)
        .on_drop(move |d| {
            sink.lock()
                .unwrap()
                .push(format!("{:?}", stamp_sync::Event::<(), _>::Drop(d)))
        })
        .build()
        .unwrap();
    let mut log = Vec::new();
    let at = |t: i64| Stamp::from_nanos(t * 1_000_000);
    for &(ch, t) in trace {
        let events: Vec<String> = sync
            .push_stamped(ch, at(t), at(t), at(t + 1))
            .unwrap()
            .map(|e| format!("{e:?}"))
            .collect();
        let queued: Vec<usize> = (0..3).map(|c| sync.queued(c)).collect();
        let search = sync.diagnostics().search;
        log.push(format!("{events:?} queued {queued:?} search {search:?}"));
    }
    reset.lock().unwrap().clear();
    sync.reset();
    log.push(format!("reset {:?}", reset.lock().unwrap()));
    log
}

/// The same policy, directly and inside `AnyPolicy`: the same events,
/// queues, search state and sizes.
fn same<P: Policy<Store> + Clone>(name: &str, policy: P, any: AnyPolicy, trace: &[(usize, i64)]) {
    let (mut p, mut a) = (policy.clone(), any.clone());
    Policy::<Store>::bind(&mut p, 3).unwrap();
    Policy::<Store>::bind(&mut a, 3).unwrap();
    assert_eq!(
        Policy::<Store>::capacity(&a),
        Policy::<Store>::capacity(&p),
        "{name}"
    );
    assert_eq!(
        Policy::<Store>::max_events_per_add(&a),
        Policy::<Store>::max_events_per_add(&p),
        "{name}"
    );
    let direct = run(policy, trace);
    assert!(direct.iter().any(|l| l.contains("Set")), "{name}: no set");
    assert_eq!(run(any, trace), direct, "{name}");
}

#[test]
fn any_policy_behaves_as_the_policy_it_holds() {
    // Three channels at about 10 Hz with jitter, one repeat, some gaps.
    let mut trace = Vec::new();
    for k in 0..30i64 {
        for ch in 0..3usize {
            if (k + ch as i64) % 7 != 0 {
                trace.push((ch, 100 * k + 7 * ch as i64 * (k % 3)));
            }
        }
    }
    trace.push((0, 2_900));
    let exact = ExactTime::new(4).unwrap();
    same("exact", exact.clone(), AnyPolicy::Exact(exact), &trace);
    let approx = ApproximateTime::builder()
        .queue_size(5)
        .max_interval(ms(40))
        .build()
        .unwrap();
    same(
        "approximate",
        approx.clone(),
        AnyPolicy::Approximate(approx),
        &trace,
    );
    let eps = ApproximateEpsilonTime::new(5, ms(10)).unwrap();
    same("epsilon", eps.clone(), AnyPolicy::Epsilon(eps), &trace);
    same(
        "latest",
        LatestTime::new(),
        AnyPolicy::Latest(LatestTime::new()),
        &trace,
    );
    let slop = SlopTime::new(5, ms(20)).unwrap();
    same("slop", slop.clone(), AnyPolicy::Slop(slop), &trace);
}

#[test]
fn any_policy_checks_its_channels_as_the_policy_it_holds() {
    let mut any = AnyPolicy::Exact(ExactTime::new(3).unwrap());
    assert_eq!(
        Policy::<Store>::bind(&mut any, 1),
        Err(ConfigError::TooFewChannels(1))
    );
}

#[test]
fn apply_changes_each_policy_s_live_settings() {
    let changed = [
        PolicyConfig::Exact { queue_size: 3 },
        PolicyConfig::Approximate {
            queue_size: 4,
            age_penalty: 2.0,
            max_interval: Some(ms(15)),
            lower_bounds: vec![(0, ms(2))],
        },
        PolicyConfig::Epsilon {
            queue_size: 5,
            epsilon: ms(8),
        },
        PolicyConfig::Latest,
        PolicyConfig::Slop {
            queue_size: 6,
            slop: ms(90),
        },
    ];
    for (config, want) in configs().into_iter().zip(changed) {
        let mut policy = config.build().unwrap();
        Policy::<Store>::bind(&mut policy, 3).unwrap();
        policy.apply(&want.params()).unwrap();
        assert_eq!(policy.config(), want, "{config}");
    }
}
