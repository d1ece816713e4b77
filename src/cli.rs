//! The commands of `stamp-sync` (feature `cli`): `match` (a trace CSV or a
//! bag), `info BAG` and `bench TRACE`.
//!
//! The binary only parses arguments and calls [`run_match_trace`],
//! [`run_match_bag`], [`run_info`] or [`run_bench`]; every error they return
//! is a bad input, exit code [`EXIT_BAD_INPUT`], printed as one line.

use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};

use crate::bag::plot::{PlotOptions, Window};
use crate::bag::report::{self, Report};
use crate::bag::{Bag, BagError, BagTrace, Progress, StampSource};
use crate::driver::Options;
use crate::policy::{ConfigError, DropReason};
use crate::time::{Duration, Stamp};
use crate::trace::{PolicyConfig, Replay, Trace};

/// Exit code for bad input (missing file, not a bag, corrupted bag, unknown
/// topic, bad option, ...).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Synchronization policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    /// ExactTime: sets of identical stamps.
    Exact,
    /// ApproximateTime: the tightest sets, as C++ message_filters finds them.
    Approximate,
    /// ApproximateEpsilonTime: greedy sets within --epsilon.
    Epsilon,
    /// LatestTime: zero-order hold at the fastest channel's rate (stamps as the clock).
    Latest,
    /// SlopTime: Python's ApproximateTimeSynchronizer, sets spanning less than --slop.
    Slop,
}

/// Policy settings and driver options, shared by `match` and `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyFlags {
    /// Synchronization policy.
    #[arg(long, value_enum)]
    pub policy: PolicyArg,
    /// Queue size (messages per channel for approximate/epsilon, stamps for
    /// exact, distinct stamps per channel for slop).
    #[arg(long, default_value_t = 10)]
    pub queue_size: usize,
    /// ApproximateTime age penalty.
    #[arg(long, default_value_t = 0.1)]
    pub age_penalty: f64,
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

/// Why a bag command failed: always bad input ([`EXIT_BAD_INPUT`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The bag could not be read.
    #[error(transparent)]
    Bag(#[from] BagError),
    /// The policy settings are invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        EXIT_BAD_INPUT
    }
}

/// True if `path` is a trace CSV: a `.csv` file, or any file whose first
/// line is `channel,stamp_ns`. Anything else is treated as a bag.
pub fn is_trace_file(path: &Path) -> bool {
    use std::io::Read as _;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return true;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 16];
    let mut n = 0;
    let mut f = f;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    head[..n].starts_with(b"channel,stamp_ns")
}

/// Parses `CH=DUR` where CH is a channel number below `channels` or one
/// of `topics`.
fn channel_duration(
    flag: &str,
    raw: &str,
    topics: &[String],
    channels: usize,
) -> Result<(usize, Duration), CliError> {
    let Some((ch, d)) = raw.rsplit_once('=') else {
        return Err(CliError::Usage(format!(
            "{flag} {raw:?}: expected CH=DUR, e.g. 0=5ms or /imu/data=5ms"
        )));
    };
    let d: Duration = d
        .parse()
        .map_err(|e| CliError::Usage(format!("{flag} {raw:?}: {e}")))?;
    let ch = match ch.parse::<usize>() {
        Ok(i) => i,
        Err(_) => topics.iter().position(|t| t == ch).ok_or_else(|| {
            CliError::Usage(format!(
                "{flag} {raw:?}: {ch:?} is neither a channel number nor one of the --topic names"
            ))
        })?,
    };
    if ch >= channels {
        return Err(CliError::Usage(format!(
            "{flag} {raw:?}: channel {ch} does not exist ({channels} channels)"
        )));
    }
    Ok((ch, d))
}

