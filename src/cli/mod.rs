//! The commands of `stamp-sync` (feature `cli`): `match` (a trace CSV or a
//! bag), `info BAG`, `bench TRACE` and `tf TRACE`; with feature `r2r`
//! also `watch` (live diagnosis, the `watch` module).
//!
//! Like ripgrep: raw arguments ([`args`]) are checked into settings
//! ([`config`]), the library does the work, and the results are formatted
//! ([`format`](mod@format)). The binary only parses arguments and calls
//! [`run_match_trace`], [`run_match_bag`], [`run_info`] or [`run_bench`];
//! every error they return is a bad input, exit code [`EXIT_BAD_INPUT`],
//! printed as one line.

pub mod args;
pub mod config;
pub mod follow;
pub mod format;
mod progress;
mod tf;
#[cfg(feature = "watch")]
pub mod watch;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use args::{BenchArgs, FormatArg, InfoArgs, MatchArgs, StampArg};
pub use config::{Input, open_input};
pub use tf::{TfArgs, run_tf};
#[cfg(feature = "watch")]
pub use {args::WatchArgs, watch::run_watch};

use config::{parse_window, policy_config, read_trace};
use progress::with_progress;
use stamp_sync::policy::ConfigError;
use stamp_sync_bag::{Bag, BagError, StampSource};
use stamp_sync_tools::report::plot::PlotOptions;
use stamp_sync_tools::report::{self};

/// Exit code for bad input (missing file, not a bag, corrupted bag, unknown
/// topic, bad option, ...).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Exit code of `watch` when ROS fails it (a type whose package is not
/// installed, an rcl error).
#[cfg(feature = "watch")]
pub const EXIT_ROS: u8 = 1;

/// Why a command failed: bad input ([`EXIT_BAD_INPUT`]), or for `watch`
/// ROS (exit code 1).
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
    /// `watch` could not subscribe or read the graph (exit code 1).
    #[cfg(feature = "watch")]
    #[error(transparent)]
    Watch(#[from] stamp_sync_r2r::watch::WatchError),
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
        match self {
            #[cfg(feature = "watch")]
            CliError::Watch(_) => EXIT_ROS,
            _ => EXIT_BAD_INPUT,
        }
    }
}

/// `stamp-sync match INPUT ...`: a trace CSV ([`run_match_trace`]) or a
/// bag ([`run_match_bag`]), as [`open_input`] resolves `INPUT`.
pub fn run_match(
    args: &MatchArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    match open_input(&args.input)? {
        Input::Trace { name, text } => run_match_trace(args, &name, &text, out, err),
        Input::Bag => run_match_bag(args, out, err),
    }
}

/// `stamp-sync match TRACE.csv --policy ...`: the sets on `out` (exactly
/// the `*.expected.csv` format; none with `--quiet`), the summary on `err`.
pub fn run_match_trace(
    args: &MatchArgs,
    name: &str,
    text: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if !args.topics.is_empty() || !args.target_frames.is_empty() {
        return Err(CliError::Usage(
            "--topic and --target-frame apply to bags, not to trace CSV files".into(),
        ));
    }
    let window = args.plot_window.as_deref().map(parse_window).transpose()?;
    let (trace, channels) = read_trace(name, text, &args.policy)?;
    if args.policy.policy == Some(args::PolicyName::Follow) {
        let names: Vec<String> = (0..channels).map(|c| format!("channel {c}")).collect();
        return follow::run(args, name, &trace, &names, |_| None, out, err);
    }
    let (config, options) = policy_config(&args.policy, &[], channels)?;
    let r = stamp_sync::trace::replay_with_options(&trace, channels, &config, &options)?;
    let rep = report::trace_report(name, &trace, channels, &config, &options, &r)?;
    let labels: Vec<String> = (0..channels).map(|c| format!("channel {c}")).collect();
    let names: Vec<&str> = labels.iter().map(String::as_str).collect();
    match args.format {
        _ if args.quiet => {}
        FormatArg::Csv => out
            .write_all(r.emitted_csv().as_bytes())
            .map_err(stdout_err)?,
        FormatArg::Table => format::write_table(out, &names, &r).map_err(stdout_err)?,
        // A trace has no log time.
        FormatArg::Json => {
            format::write_json_sets(out, &names, &r, |_| None).map_err(stdout_err)?
        }
    }
    out.flush().map_err(stdout_err)?;
    match &args.report {
        Some(path) => write_json(path, &rep)?,
        None => {
            let _ = err.write_all(format::summary(&r, trace.messages.len()).as_bytes());
            for a in &rep.advice {
                let _ = writeln!(err, "advice: {a}");
            }
        }
    }
    if let Some(path) = &args.plot {
        // A trace is a bag of its own stamps: no topics, no log times.
        let bt = stamp_sync_bag::BagTrace {
            topics: Vec::new(),
            messages: Vec::new(),
            trace: trace.clone(),
        };
        let timed = report::TimedReplay {
            emitted_at: r.emitted_at.clone(),
            replay: r,
        };
        write_plot(path, &bt, &labels, &timed, &config, window, err)?;
    }
    Ok(())
}

