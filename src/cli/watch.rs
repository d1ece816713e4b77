//! `stamp-sync watch` (features `cli` and `r2r`): the live diagnosis of a
//! running graph. The ROS side ([`stamp_sync_r2r::watch`]) feeds the pure
//! diagnosis ([`stamp_sync_tools::diagnose`]); this module checks the flags, runs the
//! loop and shows the result.
//!
//! Output: on a terminal, a view redrawn twice a second (ANSI: home and
//! clear) and the summary at the end; otherwise (a pipe, a file) one line
//! per problem found or resolved, then the summary; with `--json` only the
//! final report, one JSON object. Ctrl-C (SIGINT) or `--seconds` ends it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use super::args::PolicyName;
use super::args::WatchArgs;
use super::config::{follow_config, policy_config};
use super::format::counts;
use super::{CliError, stdout_err};
use stamp_sync::driver::Options;
use stamp_sync::policy::{FollowConfig, PolicyConfig};
use stamp_sync::time::Stamp;
use stamp_sync_r2r::raw::RawNode;
use stamp_sync_r2r::watch::{FeedEvent, GraphFacts, WatchError, WatchFeed, system_now};
use stamp_sync_tools::advice::human_duration;
use stamp_sync_tools::diagnose::{
    Diagnosis, Problem, Publisher, Report, SubscriberQos, Thresholds, TopicGraph,
};

/// How often problems are looked for.
const CHECK_EVERY: StdDuration = StdDuration::from_millis(100);
/// How often the terminal view is redrawn.
const REDRAW_EVERY: StdDuration = StdDuration::from_millis(500);

/// How the run is shown.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// A terminal: the view, redrawn.
    Live,
    /// A pipe or file: problem lines as they come.
    Log,
    /// `--json`: the final report only.
    Json,
}

/// The topics as fully qualified names, checked: 2 to 9, no repeats.
fn topic_names(raw: &[String]) -> Result<Vec<String>, CliError> {
    if !(2..=9).contains(&raw.len()) {
        return Err(CliError::Usage(format!(
            "watch needs 2 to 9 --topic options, got {}",
            raw.len()
        )));
    }
    let mut topics: Vec<String> = Vec::with_capacity(raw.len());
    for t in raw {
        let name = if t.starts_with('/') {
            t.clone()
        } else {
            format!("/{t}")
        };
        if name.len() < 2 || name.ends_with('/') || name.contains("//") || name.contains('~') {
            return Err(CliError::Usage(format!(
                "--topic {t:?} is not a topic name"
            )));
        }
        if topics.contains(&name) {
            return Err(CliError::Usage(format!("--topic {name} is given twice")));
        }
        topics.push(name);
    }
    Ok(topics)
}

/// The graph's facts in the diagnosis's terms.
fn graph(facts: GraphFacts) -> TopicGraph {
    TopicGraph {
        type_name: facts.type_name,
        has_header: facts.has_header,
        publishers: facts
            .publishers
            .into_iter()
            .map(|p| {
                let words = p.qos_words();
                let mut never_matches = Vec::new();
                for (profile, why) in [
                    (SubscriberQos::Reliable, &p.reliable),
                    (SubscriberQos::SensorData, &p.sensor_data),
                ] {
                    if !why.is_empty() {
                        let why: Vec<String> = why.iter().map(ToString::to_string).collect();
                        never_matches.push((profile, why.join("; ")));
                    }
                }
                Publisher {
                    node: p.node,
                    qos: words,
                    never_matches,
                }
            })
            .collect(),
    }
}

/// The policy a watch runs.
enum Watched {
    Sync(PolicyConfig, Options),
    Follow(FollowConfig),
}

