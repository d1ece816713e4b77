//! From raw arguments to checked settings: which input, which policy with
//! which settings, which driver options. Every error names the flag.

use std::path::Path;

use super::CliError;
use super::args::PolicyFlags;
use crate::report::plot::Window;
use stamp_sync::driver::Options;
use stamp_sync::policy::{
    ConfigError, PolicyConfig, PolicyKind, Setting, Settings, Unit, Value, all_settings,
};
use stamp_sync::time::Duration;
use stamp_sync::trace::Trace;

/// True if `path` is a trace CSV: a `.csv` file, or any file whose first
/// line is `channel,stamp_ns`. Anything else is treated as a bag.
pub fn is_trace_file(path: &Path) -> bool {
    use std::io::Read as _;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return true;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 16];
    let mut n = 0;
    let mut f = f;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    head[..n].starts_with(b"channel,stamp_ns")
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
    let Some(kind) = flags.policy else {
        return Err(CliError::Usage(format!(
            "--policy is required ({})",
            PolicyKind::NAMES.join("|")
        )));
    };
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
    let mut options = Options::new().partial_sets(flags.partial_sets);
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
pub fn read_trace(path: &Path, flags: &PolicyFlags) -> Result<(Trace, usize), CliError> {
    const MAX_CHANNEL: usize = 8;
    if let Some(n) = flags.channels {
        if !(2..=MAX_CHANNEL + 1).contains(&n) {
            return Err(CliError::Usage(format!(
                "--channels must be between 2 and 9, got {n}"
            )));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let max = flags.channels.map_or(MAX_CHANNEL, |n| n - 1);
    let trace = Trace::parse(&text, max)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let channels = match flags.channels {
        Some(n) => n,
        None if trace.channels() >= 2 => trace.channels(),
        None => {
            return Err(CliError::Usage(format!(
                "{}: the trace has {} channel(s); a synchronizer needs 2 (use --channels)",
                path.display(),
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
