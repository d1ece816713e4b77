//! The throughput benchmark behind `stamp-sync bench`: typed messages with a
//! ROS-like header moved through a typed [`Synchronizer`].
//!
//! Mirrors the reference runner's `--bench`: all messages are built before
//! timing (one per trace line, `geometry_msgs/PointStamped`-like, empty
//! `frame_id` as there), then only the feeding loop is timed, with a
//! callback that counts sets.

use std::collections::VecDeque;
use std::time::Instant;

use stamp_sync::driver::dynamic::VecQueues;
use stamp_sync::driver::{DynSynchronizer, Messages, Synchronizer, TupleQueues};
use stamp_sync::policy::{ConfigError, Policy, PolicyConfig, Visit};
use stamp_sync::stamped::Stamped;
use stamp_sync::time::Stamp;

pub mod tf;
use stamp_sync::trace::Trace;

// The benchmark's message, private: `builtin_interfaces/Time`,
// `std_msgs/Header` and `geometry_msgs/PointStamped` as the reference
// runner builds them.
#[derive(Clone, Debug, Default, PartialEq)]
struct Time {
    sec: i32,
    nanosec: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Header {
    stamp: Time,
    #[allow(dead_code)] // moved with each message, as in the reference
    frame_id: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct PointStamped {
    header: Header,
    #[allow(dead_code)]
    point: [f64; 3],
}

impl Stamped for PointStamped {
    fn stamp(&self) -> Stamp {
        Stamp::from_ros(self.header.stamp.sec, self.header.stamp.nanosec)
    }
}

/// What one benchmark run measured.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct BenchResult {
    /// Messages fed.
    pub messages: u64,
    /// Sets emitted.
    pub emitted: u64,
    /// Seconds spent feeding.
    pub seconds: f64,
}

impl BenchResult {
    /// Messages per second.
    pub fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

impl std::fmt::Display for BenchResult {
    /// `messages=N emitted=M seconds=S msgs_per_s=R`, the reference runner's format.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "messages={} emitted={} seconds={:.6} msgs_per_s={:.0}",
            self.messages,
            self.emitted,
            self.seconds,
            self.msgs_per_s()
        )
    }
}

fn message(stamp: Stamp) -> PointStamped {
    let (sec, nanosec) = stamp.to_ros().unwrap_or((0, 0));
    PointStamped {
        header: Header {
            stamp: Time { sec, nanosec },
            frame_id: String::new(),
        },
        point: [1.0, 2.0, 3.0],
    }
}

/// The benchmark over one arity: what [`Visit`] runs for each policy.
struct Run<'a> {
    trace: &'a Trace,
    repeat: usize,
}

macro_rules! impl_run {
    ($($T:ident $i:tt),+) => {
        impl Visit<TupleQueues<($(VecDeque<$T>,)+)>> for Run<'_> {
            type Output = Result<BenchResult, ConfigError>;
            fn visit<Pol: Policy<TupleQueues<($(VecDeque<$T>,)+)>>>(self, policy: Pol) -> Self::Output {
                let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
                let c = count.clone();
                let mut sync = Synchronizer::<($($T,)+), _>::builder(policy).on_set(move |set| {
                    std::hint::black_box(&set);
                    c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }).build()?;
                let mut msgs: Vec<(usize, PointStamped)> =
                    Vec::with_capacity(self.trace.messages.len() * self.repeat);
                for _ in 0..self.repeat {
                    msgs.extend(self.trace.messages.iter().map(|m| (m.channel, message(m.stamp))));
                }
                let n = msgs.len() as u64;
                let t0 = Instant::now();
                // `drain` keeps the input's buffer: freeing it is not the
                // synchronizer's work (the reference runner frees its trace
                // after timing too).
                for (ch, m) in msgs.drain(..) {
                    match ch {
                        $($i => { sync.add::<$i>(m); })+
                        _ => {}
                    }
                }
                let seconds = t0.elapsed().as_secs_f64();
                drop(msgs);
                let emitted = count.load(std::sync::atomic::Ordering::Relaxed);
                Ok(BenchResult { messages: n, emitted, seconds })
            }
        }
    };
}

type P = PointStamped;
impl_run!(P 0, P 1);
impl_run!(P 0, P 1, P 2);
impl_run!(P 0, P 1, P 2, P 3);
impl_run!(P 0, P 1, P 2, P 3, P 4);
impl_run!(P 0, P 1, P 2, P 3, P 4, P 5);
impl_run!(P 0, P 1, P 2, P 3, P 4, P 5, P 6);
impl_run!(P 0, P 1, P 2, P 3, P 4, P 5, P 6, P 7);
impl_run!(P 0, P 1, P 2, P 3, P 4, P 5, P 6, P 7, P 8);

/// The typed queues of `N` `PointStamped` channels.
type Q<T> = <T as Messages>::Queues;

