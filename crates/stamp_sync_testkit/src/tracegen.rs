//! Deterministic random stamp traces and policy settings for the
//! differential test against C++ message_filters (`crates/stamp_sync/tests/it/differential.rs`).
//!
//! Everything is derived from one `u64` seed through a SplitMix64 generator,
//! so a case is reproduced exactly from `(run seed, case number)`.
//!
//! Stamps stay inside what ROS 1 `ros::Time` accepts (non-negative, below
//! 2^32 s) and the spans the synchronizer computes stay far below 2^31 s, so
//! C++ never throws: traces start either near 1.7e18 ns (2023) or a few
//! seconds after 0, and last at most a few minutes.

use std::fmt::{self, Write as _};

use stamp_sync::trace::{PolicyConfig, Trace};
use stamp_sync::{Duration, Stamp};

/// SplitMix64: tiny, fast, good enough for test data, and stable forever.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`; `n > 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        // The modulo bias is irrelevant for test data.
        self.next_u64() % n
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        let span = (hi - lo) as u64 + 1;
        lo + self.below(span) as i64
    }

    /// Uniform `usize` in `[lo, hi]`.
    pub fn urange(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as i64, hi as i64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// The seed of case `index` of a run with seed `run_seed`.
pub fn case_seed(run_seed: u64, index: usize) -> u64 {
    Rng::new(run_seed ^ (index as u64).wrapping_mul(0xD605_BBB5_8C8A_BBFD)).next_u64()
}

/// What a trace looks like.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Independent streams at 10..100 Hz with stamp jitter, ~2% drops and a
    /// per-channel latency, so arrival order differs from stamp order
    /// across channels.
    Jitter,
    /// All channels share stamps (camera + camera_info style), ~5% drops;
    /// in some traces a channel now and then sends a message twice.
    Identical,
    /// Like `Jitter`, but one channel stalls and then delivers its backlog.
    Burst,
    /// Like `Jitter`, then neighbouring arrivals of different channels are
    /// swapped.
    Reorder,
    /// Like `Jitter`, with repeated stamps on a channel.
    Duplicates,
    /// Like `Jitter`, with stamps going backwards within a channel.
    OutOfOrder,
    /// Whole-millisecond periods, jitter and latencies: many exact ties in
    /// the age-penalty comparison.
    WholeMillis,
    /// Like `WholeMillis` with 1 ns as the unit: stamp differences of a few
    /// nanoseconds, where the age-penalty product lands on or next to
    /// half-nanoseconds and ROS 1's rounding decides ties.
    Nanos,
    /// A handful of messages with stamps from a tiny set.
    Tiny,
    /// Three channels built so that the age-penalty comparison
    /// `(end - candidate_end) * (1 + age) >= start - candidate_start` is
    /// decided by a nanosecond: the end advances by `e` (1 ns .. 100 s) and
    /// the start by about `(1 + age) * e`. For spans of seconds ROS 1's
    /// `Duration * double` (through `toSec()`) often differs from exact
    /// arithmetic by a nanosecond, so this checks that stamp_sync rounds
    /// exactly like it. A few rounds of later messages then flush the sets.
    TieProbe,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 10] = [
        Kind::Jitter,
        Kind::Identical,
        Kind::Burst,
        Kind::Reorder,
        Kind::Duplicates,
        Kind::OutOfOrder,
        Kind::WholeMillis,
        Kind::Nanos,
        Kind::Tiny,
        Kind::TieProbe,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Jitter => "jitter",
            Kind::Identical => "identical",
            Kind::Burst => "burst",
            Kind::Reorder => "reorder",
            Kind::Duplicates => "duplicates",
            Kind::OutOfOrder => "out-of-order",
            Kind::WholeMillis => "whole-ms",
            Kind::Nanos => "nanos",
            Kind::Tiny => "tiny",
            Kind::TieProbe => "tie-probe",
        }
    }
}

/// One generated case: a trace and the policy to run it through.
#[derive(Clone, Debug)]
pub struct Case {
    /// The seed it was generated from.
    pub seed: u64,
    /// The trace's kind.
    pub kind: Kind,
    /// Number of synchronizer inputs (2..=9).
    pub channels: usize,
    /// The policy and its settings.
    pub config: PolicyConfig,
    /// Messages in arrival order.
    pub trace: Trace,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kind={} seed={:#x} messages={} oracle args: {}",
            self.kind.name(),
            self.seed,
            self.trace.messages.len(),
            oracle_args(self.channels, &self.config)
        )
    }
}

