//! `stamp-sync`: replay a synchronization policy over a stamp trace or a
//! recorded bag and show what it emits and drops; `info` on a bag; `bench`.
//!
//! Thin by design: parse flags -> [`cli`] (checked config ->
//! [`stamp_sync_tools`]) -> exit code. Exit codes: 0 success, 2 bad input or usage,
//! 1 ROS failed `watch`, with one line on stderr.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
use cli::CliError;

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
            eprintln!("stamp-sync: {}", usage_line(&e));
            return ExitCode::from(cli::EXIT_BAD_INPUT);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let result = match &args.command {
        Command::Match(a) => cli::run_match(a, &mut out, &mut err),
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

/// A clap error as one line, with the valid values when it has them
/// (`--policy foo`).
fn usage_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let mut line = first.trim_start_matches("error: ").to_string();
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        line.push_str("; valid values: ");
        line.push_str(&valid.join(", "));
    }
    line
}
