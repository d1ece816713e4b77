//! What stamp_sync does with a trace, in the shape the C++ oracle reports
//! it (`oracle/stamp_oracle.cpp --batch --timed`): the sets, the arrival
//! that emitted each, and which messages form each. Shared by
//! `crates/stamp_sync/tests/it/differential.rs` and `crates/stamp_sync/tests/it/differential_regressions.rs`.

use std::fmt::Write as _;

use stamp_sync::policy::PolicyKind;
use stamp_sync::trace::{PolicyConfig, Trace, replay};
use stamp_sync::{DropReason, DynSynchronizer, Policy};

/// What stamp_sync did with a case.
#[derive(Clone, Debug)]
pub struct Observed {
    /// `replay(..).sets_csv()`.
    pub sets: String,
    /// For each set, the index of the arrival that emitted it (from a
    /// second pass through [`DynSynchronizer`]).
    pub points: Vec<usize>,
    /// For each set, the arrival indices of its members (channel order).
    pub members: Vec<String>,
    /// Which drop reasons occurred (for coverage statistics only: C++
    /// does not report drops, so they are not compared).
    pub drop_reasons: Vec<DropReason>,
}

/// Index of the arrival that emitted each set.
fn emission_points<P: Policy<stamp_sync::driver::dynamic::VecQueues<stamp_sync::Stamp>>>(
    trace: &Trace,
    channels: usize,
    policy: P,
) -> Result<Vec<usize>, String> {
    let mut sync = DynSynchronizer::new(channels, policy).map_err(|e| e.to_string())?;
    let mut points = Vec::new();
    for (i, m) in trace.messages.iter().enumerate() {
        let events = sync.push(m.channel, m.stamp).map_err(|e| e.to_string())?;
        points.extend(events.filter_map(|e| e.into_set()).map(|_| i));
    }
    Ok(points)
}

/// Runs a case through `replay` (sets, members) and a [`DynSynchronizer`]
/// (emission points).
pub fn observe(channels: usize, config: &PolicyConfig, trace: &Trace) -> Result<Observed, String> {
    let replayed =
        replay(trace, channels, config).map_err(|e| format!("replay refused the case: {e}"))?;
    let sets = replayed.sets_csv();
    let drop_reasons = DropReason::ALL
        .into_iter()
        .filter(|r| replayed.drops.iter().any(|d| d.reason == *r))
        .collect();
    let members = replayed
        .sets
        .iter()
        .map(|set| {
            let ids: Vec<String> = set.iter().map(|m| m.index.to_string()).collect();
            ids.join(",")
        })
        .collect();
    let points = match config.kind() {
        PolicyKind::Exact | PolicyKind::Approximate => {
            emission_points(trace, channels, config.build().map_err(|e| e.to_string())?)
        }
        other => return Err(format!("C++ message_filters 1.15.15 has no {other} policy")),
    }?;
    Ok(Observed {
        sets,
        points,
        members,
        drop_reasons,
    })
}

/// The sets as `K:STAMPS;IDS` lines: emitting arrival, stamps, members.
pub fn timed_text(sets: &str, points: &[usize], members: &[String]) -> String {
    let mut s = String::new();
    for (i, line) in sets.lines().enumerate() {
        let k = points.get(i).map_or("?".to_string(), |k| k.to_string());
        let ids = members.get(i).map_or("?", |m| m.as_str());
        let _ = writeln!(s, "{k}:{line};{ids}");
    }
    s
}
