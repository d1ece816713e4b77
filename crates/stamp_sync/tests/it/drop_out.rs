//! Drop-out and deadline (not upstream): random traces with silent
//! windows against a model made of plain synchronizers, one per group of
//! channels; the accounting rule; rejoin; the deadline's latency bound.

use std::collections::{BTreeMap, VecDeque};

use stamp_sync::policy::{
    AnyPolicy, ApproximateConfig, EpsilonConfig, ExactConfig, LatestConfig, SlopConfig,
};
use stamp_sync::trace::{PolicyConfig, Trace, TraceMsg};
use stamp_sync::{
    ApproximateTime, DropOutClock, DropReason, Duration, DynSynchronizer, Event, ExactTime,
    Options, Stamp, Synchronizer,
};
use stamp_sync_testkit::tracegen::Rng;

/// One emitted set: per channel, the trace index of its member.
type Set = Vec<Option<usize>>;

/// What a run produced.
#[derive(Debug, Default, PartialEq)]
struct Run {
    sets: Vec<Set>,
    drops: BTreeMap<usize, DropReason>,
    /// `(out?, channel)` in order.
    changes: Vec<(bool, usize)>,
}

/// One input step: a message, or a `poll(now)`.
#[derive(Copy, Clone, Debug)]
enum Step {
    Msg { m: TraceMsg, received: Stamp },
    Poll(Stamp),
}

fn run_impl(n: usize, config: &PolicyConfig, opts: Options, steps: &[Step]) -> (Run, Vec<usize>) {
    let mut sync = DynSynchronizer::builder(n, config.build().unwrap())
        .options(opts)
        .build()
        .unwrap();
    let mut run = Run::default();
    let record = |run: &mut Run, e: Event<_, TraceMsg>| match e {
        Event::Set(s) => {
            let s: stamp_sync::driver::dynamic::DynSet<TraceMsg> = s;
            run.sets.push(s.iter().map(|m| Some(m.index)).collect())
        }
        Event::Partial(p) => run.sets.push(
            p.members
                .iter()
                .map(|m| m.as_ref().map(|m| m.message.index))
                .collect(),
        ),
        Event::Drop(d) => {
            assert!(
                run.drops.insert(d.message.index, d.reason).is_none(),
                "dropped twice"
            );
        }
        Event::Out(o) => run.changes.push((true, o.channel)),
        Event::Rejoin(o) => run.changes.push((false, o.channel)),
        _ => {}
    };
    for step in steps {
        match *step {
            Step::Msg { m, received } => {
                for e in sync.push_stamped(m.channel, m, m.stamp, received).unwrap() {
                    record(&mut run, e);
                }
            }
            Step::Poll(now) => {
                for e in sync.poll_events(now) {
                    record(&mut run, e);
                }
            }
        }
    }
    // The accounting rule, per channel, from the counters.
    let stats = sync.stats().clone();
    let queued: Vec<usize> = (0..n).map(|c| sync.queued(c)).collect();
    // LatestTime hands a message out in as many sets as use it.
    let clones = matches!(config, PolicyConfig::Latest(_));
    for (c, s) in stats.channels.iter().enumerate() {
        if !clones {
            assert_eq!(
                s.received,
                s.emitted + s.dropped_total() + queued[c] as u64,
                "channel {c}: {stats}"
            );
        }
        let outs = run.changes.iter().filter(|x| **x == (true, c)).count() as u64;
        let rejoins = run.changes.iter().filter(|x| **x == (false, c)).count() as u64;
        assert_eq!((s.dropped_out, s.rejoins), (outs, rejoins));
        assert_eq!(s.out_since.is_some(), outs > rejoins);
    }
    let partial = run.sets.iter().filter(|s| s.contains(&None)).count() as u64;
    assert_eq!(stats.partial_sets, partial);
    assert_eq!(stats.sets + stats.partial_sets, run.sets.len() as u64);
    (run, queued)
}

