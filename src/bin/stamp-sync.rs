//! `stamp-sync`: run a synchronization policy over a stamp trace and show
//! what it emits and drops, or benchmark it.
//!
//! Thin by design: parse flags -> checked config -> library -> exit code.
//! Exit codes: 0 success, 2 bad input or usage (one line on stderr).

#![warn(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use stamp_sync::trace::{PolicyConfig, Replay, Trace, replay_with_options};
use stamp_sync::{Duration, Options};

/// Synchronize ROS message stamps exactly like C++ message_filters.
#[derive(Parser, Debug)]
#[command(name = "stamp-sync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the sets a policy emits for a trace (`channel,stamp_ns` CSV in arrival order).
    Match(MatchArgs),
    /// Time a policy over a trace with typed PointStamped-like messages.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct MatchArgs {
    /// The trace: a CSV with header `channel,stamp_ns`, messages in arrival order.
    input: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Output format of the sets on stdout.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// The trace to time.
    input: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Feed the trace this many times into one synchronizer (as the reference runner's `--bench R`).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum PolicyKind {
    /// ExactTime: identical stamps.
    Exact,
    /// ApproximateTime: the C++ optimal-set search.
    Approximate,
    /// ApproximateEpsilonTime: greedy sets within --epsilon.
    Epsilon,
    /// LatestTime: zero-order hold at the fastest channel's rate (trace stamps as the clock).
    Latest,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One set per line, stamps in ns, channel order.
    Csv,
}

#[derive(Args, Debug)]
struct PolicyArgs {
    /// The synchronization policy.
    #[arg(long, value_enum)]
    policy: PolicyKind,
    /// Queue size: messages per channel (approximate) or distinct stamps (exact).
    #[arg(long, default_value_t = 10)]
    queue_size: usize,
    /// ApproximateTime age penalty (>= 0).
    #[arg(long, default_value_t = 0.1)]
    age_penalty: f64,
    /// ApproximateTime max interval, e.g. 20ms (default unlimited).
    #[arg(long, value_name = "DUR")]
    max_interval: Option<Duration>,
    /// ApproximateTime inter-message lower bound of one channel, e.g. 0=40ms. Repeatable.
    #[arg(long, value_name = "CH=DUR", value_parser = parse_lower_bound)]
    lower_bound: Vec<(usize, Duration)>,
    /// ApproximateEpsilonTime tolerance, e.g. 5ms (required with --policy epsilon).
    #[arg(long, value_name = "DUR")]
    epsilon: Option<Duration>,
    /// Number of channels (default: largest channel in the trace + 1).
    #[arg(long, value_name = "N")]
    channels: Option<usize>,
    /// Option: clear the queues when a channel's stamp goes back by more than DUR.
    #[arg(long, value_name = "DUR")]
    reset_on_jump_back: Option<Duration>,
    /// Option: add DUR to every stamp of channel CH before matching, e.g. 1=-30ms. Repeatable.
    #[arg(long, value_name = "CH=DUR", value_parser = parse_lower_bound, allow_hyphen_values = true)]
    stamp_offset: Vec<(usize, Duration)>,
    /// Option: report a channel silent for DUR while others flow.
    #[arg(long, value_name = "DUR")]
    stale_after: Option<Duration>,
    /// Option: with --stale-after, flush a partial set on each stale timeout.
    #[arg(long, requires = "stale_after")]
    partial_sets: bool,
}

fn parse_lower_bound(s: &str) -> Result<(usize, Duration), String> {
    let (ch, d) = s
        .split_once('=')
        .ok_or_else(|| format!("expected CH=DUR, e.g. 0=40ms, got {s:?}"))?;
    let ch = ch
        .trim()
        .parse()
        .map_err(|_| format!("expected a channel number before '=', got {ch:?}"))?;
    let d = d.parse::<Duration>().map_err(|e| e.to_string())?;
    Ok((ch, d))
}

/// Checked settings: the trace, its channel count, the policy and options.
struct Config {
    trace: Trace,
    channels: usize,
    policy: PolicyConfig,
    options: Options,
}

