//! The follower policy: its contract as unit tests, and random traces
//! against an independent model written from the contract's words (plain
//! lists, whole scans, no positions shared with the policy).

use std::collections::BTreeMap;

use stamp_sync::policy::{FollowConfig, Follower, Mode};
use stamp_sync::trace::{Trace, TraceMsg, replay_follow};
use stamp_sync::{DropReason, Duration, Stamp};
use stamp_sync_testkit::tracegen::Rng;

/// A set as trace indices: the driver, then per follower its members.
type Set = (usize, Vec<Vec<usize>>);

#[derive(Debug, Default, PartialEq)]
struct Run {
    sets: Vec<Set>,
    drops: BTreeMap<usize, DropReason>,
    queued: Vec<usize>,
}

fn run_policy(channels: usize, config: &FollowConfig, trace: &Trace) -> Run {
    let r = replay_follow(trace, channels, config).unwrap();
    // Every message: in sets (emitted), dropped once, or queued.
    for (c, s) in r.stats.channels.iter().enumerate() {
        assert_eq!(
            s.received,
            s.emitted + s.dropped_total() + r.queued[c] as u64,
            "channel {c}: {:?}",
            r.stats
        );
    }
    let mut drops = BTreeMap::new();
    for d in &r.drops {
        assert!(
            drops.insert(d.message.index, d.reason).is_none(),
            "dropped twice"
        );
    }
    let sets = r
        .sets
        .iter()
        .map(|s| {
            let parts = s
                .followers
                .iter()
                .map(|(_, p)| p.messages().iter().map(|m| m.index).collect())
                .collect();
            (s.driver.index, parts)
        })
        .collect();
    Run {
        sets,
        drops,
        queued: r.queued,
    }
}

/// The contract, step by step, on lists.
fn run_model(channels: usize, config: &FollowConfig, trace: &Trace) -> Run {
    let q = config.queue_size;
    let mode = |c: usize| config.follow.iter().find(|(f, _)| *f == c).map(|(_, m)| *m);
    let followers: Vec<usize> = (0..channels).filter(|&c| c != config.driver).collect();
    let mut last: Vec<Option<Stamp>> = vec![None; channels];
    let mut newest: Option<Stamp> = None;
    let mut t_prev: Option<Stamp> = None;
    let mut drivers: Vec<TraceMsg> = Vec::new();
    // Per channel: (message, used by a set).
    let mut held: Vec<Vec<(TraceMsg, bool)>> = vec![Vec::new(); channels];
    let mut run = Run::default();
    for &m in &trace.messages {
        let c = m.channel;
        if last[c].is_some_and(|l| m.stamp <= l) {
            run.drops.insert(m.index, DropReason::OutOfOrder);
            continue;
        }
        last[c] = Some(m.stamp);
        newest = Some(newest.map_or(m.stamp, |n| n.max(m.stamp)));
        if c == config.driver {
            drivers.push(m);
            if drivers.len() > q {
                let old = drivers.remove(0);
                run.drops.insert(old.index, DropReason::QueueOverflow);
            }
        } else if mode(c) == Some(Mode::Ranged) && t_prev.is_some_and(|p| m.stamp <= p) {
            run.drops.insert(m.index, DropReason::Late);
        } else {
            held[c].push((m, false));
            if held[c].len() > q {
                let (old, used) = held[c].remove(0);
                if !used {
                    run.drops.insert(old.index, DropReason::QueueOverflow);
                }
            }
        }
        while let Some(head) = drivers.first().copied() {
            let t = head.stamp;
            let passed = followers.iter().all(|&f| last[f].is_some_and(|l| l > t));
            let waited = config
                .max_wait
                .zip(newest)
                .is_some_and(|(w, n)| n >= t.saturating_add(w));
            if !passed && !waited {
                break;
            }
            drivers.remove(0);
            let mut parts = Vec::new();
            for &f in &followers {
                let le: Vec<usize> = (0..held[f].len())
                    .filter(|&i| held[f][i].0.stamp <= t)
                    .collect();
                let gt = (0..held[f].len()).find(|&i| held[f][i].0.stamp > t);
                let lo = le.last().copied();
                let picks: Vec<usize> = match mode(f).unwrap() {
                    Mode::Ranged => le.clone(),
                    Mode::Before => lo.into_iter().collect(),
                    Mode::Closest => match (lo, gt) {
                        (Some(l), Some(h)) => {
                            let dl = t - held[f][l].0.stamp;
                            let dh = held[f][h].0.stamp - t;
                            vec![if dh < dl { h } else { l }]
                        }
                        (l, h) => l.or(h).into_iter().collect(),
                    },
                    Mode::Bracket => lo.into_iter().chain(gt).collect(),
                };
                parts.push(picks.iter().map(|&i| held[f][i].0.index).collect());
                if mode(f) == Some(Mode::Ranged) {
                    held[f].retain(|(m, _)| m.stamp > t);
                } else {
                    for &i in &picks {
                        held[f][i].1 = true;
                    }
                    // Older than the newest <= t: gone.
                    let keep_from = lo.unwrap_or(0);
                    for (m, used) in held[f].drain(..keep_from) {
                        if !used {
                            run.drops.insert(m.index, DropReason::NotChosen);
                        }
                    }
                }
            }
            t_prev = Some(t);
            run.sets.push((head.index, parts));
        }
    }
    run.queued = (0..channels)
        .map(|c| {
            if c == config.driver {
                drivers.len()
            } else {
                held[c].len()
            }
        })
        .collect();
    run
}