/// Checks the policy flags for `channels` inputs named `topics` (empty for
/// a trace) and builds the policy settings and driver options.
pub fn policy_config(
    flags: &PolicyFlags,
    topics: &[String],
    channels: usize,
) -> Result<(PolicyConfig, Options), CliError> {
    if flags.queue_size == 0 {
        return Err(CliError::Usage(
            "--queue-size 0: the queue size must be at least 1".into(),
        ));
    }
    let approx_only = flags.max_interval.is_some() || !flags.lower_bounds.is_empty();
    if approx_only && flags.policy != PolicyArg::Approximate {
        return Err(CliError::Usage(
            "--max-interval and --lower-bound apply to --policy approximate only".into(),
        ));
    }
    if flags.epsilon.is_some() && flags.policy != PolicyArg::Epsilon {
        return Err(CliError::Usage(
            "--epsilon applies to --policy epsilon only".into(),
        ));
    }
    if flags.slop.is_some() != (flags.policy == PolicyArg::Slop) {
        return Err(CliError::Usage(
            "--policy slop needs --slop DUR, and --slop applies to --policy slop only".into(),
        ));
    }
    let config = match flags.policy {
        PolicyArg::Exact => PolicyConfig::Exact {
            queue_size: flags.queue_size,
        },
        PolicyArg::Latest => PolicyConfig::Latest,
        PolicyArg::Slop => PolicyConfig::Slop {
            queue_size: flags.queue_size,
            slop: flags.slop.unwrap_or_default(),
        },
        PolicyArg::Epsilon => match flags.epsilon {
            None => {
                return Err(CliError::Usage(
                    "--policy epsilon needs --epsilon DUR".into(),
                ));
            }
            Some(epsilon) => PolicyConfig::Epsilon {
                queue_size: flags.queue_size,
                epsilon,
            },
        },
        PolicyArg::Approximate => {
            let lower_bounds = flags
                .lower_bounds
                .iter()
                .map(|lb| channel_duration("--lower-bound", lb, topics, channels))
                .collect::<Result<_, _>>()?;
            PolicyConfig::Approximate {
                queue_size: flags.queue_size,
                age_penalty: flags.age_penalty,
                max_interval: flags.max_interval,
                lower_bounds,
            }
        }
    };
    // Fail on bad settings now, with the option's name where possible.
    match &config {
        PolicyConfig::Approximate { .. } => drop(config.build_approximate()?),
        PolicyConfig::Epsilon {
            queue_size,
            epsilon,
        } => drop(crate::policy::ApproximateEpsilonTime::new(
            *queue_size,
            *epsilon,
        )?),
        PolicyConfig::Slop { queue_size, slop } => {
            drop(crate::policy::SlopTime::new(*queue_size, *slop)?)
        }
        _ => {}
    }
    let mut options = Options::new().partial_sets(flags.partial_sets);
    if let Some(d) = flags.reset_on_jump_back {
        options = options.reset_on_jump_back(d);
    }
    if let Some(d) = flags.stale_after {
        options = options.stale_after(d);
    }
    for raw in &flags.stamp_offsets {
        let (ch, d) = channel_duration("--stamp-offset", raw, topics, channels)?;
        options = options.stamp_offset(ch, d);
    }
    options.check(channels)?;
    Ok((config, options))
}

