//! The policy registry (`stamp_sync::policy::registry`): the policy and
//! setting names the CLI and the ROS nodes' parameters use, which policy
//! takes which setting, the round trip config → params → config, and
//! `AnyPolicy` behaving exactly as the policy it holds.

#![allow(clippy::unwrap_used)] // test code may panic

use std::sync::{Arc, Mutex};

use stamp_sync::driver::dynamic::VecQueues;
use stamp_sync::policy::{
    AnyPolicy, PolicyConfig, PolicyKind, Settings, Unit, Value, all_settings,
};
use stamp_sync::{
    ApproximateEpsilonTime, ApproximateTime, ConfigError, Duration, DynSynchronizer, ExactTime,
    LatestTime, Policy, SlopTime, Stamp,
};

fn ms(t: i64) -> Duration {
    Duration::from_millis(t)
}

#[test]
fn setting_names_are_the_parameter_names_and_the_flags() {
    let names: Vec<&str> = all_settings().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "queue_size",
            "age_penalty",
            "max_interval",
            "lower_bounds",
            "deadline",
            "epsilon",
            "slop"
        ]
    );
    let flags: Vec<String> = all_settings().map(|s| s.flag()).collect();
    assert_eq!(flags[3], "--lower-bounds");
    // Every name is one setting, the same wherever it appears.
    for s in all_settings() {
        for k in PolicyKind::ALL {
            for t in k.settings().iter().filter(|t| t.name == s.name) {
                assert_eq!(t, s, "{k} {}", s.name);
            }
        }
    }
}

#[test]
fn policy_names_print_and_parse() {
    let names: Vec<String> = PolicyKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(names, ["exact", "approximate", "epsilon", "latest", "slop"]);
    assert_eq!(
        PolicyKind::NAMES,
        ["exact", "approximate", "epsilon", "latest", "slop"]
    );
    for &k in PolicyKind::ALL {
        assert_eq!(k.name().parse::<PolicyKind>(), Ok(k));
    }
    let e = "Exact".parse::<PolicyKind>();
    assert_eq!(e, Err(ConfigError::UnknownPolicy("Exact".into())));
    assert_eq!(
        e.unwrap_err().to_string(),
        "unknown policy \"Exact\" (known: exact, approximate, epsilon, latest, slop)"
    );
}

/// Per policy, the settings it takes and the ones it requires.
fn table(kind: PolicyKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        PolicyKind::Exact => (&["queue_size"], &[]),
        PolicyKind::Approximate => (
            &[
                "queue_size",
                "age_penalty",
                "max_interval",
                "lower_bounds",
                "deadline",
            ],
            &[],
        ),
        PolicyKind::Epsilon => (&["queue_size", "epsilon", "deadline"], &["epsilon"]),
        PolicyKind::Latest => (&[], &[]),
        PolicyKind::Slop => (&["queue_size", "slop"], &["slop"]),
    }
}

/// A valid value of setting `name`, away from its default.
fn value(name: &str) -> Value {
    match name {
        "queue_size" => Value::Count(4),
        "age_penalty" => Value::Number(0.5),
        "max_interval" => Value::Duration(ms(30)),
        "lower_bounds" => Value::PerChannel(vec![(1, ms(5))]),
        "epsilon" => Value::Duration(ms(3)),
        "slop" => Value::Duration(ms(40)),
        "deadline" => Value::Duration(ms(50)),
        other => unreachable!("a setting this test does not know: {other}"),
    }
}

#[test]
fn each_policy_takes_its_settings_and_refuses_the_others() {
    for &kind in PolicyKind::ALL {
        let (takes, requires) = table(kind);
        let names: Vec<&str> = kind.settings().iter().map(|s| s.name).collect();
        assert_eq!(names, takes, "{kind}");
        for s in all_settings() {
            assert_eq!(
                kind.accepts(s.name),
                takes.contains(&s.name),
                "{kind} {}",
                s.name
            );
            let required = s.default == stamp_sync::policy::settings::Default::Required;
            if takes.contains(&s.name) {
                assert_eq!(required, requires.contains(&s.name), "{kind} {}", s.name);
            }
            let mut given = Settings::new();
            given.set(s.name, value(s.name));
            // A required setting goes with it, so only `s` is judged.
            for &r in requires {
                if r != s.name {
                    let r = all_settings().find(|t| t.name == r).unwrap();
                    given.set(r.name, value(r.name));
                }
            }
            let got = PolicyConfig::from_settings(kind, &given);
            if takes.contains(&s.name) {
                assert_eq!(
                    got.as_ref().unwrap().get(s.name),
                    Some(value(s.name)),
                    "{kind} with {}",
                    s.name
                );
            } else {
                assert_eq!(
                    got,
                    Err(ConfigError::NotForPolicy {
                        param: s.name,
                        policy: kind.name()
                    })
                );
            }
        }
        for &r in requires {
            assert_eq!(
                PolicyConfig::from_settings(kind, &Settings::new()),
                Err(ConfigError::MissingParam {
                    param: all_settings().find(|t| t.name == r).unwrap().name,
                    policy: kind.name()
                })
            );
        }
    }
}