/// The oracle's words for a config: `approx N QUEUE [options]` or
/// `exact N QUEUE`. The age penalty is printed with Rust's shortest
/// round-trip formatting, so C++ parses back the very same `double`.
pub fn oracle_args(channels: usize, config: &PolicyConfig) -> String {
    let mut s = String::new();
    match config {
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size }) => {
            let _ = write!(s, "exact {channels} {queue_size}");
        }
        PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
            queue_size,
            age_penalty,
            max_interval,
            lower_bounds,
            deadline: None,
        }) => {
            let _ = write!(
                s,
                "approx {channels} {queue_size} --age-penalty {age_penalty:?}"
            );
            if let Some(d) = max_interval {
                let _ = write!(s, " --max-interval-ns {}", d.as_nanos());
            }
            for (ch, d) in lower_bounds {
                let _ = write!(s, " --lower-bound-ns {ch}:{}", d.as_nanos());
            }
        }
        other => panic!("C++ message_filters 1.15.15 has no {other:?}"),
    }
    s
}

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;

/// One message being generated: when it arrives, where, with which stamp.
#[derive(Copy, Clone, Debug)]
struct Ev {
    arrival: i64,
    channel: usize,
    stamp: i64,
}

/// What the stream generator made, plus what the config generator needs.
struct Streams {
    events: Vec<Ev>,
    /// Nominal period of each channel in ns.
    periods: Vec<i64>,
    /// The age penalty the trace was built for, if any.
    age_penalty: Option<f64>,
}

/// Generates case `index` of the run with seed `run_seed`.
pub fn gen_case(run_seed: u64, index: usize) -> Case {
    let seed = case_seed(run_seed, index);
    let mut rng = Rng::new(seed);
    let kind = pick_kind(&mut rng);
    let channels = if kind == Kind::TieProbe {
        3
    } else {
        rng.urange(2, 9)
    };
    let exact = match kind {
        Kind::Identical => rng.chance(0.45),
        Kind::WholeMillis | Kind::Nanos | Kind::Duplicates | Kind::Tiny => rng.chance(0.15),
        Kind::TieProbe => false,
        _ => rng.chance(0.05),
    };
    let streams = gen_streams(&mut rng, kind, channels);
    let config = if exact {
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig {
            queue_size: gen_queue(&mut rng),
        })
    } else {
        gen_approx(&mut rng, &streams, kind)
    };
    let trace = Trace::from_pairs(
        streams
            .events
            .iter()
            .map(|e| (e.channel, Stamp::from_nanos(e.stamp))),
    );
    Case {
        seed,
        kind,
        channels,
        config,
        trace,
    }
}

fn pick_kind(rng: &mut Rng) -> Kind {
    // Weights: the realistic kinds most, the nasty ones often enough.
    let table: [(Kind, u64); 10] = [
        (Kind::Jitter, 22),
        (Kind::Identical, 14),
        (Kind::Burst, 12),
        (Kind::Reorder, 12),
        (Kind::Duplicates, 9),
        (Kind::OutOfOrder, 9),
        (Kind::WholeMillis, 12),
        (Kind::Nanos, 10),
        (Kind::Tiny, 8),
        (Kind::TieProbe, 12),
    ];
    let total: u64 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.below(total);
    for (k, w) in table {
        if r < w {
            return k;
        }
        r -= w;
    }
    Kind::Jitter
}

fn gen_queue(rng: &mut Rng) -> usize {
    if rng.chance(0.2) {
        rng.urange(1, 3)
    } else {
        rng.urange(1, 20)
    }
}

/// Total messages: mostly a few hundred, sometimes up to 2000.
fn gen_len(rng: &mut Rng) -> usize {
    match rng.below(20) {
        0 => rng.urange(1000, 2000),
        1..=5 => rng.urange(400, 1000),
        _ => rng.urange(50, 400),
    }
}

fn gen_base(rng: &mut Rng, whole_ms: bool) -> i64 {
    let base = if rng.chance(0.8) {
        1_700_000_000 * SEC + rng.range(0, 100_000) * SEC + rng.range(0, SEC - 1)
    } else {
        rng.range(1, 5) * SEC + rng.range(0, SEC - 1)
    };
    if whole_ms { base - base % MS } else { base }
}