/// Reads a trace for `match`/`bench`: at most 9 channels (or `--channels`).
fn read_trace(path: &Path, flags: &PolicyFlags) -> Result<(Trace, usize), CliError> {
    const MAX_CHANNEL: usize = 8;
    if let Some(n) = flags.channels {
        if !(2..=MAX_CHANNEL + 1).contains(&n) {
            return Err(CliError::Usage(format!(
                "--channels must be between 2 and 9, got {n}"
            )));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let max = flags.channels.map_or(MAX_CHANNEL, |n| n - 1);
    let trace = Trace::parse(&text, max)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let channels = match flags.channels {
        Some(n) => n,
        None if trace.channels() >= 2 => trace.channels(),
        None => {
            return Err(CliError::Usage(format!(
                "{}: the trace has {} channel(s); a synchronizer needs 2 (use --channels)",
                path.display(),
                trace.channels()
            )));
        }
    };
    Ok((trace, channels))
}

/// The `match` summary for a trace: messages in, sets out, drops by
/// channel and reason.
pub fn summary(r: &Replay, messages: usize) -> String {
    let st = &r.stats;
    let mut s = format!("messages in: {messages}, sets out: {}\n", st.sets);
    if st.partial_sets + st.stale + st.resets > 0 {
        s += &format!(
            "partial sets: {}, stale-channel reports: {}, resets: {}\n",
            st.partial_sets, st.stale, st.resets
        );
    }
    for (ch, c) in st.channels.iter().enumerate() {
        let reasons: Vec<String> = DropReason::ALL
            .iter()
            .filter(|&&why| c.dropped_for(why) > 0)
            .map(|&why| format!("{why} {}", c.dropped_for(why)))
            .collect();
        let why = if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        };
        s += &format!(
            "channel {ch}: received {}, emitted {}, dropped {}{why}, queued {}\n",
            c.received,
            c.emitted,
            c.dropped_total(),
            r.queued.get(ch).copied().unwrap_or(0)
        );
    }
    s
}

/// `stamp-sync match TRACE.csv --policy ...`: the sets on `out` (exactly
/// the `*.expected.csv` format), the summary on `err`.
pub fn run_match_trace(
    args: &MatchArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if !args.topics.is_empty() || args.plot.is_some() || args.report.is_some() {
        return Err(CliError::Usage(
            "--topic, --plot and --report apply to bags, not to trace CSV files".into(),
        ));
    }
    if args.format != FormatArg::Csv {
        return Err(CliError::Usage(
            "trace CSV input supports --format csv only".into(),
        ));
    }
    let (trace, channels) = read_trace(&args.input, &args.policy)?;
    let (config, options) = policy_config(&args.policy, &[], channels)?;
    let r = crate::trace::replay_with_options(&trace, channels, &config, &options)?;
    out.write_all(r.sets_csv().as_bytes()).map_err(stdout_err)?;
    out.flush().map_err(stdout_err)?;
    let _ = err.write_all(summary(&r, trace.messages.len()).as_bytes());
    Ok(())
}

/// `stamp-sync bench TRACE.csv --policy ...`: prints
/// `messages=N emitted=M seconds=S msgs_per_s=R`.
pub fn run_bench(args: &BenchArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if args.repeat == 0 {
        return Err(CliError::Usage("--repeat must be at least 1".into()));
    }
    let (trace, channels) = read_trace(&args.input, &args.policy)?;
    let (config, options) = policy_config(&args.policy, &[], channels)?;
    if !options.is_default() {
        return Err(CliError::Usage(
            "bench measures the policy alone: driver options are not supported".into(),
        ));
    }
    let r = crate::bench::bench(&trace, channels, &config, args.repeat)?;
    writeln!(out, "{r}").map_err(stdout_err)
}

fn progress_bar(total_hint: u64) -> Option<indicatif::ProgressBar> {
    // Only on long reads, and only for a person watching.
    if total_hint < 200_000 || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total_hint);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} reading {wide_bar} {human_pos}/{human_len} messages, {eta} left",
    ) {
        pb.set_style(style);
    }
    Some(pb)
}

fn read_with_progress(
    bag: &Bag,
    names: &[&str],
    source: StampSource,
) -> Result<BagTrace, BagError> {
    let total: u64 = bag.topics().iter().map(|t| t.count).sum();
    let pb = progress_bar(total);
    let mut cb = |p: Progress| {
        if let Some(pb) = &pb {
            pb.set_length(p.total);
            pb.set_position(p.done);
        }
    };
    let out = bag.trace_with_progress(names, source, &mut cb);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    out
}

pub use crate::bag::report::human_duration;

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn stdout_err(e: std::io::Error) -> CliError {
    CliError::Write {
        path: PathBuf::from("<stdout>"),
        source: e,
    }
}