#[test]
fn values_are_checked_against_the_table() {
    let try_ = |name: &'static str, v: Value| {
        PolicyConfig::from_settings(PolicyKind::Approximate, &Settings::new().with(name, v))
    };
    let e = try_("queue_size", Value::Count(0)).unwrap_err();
    assert_eq!(e.to_string(), "queue_size must be in [1, inf), got 0");
    let e = try_("age_penalty", Value::Number(-0.5)).unwrap_err();
    assert_eq!(e.to_string(), "age_penalty must be in [0, inf), got -0.5");
    assert!(matches!(
        try_("age_penalty", Value::Number(f64::NAN)),
        Err(ConfigError::OutOfRange {
            setting: "age_penalty",
            ..
        })
    ));
    assert!(matches!(
        try_("max_interval", Value::Duration(Duration::from_nanos(-1))),
        Err(ConfigError::OutOfRange {
            setting: "max_interval",
            ..
        })
    ));
    assert_eq!(
        try_("lower_bounds", Value::PerChannel(vec![(2, ms(-1))]))
            .unwrap_err()
            .to_string(),
        "lower_bounds must be in [0, inf), got 2=-1ms"
    );
    assert_eq!(
        try_("max_interval", Value::Count(3)),
        Err(ConfigError::WrongUnit {
            setting: "max_interval",
            unit: Unit::Duration
        })
    );
    let e = PolicyConfig::from_settings(
        PolicyKind::Exact,
        &Settings::new().with("speed", Value::Count(1)),
    );
    assert_eq!(e, Err(ConfigError::UnknownSetting("speed".into())));
}

#[test]
fn help_shows_unit_default_and_range() {
    let by = |n: &str| all_settings().find(|s| s.name == n).unwrap();
    assert_eq!(by("queue_size").unit.value_name(), "Q");
    assert_eq!(by("lower_bounds").unit.value_name(), "CH=DUR");
    assert!(
        by("age_penalty")
            .describe()
            .ends_with("[default: 0.1; range [0, inf)]")
    );
    assert!(by("max_interval").describe().contains("[default: off;"));
    assert!(by("slop").describe().contains("[default: required;"));
    assert!(!by("queue_size").live);
    assert!(by("max_interval").live);
}

/// One config of each policy, every setting away from its default.
fn configs() -> Vec<PolicyConfig> {
    vec![
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 3 }),
        PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
            queue_size: 4,
            age_penalty: 0.5,
            max_interval: Some(ms(30)),
            lower_bounds: vec![(1, ms(5))],
            deadline: None,
        }),
        PolicyConfig::Epsilon(stamp_sync::policy::EpsilonConfig {
            queue_size: 5,
            epsilon: Some(ms(3)),
            deadline: None,
        }),
        PolicyConfig::Latest(stamp_sync::policy::LatestConfig),
        PolicyConfig::Slop(stamp_sync::policy::SlopConfig {
            queue_size: 6,
            slop: Some(ms(40)),
        }),
    ]
}

#[test]
fn a_config_round_trips_through_its_params_and_its_policy() {
    for (config, &kind) in configs().into_iter().zip(PolicyKind::ALL) {
        assert_eq!(config.kind(), kind);
        assert_eq!(
            PolicyConfig::from_settings(kind, &config.settings()).as_ref(),
            Ok(&config)
        );
        let policy = config.build().unwrap();
        assert_eq!(policy.kind(), kind);
        assert_eq!(policy.config(), config);
    }
}

#[test]
fn defaults_fill_what_params_leave_out() {
    let approximate = PolicyConfig::from_settings(PolicyKind::Approximate, &Settings::new());
    assert_eq!(approximate, Ok(PolicyConfig::approximate(10)));
    assert_eq!(
        PolicyConfig::approximate(7),
        PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
            queue_size: 7,
            age_penalty: 0.1,
            max_interval: None,
            lower_bounds: Vec::new(),
            deadline: None,
        })
    );
    assert_eq!(
        PolicyConfig::from_settings(PolicyKind::Exact, &Settings::new()),
        Ok(PolicyConfig::Exact(stamp_sync::policy::ExactConfig {
            queue_size: 10
        }))
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
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: 3 }),
        PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
            queue_size: 4,
            age_penalty: 2.0,
            max_interval: Some(ms(15)),
            lower_bounds: vec![(0, ms(2))],
            deadline: None,
        }),
        PolicyConfig::Epsilon(stamp_sync::policy::EpsilonConfig {
            queue_size: 5,
            epsilon: Some(ms(8)),
            deadline: None,
        }),
        PolicyConfig::Latest(stamp_sync::policy::LatestConfig),
        PolicyConfig::Slop(stamp_sync::policy::SlopConfig {
            queue_size: 6,
            slop: Some(ms(90)),
        }),
    ];
    for (config, want) in configs().into_iter().zip(changed) {
        let mut policy = config.build().unwrap();
        Policy::<Store>::bind(&mut policy, 3).unwrap();
        let mut live = want
            .clone()
            .with_queue_size(config.queue_size().unwrap_or(0));
        if let PolicyConfig::Exact(_) | PolicyConfig::Latest(_) = config {
            live = config.clone();
        }
        policy.apply(&live).unwrap();
        assert_eq!(policy.config(), live, "{config}");
        // The queue size is not live, nor is the policy itself.
        if config.queue_size().is_some() {
            let bigger = live.with_queue_size(99);
            assert!(matches!(
                policy.apply(&bigger),
                Err(ConfigError::NotLive {
                    param: "queue_size",
                    ..
                })
            ));
        }
        let other = if config.kind() == PolicyKind::Exact {
            PolicyConfig::approximate(3)
        } else {
            PolicyConfig::exact(3)
        };
        assert!(matches!(
            policy.apply(&other),
            Err(ConfigError::NotLive {
                param: "policy",
                ..
            })
        ));
        assert_eq!(policy.config(), live, "unchanged on error");
    }
}
