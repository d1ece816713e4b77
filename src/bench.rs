//! The throughput benchmark behind `stamp-sync bench`: typed messages with a
//! ROS-like header moved through a typed [`Synchronizer`].
//!
//! Mirrors the reference runner's `--bench`: all messages are built before
//! timing (one per trace line, `geometry_msgs/PointStamped`-like, empty
//! `frame_id` as there), then only the feeding loop is timed, with a
//! callback that counts sets.

use std::time::Instant;

use crate::policy::{ApproximateEpsilonTime, ConfigError, ExactTime, LatestTime};
use crate::synchronizer::Synchronizer;
use crate::trace::{PolicyConfig, Trace};

/// `builtin_interfaces/Time`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Time {
    /// Seconds.
    pub sec: i32,
    /// Nanoseconds.
    pub nanosec: u32,
}

/// `std_msgs/Header`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Header {
    /// Stamp.
    pub stamp: Time,
    /// Frame.
    pub frame_id: String,
}

/// `geometry_msgs/PointStamped`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PointStamped {
    /// Header.
    pub header: Header,
    /// x, y, z.
    pub point: [f64; 3],
}

crate::impl_stamped!(PointStamped);

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

fn message(stamp: crate::Stamp) -> PointStamped {
    let (sec, nanosec) = stamp.to_ros().unwrap_or((0, 0));
    PointStamped {
        header: Header {
            stamp: Time { sec, nanosec },
            frame_id: String::new(),
        },
        point: [1.0, 2.0, 3.0],
    }
}

macro_rules! run_typed {
    ($trace:expr, $repeat:expr, $policy:expr, ($($T:ident $i:tt),+)) => {{
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c = count.clone();
        let mut sync = Synchronizer::<($($T,)+), _>::new($policy)?.on_set(move |set| {
            std::hint::black_box(&set);
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let mut msgs: Vec<(usize, PointStamped)> = Vec::with_capacity($trace.messages.len() * $repeat);
        for _ in 0..$repeat {
            msgs.extend($trace.messages.iter().map(|m| (m.channel, message(m.stamp))));
        }
        let n = msgs.len() as u64;
        let t0 = Instant::now();
        // `drain` keeps the input's buffer: freeing it is not the
        // synchronizer's work (the reference runner frees its trace after
        // timing too).
        for (ch, m) in msgs.drain(..) {
            match ch {
                $($i => { sync.add::<$i>(m); })+
                _ => {}
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        drop(msgs);
        let emitted = count.load(std::sync::atomic::Ordering::Relaxed);
        BenchResult { messages: n, emitted, seconds }
    }};
}

type P = PointStamped;

macro_rules! run {
    ($trace:expr, $channels:expr, $repeat:expr, $policy:expr) => {
        match $channels {
            2 => run_typed!($trace, $repeat, $policy, (P 0, P 1)),
            3 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2)),
            4 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2, P 3)),
            5 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2, P 3, P 4)),
            6 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2, P 3, P 4, P 5)),
            7 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2, P 3, P 4, P 5, P 6)),
            8 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2, P 3, P 4, P 5, P 6, P 7)),
            9 => run_typed!($trace, $repeat, $policy, (P 0, P 1, P 2, P 3, P 4, P 5, P 6, P 7, P 8)),
            n => return Err(ConfigError::TooFewChannels(n)),
        }
    };
}

/// Times `trace` (fed `repeat` times into one synchronizer, as the
/// reference runner does) through a typed synchronizer of `channels`
/// (2..=9) `PointStamped` channels.
pub fn bench(
    trace: &Trace,
    channels: usize,
    config: &PolicyConfig,
    repeat: usize,
) -> Result<BenchResult, ConfigError> {
    let repeat = repeat.max(1);
    match config {
        PolicyConfig::Exact { queue_size } => {
            Ok(run!(trace, channels, repeat, ExactTime::new(*queue_size)?))
        }
        PolicyConfig::Approximate { .. } => {
            Ok(run!(trace, channels, repeat, config.build_approximate()?))
        }
        PolicyConfig::Epsilon {
            queue_size,
            epsilon,
        } => Ok(run!(
            trace,
            channels,
            repeat,
            ApproximateEpsilonTime::new(*queue_size, *epsilon)?
        )),
        PolicyConfig::Latest => Ok(run!(trace, channels, repeat, LatestTime::new())),
        PolicyConfig::Slop { queue_size, slop } => Ok(run!(
            trace,
            channels,
            repeat,
            crate::policy::SlopTime::new(*queue_size, *slop)?
        )),
    }
}