/// Renders the plot of `timed` to `path` and says where it went.
fn write_plot(
    path: &Path,
    bt: &stamp_sync_bag::BagTrace,
    names: &[String],
    timed: &report::TimedReplay,
    config: &stamp_sync::policy::PolicyConfig,
    window: Option<stamp_sync_tools::report::plot::Window>,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let opts = PlotOptions {
        window,
        ..PlotOptions::default()
    };
    let plot = report::plot::render(bt, names, timed, config, &opts);
    std::fs::write(path, plot.svg).map_err(write_err(path))?;
    let _ = writeln!(
        err,
        "plot: {} (stamps {:.3}..{:.3} s after the first of {:.3} s; {} of {} sets shown; --plot-window START..END to move)",
        path.display(),
        plot.window.start_s,
        plot.window.end_s,
        plot.span_s,
        plot.sets_shown,
        timed.replay.sets.len() + timed.replay.partials.len()
    );
    Ok(())
}

/// `stamp-sync bench TRACE.csv --policy ...`: prints
/// `messages=N emitted=M seconds=S msgs_per_s=R`.
pub fn run_bench(args: &BenchArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if args.repeat == 0 {
        return Err(CliError::Usage("--repeat must be at least 1".into()));
    }
    let Input::Trace { name, text } = open_input(&args.input)? else {
        return Err(CliError::Usage(format!(
            "{}: bench times a trace CSV (`channel,stamp_ns`), not a bag",
            args.input.display()
        )));
    };
    let most = if args.dynamic {
        DYNAMIC_BENCH_CHANNELS
    } else {
        9
    };
    let (trace, channels) = config::read_trace_upto(&name, &text, &args.policy, most)?;
    if args.policy.policy == Some(args::PolicyName::Follow) {
        let config = config::follow_config(&args.policy, &[], channels)?;
        let r = stamp_sync_tools::bench::bench_follow(&trace, channels, &config, args.repeat)?;
        return writeln!(out, "{r}").map_err(stdout_err);
    }
    let (config, options) = policy_config(&args.policy, &[], channels)?;
    if !options.is_default() {
        return Err(CliError::Usage(
            "bench measures the policy alone: driver options are not supported".into(),
        ));
    }
    let r = if args.dynamic {
        stamp_sync_tools::bench::bench_dynamic(&trace, channels, &config, args.repeat)?
    } else {
        stamp_sync_tools::bench::bench(&trace, channels, &config, args.repeat)?
    };
    writeln!(out, "{r}").map_err(stdout_err)
}

/// The most channels `bench --dynamic` takes.
const DYNAMIC_BENCH_CHANNELS: usize = 64;

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn stdout_err(e: std::io::Error) -> CliError {
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
    if args.policy.policy.is_none() && !args.target_frames.is_empty() {
        return run_tf_wait(args, err);
    }
    if args.topics.len() < 2 {
        return Err(CliError::Usage(format!(
            "a bag replay needs at least 2 --topic options, got {}",
            args.topics.len()
        )));
    }
    let follow = args.policy.policy == Some(args::PolicyName::Follow);
    let checked = if follow {
        config::follow_config(&args.policy, &args.topics, args.topics.len()).map(|_| None)
    } else {
        policy_config(&args.policy, &args.topics, args.topics.len()).map(Some)
    };
    let checked = checked?;
    let window = args.plot_window.as_deref().map(parse_window).transpose()?;
    let bag = Bag::open(&args.input)?;
    let names: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    let source = match args.stamp {
        StampArg::Header => StampSource::Header,
        StampArg::Arrival => StampSource::Arrival,
    };
    let total = bag.topics().iter().map(|t| t.count).sum();
    let bt = with_progress(total, |p| bag.trace_with_progress(&names, source, p))?;
    let channels = names.len();
    let Some((config, options)) = checked else {
        let input = args.input.display().to_string();
        return follow::run(
            args,
            &input,
            &bt.trace,
            &args.topics,
            |i| bt.messages.get(i).map(|b| b.log_time.as_nanos()),
            out,
            err,
        );
    };
    let timed = report::timed_replay_with_options(&bt.trace, channels, &config, &options)?;

    match args.format {
        _ if args.quiet => {}
        FormatArg::Csv => out
            .write_all(timed.replay.emitted_csv().as_bytes())
            .map_err(stdout_err)?,
        FormatArg::Table => format::write_table(out, &names, &timed.replay).map_err(stdout_err)?,
        FormatArg::Json => format::write_json_sets(out, &names, &timed.replay, |i| {
            bt.messages.get(i).map(|b| b.log_time.as_nanos())
        })
        .map_err(stdout_err)?,
    }
    out.flush().map_err(stdout_err)?;

    let mut rep = report::report_with_options(&bag, &bt, &config, &options, &timed)?;
    if !args.target_frames.is_empty() {
        rep.tf = Some(tf_wait_report(&bag, args, Some((&config, &options)))?);
    }
    match &args.report {
        Some(path) => write_json(path, &rep)?,
        None => {
            // The report is best effort: a closed stderr is not an error.
            let _ = format::write_report(err, &rep);
            if let Some(tf) = &rep.tf {
                let _ = format::write_tf_report(err, tf);
            }
        }
    }

    if let Some(path) = &args.plot {
        let topic_names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        write_plot(path, &bt, &topic_names, &timed, &config, window, err)?;
    }
    Ok(())
}

pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(path, text + "\n").map_err(write_err(path))
}

/// `stamp-sync match BAG --topic T... --target-frame F` without a policy:
/// only how long each topic's messages would wait for their transforms
/// (on `err`, or `--report FILE.json`).
fn run_tf_wait(args: &MatchArgs, err: &mut dyn Write) -> Result<(), CliError> {
    let p = &args.policy;
    let setting = p.settings.given.first().map(|(s, _)| s.flag());
    let needs_policy = [
        (setting.as_deref().unwrap_or(""), setting.is_some()),
        ("--reset-on-jump-back", p.reset_on_jump_back.is_some()),
        ("--stamp-offset", !p.stamp_offsets.is_empty()),
        ("--stale-after", p.stale_after.is_some()),
        ("--drop-out-after", p.drop_out_after.is_some()),
        ("--plot", args.plot.is_some()),
        ("--plot-window", args.plot_window.is_some()),
    ];
    if let Some((flag, _)) = needs_policy.iter().find(|(_, given)| *given) {
        return Err(CliError::Usage(format!(
            "{flag} needs --policy (without one, --target-frame reports the topics alone)"
        )));
    }
    if args.topics.is_empty() {
        return Err(CliError::Usage(
            "--target-frame needs at least one --topic".into(),
        ));
    }
    let bag = Bag::open(&args.input)?;
    let tf = tf_wait_report(&bag, args, None)?;
    match &args.report {
        Some(path) => write_json(
            path,
            &report::tf::TfBagReport {
                bag: bag.path().display().to_string(),
                tf,
            },
        ),
        None => {
            let _ = format::write_tf_report(err, &tf);
            Ok(())
        }
    }
}

/// The tf wait report of `args.topics` (and of the sets of `sync`).
fn tf_wait_report(
    bag: &Bag,
    args: &MatchArgs,
    sync: Option<(
        &stamp_sync::policy::PolicyConfig,
        &stamp_sync::driver::Options,
    )>,
) -> Result<report::tf::TfWaitReport, CliError> {
    if args.stamp == StampArg::Arrival {
        return Err(CliError::Usage(
            "--target-frame looks transforms up at header stamps: it does not go with --stamp arrival"
                .into(),
        ));
    }
    let mut settings = report::tf::TfWaitSettings::new(args.target_frames.clone());
    if let Some(d) = args.tf_wait {
        if d.is_negative() {
            return Err(CliError::Usage(format!(
                "--tf-wait {d}: must not be negative"
            )));
        }
        settings.timeout = d;
    }
    let names: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    let read = bag.read_tf(&names)?;
    if !read.has_tf_topics {
        let _ = writeln!(
            std::io::stderr(),
            "stamp-sync: note: {} has no /tf or /tf_static topic",
            bag.path().display()
        );
    }
    report::tf::tf_wait_report(&read, &args.topics, &settings, sync).map_err(|e| match e {
        report::tf::TfWaitError::Filter(stamp_sync_tf::TfFilterConfigError::EmptyTarget {
            ..
        }) => CliError::Usage("--target-frame must not be empty".into()),
        other => CliError::Usage(other.to_string()),
    })
}

/// `stamp-sync info BAG`: topics, rates, stamps and the synchronization
/// facts (stamp offsets between topics, identical stamps, arrival order).
pub fn run_info(args: &InfoArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let bag = Bag::open(&args.bag)?;
    let all: Vec<usize> = (0..bag.topics().len()).collect();
    let total: u64 = bag.topics().iter().map(|t| t.count).sum();
    let messages = with_progress(total, |p| bag.read(&all, p));
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
    format::write_info(out, &facts).map_err(stdout_err)
}