impl PolicyArgs {
    fn into_config(self, input: &std::path::Path) -> anyhow::Result<Config> {
        const MAX_CHANNEL: usize = 8;
        if self.queue_size == 0 {
            bail!("--queue-size must be at least 1");
        }
        if let Some(n) = self.channels {
            if !(2..=MAX_CHANNEL + 1).contains(&n) {
                bail!("--channels must be between 2 and 9, got {n}");
            }
        }
        let text = std::fs::read_to_string(input)
            .with_context(|| format!("cannot read {}", input.display()))?;
        let max = self.channels.map_or(MAX_CHANNEL, |n| n - 1);
        let trace = Trace::parse(&text, max).with_context(|| input.display().to_string())?;
        let channels = match self.channels {
            Some(n) => n,
            None => match trace.channels() {
                n if n >= 2 => n,
                n => bail!(
                    "{}: the trace has {n} channel(s); a synchronizer needs 2 (use --channels)",
                    input.display()
                ),
            },
        };
        let policy = match self.policy {
            PolicyKind::Exact => PolicyConfig::Exact {
                queue_size: self.queue_size,
            },
            PolicyKind::Epsilon => match self.epsilon {
                None => bail!("--policy epsilon needs --epsilon DUR"),
                Some(d) if d.is_negative() => bail!("--epsilon must not be negative, got {d}"),
                Some(epsilon) => PolicyConfig::Epsilon {
                    queue_size: self.queue_size,
                    epsilon,
                },
            },
            PolicyKind::Latest => PolicyConfig::Latest,
            PolicyKind::Approximate => {
                if !(self.age_penalty.is_finite() && self.age_penalty >= 0.0) {
                    bail!(
                        "--age-penalty must be a finite number >= 0, got {}",
                        self.age_penalty
                    );
                }
                if let Some(d) = self.max_interval.filter(|d| d.is_negative()) {
                    bail!("--max-interval must not be negative, got {d}");
                }
                for &(ch, d) in &self.lower_bound {
                    if ch >= channels {
                        bail!(
                            "--lower-bound {ch}={d}: channel {ch} does not exist ({channels} channels)"
                        );
                    }
                    if d.is_negative() {
                        bail!("--lower-bound {ch}={d}: must not be negative");
                    }
                }
                PolicyConfig::Approximate {
                    queue_size: self.queue_size,
                    age_penalty: self.age_penalty,
                    max_interval: self.max_interval,
                    lower_bounds: self.lower_bound,
                }
            }
        };
        if self.epsilon.is_some() && self.policy != PolicyKind::Epsilon {
            bail!("--epsilon only applies to --policy epsilon");
        }
        let mut options = Options::new().partial_sets(self.partial_sets);
        if let Some(d) = self.reset_on_jump_back {
            options = options.reset_on_jump_back(d);
        }
        if let Some(d) = self.stale_after {
            options = options.stale_after(d);
        }
        for &(ch, d) in &self.stamp_offset {
            if ch >= channels {
                bail!("--stamp-offset {ch}={d}: channel {ch} does not exist ({channels} channels)");
            }
            options = options.stamp_offset(ch, d);
        }
        options
            .check(channels)
            .map_err(|e| anyhow::anyhow!("options: {e}"))?;
        Ok(Config {
            trace,
            channels,
            policy,
            options,
        })
    }
}

fn summary(r: &Replay, messages: usize) -> String {
    let st = &r.stats;
    let mut s = format!("messages in: {messages}, sets out: {}\n", st.sets);
    if st.partial_sets + st.stale + st.resets > 0 {
        s += &format!(
            "partial sets: {}, stale-channel reports: {}, resets: {}\n",
            st.partial_sets, st.stale, st.resets
        );
    }
    for (ch, c) in r.stats.channels.iter().enumerate() {
        let reasons: Vec<String> = stamp_sync::DropReason::ALL
            .iter()
            .filter(|&&why| c.dropped_for(why) > 0)
            .map(|&why| format!("{why} {}", c.dropped_for(why)))
            .collect();
        s += &format!(
            "channel {ch}: received {}, emitted {}, dropped {}{}, queued {}\n",
            c.received,
            c.emitted,
            c.dropped_total(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            r.queued.get(ch).copied().unwrap_or(0)
        );
    }
    s
}

fn run_match(args: MatchArgs) -> anyhow::Result<()> {
    let Format::Csv = args.format;
    let cfg = args.policy.into_config(&args.input)?;
    let r = replay_with_options(&cfg.trace, cfg.channels, &cfg.policy, &cfg.options)?;
    write_stdout(r.sets_csv().as_bytes())?;
    eprint!("{}", summary(&r, cfg.trace.messages.len()));
    Ok(())
}

fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let cfg = args.policy.into_config(&args.input)?;
    if !cfg.options.is_default() {
        bail!("bench measures the policy alone: options are not supported here");
    }
    let r = stamp_sync::bench::bench(&cfg.trace, cfg.channels, &cfg.policy, args.repeat)?;
    write_stdout(format!("{r}\n").as_bytes())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help / --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("stamp-sync: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Match(a) => run_match(a),
        Command::Bench(a) => run_bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stamp-sync: {e:#}");
            ExitCode::from(2)
        }
    }
}