/// The model: the spec, with a plain synchronizer (no options) for the
/// group of channels that are in.
struct Model {
    n: usize,
    config: PolicyConfig,
    after: Duration,
    clock: DropOutClock,
    newest: Option<Stamp>,
    first: Option<Stamp>,
    last: Vec<Option<Stamp>>,
    out: Vec<bool>,
    group: Vec<usize>,
    sync: Option<DynSynchronizer<TraceMsg, AnyPolicy>>,
    /// Per real channel: what the group's synchronizer holds, in order.
    held: Vec<VecDeque<TraceMsg>>,
    run: Run,
}

impl Model {
    fn new(n: usize, config: &PolicyConfig, after: Duration, clock: DropOutClock) -> Self {
        let mut m = Model {
            n,
            config: config.clone(),
            after,
            clock,
            newest: None,
            first: None,
            last: vec![None; n],
            out: vec![false; n],
            group: Vec::new(),
            sync: None,
            held: vec![VecDeque::new(); n],
            run: Run::default(),
        };
        m.make_group();
        m
    }

    fn make_group(&mut self) {
        self.group = (0..self.n).filter(|&c| !self.out[c]).collect();
        self.sync = (self.group.len() >= 2)
            .then(|| DynSynchronizer::new(self.group.len(), self.config.build().unwrap()).unwrap());
    }

    fn trails(&self, c: usize, now: Stamp) -> bool {
        let behind = |c: usize| {
            self.last[c]
                .or(self.first)
                .is_some_and(|l| now - l > self.after)
        };
        // Arrival clock: only while some channel flows.
        if self.clock == DropOutClock::Arrival && (0..self.n).all(behind) {
            return self.out[c];
        }
        behind(c)
    }

    fn feed(&mut self, m: TraceMsg, received: Stamp) {
        let Some(inner) = self.group.iter().position(|&c| c == m.channel) else {
            unreachable!("fed an out channel");
        };
        let Some(sync) = self.sync.as_mut() else {
            let mut set = vec![None; self.n];
            set[m.channel] = Some(m.index);
            self.run.sets.push(set);
            return;
        };
        self.held[m.channel].push_back(m);
        let events: Vec<_> = sync
            .push_stamped(inner, m, m.stamp, received)
            .unwrap()
            .collect();
        for e in events {
            match e {
                Event::Set(s) => {
                    let mut set = vec![None; self.n];
                    for x in s.iter() {
                        set[x.channel] = Some(x.index);
                        self.held[x.channel].retain(|h| h.index != x.index);
                    }
                    self.run.sets.push(set);
                }
                Event::Drop(d) => {
                    let x = d.message;
                    self.held[x.channel].retain(|h| h.index != x.index);
                    self.run.drops.insert(x.index, d.reason);
                }
                other => unreachable!("{other:?}"),
            }
        }
    }

    #[allow(clippy::needless_range_loop)]
    fn regroup(&mut self, now: Stamp, received: Stamp) {
        let mut held = std::mem::replace(&mut self.held, vec![VecDeque::new(); self.n]);
        for c in 0..self.n {
            let out = self.trails(c, now);
            if out != self.out[c] {
                self.out[c] = out;
                self.run.changes.push((out, c));
            }
            if out {
                for m in held[c].drain(..) {
                    self.run.drops.insert(m.index, DropReason::DroppedOut);
                }
            }
        }
        self.make_group();
        while let Some(c) = (0..self.n)
            .filter(|&c| !held[c].is_empty())
            .min_by_key(|&c| (held[c][0].stamp, c))
        {
            let m = held[c].pop_front().unwrap();
            self.feed(m, received);
        }
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Msg { m, received } => {
                let now = match self.clock {
                    DropOutClock::Stamp => {
                        let newest = self.newest.map_or(m.stamp, |t| t.max(m.stamp));
                        self.newest = Some(newest);
                        self.first.get_or_insert(m.stamp);
                        self.last[m.channel] =
                            Some(self.last[m.channel].map_or(m.stamp, |l| l.max(m.stamp)));
                        newest
                    }
                    _ => {
                        self.first.get_or_insert(received);
                        self.last[m.channel] = Some(received);
                        received
                    }
                };
                if (0..self.n).any(|c| self.out[c] != self.trails(c, now)) {
                    self.regroup(now, received);
                }
                if self.out[m.channel] {
                    self.run.drops.insert(m.index, DropReason::DroppedOut);
                } else {
                    self.feed(m, received);
                }
            }
            Step::Poll(now) => {
                if self.clock != DropOutClock::Arrival {
                    return;
                }
                if (0..self.n).any(|c| self.out[c] != self.trails(c, now)) {
                    self.regroup(now, now);
                }
            }
        }
    }
}

