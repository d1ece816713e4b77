//! How results look on a terminal or in a file: the trace summary, the set
//! table and JSON lines, the report and the bag facts.

use std::io::Write;

use stamp_sync::policy::DropReason;
use stamp_sync::time::Stamp;
use stamp_sync::trace::{Replay, TraceMsg};
use stamp_sync_tools::report::tf::{TfInputReport, TfWaitReport};
use stamp_sync_tools::report::{self, BagFacts, Report, human_duration};

/// Counts by reason in one cell: `queue_overflow=3 reset=1` (`kv` "=",
/// `sep` " "), or `empty` when there are none.
pub(crate) fn counts(
    by_reason: &std::collections::BTreeMap<&'static str, u64>,
    kv: &str,
    sep: &str,
    empty: &str,
) -> String {
    if by_reason.is_empty() {
        return empty.to_string();
    }
    by_reason
        .iter()
        .map(|(k, v)| format!("{k}{kv}{v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The `match` summary for a trace: messages in, sets out, drops by
/// channel and reason.
pub fn summary(r: &Replay, messages: usize) -> String {
    let st = &r.stats;
    let mut s = format!("messages in: {messages}, sets out: {}\n", st.sets);
    if st.partial_sets + st.stale + st.resets > 0 {
        s += &format!(
            "partial sets: {}, stale-channel reports: {}, resets: {}\n",
            st.partial_sets, st.stale, st.resets
        );
    }
    let outs: u64 = st.channels.iter().map(|c| c.dropped_out).sum();
    if outs > 0 {
        s += &format!(
            "drop-outs: {outs}, rejoins: {}\n",
            st.channels.iter().map(|c| c.rejoins).sum::<u64>()
        );
    }
    if let Some(l) = report::Latency::of(r) {
        s += &format!("{}\n", latency_line(&l));
    }
    for (ch, c) in st.channels.iter().enumerate() {
        let reasons: Vec<String> = DropReason::ALL
            .iter()
            .filter(|&&why| c.dropped_for(why) > 0)
            .map(|&why| format!("{why} {}", c.dropped_for(why)))
            .collect();
        let why = if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        };
        s += &format!(
            "channel {ch}: received {}, emitted {}, dropped {}{why}, queued {}\n",
            c.received,
            c.emitted,
            c.dropped_total(),
            r.queued.get(ch).copied().unwrap_or(0)
        );
    }
    s
}

/// `latency: p50 .. p99 .. max ..`.
pub fn latency_line(l: &report::Latency) -> String {
    format!(
        "latency: p50 {}  p99 {}  max {}",
        human_duration(l.p50),
        human_duration(l.p99),
        human_duration(l.max)
    )
}

/// The sets as a table for people: set number, stamps (`-` for a missing
/// member), spread.
pub fn write_table(out: &mut dyn Write, names: &[&str], r: &Replay) -> std::io::Result<()> {
    let widths: Vec<usize> = names.iter().map(|n| n.len().max(20)).collect();
    write!(out, "{:>5}", "set")?;
    for (n, w) in names.iter().zip(&widths) {
        write!(out, "  {n:>w$}")?;
    }
    writeln!(out, "  {:>12}", "spread")?;
    for (i, set) in r.emitted().iter().enumerate() {
        write!(out, "{:>5}", i + 1)?;
        for (m, w) in set.iter().zip(&widths) {
            let cell = m.map_or("-".to_string(), |m| m.stamp.to_string());
            write!(out, "  {cell:>w$}")?;
        }
        let present: Vec<TraceMsg> = set.iter().flatten().copied().collect();
        writeln!(
            out,
            "  {:>12}",
            human_duration(report::spread(&present).as_nanos())
        )?;
    }
    Ok(())
}

/// The report of a bag replay, for people.
pub fn write_report(err: &mut dyn Write, rep: &Report) -> std::io::Result<()> {
    writeln!(
        err,
        "--- report: {} policy, {}, {} sets ---",
        rep.policy,
        rep.queue_size
            .map_or_else(|| "no queue".to_string(), |q| format!("queue size {q}")),
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
        "{:<w$}  {:>8}  {:>8}  {:>8}  dropped by reason",
        "topic", "received", "emitted", "queued"
    )?;
    for t in &rep.topics {
        let c = &t.counts;
        let drops = counts(&c.dropped, "=", " ", "-");
        writeln!(
            err,
            "{:<w$}  {:>8}  {:>8}  {:>8}  {drops}",
            t.topic, c.received, c.emitted, c.queued
        )?;
        for p in &t.dropped_out {
            let until = p
                .to_ns
                .map_or("the end".to_string(), |t| Stamp::from_nanos(t).to_string());
            let sets = p
                .sets_without
                .map_or(String::new(), |n| format!(", {n} sets without it"));
            writeln!(
                err,
                "{:<w$}  out from {} to {until}{sets}",
                "",
                Stamp::from_nanos(p.from_ns)
            )?;
        }
    }
    if rep.sets_with_members_missing > 0 {
        writeln!(
            err,
            "sets with members missing: {}",
            rep.sets_with_members_missing
        )?;
    }
    if let Some(l) = &rep.latency_ns {
        writeln!(err, "{}", latency_line(l))?;
    }
    if let Some(s) = rep.spread {
        writeln!(
            err,
            "set spread: min {}  median {}  p95 {}  max {}",
            human_duration(s.min_ns),
            human_duration(s.median_ns),
            human_duration(s.p95_ns),
            human_duration(s.max_ns)
        )?;
    }
    if let Some(g) = rep.longest_gap {
        writeln!(
            err,
            "longest stretch without a set: {} (log time {} to {})",
            human_duration(g.length_ns),
            Stamp::from_nanos(g.from_ns),
            Stamp::from_nanos(g.to_ns)
        )?;
    }
    for a in &rep.advice {
        writeln!(err, "advice: {a}")?;
    }
    Ok(())
}

/// `stamp-sync info` as text.
pub fn write_info(out: &mut dyn Write, f: &BagFacts) -> std::io::Result<()> {
    writeln!(out, "bag:       {}", f.bag)?;
    writeln!(out, "format:    {} ({} bytes)", f.format, f.bytes)?;
    if let (Some(a), Some(b)) = (f.start_ns, f.end_ns) {
        writeln!(
            out,
            "log time:  {} .. {} ({})",
            Stamp::from_nanos(a),
            Stamp::from_nanos(b),
            human_duration(b.saturating_sub(a))
        )?;
    }
    writeln!(out, "messages:  {}", f.messages)?;
    let w = f
        .topics
        .iter()
        .map(|t| t.topic.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let tw = f
        .topics
        .iter()
        .map(|t| t.type_name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(out)?;
    writeln!(
        out,
        "{:<w$}  {:<tw$}  {:>7}  {:>9}  {:>7}  {:>14}  {:>8}",
        "topic", "type", "count", "rate", "stamped", "recorded late", "repeated"
    )?;
    for t in &f.topics {
        let rate = t
            .rate_hz
            .map(|r| format!("{r:.2} Hz"))
            .unwrap_or_else(|| "-".into());
        let lag = t
            .median_lag_ns
            .map(human_duration)
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<w$}  {:<tw$}  {:>7}  {:>9}  {:>7}  {:>14}  {:>8}",
            t.topic, t.type_name, t.count, rate, t.stamped, lag, t.repeated_stamps
        )?;
    }
    if !f.pairs.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "stamp offsets between stamped topics (from each stamp of a to the nearest stamp of b, b - a):"
        )?;
        let aw = f.pairs.iter().map(|p| p.a.len()).max().unwrap_or(1).max(11);
        let bw = f.pairs.iter().map(|p| p.b.len()).max().unwrap_or(1).max(1);
        writeln!(
            out,
            "{:<aw$}  {:<bw$}  {:>12}  {:>12}  {:>12}  identical",
            "a (sparser)", "b", "median", "median |off|", "p95 |off|"
        )?;
        for p in &f.pairs {
            writeln!(
                out,
                "{:<aw$}  {:<bw$}  {:>12}  {:>12}  {:>12}  {}",
                p.a,
                p.b,
                human_duration(p.median_offset_ns),
                human_duration(p.median_abs_offset_ns),
                human_duration(p.p95_abs_offset_ns),
                p.identical
            )?;
        }
        let shared: Vec<String> = f
            .pairs
            .iter()
            .filter(|p| p.identical > 0)
            .map(|p| format!("{} & {} ({})", p.a, p.b, p.identical))
            .collect();
        if shared.is_empty() {
            writeln!(
                out,
                "identical stamps: none (no two topics share a stamp: ExactTime will match nothing)"
            )?;
        } else {
            writeln!(out, "identical stamps: {}", shared.join(", "))?;
        }
    }
    writeln!(
        out,
        "(recorded late: median of log time minus header stamp; repeated: messages whose stamp an earlier message of the topic already had)"
    )?;
    writeln!(
        out,
        "arrival order disagrees with stamp order: {} times (consecutive messages of different topics whose stamps go backwards)",
        f.arrival_disagreements
    )?;
    Ok(())
}

