//! `stamp-sync match INPUT --policy follow --driver CH --follow CH=MODE...`:
//! the follower sets in every format, and their report.

use std::io::Write;
use std::path::Path;

use stamp_sync::policy::{FollowConfig, FollowSet, Follower};
use stamp_sync::trace::{Trace, TraceMsg};
use stamp_sync_tools::report::follow::{FollowReport, report};
use stamp_sync_tools::report::human_duration;

use super::args::{FormatArg, MatchArgs};
use super::{CliError, stdout_err, write_json};

/// Replays `trace` (channels named `names`) with the follower policy of
/// `args`, prints the sets on `out` and the report on `err` (or
/// `--report`). `log_time_ns` gives a message's log time (bags).
pub fn run(
    args: &MatchArgs,
    input: &str,
    trace: &Trace,
    names: &[String],
    log_time_ns: impl Fn(usize) -> Option<i64>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let window = args
        .plot_window
        .as_deref()
        .map(super::config::parse_window)
        .transpose()?;
    let config = super::config::follow_config(&args.policy, names, names.len())?;
    let r = stamp_sync::trace::replay_follow(trace, names.len(), &config)?;
    match args.format {
        _ if args.quiet => {}
        FormatArg::Csv => out.write_all(r.csv().as_bytes()).map_err(stdout_err)?,
        FormatArg::Table => write_table(out, names, &config, &r.sets).map_err(stdout_err)?,
        FormatArg::Json => {
            write_json_sets(out, names, &config, &r.sets, log_time_ns).map_err(stdout_err)?
        }
    }
    out.flush().map_err(stdout_err)?;
    if let Some(path) = &args.plot {
        plot(path, trace, names, &config, &r, window, err)?;
    }
    let rep = report(input, names, trace, &config, &r);
    match &args.report {
        Some(path) => write_json(Path::new(path), &rep)?,
        None => {
            let _ = write_report(err, &rep);
        }
    }
    Ok(())
}

/// The timeline: each driver tick joined to every follower message of its
/// set.
fn plot(
    path: &Path,
    trace: &Trace,
    names: &[String],
    config: &FollowConfig,
    r: &stamp_sync::trace::FollowReplay,
    window: Option<stamp_sync_tools::report::plot::Window>,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    use stamp_sync_tools::report::TimedReplay;
    use stamp_sync_tools::report::plot::{PlotOptions, render};
    let sets: Vec<Vec<TraceMsg>> = r
        .sets
        .iter()
        .map(|s| {
            let mut v = vec![s.driver];
            v.extend(
                s.followers
                    .iter()
                    .flat_map(|(_, p)| p.messages().into_iter().copied()),
            );
            v
        })
        .collect();
    let timed = TimedReplay {
        replay: stamp_sync::trace::Replay {
            sets,
            emitted_at: r.emitted_at.clone(),
            drops: r.drops.clone(),
            stats: r.stats.clone(),
            queued: r.queued.clone(),
            ..Default::default()
        },
        emitted_at: r.emitted_at.clone(),
    };
    let bt = stamp_sync_bag::BagTrace {
        topics: Vec::new(),
        messages: Vec::new(),
        trace: trace.clone(),
    };
    let opts = PlotOptions {
        window,
        star: true,
        ..PlotOptions::default()
    };
    let parts: Vec<String> = (config.follow.iter())
        .map(|(c, m)| format!("{} {m}", names[*c]))
        .collect();
    let title = format!(
        "follow: driver {}, {}",
        names[config.driver],
        parts.join(", ")
    );
    let p = render(&bt, names, &timed, &title, &opts);
    std::fs::write(path, p.svg).map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let _ = writeln!(
        err,
        "plot: {} (stamps {:.3}..{:.3} s after the first of {:.3} s; {} of {} sets shown)",
        path.display(),
        p.window.start_s,
        p.window.end_s,
        p.span_s,
        p.sets_shown,
        r.sets.len()
    );
    Ok(())
}

fn stamps(part: &Follower<TraceMsg>) -> Vec<i64> {
    part.messages().iter().map(|m| m.stamp.as_nanos()).collect()
}