/// Random policy without per-channel settings (they are renumbered; see
/// `lower_bounds_follow_their_channel`).
fn gen_config(rng: &mut Rng) -> PolicyConfig {
    let q = rng.urange(1, 6);
    match rng.below(5) {
        0 => PolicyConfig::Exact(ExactConfig { queue_size: q }),
        1 => PolicyConfig::Approximate(ApproximateConfig {
            queue_size: q,
            age_penalty: rng.pick(&[0.0, 0.1, 1.0]),
            max_interval: rng
                .chance(0.3)
                .then(|| Duration::from_nanos(rng.range(0, 60))),
            lower_bounds: Vec::new(),
            deadline: None,
        }),
        2 => PolicyConfig::Epsilon(EpsilonConfig {
            queue_size: q,
            epsilon: Some(Duration::from_nanos(rng.range(0, 30))),
            deadline: None,
        }),
        3 => PolicyConfig::Slop(SlopConfig {
            queue_size: q,
            slop: Some(Duration::from_nanos(rng.range(0, 30))),
        }),
        _ => PolicyConfig::Latest(LatestConfig),
    }
}

/// Channels at their own period on a 10 ns grid (so ExactTime has
/// matches), some jitter, an arrival delay per channel, and silent
/// windows; arrival order. Polls in between, on the arrival clock.
fn gen_steps(rng: &mut Rng, n: usize) -> Vec<Step> {
    let mut msgs = Vec::new();
    let jitter = if rng.chance(0.5) { 0 } else { rng.range(0, 8) };
    for c in 0..n {
        let period = 10 * rng.range(1, 3);
        let delay = rng.range(0, 30);
        let windows: Vec<(i64, i64)> = (0..rng.urange(0, 3))
            .map(|_| {
                let a = rng.range(0, 600);
                (a, a + rng.range(10, 200))
            })
            .collect();
        let mut t = rng.range(0, 3) * 10;
        while t < 800 {
            if !windows.iter().any(|&(a, b)| (a..b).contains(&t)) {
                let stamp = t + rng.range(0, jitter + 1);
                msgs.push((stamp + delay + rng.range(0, 3), c, stamp));
            }
            t += period;
        }
    }
    msgs.sort();
    let mut steps = Vec::new();
    for (index, &(received, channel, stamp)) in msgs.iter().enumerate() {
        if rng.chance(0.2) {
            steps.push(Step::Poll(Stamp::from_nanos(received - rng.range(0, 5))));
        }
        steps.push(Step::Msg {
            m: TraceMsg {
                index,
                channel,
                stamp: Stamp::from_nanos(stamp),
            },
            received: Stamp::from_nanos(received),
        });
    }
    steps
}

fn check_case(seed: u64) {
    let mut rng = Rng::new(seed);
    let n = rng.urange(2, 5);
    let config = gen_config(&mut rng);
    let clock = if rng.chance(0.5) {
        DropOutClock::Stamp
    } else {
        DropOutClock::Arrival
    };
    let after = Duration::from_nanos(rng.range(0, 120));
    let steps = gen_steps(&mut rng, n);
    let opts = Options::new().drop_out_after(after).drop_out_clock(clock);
    let (got, _) = run_impl(n, &config, opts, &steps);
    let mut model = Model::new(n, &config, after, clock);
    for &s in &steps {
        model.step(s);
    }
    assert_eq!(
        got.changes, model.run.changes,
        "seed {seed}: out/rejoin ({config:?}, {clock:?}, after {after})"
    );
    assert_eq!(
        got.sets, model.run.sets,
        "seed {seed}: sets ({config:?}, {clock:?}, after {after})"
    );
    assert_eq!(
        got.drops, model.run.drops,
        "seed {seed}: drops ({config:?}, {clock:?})"
    );
}

