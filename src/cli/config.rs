//! From raw arguments to checked settings: which input, which policy with
//! which settings, which driver options. Every error names the flag.

use std::path::Path;

use super::CliError;
use super::args::{PolicyFlags, PolicyName};
use stamp_sync::driver::Options;
use stamp_sync::policy::{
    ConfigError, PolicyConfig, PolicyKind, Setting, Settings, Unit, Value, all_settings,
};
use stamp_sync::time::Duration;
use stamp_sync::trace::Trace;
use stamp_sync_tools::report::plot::Window;

/// What `INPUT` names, read once (so that a pipe works).
#[derive(Debug)]
pub enum Input {
    /// A trace CSV: its name for messages and its text.
    Trace {
        /// The path, or `standard input` for `-`.
        name: String,
        /// The whole CSV.
        text: String,
    },
    /// A bag (a file or a rosbag2 directory), left to the bag reader.
    Bag,
}

/// The first line of a trace CSV.
const TRACE_HEADER: &[u8] = b"channel,stamp_ns";

/// Resolves `INPUT`: `-` is a trace CSV on standard input; a `.csv` file
/// or any file whose first line is `channel,stamp_ns` is a trace; a pipe
/// (`/dev/stdin`, a FIFO) must hold a trace; anything else is a bag.
pub fn open_input(path: &Path) -> Result<Input, CliError> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| CliError::Usage(format!("{}: {e}", path.display()));
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("standard input: {e}")))?;
        return Ok(Input::Trace {
            name: "standard input".into(),
            text,
        });
    }
    let trace = |text: String| Input::Trace {
        name: path.display().to_string(),
        text,
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return std::fs::read_to_string(path).map(trace).map_err(unreadable);
    }
    let Ok(meta) = std::fs::metadata(path) else {
        // Missing: the bag reader names what is wrong.
        return Ok(Input::Bag);
    };
    if meta.is_dir() {
        return Ok(Input::Bag);
    }
    if !meta.is_file() {
        // A pipe cannot be read twice: read it whole, then decide.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(unreadable)?;
        if !bytes.starts_with(TRACE_HEADER) {
            return Err(CliError::Usage(format!(
                "{}: not a trace CSV (its first line must be `channel,stamp_ns`); a bag must be a regular file, not a pipe",
                path.display()
            )));
        }
        return String::from_utf8(bytes).map(trace).map_err(|_| {
            CliError::Usage(format!("{}: the trace is not UTF-8 text", path.display()))
        });
    }
    let mut head = [0u8; TRACE_HEADER.len()];
    let mut n = 0;
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    if head[..n] == *TRACE_HEADER {
        return std::fs::read_to_string(path).map(trace).map_err(unreadable);
    }
    Ok(Input::Bag)
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

/// The flag of setting `name`, e.g. `--queue-size`.
pub fn flag(name: &str) -> String {
    all_settings()
        .find(|s| s.name == name)
        .map_or_else(|| name.to_string(), Setting::flag)
}

/// The settings the flags give, parsed by their units: a count, a number,
/// a duration, or `CH=DUR` per channel (CH a channel number or one of
/// `topics`). Every error names the flag.
fn given_settings(
    flags: &PolicyFlags,
    topics: &[String],
    channels: usize,
) -> Result<Settings, CliError> {
    let mut given = Settings::new();
    for (s, raw) in &flags.settings.given {
        let f = s.flag();
        let last = raw.last().map(String::as_str).unwrap_or("");
        let bad = |why: String| CliError::Usage(format!("{f} {last:?}: {why}"));
        let v = match s.unit {
            Unit::Count => Value::Count(
                last.parse()
                    .map_err(|_| bad("expected a whole number".into()))?,
            ),
            Unit::Number => {
                Value::Number(last.parse().map_err(|_| bad("expected a number".into()))?)
            }
            Unit::Duration => Value::Duration(last.parse().map_err(|e| bad(format!("{e}")))?),
            Unit::PerChannel => Value::PerChannel(
                raw.iter()
                    .map(|r| channel_duration(&f, r, topics, channels))
                    .collect::<Result<_, _>>()?,
            ),
        };
        given.set(s.name, v);
    }
    Ok(given)
}

