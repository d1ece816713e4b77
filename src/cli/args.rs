//! The command-line arguments as clap parses them: raw, unchecked
//! ([`config`](super::config) checks them).

use std::path::PathBuf;

use stamp_sync::policy::PolicyKind;
use stamp_sync::time::Duration;

/// Policy settings and driver options, shared by `match` and `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyFlags {
    /// Synchronization policy (required, except by `match BAG --target-frame`,
    /// which then reports the topics alone).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyKind>,
    /// Queue size (messages per channel for approximate/epsilon, stamps for
    /// exact, distinct stamps per channel for slop) [default: 10].
    #[arg(long, value_name = "Q")]
    pub queue_size: Option<usize>,
    /// ApproximateTime age penalty [default: 0.1].
    #[arg(long, value_name = "X")]
    pub age_penalty: Option<f64>,
    /// ApproximateTime max interval, e.g. 20ms.
    #[arg(long, value_name = "DUR")]
    pub max_interval: Option<Duration>,
    /// ApproximateTime inter-message lower bound of a channel: CH=DUR with
    /// CH a channel number or topic name, e.g. /imu/data=4ms. Repeatable.
    #[arg(long = "lower-bound", value_name = "CH=DUR")]
    pub lower_bounds: Vec<String>,
    /// ApproximateEpsilonTime tolerance, e.g. 5ms (required with --policy epsilon).
    #[arg(long, value_name = "DUR")]
    pub epsilon: Option<Duration>,
    /// SlopTime (Python ApproximateTimeSynchronizer) slop, e.g. 100ms
    /// (required with --policy slop).
    #[arg(long, value_name = "DUR")]
    pub slop: Option<Duration>,
    /// Number of channels of a trace (default: largest channel + 1).
    #[arg(long, value_name = "N")]
    pub channels: Option<usize>,
    /// Option: clear the queues when a channel's stamp goes back by more than DUR.
    #[arg(long, value_name = "DUR")]
    pub reset_on_jump_back: Option<Duration>,
    /// Option: add DUR to every stamp of channel CH before matching, e.g. 1=-30ms. Repeatable.
    #[arg(
        long = "stamp-offset",
        value_name = "CH=DUR",
        allow_hyphen_values = true
    )]
    pub stamp_offsets: Vec<String>,
    /// Option: report a channel silent for DUR (arrival clock) while others flow.
    #[arg(long, value_name = "DUR")]
    pub stale_after: Option<Duration>,
    /// Option: with --stale-after, flush a partial set on each stale timeout.
    #[arg(long, requires = "stale_after")]
    pub partial_sets: bool,
}

/// Output format of `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FormatArg {
    /// One line per set: stamps in ns, comma-separated, in `--topic` order.
    #[default]
    Csv,
    /// A table for people: set number, stamps as seconds.nanoseconds, spread.
    Table,
    /// JSON lines, one object per set.
    Json,
}

/// Which stamp to synchronize on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StampArg {
    /// `header.stamp` (topics without a header are an error).
    #[default]
    Header,
    /// The recorded log (arrival) time.
    Arrival,
}

/// Arguments of `stamp-sync match` on a bag.
#[derive(Debug, Clone, clap::Args)]
pub struct MatchArgs {
    /// A bag (.mcap, .db3, rosbag2 directory, ROS 1 .bag) or a trace CSV.
    pub input: PathBuf,
    /// A topic to synchronize, once per input; the order gives the channel order.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Policy and options.
    #[command(flatten)]
    pub policy: PolicyFlags,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,
    /// Stamp to synchronize on.
    #[arg(long, value_enum, default_value_t)]
    pub stamp: StampArg,
    /// Write the report as JSON to FILE instead of printing it on stderr.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Draw a timeline of sets and drops into an SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Plot only START..END seconds after the first stamp, e.g. 10..12.5
    /// (default: the first sets, at most about 120 messages).
    #[arg(long, value_name = "START..END")]
    pub plot_window: Option<String>,
    /// Bag: also report how long each topic's messages (and, with --policy,
    /// the sets) would wait for their transform to frame F, replaying
    /// /tf and /tf_static in log time. Repeatable (every frame is needed).
    #[arg(long = "target-frame", value_name = "F")]
    pub target_frames: Vec<String>,
    /// With --target-frame: the longest wait for transforms, in log time [default: 1s].
    #[arg(long, value_name = "DUR", requires = "target_frames")]
    pub tf_wait: Option<Duration>,
}

/// Arguments of `stamp-sync bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The trace to time (`channel,stamp_ns` CSV).
    pub input: PathBuf,
    /// Policy settings.
    #[command(flatten)]
    pub policy: PolicyFlags,
    /// Feed the trace this many times into one synchronizer.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

/// Arguments of `stamp-sync info`.
#[derive(Debug, Clone, clap::Args)]
pub struct InfoArgs {
    /// A bag (.mcap, .db3, rosbag2 directory, ROS 1 .bag).
    pub bag: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `stamp-sync watch` (features `cli` and `r2r`): the policy
/// flags of `match`, with `--policy` defaulting to `approximate`.
#[cfg(feature = "watch")]
#[derive(Debug, Clone, clap::Args)]
#[command(mut_arg("policy", |a| a.required(false).default_value("approximate")))]
#[command(mut_arg("channels", |a| a.hide(true)))]
pub struct WatchArgs {
    /// A topic to watch, 2 to 9 times; the order gives the channel order.
    #[arg(long = "topic", value_name = "TOPIC", required = true)]
    pub topics: Vec<String>,
    /// Policy and options, as for `match` (default: approximate, queue 10).
    #[command(flatten)]
    pub policy: PolicyFlags,
    /// Stop after S seconds (default: at Ctrl-C).
    #[arg(long, value_name = "S")]
    pub seconds: Option<f64>,
    /// Print only the final report, as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the arrivals fed to the policy (`channel,stamp_ns`, arrival
    /// order): `stamp-sync match FILE.csv` with the same policy flags
    /// replays them into the same sets.
    #[arg(long, value_name = "FILE.csv")]
    pub record: Option<PathBuf>,
}
