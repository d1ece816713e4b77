//! The command-line arguments as clap parses them: raw, unchecked
//! ([`config`](super::config) checks them).

use std::path::PathBuf;

use stamp_sync::policy::{PolicyKind, Setting, Unit, all_settings};
use stamp_sync::time::Duration;

/// Policy settings and driver options, shared by `match`, `bench` and
/// `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyFlags {
    /// Synchronization policy (required, except by `match BAG --target-frame`,
    /// which then reports the topics alone).
    #[arg(long, value_parser = policy_parser())]
    pub policy: Option<PolicyName>,
    /// Every policy's settings, one flag each, from the policies' tables.
    #[command(flatten)]
    pub settings: SettingFlags,
    /// Number of channels of a trace (default: largest channel + 1).
    #[arg(long, value_name = "N")]
    pub channels: Option<usize>,
    /// Option: clear the queues when a channel's stamp goes back by more than DUR.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub reset_on_jump_back: Option<Duration>,
    /// Option: add DUR to every stamp of channel CH before matching, e.g. 1=-30ms. Repeatable.
    #[arg(
        long = "stamp-offset",
        value_name = "CH=DUR",
        allow_hyphen_values = true
    )]
    pub stamp_offsets: Vec<String>,
    /// Option: report a channel silent for DUR (arrival clock) while others flow.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub stale_after: Option<Duration>,
    /// Option: with --stale-after, flush a partial set on each stale timeout.
    #[arg(long, requires = "stale_after")]
    pub partial_sets: bool,
    /// Option: a channel trailing the newest stamp by more than DUR leaves
    /// the sets until it catches up; the others go on without it.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub drop_out_after: Option<Duration>,
    /// --policy follow: the driver channel (with a bag, the --topic order).
    #[arg(long, value_name = "CH")]
    pub driver: Option<usize>,
    /// --policy follow: channel CH follows in MODE (ranged, before, closest,
    /// bracket), e.g. 1=ranged. Once per channel other than the driver.
    #[arg(long = "follow", value_name = "CH=MODE")]
    pub follow: Vec<String>,
    /// --policy follow: a driver message is final once the newest stamp is
    /// DUR past it, even if a follower has not passed it.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub max_wait: Option<Duration>,
    /// Option: with --drop-out-after, measure on the stamps (default) or on
    /// arrival time.
    #[arg(long, value_name = "CLOCK", requires = "drop_out_after", value_parser = ["stamp", "arrival"])]
    pub drop_out_clock: Option<String>,
}

/// What `--policy` names: a policy of the registry, or the follower policy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PolicyName {
    /// One of [`PolicyKind::ALL`].
    Kind(PolicyKind),
    /// `follow`: a driver and its followers.
    Follow,
}

/// `--policy`: one of the registry's names or `follow` (clap lists them on
/// a bad one).
fn policy_parser() -> impl clap::builder::TypedValueParser<Value = PolicyName> {
    use clap::builder::TypedValueParser as _;
    let names: Vec<&'static str> = PolicyKind::NAMES
        .iter()
        .copied()
        .chain(["follow"])
        .collect();
    clap::builder::PossibleValuesParser::new(names).map(|s| match s.parse::<PolicyKind>() {
        Ok(k) => PolicyName::Kind(k),
        Err(_) => PolicyName::Follow,
    })
}

/// The flags of the policies' settings, as given (text, unchecked): one
/// flag per setting of [`all_settings`], named after it (`max_interval` is
/// `--max-interval`), with its unit, default, range and help from the
/// table. A per-channel setting is repeatable, and also answers to its
/// singular (`--lower-bound`).
#[derive(Debug, Clone, Default)]
pub struct SettingFlags {
    /// Each setting given, with its values in order.
    pub given: Vec<(&'static Setting, Vec<String>)>,
}

impl clap::FromArgMatches for SettingFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut f = SettingFlags::default();
        f.update_from_arg_matches(m)?;
        Ok(f)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for s in all_settings() {
            if let Some(v) = m.get_many::<String>(s.name) {
                self.given.retain(|(g, _)| g.name != s.name);
                self.given.push((s, v.cloned().collect()));
            }
        }
        Ok(())
    }
}

impl clap::Args for SettingFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for s in all_settings() {
            let long = s.name.replace('_', "-");
            let mut arg = clap::Arg::new(s.name)
                .long(long.clone())
                .value_name(s.unit.value_name())
                .help(s.describe())
                .allow_hyphen_values(matches!(
                    s.unit,
                    Unit::Duration | Unit::PerChannel | Unit::Number
                ));
            arg = match s.unit {
                Unit::PerChannel => {
                    let singular = long.strip_suffix('s').unwrap_or(&long).to_string();
                    arg.action(clap::ArgAction::Append).visible_alias(singular)
                }
                _ => arg.action(clap::ArgAction::Set),
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
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
    /// A bag (.mcap, .db3, rosbag2 directory, ROS 1 .bag) or a trace CSV
    /// (`-`: a trace on standard input).
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
    /// Print no sets: only the report (stderr) and the plot.
    #[arg(long, short)]
    pub quiet: bool,
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
    #[arg(
        long,
        value_name = "DUR",
        requires = "target_frames",
        allow_hyphen_values = true
    )]
    pub tf_wait: Option<Duration>,
}

/// Arguments of `stamp-sync bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The trace to time (`channel,stamp_ns` CSV; `-`: standard input).
    pub input: PathBuf,
    /// Policy settings.
    #[command(flatten)]
    pub policy: PolicyFlags,
    /// Feed the trace this many times into one synchronizer.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Time the dynamic synchronizer (`DynSynchronizer`: channels chosen at
    /// run time, up to 64 here) instead of the typed one (2 to 9).
    #[arg(long)]
    pub dynamic: bool,
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
