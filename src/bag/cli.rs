//! The bag commands of `stamp-sync` (feature `cli`): `match BAG ...` and
//! `info BAG`.
//!
//! The binary only parses arguments and calls [`run_match_bag`] or
//! [`run_info`]; every error they return is a bad input, exit code
//! [`EXIT_BAD_INPUT`], printed as one line.

use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};

use super::plot::{PlotOptions, Window};
use super::report::{self, Report};
use super::{Bag, BagError, BagTrace, Progress, StampSource};
use crate::policy::ConfigError;
use crate::time::{Duration, Stamp};
use crate::trace::PolicyConfig;

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
    /// Synchronization policy.
    #[arg(long, value_enum)]
    pub policy: PolicyArg,
    /// Queue size (messages per topic for approximate, stamps for exact).
    #[arg(long, default_value_t = 10)]
    pub queue_size: usize,
    /// ApproximateTime age penalty.
    #[arg(long, default_value_t = 0.1)]
    pub age_penalty: f64,
    /// ApproximateTime max interval, e.g. 20ms.
    #[arg(long, value_name = "DUR")]
    pub max_interval: Option<Duration>,
    /// ApproximateTime inter-message lower bound of a channel: CH=DUR with
    /// CH a channel number or topic name, e.g. /imu/data=4ms.
    #[arg(long = "lower-bound", value_name = "CH=DUR")]
    pub lower_bounds: Vec<String>,
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

/// True if `path` is a trace CSV: a `.csv` file whose first line is
/// `channel,stamp_ns`. Anything else is treated as a bag.
pub fn is_trace_file(path: &Path) -> bool {
    use std::io::BufRead as _;
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return false;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut line = String::new();
    let mut reader = std::io::BufReader::new(f);
    reader.read_line(&mut line).is_ok() && line.trim() == "channel,stamp_ns"
}

fn policy_config(args: &MatchArgs) -> Result<PolicyConfig, CliError> {
    match args.policy {
        PolicyArg::Exact => {
            if args.max_interval.is_some() || !args.lower_bounds.is_empty() {
                return Err(CliError::Usage(
                    "--max-interval and --lower-bound apply to --policy approximate only".into(),
                ));
            }
            Ok(PolicyConfig::Exact {
                queue_size: args.queue_size,
            })
        }
        PolicyArg::Approximate => {
            let mut lower_bounds = Vec::new();
            for lb in &args.lower_bounds {
                let Some((ch, d)) = lb.rsplit_once('=') else {
                    return Err(CliError::Usage(format!(
                        "--lower-bound {lb:?}: expected CH=DUR, e.g. 0=5ms or /imu/data=5ms"
                    )));
                };
                let d: Duration = d
                    .parse()
                    .map_err(|e| CliError::Usage(format!("--lower-bound {lb:?}: {e}")))?;
                let ch = match ch.parse::<usize>() {
                    Ok(i) => i,
                    Err(_) => args.topics.iter().position(|t| t == ch).ok_or_else(|| {
                        CliError::Usage(format!(
                            "--lower-bound {lb:?}: {ch:?} is neither a channel number nor one of the --topic names"
                        ))
                    })?,
                };
                lower_bounds.push((ch, d));
            }
            Ok(PolicyConfig::Approximate {
                queue_size: args.queue_size,
                age_penalty: args.age_penalty,
                max_interval: args.max_interval,
                lower_bounds,
            })
        }
    }
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

pub use super::report::human_duration;

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
    let config = policy_config(args)?;
    let window = args.plot_window.as_deref().map(parse_window).transpose()?;
    let bag = Bag::open(&args.input)?;
    let names: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    let source = match args.stamp {
        StampArg::Header => StampSource::Header,
        StampArg::Arrival => StampSource::Arrival,
    };
    let bt = read_with_progress(&bag, &names, source)?;
    let channels = names.len();
    let timed = report::timed_replay(&bt.trace, channels, &config)?;
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
        let plot = super::plot::render(&bt, &topic_names, &timed, &config, &opts);
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