fn gen_streams(rng: &mut Rng, kind: Kind, n: usize) -> Streams {
    match kind {
        Kind::Identical => identical(rng, n),
        Kind::Tiny => tiny(rng, n),
        Kind::TieProbe => tie_probe(rng),
        _ => {
            let mut s = jittered(rng, n, kind);
            match kind {
                Kind::Reorder => swap_across_channels(rng, &mut s.events),
                Kind::Duplicates => duplicate_stamps(rng, &mut s.events),
                Kind::OutOfOrder => backwards_stamps(rng, &mut s.events),
                _ => {}
            }
            s
        }
    }
}

/// Independent multi-rate streams, each arriving in order with its own
/// latency; merged by arrival time.
fn jittered(rng: &mut Rng, n: usize, kind: Kind) -> Streams {
    // Whole units: ties everywhere. 1 ms, or 1 ns for `Nanos`.
    let unit = match kind {
        Kind::WholeMillis => Some(MS),
        Kind::Nanos => Some(1),
        _ => None,
    };
    let total = gen_len(rng);
    let base = gen_base(rng, unit.is_some());
    let per_channel = total / n + 1;
    let stall_channel = (kind == Kind::Burst).then(|| rng.urange(0, n - 1));
    let mut events = Vec::with_capacity(total + n);
    let mut periods = Vec::with_capacity(n);
    for ch in 0..n {
        let period = if let Some(u) = unit {
            rng.pick(&[4, 6, 10, 20, 25, 30, 40, 50, 100]) * u
        } else if rng.chance(0.5) {
            SEC / rng.pick(&[10, 15, 20, 30, 50, 100])
        } else {
            SEC / rng.range(10, 100)
        };
        periods.push(period);
        let jitter = match rng.below(4) {
            0 => 0,
            1 => period / 50,
            _ => period / 10,
        };
        let offset = rng.range(0, period);
        let u = unit.unwrap_or(MS);
        let latency = rng.range(0, 30) * u + if unit.is_some() { 0 } else { rng.range(0, MS) };
        let latency_jitter = if rng.chance(0.3) {
            0
        } else {
            rng.range(1, 8) * u
        };
        let drop_p = if rng.chance(0.2) { 0.0 } else { 0.02 };
        let (stall_from, stall_len) = if stall_channel == Some(ch) {
            let k = per_channel as i64;
            (rng.range(k / 8, k / 2), rng.range(3, 60))
        } else {
            (i64::MAX, 0)
        };
        let mut last_arrival = i64::MIN;
        for k in 0..per_channel as i64 {
            let mut stamp = base + offset + k * period;
            if jitter > 0 {
                stamp += rng.range(-jitter, jitter);
            }
            if rng.chance(drop_p) {
                continue;
            }
            let mut lat = latency
                + if latency_jitter > 0 {
                    rng.range(0, latency_jitter)
                } else {
                    0
                };
            if (stall_from..stall_from + stall_len).contains(&k) {
                // Held back until the stall ends, then delivered at once.
                lat += (stall_from + stall_len - k) * period;
            }
            if let Some(u) = unit {
                stamp -= stamp.rem_euclid(u);
                lat -= lat.rem_euclid(u);
            }
            // One topic is delivered in order (FIFO transport).
            let arrival = (stamp + lat).max(last_arrival.saturating_add(1));
            last_arrival = arrival;
            events.push(Ev {
                arrival,
                channel: ch,
                stamp: stamp.max(0),
            });
        }
    }
    // Equal arrival times (whole-ms) keep channel order: deterministic.
    events.sort_by_key(|e| (e.arrival, e.channel));
    events.truncate(total.max(1));
    Streams {
        events,
        periods,
        age_penalty: None,
    }
}

