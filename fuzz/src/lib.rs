//! Shared harness of the fuzz targets: a structured input (channels, policy
//! parameters, driver options, a sequence of (channel, stamp) arrivals) and
//! the checks every target makes after every arrival.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a fuzz harness panics on purpose

use std::collections::HashSet;

use arbitrary::Arbitrary;
use stamp_sync::driver::DynSet;
use stamp_sync::driver::dynamic::VecQueues;
use stamp_sync::policy::{PolicyConfig, PolicyKind, Settings, Value};
use stamp_sync::trace::TraceMsg;
use stamp_sync::{Duration, DynSynchronizer, Event, Options, Policy, Stamp};

/// How one stamp is made: mostly small and near each other, so sets form,
/// sometimes extreme.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum StampGen {
    /// Small absolute stamp.
    Small(u8),
    /// Relative to the previous stamp (any direction).
    Delta(i16),
    /// Any 64-bit value.
    Raw(i64),
    /// `i64::MAX`.
    Max,
    /// `i64::MIN`.
    Min,
    /// Zero.
    Zero,
}

/// Driver options, all optional.
#[derive(Arbitrary, Debug, Clone)]
pub struct OptGen {
    /// `reset_on_jump_back(threshold)`.
    pub jump_back: Option<u16>,
    /// `stamp_offset(channel, offset)`.
    pub offsets: Vec<(u8, i16)>,
    /// `arrival_stamps`.
    pub arrival: bool,
    /// `stale_after(timeout)`.
    pub stale_after: Option<u16>,
    /// `partial_sets`.
    pub partial: bool,
}

/// One fuzz case.
#[derive(Arbitrary, Debug, Clone)]
pub struct Input {
    /// Channel count selector (each target maps it into its range).
    pub channels: u8,
    /// Queue size selector.
    pub queue_size: u8,
    /// Epsilon / max interval selector.
    pub param: u16,
    /// Age penalty selector.
    pub age_penalty: u8,
    /// ApproximateTime: use a max interval.
    pub use_max_interval: bool,
    /// ApproximateTime: lower bounds (channel, nanoseconds).
    pub lower_bounds: Vec<(u8, u16)>,
    /// Driver options; `None` = defaults.
    pub options: Option<OptGen>,
    /// Arrivals: channel selector, stamp, arrival-clock advance, and an
    /// occasional poll.
    pub msgs: Vec<(u8, StampGen, u8, bool)>,
}

impl Input {
    /// Channel count in `lo..=hi`.
    pub fn n(&self, lo: usize, hi: usize) -> usize {
        lo + self.channels as usize % (hi - lo + 1)
    }

    /// Queue size in `1..=16`.
    pub fn q(&self) -> usize {
        1 + self.queue_size as usize % 16
    }

    fn options(&self, n: usize) -> (Options, bool) {
        let Some(o) = &self.options else {
            return (Options::default(), true);
        };
        let mut opts = Options::new()
            .arrival_stamps(o.arrival)
            .partial_sets(o.partial);
        if let Some(t) = o.jump_back {
            opts = opts.reset_on_jump_back(Duration::from_nanos(i64::from(t)));
        }
        if let Some(t) = o.stale_after {
            opts = opts.stale_after(Duration::from_nanos(i64::from(t)));
        }
        for &(c, d) in o.offsets.iter().take(4) {
            opts = opts.stamp_offset(c as usize % n, Duration::from_nanos(i64::from(d)));
        }
        // Plain stamps reach the policy unchanged only without offsets and
        // arrival stamps.
        let plain = o.offsets.is_empty() && !o.arrival;
        (opts, plain)
    }
}