/// `stamp-sync watch --topic T --topic T ...`: watches the topics until
/// `--seconds` pass or Ctrl-C, then prints the summary (or `--json`).
/// `tty` says whether `out` is a terminal (the redrawn view).
pub fn run_watch(
    args: &WatchArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    tty: bool,
) -> Result<(), CliError> {
    let topics = topic_names(&args.topics)?;
    if args.policy.channels.is_some() {
        return Err(CliError::Usage(
            "--channels applies to trace files; watch has one channel per --topic".into(),
        ));
    }
    let seconds = match args.seconds {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(CliError::Usage(format!(
                "--seconds {s}: expected a positive number of seconds"
            )));
        }
        Some(s) => Some(StdDuration::from_secs_f64(s)),
        None => None,
    };
    let policy = match args.policy.policy {
        Some(PolicyName::Follow) => {
            Watched::Follow(follow_config(&args.policy, &topics, topics.len())?)
        }
        _ => {
            let (config, options) = policy_config(&args.policy, &topics, topics.len())?;
            Watched::Sync(config, options)
        }
    };
    let mut record = match &args.record {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
            let mut w = std::io::BufWriter::new(f);
            writeln!(w, "channel,stamp_ns").map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
            Some((path.clone(), w))
        }
        None => None,
    };
    let mode = match (args.json, tty) {
        (true, _) => Mode::Json,
        (false, true) => Mode::Live,
        (false, false) => Mode::Log,
    };

    let node = RawNode::create("stamp_sync_watch", "").map_err(WatchError::from)?;
    let mut feed = WatchFeed::new(node, topics.clone())?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let wake = feed.wake_handle();
        ctrlc::set_handler(move || {
            stop.store(true, Ordering::SeqCst);
            let _ = wake.wake();
        })
        .map_err(|e| CliError::Usage(format!("cannot handle Ctrl-C: {e}")))?;
    }
    let start = system_now();
    let deadline = seconds.map(|s| Instant::now() + s);
    let mut diag = match policy {
        Watched::Sync(config, options) => Diagnosis::new(&topics, config, options, start)?,
        Watched::Follow(config) => {
            Diagnosis::following(&topics, &config, start, Thresholds::default())?
        }
    };
    if mode == Mode::Log {
        let _ = writeln!(
            out,
            "watching {} with policy {}; problems are printed as they are found, the summary at the end",
            topics.join(", "),
            policy_words(&diag.report(start, false))
        );
    }
    let mut events = Vec::new();
    let mut last_check = Instant::now();
    let mut next_redraw = Instant::now();
    loop {
        let now_i = Instant::now();
        let mut timeout = CHECK_EVERY;
        if let Some(d) = deadline {
            timeout = timeout.min(d.saturating_duration_since(now_i));
        }
        feed.poll(timeout, &mut events)?;
        for e in events.drain(..) {
            match e {
                FeedEvent::Arrival {
                    channel,
                    stamp,
                    arrival,
                } => {
                    if diag.arrive(channel, stamp, arrival) {
                        if let Some((path, w)) = &mut record {
                            writeln!(w, "{channel},{}", stamp.as_nanos()).map_err(|source| {
                                CliError::Write {
                                    path: path.clone(),
                                    source,
                                }
                            })?;
                        }
                    }
                }
                FeedEvent::Unreadable { channel, .. } => diag.unreadable(channel),
                FeedEvent::Lost { channel, total } => diag.lost(channel, total, system_now()),
                FeedEvent::Graph { channel, facts } => diag.graph(channel, graph(facts)),
            }
        }
        let stopping = stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d);
        if last_check.elapsed() >= CHECK_EVERY || stopping {
            last_check = Instant::now();
            let now = system_now();
            let changes = diag.check(now);
            if mode == Mode::Log {
                let at = now.since(start);
                for p in &changes.appeared {
                    write_problem_found(out, p, at).map_err(stdout_err)?;
                }
                for p in &changes.resolved {
                    writeln!(
                        out,
                        "resolved {} at {:.1} s: {}",
                        p.code,
                        at.as_nanos() as f64 / 1e9,
                        p.topics.join(", ")
                    )
                    .map_err(stdout_err)?;
                }
                out.flush().map_err(stdout_err)?;
            }
        }
        if mode == Mode::Live && Instant::now() >= next_redraw && !stopping {
            next_redraw = Instant::now() + REDRAW_EVERY;
            let rep = diag.report(system_now(), false);
            let mut screen = Vec::new();
            write_view(&mut screen, &rep, false).map_err(stdout_err)?;
            out.write_all(b"\x1b[H\x1b[2J").map_err(stdout_err)?;
            out.write_all(&screen).map_err(stdout_err)?;
            out.flush().map_err(stdout_err)?;
        }
        if stopping {
            break;
        }
    }
    let rep = diag.report(system_now(), true);
    let recorded = match record.take() {
        Some((path, mut w)) => {
            w.flush().map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
            Some(path)
        }
        None => None,
    };
    match mode {
        Mode::Json => {
            let text = serde_json::to_string_pretty(&rep).map_err(|e| CliError::Write {
                path: PathBuf::from("<stdout>"),
                source: std::io::Error::other(e),
            })?;
            writeln!(out, "{text}").map_err(stdout_err)?;
        }
        Mode::Live | Mode::Log => {
            if mode == Mode::Live {
                out.write_all(b"\x1b[H\x1b[2J").map_err(stdout_err)?;
            }
            write_view(out, &rep, true).map_err(stdout_err)?;
        }
    }
    out.flush().map_err(stdout_err)?;
    if let (Some(path), false) = (recorded, mode == Mode::Json) {
        let _ = writeln!(
            err,
            "recorded {} arrivals in {}: `stamp-sync match {}` with the same policy flags replays them into the same {} sets",
            rep.arrivals,
            path.display(),
            path.display(),
            rep.sets
        );
    }
    Ok(())
}