/// Checks the policy flags for `channels` inputs named `topics` (empty for
/// a trace) and builds the policy settings and driver options. A flag the
/// policy does not take is an error.
pub fn policy_config(
    flags: &PolicyFlags,
    topics: &[String],
    channels: usize,
) -> Result<(PolicyConfig, Options), CliError> {
    let given = given_settings(flags, topics, channels)?;
    let kind = match flags.policy {
        Some(PolicyName::Kind(kind)) => kind,
        Some(PolicyName::Follow) => {
            return Err(CliError::Usage(
                "--policy follow is not supported by this command (match, bench and watch take it)"
                    .into(),
            ));
        }
        None => {
            return Err(CliError::Usage(format!(
                "--policy is required ({}|follow)",
                PolicyKind::NAMES.join("|")
            )));
        }
    };
    for (flag, given) in [
        ("--driver", flags.driver.is_some()),
        ("--follow", !flags.follow.is_empty()),
        ("--max-wait", flags.max_wait.is_some()),
    ] {
        if given {
            return Err(CliError::Usage(format!(
                "{flag} applies to --policy follow, not --policy {kind}"
            )));
        }
    }
    let config = PolicyConfig::from_settings(kind, &given).map_err(|e| match e {
        ConfigError::NotForPolicy { param, policy } => CliError::Usage(format!(
            "{} does not apply to --policy {policy}",
            flag(param)
        )),
        ConfigError::MissingParam { param, policy } => {
            let unit = all_settings()
                .find(|s| s.name == param)
                .map_or("DUR", |s| s.unit.value_name());
            CliError::Usage(format!("--policy {policy} needs {} {unit}", flag(param)))
        }
        ConfigError::OutOfRange {
            setting,
            value,
            range,
        } => CliError::Usage(format!("{} {value}: must be in {range}", flag(setting))),
        ConfigError::ZeroQueueSize => {
            CliError::Usage("--queue-size 0: the queue size must be at least 1".into())
        }
        other => CliError::Config(other),
    })?;
    let not_negative = |name: &str, d: Option<Duration>| match d {
        Some(d) if d.is_negative() => {
            Err(CliError::Usage(format!("{name} {d}: must not be negative")))
        }
        _ => Ok(()),
    };
    not_negative("--reset-on-jump-back", flags.reset_on_jump_back)?;
    not_negative("--stale-after", flags.stale_after)?;
    not_negative("--drop-out-after", flags.drop_out_after)?;
    let mut options = Options::new().partial_sets(flags.partial_sets);
    if let Some(d) = flags.drop_out_after {
        options = options.drop_out_after(d);
    }
    if let Some(clock) = &flags.drop_out_clock {
        options = options.drop_out_clock(clock.parse().map_err(CliError::Usage)?);
    }
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
pub fn read_trace(name: &str, text: &str, flags: &PolicyFlags) -> Result<(Trace, usize), CliError> {
    read_trace_upto(name, text, flags, 9)
}

/// [`read_trace`] with at most `most` channels.
pub fn read_trace_upto(
    name: &str,
    text: &str,
    flags: &PolicyFlags,
    most: usize,
) -> Result<(Trace, usize), CliError> {
    let max_channel = most.saturating_sub(1);
    if let Some(n) = flags.channels {
        if !(2..=most).contains(&n) {
            return Err(CliError::Usage(format!(
                "--channels must be between 2 and {most}, got {n}"
            )));
        }
    }
    let max = flags.channels.map_or(max_channel, |n| n - 1);
    let trace = Trace::parse(text, max).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
    let channels = match flags.channels {
        Some(n) => n,
        None if trace.channels() >= 2 => trace.channels(),
        None => {
            return Err(CliError::Usage(format!(
                "{name}: the trace has {} channel(s); a synchronizer needs 2 (use --channels)",
                trace.channels()
            )));
        }
    };
    Ok((trace, channels))
}

/// Parses `--plot-window START..END` (seconds).
pub fn parse_window(s: &str) -> Result<Window, CliError> {
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

/// Checks the flags of `--policy follow` for `channels` inputs (named
/// `topics`, empty for a trace) and builds its settings. Only
/// `--queue-size` of the policy settings applies, and no driver option.
pub fn follow_config(
    flags: &PolicyFlags,
    topics: &[String],
    channels: usize,
) -> Result<stamp_sync::policy::FollowConfig, CliError> {
    use stamp_sync::policy::{FollowConfig, Mode};
    let given = given_settings(flags, topics, channels)?;
    if let Some(s) = flags
        .settings
        .given
        .iter()
        .map(|(s, _)| *s)
        .find(|s| s.name != "queue_size")
    {
        return Err(CliError::Usage(format!(
            "{} does not apply to --policy follow",
            s.flag()
        )));
    }
    let options = [
        ("--reset-on-jump-back", flags.reset_on_jump_back.is_some()),
        ("--stamp-offset", !flags.stamp_offsets.is_empty()),
        ("--stale-after", flags.stale_after.is_some()),
        ("--drop-out-after", flags.drop_out_after.is_some()),
    ];
    if let Some((flag, _)) = options.iter().find(|(_, g)| *g) {
        return Err(CliError::Usage(format!(
            "{flag} does not apply to --policy follow"
        )));
    }
    let Some(driver) = flags.driver else {
        return Err(CliError::Usage(
            "--policy follow needs --driver CH and a --follow CH=MODE per other channel".into(),
        ));
    };
    let mut config = FollowConfig::new(driver);
    if let Some(Value::Count(q)) = given.get("queue_size") {
        config = config.queue_size(*q);
    }
    if let Some(w) = flags.max_wait {
        if w.is_negative() {
            return Err(CliError::Usage(format!(
                "--max-wait {w}: must not be negative"
            )));
        }
        config = config.max_wait(w);
    }
    for raw in &flags.follow {
        let bad = |why: String| CliError::Usage(format!("--follow {raw}: {why}"));
        let (ch, mode) = raw
            .split_once('=')
            .ok_or_else(|| bad("expected CH=MODE, e.g. 1=ranged".into()))?;
        let ch: usize = ch
            .parse()
            .map_err(|_| bad(format!("{ch:?} is not a channel number")))?;
        let mode: Mode = mode.parse().map_err(|e: ConfigError| bad(e.to_string()))?;
        if config.follow.iter().any(|(c, _)| *c == ch) {
            return Err(bad(format!("channel {ch} is given twice")));
        }
        config = config.follow(ch, mode);
    }
    config
        .build(channels)
        .map_err(|e| CliError::Usage(format!("--policy follow: {e}")))?;
    Ok(config)
}