/// `stamp-sync match BAG --topic ... --policy ...`: replays the bag's
/// topics through the policy and writes the sets to `out`; the report goes
/// to `err` (or `--report FILE.json`), the plot to `--plot FILE.svg`.
pub fn run_match_bag(
    args: &MatchArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if args.topics.len() < 2 {
        return Err(CliError::Usage(format!(
            "a bag replay needs at least 2 --topic options, got {}",
            args.topics.len()
        )));
    }
    let (config, options) = policy_config(&args.policy, &args.topics, args.topics.len())?;
    let window = args.plot_window.as_deref().map(parse_window).transpose()?;
    let bag = Bag::open(&args.input)?;
    let names: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    let source = match args.stamp {
        StampArg::Header => StampSource::Header,
        StampArg::Arrival => StampSource::Arrival,
    };
    let bt = read_with_progress(&bag, &names, source)?;
    let channels = names.len();
    let timed = report::timed_replay_with_options(&bt.trace, channels, &config, &options)?;
    let sets = &timed.replay.sets;

    match args.format {
        FormatArg::Csv => out
            .write_all(timed.replay.sets_csv().as_bytes())
            .map_err(stdout_err)?,
        FormatArg::Table => write_table(out, &names, &timed.replay).map_err(stdout_err)?,
        FormatArg::Json => {
            for (i, set) in sets.iter().enumerate() {
                let members: Vec<serde_json::Value> = set
                    .iter()
                    .zip(&names)
                    .map(|(m, name)| {
                        serde_json::json!({
                            "topic": name,
                            "stamp_ns": m.stamp.as_nanos(),
                            "stamp": m.stamp.to_string(),
                            "log_time_ns": bt.messages.get(m.index).map(|b| b.log_time.as_nanos()),
                        })
                    })
                    .collect();
                let line = serde_json::json!({
                    "set": i + 1,
                    "stamps_ns": set.iter().map(|m| m.stamp.as_nanos()).collect::<Vec<_>>(),
                    "spread_ns": report::spread(set).as_nanos(),
                    "members": members,
                });
                writeln!(out, "{line}").map_err(stdout_err)?;
            }
        }
    }
    out.flush().map_err(stdout_err)?;

    let rep = report::report(&bag, &bt, &config, &timed);
    match &args.report {
        Some(path) => {
            let text = serde_json::to_string_pretty(&rep).map_err(|e| CliError::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
            std::fs::write(path, text + "\n").map_err(write_err(path))?;
        }
        None => {
            // The report is best effort: a closed stderr is not an error.
            let _ = write_report(err, &rep);
        }
    }

    if let Some(path) = &args.plot {
        let opts = PlotOptions {
            window,
            ..PlotOptions::default()
        };
        let topic_names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let plot = crate::bag::plot::render(&bt, &topic_names, &timed, &config, &opts);
        std::fs::write(path, plot.svg).map_err(write_err(path))?;
        let _ = writeln!(
            err,
            "plot: {} (stamps {:.3}..{:.3} s after the first of {:.3} s; {} of {} sets; --plot-window START..END to move)",
            path.display(),
            plot.window.start_s,
            plot.window.end_s,
            plot.span_s,
            plot.sets_shown,
            sets.len()
        );
    }
    Ok(())
}

fn parse_window(s: &str) -> Result<Window, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--plot-window {s:?}: expected START..END in seconds, e.g. 10..12.5"
        ))
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let start_s: f64 = a.trim().parse().map_err(|_| bad())?;
    let end_s: f64 = b.trim().parse().map_err(|_| bad())?;
    if !(start_s.is_finite() && end_s.is_finite() && end_s > start_s) {
        return Err(bad());
    }
    Ok(Window { start_s, end_s })
}

fn write_table(
    out: &mut dyn Write,
    names: &[&str],
    r: &crate::trace::Replay,
) -> std::io::Result<()> {
    let widths: Vec<usize> = names.iter().map(|n| n.len().max(20)).collect();
    write!(out, "{:>5}", "set")?;
    for (n, w) in names.iter().zip(&widths) {
        write!(out, "  {n:>w$}")?;
    }
    writeln!(out, "  {:>12}", "spread")?;
    for (i, set) in r.sets.iter().enumerate() {
        write!(out, "{:>5}", i + 1)?;
        for (m, w) in set.iter().zip(&widths) {
            write!(out, "  {:>w$}", m.stamp.to_string())?;
        }
        writeln!(
            out,
            "  {:>12}",
            human_duration(report::spread(set).as_nanos())
        )?;
    }
    Ok(())
}