fn write_problem_found(
    out: &mut dyn Write,
    p: &Problem,
    at: stamp_sync::time::Duration,
) -> std::io::Result<()> {
    writeln!(
        out,
        "problem {} at {:.1} s: {}",
        p.code,
        at.as_nanos() as f64 / 1e9,
        p.message
    )?;
    writeln!(out, "  advice: {}", p.advice)
}

fn policy_words(rep: &Report) -> String {
    match rep.queue_size {
        Some(q) => format!("{} (queue {q})", rep.policy),
        None => rep.policy.to_string(),
    }
}

fn or_dash(s: Option<String>) -> String {
    s.unwrap_or_else(|| "-".to_string())
}

/// The view: a head line, the per-topic table, the last set and the
/// problems (with `summary`, every problem seen, with when).
fn write_view(out: &mut dyn Write, rep: &Report, summary: bool) -> std::io::Result<()> {
    let drops = counts(&rep.drops, " ", ", ", "none");
    writeln!(
        out,
        "stamp-sync watch{}: policy {}, {:.1} s, sets {} ({:.1}/s), drops: {drops}",
        if summary { " summary" } else { "" },
        policy_words(rep),
        rep.seconds,
        rep.sets,
        rep.sets_per_s
    )?;
    let first = rep.topics.first().map_or("", |t| t.topic.as_str());
    let offset_head = format!("offset to {first}");
    let head = [
        "topic",
        "type",
        "publishers",
        "received",
        "lost",
        "rate Hz",
        "age at arrival",
        offset_head.as_str(),
        "in sets",
        "drops",
    ];
    let rows: Vec<[String; 10]> = rep
        .topics
        .iter()
        .map(|t| {
            [
                t.topic.clone(),
                or_dash(t.type_name.clone()),
                if t.publishers.is_empty() {
                    "none".to_string()
                } else {
                    t.publishers.join(",")
                },
                t.arrived.to_string(),
                or_dash(t.lost.map(|n| n.to_string())),
                format!("{:.1}", t.rate_hz),
                or_dash(t.age_ns.map(human_duration)),
                or_dash(t.offset_ns.map(human_duration)),
                t.counts.emitted.to_string(),
                counts(&t.counts.dropped, " ", ", ", "-"),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            // Numbers right-aligned, words left.
            if (3..9).contains(&i) {
                s.push_str(&format!("{c:>w$}"));
            } else {
                s.push_str(&format!("{c:<w$}"));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(head.to_vec()))?;
    for r in &rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    if !rep.policy_running {
        writeln!(
            out,
            "the policy starts when every topic has delivered a message"
        )?;
    }
    if let Some(set) = rep.last_sets.last() {
        let stamps: Vec<String> = set
            .iter()
            .map(|ns| Stamp::from_nanos(*ns).to_string())
            .collect();
        writeln!(out, "last set: {}", stamps.join("  "))?;
    }
    if let Some(q) = rep.min_queue_size_without_overflow {
        writeln!(
            out,
            "smallest queue size without overflow on the arrivals seen: {q}"
        )?;
    }
    if rep.problems.is_empty() {
        return writeln!(
            out,
            "{}",
            if summary {
                "problems seen: none"
            } else {
                "problems: none"
            }
        );
    }
    writeln!(
        out,
        "{} ({}):",
        if summary { "problems seen" } else { "problems" },
        rep.problems.len()
    )?;
    for p in &rep.problems {
        if summary {
            writeln!(
                out,
                "  {} ({:.1}..{:.1} s{}): {}",
                p.code,
                p.first_seen_s,
                p.last_seen_s,
                if p.active { ", still" } else { ", resolved" },
                p.message
            )?;
        } else {
            writeln!(out, "  {}: {}", p.code, p.message)?;
        }
        writeln!(out, "      advice: {}", p.advice)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn topic_names_are_checked_and_qualified() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(topic_names(&s(&["a/b", "/c"])).unwrap(), ["/a/b", "/c"]);
        assert!(topic_names(&s(&["/a"])).is_err());
        assert!(topic_names(&s(&["/a", "a"])).is_err());
        assert!(topic_names(&s(&["/a", "/b/"])).is_err());
        assert!(topic_names(&s(&["/a", "~/b"])).is_err());
    }
}