/// The sets as JSON lines, one object per set, members in channel order
/// with their topic and log time.
pub fn write_json_sets(
    out: &mut dyn Write,
    names: &[&str],
    r: &Replay,
    log_time_ns: impl Fn(usize) -> Option<i64>,
) -> std::io::Result<()> {
    for (i, set) in r.emitted().iter().enumerate() {
        let members: Vec<serde_json::Value> = set
            .iter()
            .zip(names)
            .filter_map(|(m, name)| {
                let m = m.as_ref()?;
                Some(serde_json::json!({
                    "topic": name,
                    "stamp_ns": m.stamp.as_nanos(),
                    "stamp": m.stamp.to_string(),
                    "log_time_ns": log_time_ns(m.index),
                }))
            })
            .collect();
        let missing: Vec<&str> = (set.iter().zip(names))
            .filter(|(m, _)| m.is_none())
            .map(|(_, n)| *n)
            .collect();
        let present: Vec<TraceMsg> = set.iter().flatten().copied().collect();
        let line = serde_json::json!({
            "set": i + 1,
            "stamps_ns": set.iter().map(|m| m.map(|m| m.stamp.as_nanos())).collect::<Vec<_>>(),
            "spread_ns": report::spread(&present).as_nanos(),
            "members": members,
            "missing": missing,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The tf part of a bag report (`--target-frame`), for people.
pub fn write_tf_report(err: &mut dyn Write, tf: &TfWaitReport) -> std::io::Result<()> {
    writeln!(
        err,
        "--- tf: target frame {}, wait up to {} (log time), queue {}; {} transforms ({} refused) ---",
        tf.target_frames.join(", "),
        human_duration(tf.tf_wait_ns),
        tf.queue_size,
        tf.transforms,
        tf.transforms_rejected
    )?;
    let rows: Vec<&TfInputReport> = tf.topics.iter().chain(tf.sets.as_ref()).collect();
    let w = rows.iter().map(|r| r.input.len()).max().unwrap_or(5).max(5);
    writeln!(
        err,
        "{:<w$}  {:>7}  {:>7}  {:>7}  {:>10}  {:>10}  {:>10}  {:>7}  failed by reason",
        "input", "received", "at once", "waited", "wait p50", "wait p99", "wait max", "queued"
    )?;
    for r in rows {
        let [p50, p99, max] = r.wait.map_or_else(
            || ["-".to_string(), "-".to_string(), "-".to_string()],
            |s| [s.p50_ns, s.p99_ns, s.max_ns].map(human_duration),
        );
        let failed = counts(&r.failed, "=", " ", "-");
        writeln!(
            err,
            "{:<w$}  {:>7}  {:>7}  {:>7}  {p50:>10}  {p99:>10}  {max:>10}  {:>7}  {failed}",
            r.input, r.received, r.at_once, r.waited, r.queued
        )?;
    }
    writeln!(
        err,
        "(at once: the transforms were there on arrival; waited: held, then released; held: still waiting when the bag ended)"
    )
}