/// Channels that share stamps, each message dropped with 5% probability,
/// arriving with per-channel latency.
fn identical(rng: &mut Rng, n: usize) -> Streams {
    let total = gen_len(rng);
    let whole_ms = rng.chance(0.5);
    let base = gen_base(rng, whole_ms);
    let period = if whole_ms {
        rng.pick(&[10, 20, 33, 50, 100]) * MS
    } else {
        SEC / rng.range(10, 100)
    };
    let latencies: Vec<i64> = (0..n).map(|_| rng.range(0, 25) * MS).collect();
    let spread = rng.range(0, 20) * MS;
    // Sometimes a channel sends a message twice (same stamp, later arrival).
    let resend_p = if rng.chance(0.3) { 0.05 } else { 0.0 };
    let mut events = Vec::with_capacity(total + n);
    let mut last_arrival = vec![i64::MIN; n];
    let mut k = 0;
    while events.len() < total {
        let stamp = base + k * period;
        for ch in 0..n {
            if rng.chance(0.05) {
                continue;
            }
            let arrival = (stamp + latencies[ch] + rng.range(0, spread))
                .max(last_arrival[ch].saturating_add(1));
            last_arrival[ch] = arrival;
            events.push(Ev {
                arrival,
                channel: ch,
                stamp,
            });
            if rng.chance(resend_p) {
                let again = arrival + rng.range(1, 2 * period);
                last_arrival[ch] = again;
                events.push(Ev {
                    arrival: again,
                    channel: ch,
                    stamp,
                });
            }
        }
        k += 1;
    }
    events.sort_by_key(|e| (e.arrival, e.channel));
    events.truncate(total);
    Streams {
        events,
        periods: vec![period; n],
        age_penalty: None,
    }
}

/// 0..16 messages, stamps from a small set (ties everywhere), random order.
fn tiny(rng: &mut Rng, n: usize) -> Streams {
    let len = rng.urange(0, 16);
    let base = gen_base(rng, true);
    let step = rng.pick(&[1, 1_000, MS, 10 * MS]);
    let distinct = rng.range(1, 8);
    let events = (0..len)
        .map(|i| Ev {
            arrival: i as i64,
            channel: rng.urange(0, n - 1),
            stamp: base + rng.range(0, distinct - 1) * step,
        })
        .collect();
    Streams {
        events,
        periods: vec![step.max(MS); n],
        age_penalty: None,
    }
}

/// See [`Kind::TieProbe`]. Needs the age penalty only approximately: the
/// start advance is drawn around `(1 + age) * e` for the likely factors.
fn tie_probe(rng: &mut Rng) -> Streams {
    let base = gen_base(rng, false);
    // e: log-uniform from 1 ns to 100 s, half of the time 0.1 s .. 100 s
    // (where `toSec()` loses the most precision).
    let decades = if rng.chance(0.5) {
        8.0 + rng.unit() * 3.0
    } else {
        rng.unit() * 11.0
    };
    let e = (10f64.powf(decades) as i64).max(1);
    let age = rng.pick(&[0.5, 0.25, 0.75, 1.5, 0.1, 0.3, 1.0]);
    let f = 1.0 + age;
    // The exact product rounded, or one below: one of them sits on the
    // 1 ns boundary whenever the two ways of rounding disagree.
    let s = ((e as f64 * f).round() as i64 + rng.range(-1, 0)).max(1);
    let p = s + rng.pick(&[1, 2, 3, 1000, e]);
    // Roles: `first` at base, `mid` at base + s, `pivot` at base + p (the
    // first candidate), then `first` again at base + p + e.
    let mut roles = [0usize, 1, 2];
    for i in (1..3).rev() {
        let j = rng.urange(0, i);
        roles.swap(i, j);
    }
    let [first, mid, pivot] = roles;
    let mut stamps = vec![
        (first, base),
        (mid, base + s),
        (pivot, base + p),
        (first, base + p + e),
    ];
    // Flush: rounds of newer messages on every channel, in random order.
    let step = p + e + 1;
    for k in 1..=rng.range(1, 3) {
        let mut chans = [0usize, 1, 2];
        for i in (1..3).rev() {
            let j = rng.urange(0, i);
            chans.swap(i, j);
        }
        for ch in chans {
            stamps.push((ch, base + p + e + k * step + rng.range(0, 2)));
        }
    }
    let events = stamps
        .into_iter()
        .enumerate()
        .map(|(i, (channel, stamp))| Ev {
            arrival: i as i64,
            channel,
            stamp,
        })
        .collect();
    Streams {
        events,
        periods: vec![step; 3],
        age_penalty: Some(age),
    }
}