#[test]
fn drop_out_matches_the_model_on_random_traces_with_silent_windows() {
    for seed in 0..600u64 {
        check_case(seed);
    }
}

#[test]
fn the_random_traces_do_drop_out_and_rejoin() {
    // The model test above means something only if the traces exercise it.
    let (mut outs, mut rejoins, mut partial) = (0, 0, 0);
    for seed in 0..200u64 {
        let mut rng = Rng::new(seed);
        let n = rng.urange(2, 5);
        let config = gen_config(&mut rng);
        let _ = rng.chance(0.5);
        let after = Duration::from_nanos(rng.range(0, 120));
        let steps = gen_steps(&mut rng, n);
        let (run, _) = run_impl(n, &config, Options::new().drop_out_after(after), &steps);
        outs += run.changes.iter().filter(|c| c.0).count();
        rejoins += run.changes.iter().filter(|c| !c.0).count();
        partial += run.sets.iter().filter(|s| s.contains(&None)).count();
    }
    assert!(
        outs > 200 && rejoins > 100 && partial > 1000,
        "{outs} {rejoins} {partial}"
    );
}

#[test]
fn with_no_channel_trailing_the_sets_are_those_without_the_option() {
    for seed in 0..400u64 {
        let mut rng = Rng::new(seed);
        let n = rng.urange(2, 5);
        let config = gen_config(&mut rng);
        let steps = gen_steps(&mut rng, n);
        let plain = run_impl(n, &config, Options::new(), &steps);
        for clock in [DropOutClock::Stamp, DropOutClock::Arrival] {
            let far = Options::new()
                .drop_out_after(Duration::from_secs(1))
                .drop_out_clock(clock);
            assert_eq!(run_impl(n, &config, far, &steps), plain, "seed {seed}");
        }
    }
}

/// Channel 0 at 10 ms, channel 1 at 10 ms with a 1 s hole, channel 2 at
/// 10 ms, stamps in arrival order.
fn dead_channel_trace() -> Vec<Step> {
    let mut pairs = Vec::new();
    for k in 0..300i64 {
        for c in 0..3 {
            let t = k * 10_000_000 + c as i64 * 1_000;
            if c == 1 && (1_000_000_000..2_000_000_000).contains(&t) {
                continue;
            }
            pairs.push((c, Stamp::from_nanos(t)));
        }
    }
    Trace::from_pairs(pairs)
        .messages
        .into_iter()
        .map(|m| Step::Msg {
            m,
            received: m.stamp,
        })
        .collect()
}

#[test]
fn a_dead_channel_leaves_the_sets_and_rejoins() {
    let steps = dead_channel_trace();
    let config = PolicyConfig::Approximate(ApproximateConfig::default());
    let (plain, _) = run_impl(3, &config, Options::new(), &steps);
    let opts = Options::new().drop_out_after(Duration::from_millis(50));
    let (run, queued) = run_impl(3, &config, opts, &steps);
    let stamp_of: Vec<i64> = steps
        .iter()
        .map(|s| match s {
            Step::Msg { m, .. } => m.stamp.as_nanos(),
            Step::Poll(_) => 0,
        })
        .collect();
    // Without the option nothing comes out during the hole.
    let during = |sets: &[Set]| {
        sets.iter()
            .filter(|s| {
                let t = s[0].map_or(0, |i| stamp_of[i]);
                (1_100_000_000..1_950_000_000).contains(&t)
            })
            .count()
    };
    assert_eq!(during(&plain.sets), 0);
    // With it: a set every 10 ms, channel 1 missing.
    let partial: Vec<&Set> = run.sets.iter().filter(|s| s[1].is_none()).collect();
    assert!((98..=102).contains(&partial.len()), "{}", partial.len());
    assert!(partial.iter().all(|s| s[0].is_some() && s[2].is_some()));
    assert_eq!(run.changes, [(true, 1), (false, 1)]);
    // Full sets on both sides of the hole, as many as without the option.
    let full = run.sets.len() - partial.len();
    assert!(
        full >= 195 && full <= plain.sets.len(),
        "{full} of {}",
        plain.sets.len()
    );
    assert!(queued.iter().sum::<usize>() <= 6);
}

