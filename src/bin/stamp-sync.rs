//! `stamp-sync`: replay a synchronization policy over a stamp trace or a
//! recorded bag and show what it emits and drops; `info` on a bag; `bench`.
//!
//! Thin by design: parse flags -> [`stamp_sync::cli`] (checked config ->
//! library) -> exit code. Exit codes: 0 success, 2 bad input or usage,
//! with one line on stderr.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stamp_sync::cli::{self, CliError};

/// Synchronize ROS messages by header stamp, exactly like C++ message_filters.
#[derive(Parser)]
#[command(name = "stamp-sync", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a trace CSV (`channel,stamp_ns`) or a bag through a policy and print the sets.
    Match(cli::MatchArgs),
    /// Topics, rates and synchronization facts of a bag.
    Info(cli::InfoArgs),
    /// Time a policy over a trace with typed PointStamped-like messages.
    Bench(cli::BenchArgs),
    /// Answer the lookups of a transform trace (`tf,...`, `tf_static,...`, `lookup,...` lines) like tf2.
    Tf(tf_cmd::TfArgs),
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("stamp-sync: {}", line.trim_start_matches("error: "));
            return ExitCode::from(cli::EXIT_BAD_INPUT);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let result = match &args.command {
        Command::Match(a) if cli::is_trace_file(&a.input) => {
            cli::run_match_trace(a, &mut out, &mut err)
        }
        Command::Match(a) => cli::run_match_bag(a, &mut out, &mut err),
        Command::Info(a) => cli::run_info(a, &mut out),
        Command::Bench(a) => cli::run_bench(a, &mut out),
        Command::Tf(a) => return tf_cmd::run(a, &mut out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not a failure.
        Err(CliError::Write { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stamp-sync: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `stamp-sync tf`: kept apart from `stamp_sync::cli` (own exit handling).
mod tf_cmd {
    use std::io::Write;
    use std::path::PathBuf;
    use std::process::ExitCode;

    use stamp_sync::Duration;
    use stamp_sync::tf::bench::bench_lookups;
    use stamp_sync::tf::trace::{TraceOptions, parse_trace, run_records};

    /// `stamp-sync tf TRACE.csv [--cache-time DUR] [--bench N]`.
    #[derive(clap::Args)]
    pub struct TfArgs {
        /// Transform trace: `tf,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>`,
        /// `tf_static,...` (same fields) and `lookup,<stamp_ns>,<target>,<source>` lines.
        trace: PathBuf,
        /// How long each dynamic link keeps samples, e.g. `10s`, `500ms`.
        #[arg(long, default_value = "10s")]
        cache_time: Duration,
        /// Instead of answering: apply the transforms, time N passes over the
        /// lookups, print `lookups= ok= seconds= lookups_per_s=` on stderr.
        #[arg(long, value_name = "N")]
        bench: Option<u32>,
    }

    fn bad(msg: impl std::fmt::Display) -> ExitCode {
        eprintln!("stamp-sync: error: {msg}");
        ExitCode::from(2)
    }

    pub fn run(a: &TfArgs, out: &mut dyn Write) -> ExitCode {
        let text = match std::fs::read_to_string(&a.trace) {
            Ok(t) => t,
            Err(e) => return bad(format_args!("cannot read {}: {e}", a.trace.display())),
        };
        let records = match parse_trace(&text) {
            Ok(r) => r,
            Err(e) => return bad(format_args!("{}: {e}", a.trace.display())),
        };
        if let Some(n) = a.bench {
            if n == 0 {
                return bad("--bench must be at least 1");
            }
            eprintln!("{}", bench_lookups(&records, a.cache_time, n));
            return ExitCode::SUCCESS;
        }
        let options = TraceOptions {
            cache_time: a.cache_time,
            report_inserts: false,
        };
        let text = run_records(&records, &options);
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stamp-sync: error: writing stdout: {e}");
                ExitCode::from(1)
            }
        }
    }
}