/// A driver at its own rate, followers at theirs (faster or slower), with
/// arrival delays, occasional duplicates and steps back, sometimes a gap.
fn gen_case(seed: u64) -> (usize, FollowConfig, Trace) {
    let mut rng = Rng::new(seed);
    let n = rng.urange(2, 5);
    let driver = rng.urange(0, n - 1);
    let mut config = FollowConfig::new(driver).queue_size(rng.urange(1, 8));
    if rng.chance(0.5) {
        config = config.max_wait(Duration::from_nanos(rng.range(0, 80)));
    }
    let mut msgs = Vec::new();
    for c in 0..n {
        if c != driver {
            config = config.follow(c, rng.pick(&Mode::ALL));
        }
        let period = rng.range(2, 40);
        let delay = rng.range(0, 40);
        let gap = rng.chance(0.2).then(|| {
            let a = rng.range(0, 300);
            (a, a + rng.range(20, 200))
        });
        let mut t = rng.range(0, 20);
        while t < 500 {
            if !gap.is_some_and(|(a, b)| (a..b).contains(&t)) {
                let mut stamp = t;
                if rng.chance(0.03) {
                    stamp -= rng.range(0, 2 * period);
                }
                msgs.push((t + delay + rng.range(0, 5), c, stamp));
            }
            t += period + rng.range(0, period / 3 + 1);
        }
    }
    msgs.sort();
    let trace = Trace::from_pairs(msgs.iter().map(|&(_, c, s)| (c, Stamp::from_nanos(s))));
    (n, config, trace)
}

#[test]
fn the_policy_matches_the_model_on_random_traces() {
    let (mut sets, mut drops) = (0, BTreeMap::<DropReason, usize>::new());
    for seed in 0..1_500u64 {
        let (n, config, trace) = gen_case(seed);
        let got = run_policy(n, &config, &trace);
        let want = run_model(n, &config, &trace);
        assert_eq!(got, want, "seed {seed}: {config:?}");
        sets += got.sets.len();
        for r in got.drops.values() {
            *drops.entry(*r).or_default() += 1;
        }
    }
    // The traces reach every rule.
    assert!(sets > 20_000, "{sets}");
    for r in [
        DropReason::OutOfOrder,
        DropReason::Late,
        DropReason::QueueOverflow,
        DropReason::NotChosen,
    ] {
        assert!(drops.get(&r).copied().unwrap_or(0) > 100, "{r}: {drops:?}");
    }
}

fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

fn trace(pairs: &[(usize, i64)]) -> Trace {
    Trace::from_pairs(pairs.iter().map(|&(c, t)| (c, ms(t))))
}

#[test]
fn each_mode_on_one_timeline() {
    // Frames (0) at 10 and 20; IMU (1) every 4 ms; odometry (2) at 8, 17, 26;
    // GPS (3) at 0 and 30; a pose (4) at 9, 12, 21, 29.
    let config = FollowConfig::new(0)
        .follow(1, Mode::Ranged)
        .follow(2, Mode::Before)
        .follow(3, Mode::Bracket)
        .follow(4, Mode::Closest);
    let pairs = [
        (3, 0),
        (1, 4),
        (1, 8),
        (2, 8),
        (4, 9),
        (0, 10),
        (4, 12),
        (1, 12),
        (1, 16),
        (2, 17),
        (0, 20),
        (1, 20),
        (4, 21),
        (1, 24),
        (2, 26),
        (4, 29),
        (3, 30),
    ];
    let r = replay_follow(&trace(&pairs), 5, &config).unwrap();
    assert_eq!(
        r.csv(),
        format!(
            "{},{};{},{},{};{},{}\n{},{};{};{},{},{};{},{}\n",
            ms(10).as_nanos(),
            ms(4).as_nanos(),
            ms(8).as_nanos(),
            ms(8).as_nanos(),
            ms(0).as_nanos(),
            ms(30).as_nanos(),
            ms(9).as_nanos(),
            ms(20).as_nanos(),
            ms(12).as_nanos(),
            ms(16).as_nanos(),
            ms(20).as_nanos(),
            ms(17).as_nanos(),
            ms(0).as_nanos(),
            ms(30).as_nanos(),
            ms(21).as_nanos(),
        )
    );
    // Typed access.
    let s = &r.sets[1];
    assert_eq!(s.stamp, ms(20));
    assert_eq!(s.ranged(1).unwrap().len(), 3);
    assert_eq!(s.one(2).map(|m| m.stamp), Some(ms(17)));
    let (lo, hi) = s.bracket(3).unwrap();
    assert_eq!(
        (lo.map(|m| m.stamp), hi.map(|m| m.stamp)),
        (Some(ms(0)), Some(ms(30)))
    );
    assert!(matches!(s.follower(4), Some(Follower::Closest(Some(m))) if m.stamp == ms(21)));
    // Nothing dropped: odometry 8 and pose 9 left after the second set,
    // but the first used them. The newest <= 20 of each stays for the next
    // frame; the IMU sample at 24 waits for it.
    assert!(r.drops.is_empty(), "{:?}", r.drops);
    assert_eq!(r.queued, [0, 1, 2, 2, 3]);
    assert_eq!(r.appearances, [2, 5, 2, 4, 2]);
    assert_eq!(r.stats.channels[2].emitted, 1);
}

