//! `stamp-sync`: replay a synchronization policy over a stamp trace or a
//! recorded bag and show what it emits and drops; `info` on a bag; `bench`.
//!
//! Thin by design: parse flags -> [`stamp_sync_tools::cli`] (checked config ->
//! library) -> exit code. Exit codes: 0 success, 2 bad input or usage,
//! 1 ROS failed `watch`, with one line on stderr.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stamp_sync_tools::cli::{self, CliError};

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
    Tf(cli::TfArgs),
    /// Live diagnosis of running topics: rates, stamps, sets, drops and the problems found.
    #[cfg(feature = "watch")]
    Watch(cli::WatchArgs),
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
        Command::Tf(a) => cli::run_tf(a, &mut out),
        #[cfg(feature = "watch")]
        Command::Watch(a) => {
            use std::io::IsTerminal as _;
            let tty = std::io::stdout().is_terminal();
            cli::run_watch(a, &mut out, &mut err, tty)
        }
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
