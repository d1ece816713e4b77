//! `stamp-sync tf TRACE.csv`: answers the lookups of a transform trace the
//! way tf2 would (see [`crate::tf::trace`]).

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, stdout_err};
use crate::tf::bench::bench_lookups;
use crate::tf::trace::{TraceOptions, parse_trace, run_records};
use crate::time::Duration;

/// Arguments of `stamp-sync tf`.
#[derive(Debug, Clone, clap::Args)]
pub struct TfArgs {
    /// Transform trace: `tf,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>`,
    /// `tf_static,...` (same fields) and `lookup,<stamp_ns>,<target>,<source>` lines.
    pub trace: PathBuf,
    /// How long each dynamic link keeps samples, e.g. `10s`, `500ms`.
    #[arg(long, default_value = "10s")]
    pub cache_time: Duration,
    /// Instead of answering: apply the transforms, time N passes over the
    /// lookups, print `lookups= ok= seconds= lookups_per_s=` on stderr.
    #[arg(long, value_name = "N")]
    pub bench: Option<u32>,
}

/// `stamp-sync tf TRACE.csv`: one output line per lookup on `out`.
pub fn run_tf(a: &TfArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if a.cache_time.is_negative() {
        return Err(CliError::Usage(format!(
            "--cache-time {}: must not be negative",
            a.cache_time
        )));
    }
    let text = std::fs::read_to_string(&a.trace)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", a.trace.display())))?;
    let records =
        parse_trace(&text).map_err(|e| CliError::Usage(format!("{}: {e}", a.trace.display())))?;
    if let Some(n) = a.bench {
        if n == 0 {
            return Err(CliError::Usage("--bench must be at least 1".into()));
        }
        eprintln!("{}", bench_lookups(&records, a.cache_time, n));
        return Ok(());
    }
    let options = TraceOptions {
        cache_time: a.cache_time,
        report_inserts: false,
    };
    out.write_all(run_records(&records, &options).as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_err)
}