fn write_table(
    out: &mut dyn Write,
    names: &[String],
    config: &FollowConfig,
    sets: &[FollowSet<TraceMsg>],
) -> std::io::Result<()> {
    let driver = &names[config.driver];
    write!(out, "{:>5}  {:>20}", "set", driver)?;
    for (c, _) in sets.first().map_or(&[][..], |s| &s.followers[..]) {
        write!(out, "  {:>28}", names[*c])?;
    }
    writeln!(out)?;
    for (k, s) in sets.iter().enumerate() {
        write!(out, "{:>5}  {:>20}", k + 1, s.stamp.to_string())?;
        for (_, part) in &s.followers {
            let cell = match part {
                Follower::Ranged(v) => match (v.first(), v.last()) {
                    (Some(a), Some(b)) => format!("{} msgs {}..{}", v.len(), a.stamp, b.stamp),
                    _ => "0 msgs".to_string(),
                },
                Follower::Before(m) | Follower::Closest(m) => {
                    m.map_or("-".to_string(), |m| m.stamp.to_string())
                }
                Follower::Bracket(lo, hi) => format!(
                    "{} | {}",
                    lo.map_or("-".to_string(), |m| m.stamp.to_string()),
                    hi.map_or("-".to_string(), |m| m.stamp.to_string())
                ),
            };
            write!(out, "  {cell:>28}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_json_sets(
    out: &mut dyn Write,
    names: &[String],
    config: &FollowConfig,
    sets: &[FollowSet<TraceMsg>],
    log_time_ns: impl Fn(usize) -> Option<i64>,
) -> std::io::Result<()> {
    for (k, s) in sets.iter().enumerate() {
        let followers: Vec<serde_json::Value> = s
            .followers
            .iter()
            .map(|(c, part)| {
                let mode = config
                    .follow
                    .iter()
                    .find(|(f, _)| f == c)
                    .map(|(_, m)| m.as_str());
                serde_json::json!({
                    "topic": names[*c],
                    "mode": mode,
                    "stamps_ns": stamps(part),
                })
            })
            .collect();
        let line = serde_json::json!({
            "set": k + 1,
            "stamp_ns": s.stamp.as_nanos(),
            "driver": {
                "topic": names[config.driver],
                "stamp_ns": s.driver.stamp.as_nanos(),
                "log_time_ns": log_time_ns(s.driver.index),
            },
            "followers": followers,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn write_report(err: &mut dyn Write, rep: &FollowReport) -> std::io::Result<()> {
    writeln!(
        err,
        "--- report: follow policy, queue size {}{}, {} sets ---",
        rep.queue_size,
        rep.max_wait_ns.map_or(String::new(), |w| format!(
            ", max wait {}",
            human_duration(w)
        )),
        rep.sets
    )?;
    let w = rep
        .topics
        .iter()
        .map(|t| t.topic.len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        err,
        "{:<w$}  {:<7}  {:>8}  {:>8}  {:>8}  {:>8}  dropped by reason",
        "topic", "role", "received", "in sets", "emitted", "queued"
    )?;
    for t in &rep.topics {
        let c = &t.counts;
        let drops: Vec<String> = c.dropped.iter().map(|(r, n)| format!("{r}={n}")).collect();
        let drops = if drops.is_empty() {
            "-".to_string()
        } else {
            drops.join(" ")
        };
        writeln!(
            err,
            "{:<w$}  {:<7}  {:>8}  {:>8}  {:>8}  {:>8}  {drops}",
            t.topic, t.role, c.received, t.appearances, c.emitted, c.queued
        )?;
        if let Some(p) = t.per_set {
            writeln!(
                err,
                "{:<w$}  per set: min {}  median {}  max {}",
                "", p.min, p.median, p.max
            )?;
        }
    }
    if let Some(s) = rep.wait {
        writeln!(
            err,
            "driver wait: min {}  median {}  p95 {}  max {}",
            human_duration(s.min_ns),
            human_duration(s.median_ns),
            human_duration(s.p95_ns),
            human_duration(s.max_ns)
        )?;
    }
    Ok(())
}