fn write_report(err: &mut dyn Write, rep: &Report) -> std::io::Result<()> {
    writeln!(
        err,
        "--- report: {} policy, queue size {}, {} sets ---",
        rep.policy, rep.queue_size, rep.sets
    )?;
    let w = rep
        .topics
        .iter()
        .map(|t| t.topic.len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        err,
        "{:<w$}  {:>8}  {:>8}  {:>8}  dropped by reason",
        "topic", "read", "matched", "queued"
    )?;
    for t in &rep.topics {
        let drops = if t.dropped.is_empty() {
            "-".to_string()
        } else {
            t.dropped
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(
            err,
            "{:<w$}  {:>8}  {:>8}  {:>8}  {drops}",
            t.topic, t.read, t.matched, t.queued_at_end
        )?;
    }
    if let Some(s) = rep.spread {
        writeln!(
            err,
            "set spread: min {}  median {}  p95 {}  max {}",
            human_duration(s.min_ns),
            human_duration(s.median_ns),
            human_duration(s.p95_ns),
            human_duration(s.max_ns)
        )?;
    }
    if let Some(g) = rep.longest_gap {
        writeln!(
            err,
            "longest stretch without a set: {} (log time {} to {})",
            human_duration(g.length_ns),
            Stamp::from_nanos(g.from_ns),
            Stamp::from_nanos(g.to_ns)
        )?;
    }
    for a in &rep.advice {
        writeln!(err, "advice: {a}")?;
    }
    Ok(())
}

/// `stamp-sync info BAG`: topics, rates, stamps and the synchronization
/// facts (stamp offsets between topics, identical stamps, arrival order).
pub fn run_info(args: &InfoArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let bag = Bag::open(&args.bag)?;
    let all: Vec<usize> = (0..bag.topics().len()).collect();
    let total: u64 = bag.topics().iter().map(|t| t.count).sum();
    let pb = progress_bar(total);
    let mut cb = |p: Progress| {
        if let Some(pb) = &pb {
            pb.set_length(p.total);
            pb.set_position(p.done);
        }
    };
    let messages = bag.read(&all, &mut cb);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let messages = messages?;
    let facts = report::facts(&bag, &messages);
    if args.json {
        let text = serde_json::to_string_pretty(&facts).map_err(|e| CliError::Write {
            path: PathBuf::from("<stdout>"),
            source: std::io::Error::other(e),
        })?;
        writeln!(out, "{text}").map_err(stdout_err)?;
        return Ok(());
    }
    write_info(out, &facts).map_err(stdout_err)
}

fn write_info(out: &mut dyn Write, f: &report::BagFacts) -> std::io::Result<()> {
    writeln!(out, "bag:       {}", f.bag)?;
    writeln!(out, "format:    {} ({} bytes)", f.format, f.bytes)?;
    if let (Some(a), Some(b)) = (f.start_ns, f.end_ns) {
        writeln!(
            out,
            "log time:  {} .. {} ({})",
            Stamp::from_nanos(a),
            Stamp::from_nanos(b),
            human_duration(b.saturating_sub(a))
        )?;
    }
    writeln!(out, "messages:  {}", f.messages)?;
    let w = f
        .topics
        .iter()
        .map(|t| t.topic.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let tw = f
        .topics
        .iter()
        .map(|t| t.type_name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(out)?;
    writeln!(
        out,
        "{:<w$}  {:<tw$}  {:>7}  {:>9}  {:>7}  {:>14}  {:>8}",
        "topic", "type", "count", "rate", "stamped", "recorded late", "repeated"
    )?;
    for t in &f.topics {
        let rate = t
            .rate_hz
            .map(|r| format!("{r:.2} Hz"))
            .unwrap_or_else(|| "-".into());
        let lag = t
            .median_lag_ns
            .map(human_duration)
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<w$}  {:<tw$}  {:>7}  {:>9}  {:>7}  {:>14}  {:>8}",
            t.topic, t.type_name, t.count, rate, t.stamped, lag, t.repeated_stamps
        )?;
    }
    if !f.pairs.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "stamp offsets between stamped topics (from each stamp of a to the nearest stamp of b, b - a):"
        )?;
        let aw = f.pairs.iter().map(|p| p.a.len()).max().unwrap_or(1).max(11);
        let bw = f.pairs.iter().map(|p| p.b.len()).max().unwrap_or(1).max(1);
        writeln!(
            out,
            "{:<aw$}  {:<bw$}  {:>12}  {:>12}  {:>12}  identical",
            "a (sparser)", "b", "median", "median |off|", "p95 |off|"
        )?;
        for p in &f.pairs {
            writeln!(
                out,
                "{:<aw$}  {:<bw$}  {:>12}  {:>12}  {:>12}  {}",
                p.a,
                p.b,
                human_duration(p.median_offset_ns),
                human_duration(p.median_abs_offset_ns),
                human_duration(p.p95_abs_offset_ns),
                p.identical
            )?;
        }
        let shared: Vec<String> = f
            .pairs
            .iter()
            .filter(|p| p.identical > 0)
            .map(|p| format!("{} & {} ({})", p.a, p.b, p.identical))
            .collect();
        if shared.is_empty() {
            writeln!(
                out,
                "identical stamps: none (no two topics share a stamp: ExactTime will match nothing)"
            )?;
        } else {
            writeln!(out, "identical stamps: {}", shared.join(", "))?;
        }
    }
    writeln!(
        out,
        "(recorded late: median of log time minus header stamp; repeated: messages whose stamp an earlier message of the topic already had)"
    )?;
    writeln!(
        out,
        "arrival order disagrees with stamp order: {} times (consecutive messages of different topics whose stamps go backwards)",
        f.arrival_disagreements
    )?;
    Ok(())
}
