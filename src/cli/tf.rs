//! `stamp-sync tf TRACE.csv`: answers the lookups of a transform trace the
//! way tf2 would (see [`stamp_sync_tf::trace`]); `stamp-sync tf BAG --target F
//! --source F --at-topic TOPIC`: the same answers for every message of a
//! recorded topic, from the bag's `/tf` and `/tf_static`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CliError, stdout_err};
use stamp_sync::time::Duration;
use stamp_sync_bag::Bag;
use stamp_sync_tf::trace::{TfRecord, TraceOptions, parse_trace, run_records, write_record};
use stamp_sync_tools::bench::tf::bench_lookups;

/// Arguments of `stamp-sync tf`.
#[derive(Debug, Clone, clap::Args)]
pub struct TfArgs {
    /// A transform trace (`tf,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>`,
    /// `tf_static,...` (same fields) and `lookup,<stamp_ns>,<target>,<source>` lines), or a bag
    /// (.mcap, .db3, rosbag2 directory, ROS 1 .bag) with /tf and /tf_static.
    #[arg(value_name = "TRACE.csv|BAG")]
    pub input: PathBuf,
    /// How long each dynamic link keeps samples, e.g. `10s`, `500ms`.
    #[arg(long, default_value = "10s", allow_hyphen_values = true)]
    pub cache_time: Duration,
    /// Instead of answering: apply the transforms, time N passes over the
    /// lookups, print `lookups= ok= seconds= lookups_per_s=` on stderr.
    #[arg(long, value_name = "N")]
    pub bench: Option<u32>,
    /// Bag: a target frame; each --target pairs with the --source at the same position.
    #[arg(long = "target", value_name = "F")]
    pub targets: Vec<String>,
    /// Bag: a source frame (`lookup(target <- source)`).
    #[arg(long = "source", value_name = "F")]
    pub sources: Vec<String>,
    /// Bag: look the pairs up at the header stamp of every message of TOPIC.
    #[arg(long, value_name = "TOPIC")]
    pub at_topic: Option<String>,
    /// Bag: use the transforms logged up to DUR after each message's log time [default: 0].
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub delay: Option<Duration>,
    /// Bag: print the equivalent trace (transform and lookup lines) instead of the answers.
    #[arg(long)]
    pub print_trace: bool,
}

/// True if `path` is read as a bag by `stamp-sync tf`: a directory, a
/// file named `.mcap`, `.db3` or `.bag`, or one starting with a bag's
/// first bytes. Anything else is a trace.
pub fn is_bag(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    ["mcap", "db3", "bag"]
        .iter()
        .any(|b| ext.eq_ignore_ascii_case(b))
        || stamp_sync_bag::has_bag_magic(path)
}

/// `stamp-sync tf TRACE.csv` or `stamp-sync tf BAG ...`: one output line
/// per lookup on `out` (see [`TfArgs`]).
pub fn run_tf(a: &TfArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if a.cache_time.is_negative() {
        return Err(CliError::Usage(format!(
            "--cache-time {}: must not be negative",
            a.cache_time
        )));
    }
    let records = if is_bag(&a.input) {
        bag_records(a)?
    } else {
        trace_records(a)?
    };
    if let Some(n) = a.bench {
        if n == 0 {
            return Err(CliError::Usage("--bench must be at least 1".into()));
        }
        eprintln!("{}", bench_lookups(&records, a.cache_time, n));
        return Ok(());
    }
    let text = if a.print_trace {
        let mut text = String::new();
        for r in &records {
            write_record(&mut text, r).map_err(|e| CliError::Usage(e.to_string()))?;
        }
        text
    } else {
        let options = TraceOptions {
            cache_time: a.cache_time,
            report_inserts: false,
        };
        run_records(&records, &options)
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_err)?;
    if a.print_trace {
        return Ok(());
    }
    every_lookup_failed(&text).map_or(Ok(()), Err)
}

/// The error of a run whose lookups all failed (exit 2): how many, and
/// the first reason.
fn every_lookup_failed(answers: &str) -> Option<CliError> {
    let mut lookups = 0;
    let mut first = None;
    for line in answers.lines() {
        lookups += 1;
        if line.starts_with("ok,") {
            return None;
        }
        first = first.or_else(|| line.rsplit(',').next());
    }
    let first = first?;
    Some(CliError::Usage(format!(
        "all {lookups} lookups failed (the first with error `{first}`)"
    )))
}

fn trace_records(a: &TfArgs) -> Result<Vec<TfRecord>, CliError> {
    let bag_only = [
        ("--target", !a.targets.is_empty()),
        ("--source", !a.sources.is_empty()),
        ("--at-topic", a.at_topic.is_some()),
        ("--delay", a.delay.is_some()),
        ("--print-trace", a.print_trace),
    ];
    if let Some((flag, _)) = bag_only.iter().find(|(_, given)| *given) {
        return Err(CliError::Usage(format!(
            "{flag} applies to a bag; {} is read as a trace",
            a.input.display()
        )));
    }
    let text = std::fs::read_to_string(&a.input)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", a.input.display())))?;
    parse_trace(&text).map_err(|e| CliError::Usage(format!("{}: {e}", a.input.display())))
}

fn bag_records(a: &TfArgs) -> Result<Vec<TfRecord>, CliError> {
    let Some(topic) = &a.at_topic else {
        return Err(CliError::Usage(format!(
            "{} is a bag: give --at-topic TOPIC and at least one --target F --source F pair",
            a.input.display()
        )));
    };
    if a.targets.is_empty() || a.targets.len() != a.sources.len() {
        return Err(CliError::Usage(format!(
            "--target and --source come in pairs: got {} --target and {} --source",
            a.targets.len(),
            a.sources.len()
        )));
    }
    let delay = a.delay.unwrap_or(Duration::ZERO);
    if delay.is_negative() {
        return Err(CliError::Usage(format!(
            "--delay {delay}: must not be negative"
        )));
    }
    let bag = Bag::open(&a.input)?;
    let read = bag.read_tf(&[topic.as_str()])?;
    if !read.has_tf_topics {
        eprintln!(
            "stamp-sync: note: {} has no /tf or /tf_static topic: every lookup fails",
            a.input.display()
        );
    }
    let pairs: Vec<(String, String)> = a
        .targets
        .iter()
        .cloned()
        .zip(a.sources.iter().cloned())
        .collect();
    Ok(read.lookup_trace(&pairs, delay))
}