/// Policy `kind` with settings drawn from `input`, made through the
/// registry: only the settings the policy takes.
pub fn config(input: &Input, kind: PolicyKind, n: usize) -> Option<PolicyConfig> {
    let takes = |name: &str| kind.settings().iter().any(|s| s.name == name);
    let mut given = Settings::new();
    let ns = |v: u16| Duration::from_nanos(i64::from(v));
    if takes("queue_size") {
        given.set("queue_size", Value::Count(input.q()));
    }
    if takes("age_penalty") {
        given.set("age_penalty", Value::Number(f64::from(input.age_penalty) / 32.0));
    }
    if takes("max_interval") && input.use_max_interval {
        given.set("max_interval", Value::Duration(ns(input.param)));
    }
    if takes("lower_bounds") && !input.lower_bounds.is_empty() {
        let bounds = (input.lower_bounds.iter().take(4))
            .map(|&(c, d)| (c as usize % n, ns(d)))
            .collect();
        given.set("lower_bounds", Value::PerChannel(bounds));
    }
    for name in ["epsilon", "slop"] {
        if takes(name) {
            given.set(name, Value::Duration(ns(input.param)));
        }
    }
    PolicyConfig::from_settings(kind, &given).ok()
}

/// What a policy promises: its set rule, the most messages it holds per
/// channel after a step, and whether it re-emits held messages.
pub fn promises(config: &PolicyConfig) -> (SetRule, usize, bool) {
    match config {
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size }) => (SetRule::Equal, *queue_size, false),
        PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
            queue_size,
            max_interval,
            ..
        }) => (
            max_interval.map_or(SetRule::Any, SetRule::Within),
            *queue_size,
            false,
        ),
        // Like upstream, Epsilon skips its overflow check on the arrival
        // that fills the last empty channel.
        PolicyConfig::Epsilon(stamp_sync::policy::EpsilonConfig {
            queue_size,
            epsilon,
            ..
        }) => (SetRule::Within(epsilon.unwrap_or_default()), queue_size + 1, false),
        // Zero-order hold: one message per channel, re-emitted by design.
        PolicyConfig::Latest(_) => (SetRule::Any, 1, true),
        PolicyConfig::Slop(stamp_sync::policy::SlopConfig { queue_size, slop, .. }) => (SetRule::Below(slop.unwrap_or_default()), *queue_size, false),
    }
}

/// Runs `input` through policy `kind` over `n` channels (see [`run`]).
pub fn run_kind(input: &Input, kind: PolicyKind, n: usize) {
    let Some(config) = config(input, kind, n) else {
        return;
    };
    let (rule, bound, reemits) = promises(&config);
    let Ok(policy) = config.build() else { return };
    run(input, n, policy, bound, rule, reemits);
}

/// What the sets of a policy must satisfy besides one-per-channel.
#[derive(Clone, Copy, Debug)]
pub enum SetRule {
    /// All members share one stamp.
    Equal,
    /// Spread at most this.
    Within(Duration),
    /// Spread strictly less than this.
    Below(Duration),
    /// Nothing more.
    Any,
}