/// Times `trace` (fed `repeat` times into one synchronizer, as the
/// reference runner does) through a typed synchronizer of `channels`
/// (2..=9) `PointStamped` channels.
pub fn bench(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    repeat: usize,
) -> Result<BenchResult, ConfigError> {
    let run = Run {
        trace,
        repeat: repeat.max(1),
    };
    let policy = config.build()?;
    match channels {
        2 => policy.visit::<Q<(P, P)>, _>(run),
        3 => policy.visit::<Q<(P, P, P)>, _>(run),
        4 => policy.visit::<Q<(P, P, P, P)>, _>(run),
        5 => policy.visit::<Q<(P, P, P, P, P)>, _>(run),
        6 => policy.visit::<Q<(P, P, P, P, P, P)>, _>(run),
        7 => policy.visit::<Q<(P, P, P, P, P, P, P)>, _>(run),
        8 => policy.visit::<Q<(P, P, P, P, P, P, P, P)>, _>(run),
        9 => policy.visit::<Q<(P, P, P, P, P, P, P, P, P)>, _>(run),
        n if n < 2 => Err(ConfigError::TooFewChannels(n)),
        n => Err(ConfigError::TooManyChannels {
            channels: n,
            max: 9,
        }),
    }
}

/// The benchmark over the dynamic synchronizer: what [`Visit`] runs.
struct RunDyn<'a> {
    trace: &'a Trace,
    channels: usize,
    repeat: usize,
}

impl Visit<VecQueues<PointStamped>> for RunDyn<'_> {
    type Output = Result<BenchResult, ConfigError>;
    fn visit<Pol: Policy<VecQueues<PointStamped>>>(self, policy: Pol) -> Self::Output {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c = count.clone();
        let mut sync = DynSynchronizer::<PointStamped, _>::builder(self.channels, policy)
            .on_set(move |set| {
                std::hint::black_box(&set);
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .build()?;
        let mut msgs: Vec<(usize, PointStamped)> =
            Vec::with_capacity(self.trace.messages.len() * self.repeat);
        for _ in 0..self.repeat {
            msgs.extend(
                self.trace
                    .messages
                    .iter()
                    .map(|m| (m.channel, message(m.stamp))),
            );
        }
        let n = msgs.len() as u64;
        let t0 = Instant::now();
        for (ch, m) in msgs.drain(..) {
            // Channels beyond the synchronizer's are skipped, as in `bench`.
            let _ = sync.add(ch, m);
        }
        let seconds = t0.elapsed().as_secs_f64();
        drop(msgs);
        let emitted = count.load(std::sync::atomic::Ordering::Relaxed);
        Ok(BenchResult {
            messages: n,
            emitted,
            seconds,
        })
    }
}

/// Times `trace` (fed `repeat` times) through a [`DynSynchronizer`] of
/// `channels` (2 or more) `PointStamped` channels: one `Vec` queue per
/// channel, sets handed out as a `DynSet`.
pub fn bench_dynamic(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    repeat: usize,
) -> Result<BenchResult, ConfigError> {
    let run = RunDyn {
        trace,
        channels,
        repeat: repeat.max(1),
    };
    config.build()?.visit::<VecQueues<PointStamped>, _>(run)
}

/// Times `trace` through the follower policy ([`FollowSynchronizer`](stamp_sync::driver::follow::FollowSynchronizer)
/// of `PointStamped`, one queue per channel). Fed `repeat` times, each
/// repetition's stamps shifted past the last, since stamps must ascend per
/// channel.
pub fn bench_follow(
    trace: &Trace,
    channels: usize,
    config: &stamp_sync::policy::FollowConfig,
    repeat: usize,
) -> Result<BenchResult, ConfigError> {
    use stamp_sync::driver::follow::FollowSynchronizer;
    use stamp_sync::time::Duration;
    let mut sync = FollowSynchronizer::<PointStamped>::new(channels, config)?;
    let first = trace
        .messages
        .iter()
        .map(|m| m.stamp)
        .min()
        .unwrap_or_default();
    let last = trace
        .messages
        .iter()
        .map(|m| m.stamp)
        .max()
        .unwrap_or_default();
    let span = last.since(first).as_nanos().saturating_add(1);
    let mut msgs: Vec<(usize, Stamp, PointStamped)> =
        Vec::with_capacity(trace.messages.len() * repeat.max(1));
    for r in 0..repeat.max(1) {
        let shift = Duration::from_nanos(span.saturating_mul(r as i64));
        msgs.extend(trace.messages.iter().map(|m| {
            let t = m.stamp.saturating_add(shift);
            (m.channel, t, message(t))
        }));
    }
    let n = msgs.len() as u64;
    let mut emitted = 0u64;
    let t0 = Instant::now();
    for (ch, t, m) in msgs.drain(..) {
        for e in sync.push(ch, m, t) {
            if let stamp_sync::Event::Set(s) = e {
                std::hint::black_box(&s);
                emitted += 1;
            }
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    drop(msgs);
    Ok(BenchResult {
        messages: n,
        emitted,
        seconds,
    })
}
