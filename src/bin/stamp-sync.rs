//! `stamp-sync`: see `stamp-sync --help`.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stamp_sync::bag::cli::{self as bag_cli, CliError};

/// Synchronize ROS messages by header stamp, exactly like C++ message_filters.
#[derive(Parser)]
#[command(name = "stamp-sync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a bag (or a trace CSV) through a policy and print the sets.
    Match(bag_cli::MatchArgs),
    /// Topics, rates and synchronization facts of a bag.
    Info(bag_cli::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let result = match &cli.command {
        Command::Match(args) if bag_cli::is_trace_file(&args.input) => {
            Err(CliError::Usage(format!(
                "{}: trace CSV input is handled by the trace `match` command",
                args.input.display()
            )))
        }
        Command::Match(args) => bag_cli::run_match_bag(args, &mut out, &mut err),
        Command::Info(args) => bag_cli::run_info(args, &mut out),
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