#[test]
fn a_message_too_far_behind_is_dropped_out_and_does_not_rejoin() {
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let opts = Options::new().drop_out_after(Duration::from_millis(30));
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(5).unwrap())
        .options(opts)
        .build()
        .unwrap();
    // Channel 1 has sent nothing: measured from the first stamp, 0.
    for t in [0, 10, 20, 30] {
        assert_eq!(sync.add::<0>(ms(t)), 0);
    }
    assert_eq!(sync.stats().channels[1].dropped_out, 0);
    // 40 - 0 > 30: out; channel 0 alone, each message is a set.
    let events: Vec<_> = sync.push::<0>(ms(40)).collect();
    assert!(matches!(events[0], Event::Out(o) if o.channel == 1 && o.at == ms(40)));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Partial(_)))
            .count(),
        5
    );
    sync.add::<0>(ms(50));
    assert_eq!(sync.stats().channels[1].dropped_out, 1);
    // 50 - 10 > 30: too far behind.
    let events: Vec<_> = sync.push::<1>(ms(10)).collect();
    assert!(
        matches!(&events[..], [Event::Drop(d)] if d.reason == DropReason::DroppedOut && d.stamp == ms(10)),
        "{events:?}"
    );
    assert_eq!(sync.stats().channels[1].out_since, Some(ms(40)));
    assert_eq!(sync.stats().channels[1].sets_without, 6);
    sync.add::<0>(ms(60));
    // 60 - 60 <= 30: rejoins; sets need channel 1 again.
    let events: Vec<_> = sync.push::<1>(ms(60)).collect();
    assert!(
        matches!(&events[..], [Event::Rejoin(o)] if o.channel == 1 && o.sets_without == 7 && o.behind == ms(20) - ms(0)),
        "{events:?}"
    );
    assert_eq!(sync.add::<0>(ms(70)), 0);
    assert_eq!(sync.add::<1>(ms(70)), 1);
    let s = sync.stats();
    assert_eq!((s.channels[1].rejoins, s.channels[1].out_since), (1, None));
    assert_eq!(
        (s.sets, s.partial_sets, s.channels[1].sets_without),
        (1, 7, 7)
    );
    // Channel 1's 60 lost its partner, which went out alone: older than
    // the set of 70, ExactTime drops it.
    assert_eq!((sync.queued(0), sync.queued(1)), (0, 0));
    assert_eq!(s.channels[1].dropped_for(DropReason::OlderThanLastSet), 1);
}

#[test]
fn lower_bounds_follow_their_channel() {
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let bound = |ch| {
        ApproximateTime::builder()
            .queue_size(5)
            .lower_bound(ch, Duration::from_millis(9))
            .build()
            .unwrap()
    };
    // Channel 1 sends once, then goes out; channel 2's bound becomes group
    // channel 1's. A bound changes when a set is proven, so each set is
    // recorded with the step it came out at.
    let mut sync = DynSynchronizer::builder(3, bound(2))
        .options(Options::new().drop_out_after(Duration::from_millis(20)))
        .build()
        .unwrap();
    sync.add_stamped(1, 0, ms(0), ms(0)).unwrap();
    let steps: Vec<(usize, i64)> = (10..60i64)
        .flat_map(|k| [(0, k * 10), (2, k * 10 + 2 + k % 5)])
        .collect();
    let mut got = Vec::new();
    for (i, &(c, t)) in steps.iter().enumerate() {
        for e in sync.push_stamped(c, t, ms(t), ms(t)).unwrap() {
            if let Event::Partial(p) = e {
                let m: Vec<i64> = p.members.iter().flatten().map(|m| m.message).collect();
                if m.len() == 2 {
                    got.push((i, m));
                }
            }
        }
    }
    // Two channels alone, from channel 2's first message (channel 0's
    // first went out alone: channel 2 had sent nothing, so it was out too).
    let two = |ch| {
        let mut two = DynSynchronizer::new(2, bound(ch)).unwrap();
        let mut sets = Vec::new();
        for (i, &(c, t)) in steps.iter().enumerate().skip(1) {
            let inner = usize::from(c == 2);
            sets.extend(
                two.push_stamped(inner, t, ms(t), ms(t))
                    .unwrap()
                    .filter_map(Event::into_set)
                    .map(|s| (i, s.into_vec())),
            );
        }
        sets
    };
    let want = two(1);
    assert!(want.len() > 30, "{}", want.len());
    assert_eq!(got, want);
    // The bound on the other channel proves sets at other steps.
    assert_ne!(two(0), want);
}