/// Swaps neighbouring arrivals of different channels (per-channel order is
/// kept by each single swap).
fn swap_across_channels(rng: &mut Rng, events: &mut [Ev]) {
    let p = rng.pick(&[0.05, 0.2, 0.5]);
    let mut i = 0;
    while i + 1 < events.len() {
        if events[i].channel != events[i + 1].channel && rng.chance(p) {
            events.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
}

/// Gives some messages the stamp of their channel's previous message.
fn duplicate_stamps(rng: &mut Rng, events: &mut [Ev]) {
    let p = rng.pick(&[0.02, 0.1, 0.3]);
    let mut last: Vec<Option<i64>> = Vec::new();
    for e in events.iter_mut() {
        if last.len() <= e.channel {
            last.resize(e.channel + 1, None);
        }
        if let Some(prev) = last[e.channel] {
            if rng.chance(p) {
                e.stamp = prev;
            }
        }
        last[e.channel] = Some(e.stamp);
    }
}

/// Makes stamps go backwards within a channel: swaps the stamps of two
/// consecutive messages of a channel, or moves a stamp back in time.
fn backwards_stamps(rng: &mut Rng, events: &mut [Ev]) {
    let p = rng.pick(&[0.01, 0.05, 0.15]);
    let mut last: Vec<Option<usize>> = Vec::new();
    for i in 0..events.len() {
        let ch = events[i].channel;
        if last.len() <= ch {
            last.resize(ch + 1, None);
        }
        if let Some(j) = last[ch] {
            if rng.chance(p) {
                if rng.chance(0.5) {
                    let (a, b) = (events[j].stamp, events[i].stamp);
                    events[j].stamp = b;
                    events[i].stamp = a;
                } else {
                    events[i].stamp = (events[i].stamp - rng.range(0, 200) * MS).max(0);
                }
            }
        }
        last[ch] = Some(i);
    }
}

fn gen_age_penalty(rng: &mut Rng, kind: Kind) -> f64 {
    if matches!(kind, Kind::WholeMillis | Kind::Nanos | Kind::Tiny) && rng.chance(0.6) {
        // Factors that make `(1 + age) * whole units` hit whole or half
        // units, so the comparison ties or rounds.
        return rng.pick(&[0.0, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]);
    }
    match rng.below(20) {
        0..=4 => 0.1,
        5..=7 => 0.0,
        8 => 0.5,
        9 => 1.0,
        10 => 0.25,
        11..=13 => (rng.range(0, 200) as f64) / 100.0,
        _ => rng.unit() * 2.0,
    }
}

fn gen_approx(rng: &mut Rng, streams: &Streams, kind: Kind) -> PolicyConfig {
    let periods = &streams.periods;
    let n = periods.len();
    let max_period = periods.iter().copied().max().unwrap_or(MS);
    let u = if kind == Kind::Nanos { 1 } else { MS };
    let max_interval = if rng.chance(0.65) {
        None
    } else {
        // Mostly loose enough to let sets through, sometimes (nearly) zero.
        Some(Duration::from_nanos(match rng.below(12) {
            0 => 0,
            1 => rng.range(0, 5) * u,
            2..=3 => max_period / 2,
            4..=6 => max_period,
            7..=9 => rng.range(0, 2 * max_period),
            _ => rng.range(0, 100) * u,
        }))
    };
    let mut lower_bounds = Vec::new();
    match rng.below(10) {
        // Usually no bounds at all (upstream default 0).
        0..=5 => {}
        // The same bound everywhere (the ROS 1 all-channel setter).
        6 => {
            let d = if kind == Kind::WholeMillis {
                rng.range(0, 50) * MS
            } else {
                rng.range(0, max_period)
            };
            lower_bounds = (0..n).map(|c| (c, Duration::from_nanos(d))).collect();
        }
        // Per channel: zero, a fraction of the period (a true bound), about
        // the period (sometimes violated by jitter), or a wild value.
        _ => {
            for (c, &p) in periods.iter().enumerate() {
                let d = match rng.below(6) {
                    0 => continue,
                    1 => 0,
                    2 => p / 2,
                    3 => p * rng.range(80, 110) / 100,
                    4 => rng.range(0, 3 * p),
                    _ => rng.range(0, 5) * SEC,
                };
                let d = match kind {
                    Kind::WholeMillis => d - d % MS,
                    _ => d,
                };
                lower_bounds.push((c, Duration::from_nanos(d)));
            }
        }
    }
    PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
        queue_size: gen_queue(rng),
        age_penalty: match streams.age_penalty {
            Some(a) if rng.chance(0.9) => a,
            _ => gen_age_penalty(rng, kind),
        },
        max_interval,
        lower_bounds,
        deadline: None,
    })
}