/// Runs `input` through `policy` over `n` channels and checks, after every
/// arrival: one message per channel per set, no message emitted twice or
/// emitted after its drop or dropped twice, per-channel queue `<= bound`,
/// and emitted + dropped + queued == added. With `reemits` (LatestTime), a
/// message may be emitted more than once, but only while it is still the
/// held message of its channel; then the accounting counts it once.
pub fn run<P: Policy<VecQueues<TraceMsg>>>(
    input: &Input,
    n: usize,
    policy: P,
    bound: usize,
    rule: SetRule,
    reemits: bool,
) {
    let (options, plain) = input.options(n);
    let Ok(mut sync) = DynSynchronizer::builder(n, policy).options(options).build() else {
        return;
    };
    let mut emitted: HashSet<usize> = HashSet::new();
    let mut dropped: HashSet<usize> = HashSet::new();
    // LatestTime: the index held per channel.
    let mut held: Vec<Option<usize>> = vec![None; n];
    let mut prev = 0i64;
    let mut now = 0i64;
    for (k, &(c, s, adv, poll)) in input.msgs.iter().enumerate() {
        let channel = c as usize % n;
        let stamp = match s {
            StampGen::Small(v) => i64::from(v),
            StampGen::Delta(d) => prev.saturating_add(i64::from(d)),
            StampGen::Raw(v) => v,
            StampGen::Max => i64::MAX,
            StampGen::Min => i64::MIN,
            StampGen::Zero => 0,
        };
        prev = stamp;
        now = now.saturating_add(i64::from(adv));
        let msg = TraceMsg {
            index: k,
            channel,
            stamp: Stamp::from_nanos(stamp),
        };
        let mut events: Vec<Event<DynSet<TraceMsg>, TraceMsg>> = sync
            .push_stamped(channel, msg, msg.stamp, Stamp::from_nanos(now))
            .unwrap()
            .collect();
        if poll {
            events.extend(sync.poll_events(Stamp::from_nanos(now)));
        }
        held[channel] = Some(k);
        for e in events {
            match e {
                Event::Set(set) => {
                    assert_eq!(set.len(), n, "one message per channel");
                    for (ch, m) in set.iter().enumerate() {
                        assert_eq!(m.channel, ch, "members in channel order");
                        assert!(!dropped.contains(&m.index), "emitted after its drop");
                        let fresh = emitted.insert(m.index);
                        if reemits {
                            assert_eq!(held[ch], Some(m.index), "re-emits only the held message");
                        } else {
                            assert!(fresh, "message {} emitted twice", m.index);
                        }
                    }
                    if plain {
                        let lo = set.iter().map(|m| m.stamp).min().unwrap();
                        let hi = set.iter().map(|m| m.stamp).max().unwrap();
                        match rule {
                            SetRule::Equal => assert_eq!(lo, hi, "stamps differ"),
                            SetRule::Within(d) => {
                                assert!(hi <= lo.saturating_add(d), "set too wide")
                            }
                            SetRule::Below(d) => assert!(hi.since(lo) < d, "set too wide"),
                            SetRule::Any => {}
                        }
                    }
                }
                Event::Drop(d) => {
                    assert_eq!(d.channel, d.message.channel);
                    assert!(
                        !emitted.contains(&d.message.index),
                        "dropped after emission"
                    );
                    assert!(dropped.insert(d.message.index), "dropped twice");
                }
                Event::Partial(p) => {
                    assert_eq!(p.members.len(), n);
                    for (ch, m) in p.members.iter().enumerate() {
                        if let Some(m) = m {
                            assert_eq!(m.channel, ch);
                            assert!(!dropped.contains(&m.message.index));
                            let fresh = emitted.insert(m.message.index);
                            assert!(reemits || fresh, "partial member emitted twice");
                        }
                    }
                }
                Event::Stale(st) => assert!(st.channel < n),
                _ => {}
            }
        }
        let mut queued = 0usize;
        for c in 0..n {
            let q = sync.queued(c);
            assert!(q <= bound, "channel {c} holds {q} > {bound}");
            queued += q;
        }
        if reemits {
            // Held messages that were already emitted are counted once.
            let held_emitted = (0..n)
                .filter(|&c| sync.queued(c) > 0)
                .filter(|&c| held[c].is_some_and(|i| emitted.contains(&i)))
                .count();
            assert_eq!(
                emitted.len() + dropped.len() + queued - held_emitted,
                k + 1,
                "accounting (re-emitting policy) after message {k}"
            );
        } else {
            assert_eq!(
                emitted.len() + dropped.len() + queued,
                k + 1,
                "accounting after message {k}"
            );
        }
    }
}