#[test]
fn drop_out_refuses_latched_channels() {
    use stamp_sync::Latched;
    let p = Latched::new(ApproximateTime::new(5).unwrap()).channel(2);
    let err = Synchronizer::<(Stamp, Stamp, Stamp), _>::builder(p)
        .options(Options::new().drop_out_after(Duration::from_millis(5)))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("drop_out_after does not work"),
        "{err}"
    );
    let err = Options::new()
        .drop_out_after(Duration::from_millis(-5))
        .check(2)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "drop-out timeout must not be negative, got -5ms"
    );
}

// --- Deadline ------------------------------------------------------------

/// Random sorted traces (arrival order = stamp order) for ApproximateTime.
fn gen_sorted(rng: &mut Rng, n: usize) -> Vec<(usize, i64)> {
    let mut v = Vec::new();
    for c in 0..n {
        let period = rng.range(5, 40);
        let mut t = rng.range(0, 20);
        while t < 2_000 {
            v.push((t + rng.range(0, 4), c));
            t += period + rng.range(0, period / 2 + 1);
        }
    }
    v.sort();
    v.dedup_by_key(|x| x.0);
    v.into_iter().map(|(t, c)| (c, t)).collect()
}

fn approx(q: usize, deadline: Option<i64>) -> ApproximateTime {
    let mut b = ApproximateTime::builder().queue_size(q);
    if let Some(d) = deadline {
        b = b.deadline(Duration::from_nanos(d));
    }
    b.build().unwrap()
}

fn sets_and_latency(
    n: usize,
    p: ApproximateTime,
    pairs: &[(usize, i64)],
) -> (Vec<Vec<i64>>, Vec<i64>) {
    let mut sync = DynSynchronizer::new(n, p).unwrap();
    let (mut sets, mut lat) = (Vec::new(), Vec::new());
    let mut newest = i64::MIN;
    for &(c, t) in pairs {
        newest = newest.max(t);
        let s = Stamp::from_nanos(t);
        for set in sync
            .push_stamped(c, t, s, s)
            .unwrap()
            .filter_map(Event::into_set)
        {
            let set: Vec<i64> = set.into_vec();
            lat.push(newest - set.iter().max().copied().unwrap_or(newest));
            sets.push(set);
        }
    }
    let st = sync.stats();
    for c in 0..n {
        let ch = &st.channels[c];
        assert_eq!(
            ch.received,
            ch.emitted + ch.dropped_total() + sync.queued(c) as u64
        );
    }
    (sets, lat)
}

#[test]
fn the_deadline_bounds_latency_and_a_far_one_changes_nothing() {
    let mut differed = 0;
    for seed in 0..400u64 {
        let mut rng = Rng::new(seed);
        let n = rng.urange(2, 5);
        let q = rng.urange(2, 8);
        let pairs = gen_sorted(&mut rng, n);
        let gap = pairs.windows(2).map(|w| w[1].1 - w[0].1).max().unwrap_or(0);
        let (plain, plain_lat) = sets_and_latency(n, approx(q, None), &pairs);
        let (far, _) = sets_and_latency(n, approx(q, Some(1_000_000)), &pairs);
        assert_eq!(far, plain, "seed {seed}");
        let d = rng.range(0, 30);
        let (with, lat) = sets_and_latency(n, approx(q, Some(d)), &pairs);
        for (l, set) in lat.iter().zip(&with) {
            assert!(
                *l <= d + gap,
                "seed {seed}: latency {l} > {d} + {gap} for {set:?}"
            );
        }
        differed += usize::from(with != plain);
        let _ = plain_lat;
    }
    assert!(differed > 100, "the deadline changed only {differed} runs");
}