#[test]
fn max_wait_makes_a_set_final_with_a_side_missing() {
    // GPS never passes the frame: without max_wait nothing comes out.
    let config = FollowConfig::new(0).follow(1, Mode::Bracket);
    let pairs = [(1, 0), (0, 10), (0, 20), (0, 30)];
    assert!(
        replay_follow(&trace(&pairs), 2, &config)
            .unwrap()
            .sets
            .is_empty()
    );
    let r = replay_follow(
        &trace(&pairs),
        2,
        &config.clone().max_wait(Duration::from_millis(15)),
    )
    .unwrap();
    // 30 >= 10 + 15: the frame at 10 is final, (0, none).
    assert_eq!(
        r.csv(),
        format!("{},{};\n", ms(10).as_nanos(), ms(0).as_nanos())
    );
    assert_eq!(r.queued, [2, 1]);
}

#[test]
fn bad_configs_are_refused() {
    let e = |c: FollowConfig, n| c.build(n).unwrap_err().to_string();
    assert_eq!(
        e(FollowConfig::new(0), 2),
        "channel 1 is neither the driver nor a follower: give it a mode (ranged, before, closest or bracket)"
    );
    assert_eq!(
        e(
            FollowConfig::new(0)
                .follow(0, Mode::Before)
                .follow(1, Mode::Before),
            2
        ),
        "channel 0 is the driver: it cannot follow too"
    );
    assert!(
        e(FollowConfig::new(3).follow(1, Mode::Before), 2).contains("channel 3 does not exist")
    );
    assert!(
        e(
            FollowConfig::new(0).follow(1, Mode::Before).queue_size(0),
            2
        )
        .contains("queue size")
    );
    assert_eq!(
        "sideways".parse::<Mode>().unwrap_err().to_string(),
        "unknown follower mode \"sideways\" (known: ranged, before, closest, bracket)"
    );
    assert_eq!("bracket".parse::<Mode>().unwrap(), Mode::Bracket);
}

#[test]
fn waiting_on_names_the_followers_behind_the_head_frame() {
    use stamp_sync::driver::follow::FollowSynchronizer;
    let config = FollowConfig::new(1)
        .follow(0, Mode::Ranged)
        .follow(2, Mode::Before);
    let mut sync = FollowSynchronizer::<Stamp>::new(3, &config).unwrap();
    assert_eq!(sync.policy().waiting_on(), None);
    let mut push = |ch, t| sync.push(ch, ms(t), ms(t)).count();
    assert_eq!(push(0, 5), 0);
    assert_eq!(push(1, 10), 0);
    assert_eq!(push(2, 10), 0);
    // Neither has a stamp after 10 (odometry's 10 is not after it).
    assert_eq!(sync.policy().waiting_on(), Some((ms(10), vec![0, 2])));
    sync.push(0, ms(12), ms(12)).count();
    assert_eq!(sync.policy().waiting_on(), Some((ms(10), vec![2])));
    let sets: Vec<_> = sync
        .push(2, ms(11), ms(11))
        .filter_map(stamp_sync::Event::into_set)
        .collect();
    assert_eq!(sync.policy().waiting_on(), None);
    let part = sets[0].follower(0).unwrap();
    assert_eq!((part.len(), part.is_empty()), (1, false));
    let part = sets[0].follower(2).unwrap();
    assert_eq!((part.len(), part.messages()), (1, vec![&ms(10)]));
    assert_eq!(Follower::<Stamp>::Bracket(None, None).len(), 0);
    assert!(Follower::<Stamp>::Ranged(vec![]).is_empty());
    assert_eq!(Follower::Bracket(Some(1), Some(2)).len(), 2);
    assert_eq!(Follower::Closest(Some(1)).len(), 1);
}