/// Runs `input` through policy `kind` over `n` channels with one channel
/// latched ([`stamp_sync::Latched`]) and checks after every arrival: one
/// message per channel per set, in channel order; a free message is emitted
/// at most once and never after its drop; a latched member is at or before
/// the set's newest free stamp (unless `any_newest`, and only with plain
/// stamps); nothing is dropped twice; free channels account exactly
/// (emitted + dropped + queued == added); a latched channel holds at most
/// its depth.
pub fn run_latched(input: &Input, kind: PolicyKind, n: usize) {
    let Some(config) = config(input, kind, n) else {
        return;
    };
    let Ok(inner) = config.build() else { return };
    let latched = usize::from(input.channels / 16) % n;
    let depth = 1 + usize::from(input.age_penalty % 4);
    let any_newest = input.use_max_interval;
    let policy = stamp_sync::Latched::new(inner)
        .channel(latched)
        .depth(depth)
        .any_newest(any_newest);
    let (options, plain) = input.options(n);
    let Ok(mut sync) = DynSynchronizer::builder(n, policy).options(options).build() else {
        return;
    };
    let reemits = matches!(config, PolicyConfig::Latest(stamp_sync::policy::LatestConfig));
    let mut emitted: HashSet<usize> = HashSet::new();
    let mut dropped: HashSet<usize> = HashSet::new();
    let mut added_free = 0usize;
    let mut prev = 0i64;
    let mut now = 0i64;
    for (k, &(c, s, adv, poll)) in input.msgs.iter().enumerate() {
        let channel = c as usize % n;
        let stamp = match s {
            StampGen::Small(v) => i64::from(v),
            StampGen::Delta(d) => prev.saturating_add(i64::from(d)),
            StampGen::Raw(v) => v,
            StampGen::Max => i64::MAX,
            StampGen::Min => i64::MIN,
            StampGen::Zero => 0,
        };
        prev = stamp;
        now = now.saturating_add(i64::from(adv));
        if channel != latched {
            added_free += 1;
        }
        let msg = TraceMsg {
            index: k,
            channel,
            stamp: Stamp::from_nanos(stamp),
        };
        let mut events: Vec<Event<DynSet<TraceMsg>, TraceMsg>> = sync
            .push_stamped(channel, msg, msg.stamp, Stamp::from_nanos(now))
            .unwrap()
            .collect();
        if poll {
            events.extend(sync.poll_events(Stamp::from_nanos(now)));
        }
        for e in events {
            match e {
                Event::Set(set) => {
                    assert_eq!(set.len(), n, "one message per channel");
                    for (ch, m) in set.iter().enumerate() {
                        assert_eq!(m.channel, ch, "members in channel order");
                        assert!(!dropped.contains(&m.index), "emitted after its drop");
                        let fresh = emitted.insert(m.index);
                        assert!(
                            fresh || ch == latched || reemits,
                            "message {} emitted twice",
                            m.index
                        );
                    }
                    if plain && !any_newest {
                        let newest = set
                            .iter()
                            .filter(|m| m.channel != latched)
                            .map(|m| m.stamp)
                            .max()
                            .unwrap();
                        assert!(set[latched].stamp <= newest, "latched member after the set");
                    }
                }
                Event::Drop(d) => {
                    assert_eq!(d.channel, d.message.channel);
                    assert!(
                        reemits || !emitted.contains(&d.message.index),
                        "dropped after emission"
                    );
                    assert!(dropped.insert(d.message.index), "dropped twice");
                }
                Event::Partial(p) => {
                    assert_eq!(p.members.len(), n);
                    for m in p.members.iter().flatten() {
                        assert!(!dropped.contains(&m.message.index));
                        emitted.insert(m.message.index);
                    }
                }
                Event::Stale(st) => assert!(st.channel < n),
                _ => {}
            }
        }
        assert!(
            sync.queued(latched) <= depth,
            "latched history beyond its depth"
        );
        if !reemits {
            let free = |i: &&usize| input.msgs[**i].0 as usize % n != latched;
            let queued: usize = (0..n)
                .filter(|&c| c != latched)
                .map(|c| sync.queued(c))
                .sum();
            assert_eq!(
                emitted.iter().filter(free).count() + dropped.iter().filter(free).count() + queued,
                added_free,
                "free-channel accounting after message {k}"
            );
        }
    }
}