#[test]
fn the_deadline_emits_the_candidate_without_its_proof() {
    // Channels 0 and 1 every 10 ms, channel 2 every 100 ms: upstream
    // proves a set only when channel 2's next message comes.
    let mut pairs = Vec::new();
    // Channel 2 a little before its partners: a next channel 2 message
    // could make a tighter set, so upstream waits for it.
    for t in (0..2_000).step_by(10) {
        if t % 100 == 0 {
            pairs.push((2, t * 1_000_000));
        }
        pairs.push((0, t * 1_000_000 + 4_000_000));
        pairs.push((1, t * 1_000_000 + 5_000_000));
    }
    let max = |v: &[i64]| v.iter().copied().max().unwrap_or(0);
    // Queues long enough that nothing overflows while upstream waits.
    let (plain, plain_lat) = sets_and_latency(3, approx(20, None), &pairs);
    let (with, lat) = sets_and_latency(3, approx(20, Some(15_000_000)), &pairs);
    assert!(max(&plain_lat) >= 90_000_000, "{}", max(&plain_lat));
    // 15 ms, plus at most the 9 ms between two arrivals.
    assert!(max(&lat) <= 24_000_000, "{}", max(&lat));
    assert_eq!(with.len(), plain.len());
    let p = approx(5, Some(15_000_000));
    assert_eq!(p.deadline(), Some(Duration::from_millis(15)));
    // Options::deadline sets the same, and only where it means something.
    let sync = Synchronizer::<(Stamp, Stamp), _>::builder(ApproximateTime::new(5).unwrap())
        .options(Options::new().deadline(Duration::from_millis(15)))
        .build()
        .unwrap();
    assert_eq!(sync.policy().deadline(), Some(Duration::from_millis(15)));
    let err = Synchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(5).unwrap())
        .options(Options::new().deadline(Duration::from_millis(15)))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("deadline does not work with this policy"),
        "{err}"
    );
}

#[test]
fn drop_out_changes_at_run_time() {
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let mut sync = DynSynchronizer::new(2, ExactTime::new(10).unwrap()).unwrap();
    let mut partial = 0;
    let mut count = |events: &mut dyn Iterator<Item = Event<_, u32>>| {
        for e in events {
            partial += usize::from(matches!(e, Event::Partial(_)));
        }
    };
    // Off: channel 1 silent, channel 0's messages wait.
    for t in 0..5 {
        count(&mut sync.push_stamped(0, 0, ms(t * 10), ms(t * 10)).unwrap());
    }
    assert_eq!(sync.queued(0), 5);
    // On at 15 ms, measured from the next stamp (50): at 70 channel 1
    // trails, and what channel 0 holds goes out without it.
    sync.set_drop_out_after(Some(Duration::from_millis(15)), DropOutClock::Stamp)
        .unwrap();
    for t in [50, 60] {
        count(&mut sync.push_stamped(0, 0, ms(t), ms(t)).unwrap());
    }
    assert_eq!(sync.stats().channels[1].dropped_out, 0);
    count(&mut sync.push_stamped(0, 0, ms(70), ms(70)).unwrap());
    assert_eq!(sync.stats().channels[1].dropped_out, 1);
    assert_eq!(sync.queued(0), 0);
    // Off again: channel 1 rejoins at once, sets need it again.
    sync.set_drop_out_after(None, DropOutClock::Stamp).unwrap();
    count(&mut sync.push_stamped(0, 0, ms(80), ms(80)).unwrap());
    let s = sync.stats();
    assert_eq!((s.channels[1].rejoins, s.channels[1].out_since), (1, None));
    assert_eq!(sync.queued(0), 1);
    assert_eq!(partial, 8);
    assert!(
        sync.set_drop_out_after(Some(Duration::from_millis(-1)), DropOutClock::Stamp)
            .is_err()
    );
    // A policy that cannot run alone is refused, and nothing changes.
    let mut latched = Synchronizer::<(Stamp, Stamp, Stamp), _>::new(
        stamp_sync::Latched::new(ApproximateTime::new(5).unwrap()).channel(2),
    )
    .unwrap();
    assert!(
        latched
            .set_drop_out_after(Some(Duration::from_millis(5)), DropOutClock::Stamp)
            .is_err()
    );
}
