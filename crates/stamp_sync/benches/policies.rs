//! Policy throughput with criterion: the smallest possible message (the
//! stamp itself), so the policy and the driver around it dominate.
//!
//! Groups (`cargo bench --bench policies -- GROUP` runs one):
//! * `exact/identical/N{n}/q{q}`: ExactTime on identical-stamp traces.
//! * `approximate/jitter/N{n}/q{q}`, `approximate/identical/N{n}/q{q}`:
//!   ApproximateTime on jittered multi-rate traces and on identical stamps.
//! * `dynamic/...`: the same through [`DynSynchronizer`] (N chosen at run
//!   time, one `Vec` per set).
//! * `scaling/queue/q{q}` (N = 3, q = 1..1000) and `scaling/channels/N{n}`
//!   (q = 10, N = 2..9): how ApproximateTime's cost per message grows.
//!
//! N = 2, 3, 9 and queue 3, 10, 100. Each trace has `MESSAGES` messages;
//! throughput is reported in messages per second. Measurement times are
//! short so the whole suite runs in a few minutes.

use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stamp_sync::{ApproximateTime, DynSynchronizer, ExactTime, Policy, Stamp, Synchronizer};

const MESSAGES: usize = 20_000;

/// xorshift64: deterministic traces without dependencies.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `(channel, stamp)` in arrival order, like `scripts/gen_trace.py`:
/// `identical`: all channels share a 30 Hz clock's stamps, 5% missing,
/// arrival jittered by up to 20 ms. Otherwise: channels at 10..100 Hz,
/// stamp jitter +-10% of the period, 2% missing, 1..15 ms latency.
fn trace(channels: usize, identical: bool) -> Vec<(usize, Stamp)> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ channels as u64);
    let mut evs: Vec<(i64, usize, i64)> = Vec::new();
    if identical {
        let period = 33_333_333;
        let mut k = 0i64;
        while evs.len() < MESSAGES {
            for ch in 0..channels {
                if rng.below(100) < 5 {
                    continue;
                }
                let stamp = k * period;
                evs.push((stamp + rng.below(20_000_000) as i64, ch, stamp));
            }
            k += 1;
        }
    } else {
        let rates = [10, 15, 20, 30, 50, 100];
        for ch in 0..channels {
            let period = 1_000_000_000 / rates[rng.below(6) as usize];
            let mut last = 0;
            for k in 0..(MESSAGES / channels + 1) as i64 {
                let stamp = k * period + rng.below(period as u64 / 5) as i64 - period / 10;
                if rng.below(100) < 2 {
                    continue;
                }
                last = (stamp + 1_000_000 + rng.below(14_000_000) as i64).max(last + 1);
                evs.push((last, ch, stamp));
            }
        }
    }
    evs.sort();
    evs.truncate(MESSAGES);
    evs.into_iter()
        .map(|(_, ch, s)| (ch, Stamp::from_nanos(s)))
        .collect()
}

/// Feeds `trace` through a typed synchronizer of `Stamp` channels built by
/// `$policy`; returns the sets emitted.
macro_rules! typed {
    ($policy:expr, $trace:expr, ($($i:tt),+)) => {{
        let mut sync = Synchronizer::<($( typed!(@t $i), )+), _>::new($policy).unwrap();
        let mut sets = 0;
        for &(ch, t) in $trace {
            sets += match ch {
                $($i => sync.add_stamped::<$i>(t, t, t),)+
                _ => 0,
            };
        }
        sets
    }};
    (@t $i:tt) => { Stamp };
}

fn run_typed<P>(n: usize, make: impl Fn() -> P, trace: &[(usize, Stamp)]) -> usize
where
    P: Policy<<(Stamp, Stamp) as stamp_sync::driver::Messages>::Queues>
        + Policy<<(Stamp, Stamp, Stamp) as stamp_sync::driver::Messages>::Queues>
        + Policy<
            <(
                Stamp,
                Stamp,
                Stamp,
                Stamp,
                Stamp,
                Stamp,
                Stamp,
                Stamp,
                Stamp,
            ) as stamp_sync::driver::Messages>::Queues,
        >,
{
    match n {
        2 => typed!(make(), trace, (0, 1)),
        3 => typed!(make(), trace, (0, 1, 2)),
        9 => typed!(make(), trace, (0, 1, 2, 3, 4, 5, 6, 7, 8)),
        _ => unreachable!("benches use N = 2, 3, 9"),
    }
}

fn run_dynamic<P: Policy<stamp_sync::driver::dynamic::VecQueues<Stamp>>>(
    n: usize,
    policy: P,
    trace: &[(usize, Stamp)],
) -> u64 {
    let mut sync = DynSynchronizer::new(n, policy).unwrap();
    for &(ch, t) in trace {
        for e in sync.push(ch, t).unwrap() {
            black_box(e);
        }
    }
    sync.stats().sets
}

fn policies(c: &mut Criterion) {
    for (label, identical) in [("identical", true), ("jitter", false)] {
        for n in [2, 3, 9] {
            let t = trace(n, identical);
            let mut g = c.benchmark_group(format!("approximate/{label}"));
            g.warm_up_time(StdDuration::from_millis(300))
                .measurement_time(StdDuration::from_secs(1))
                .sample_size(10)
                .throughput(Throughput::Elements(t.len() as u64));
            for q in [3, 10, 100] {
                g.bench_with_input(
                    BenchmarkId::new(format!("N{n}"), format!("q{q}")),
                    &t,
                    |b, t| {
                        b.iter(|| run_typed(n, || ApproximateTime::new(q).unwrap(), black_box(t)))
                    },
                );
            }
            g.finish();
            if identical {
                let mut g = c.benchmark_group("exact/identical");
                g.warm_up_time(StdDuration::from_millis(300))
                    .measurement_time(StdDuration::from_secs(1))
                    .sample_size(10)
                    .throughput(Throughput::Elements(t.len() as u64));
                for q in [3, 10, 100] {
                    g.bench_with_input(
                        BenchmarkId::new(format!("N{n}"), format!("q{q}")),
                        &t,
                        |b, t| b.iter(|| run_typed(n, || ExactTime::new(q).unwrap(), black_box(t))),
                    );
                }
                g.finish();
            }
            let mut g = c.benchmark_group(format!("dynamic/{label}"));
            g.warm_up_time(StdDuration::from_millis(300))
                .measurement_time(StdDuration::from_secs(1))
                .sample_size(10)
                .throughput(Throughput::Elements(t.len() as u64));
            g.bench_with_input(
                BenchmarkId::new("approximate", format!("N{n}/q10")),
                &t,
                |b, t| b.iter(|| run_dynamic(n, ApproximateTime::new(10).unwrap(), black_box(t))),
            );
            if identical {
                g.bench_with_input(
                    BenchmarkId::new("exact", format!("N{n}/q10")),
                    &t,
                    |b, t| b.iter(|| run_dynamic(n, ExactTime::new(10).unwrap(), black_box(t))),
                );
            }
            g.finish();
        }
    }
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/queue");
    let t = trace(3, false);
    g.warm_up_time(StdDuration::from_millis(200))
        .measurement_time(StdDuration::from_millis(700))
        .sample_size(10)
        .throughput(Throughput::Elements(t.len() as u64));
    for q in [1, 3, 10, 30, 100, 300, 1000] {
        g.bench_with_input(
            BenchmarkId::new("approximate", format!("q{q}")),
            &t,
            |b, t| b.iter(|| run_dynamic(3, ApproximateTime::new(q).unwrap(), black_box(t))),
        );
    }
    g.finish();
    let mut g = c.benchmark_group("scaling/channels");
    g.warm_up_time(StdDuration::from_millis(200))
        .measurement_time(StdDuration::from_millis(700))
        .sample_size(10);
    for n in 2..=9 {
        let t = trace(n, false);
        g.throughput(Throughput::Elements(t.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("approximate", format!("N{n}")),
            &t,
            |b, t| b.iter(|| run_dynamic(n, ApproximateTime::new(10).unwrap(), black_box(t))),
        );
    }
    g.finish();
}

criterion_group!(benches, policies, scaling);
criterion_main!(benches);
