//! QoS diagnosis: which publishers can never match a subscription, and a
//! watch that says so when a synchronized stream stalls.

use std::fmt;
use std::time::Duration as StdDuration;

use ::r2r::qos::{DurabilityPolicy, ReliabilityPolicy};
use ::r2r::{Node, QosProfile};

use super::names::resolve_topic;
use stamp_sync::time::{Duration, Stamp};

/// Why one publisher can never match a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QosMismatch {
    /// The subscription wants reliable delivery; the publisher is best effort.
    Reliability,
    /// The subscription wants transient-local durability; the publisher is volatile.
    Durability,
    /// The subscription's deadline is shorter than the publisher's offer.
    Deadline,
}

impl fmt::Display for QosMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QosMismatch::Reliability => {
                "subscription is RELIABLE but the publisher is BEST_EFFORT (use best_effort() or QosProfile::sensor_data())"
            }
            QosMismatch::Durability => {
                "subscription is TRANSIENT_LOCAL but the publisher is VOLATILE (use volatile())"
            }
            QosMismatch::Deadline => "subscription deadline is shorter than the publisher's",
        })
    }
}

/// Checks one offered (publisher) QoS against a requested (subscription)
/// QoS with the DDS request-vs-offered rules. Empty = compatible.
pub fn qos_mismatches(offered: &QosProfile, requested: &QosProfile) -> Vec<QosMismatch> {
    let mut v = Vec::new();
    if requested.reliability == ReliabilityPolicy::Reliable
        && offered.reliability == ReliabilityPolicy::BestEffort
    {
        v.push(QosMismatch::Reliability);
    }
    if requested.durability == DurabilityPolicy::TransientLocal
        && offered.durability == DurabilityPolicy::Volatile
    {
        v.push(QosMismatch::Durability);
    }
    let infinite = |d: StdDuration| d.is_zero() || d.as_secs() >= i32::MAX as u64;
    if !infinite(requested.deadline)
        && (infinite(offered.deadline) || offered.deadline > requested.deadline)
    {
        v.push(QosMismatch::Deadline);
    }
    v
}

/// What [`qos_report`] found on one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QosReport {
    /// The topic as given.
    pub topic: String,
    /// Publishers seen on the topic (any QoS).
    pub publishers: usize,
    /// Publishers that can never match, by node name, with the reasons.
    pub incompatible: Vec<(String, Vec<QosMismatch>)>,
}

impl QosReport {
    /// True if at least one publisher exists and can match.
    pub fn ok(&self) -> bool {
        self.publishers > self.incompatible.len()
    }
}

impl fmt::Display for QosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.publishers == 0 {
            return write!(f, "{}: no publisher", self.topic);
        }
        write!(
            f,
            "{}: {} publisher(s), {} incompatible",
            self.topic,
            self.publishers,
            self.incompatible.len()
        )?;
        for (node, why) in &self.incompatible {
            for w in why {
                write!(f, "; {node}: {w}")?;
            }
        }
        Ok(())
    }
}

/// Lists the publishers on `topic` and which of them can never match a
/// subscription with QoS `requested`: the check r2r's missing QoS events
/// would have made. `topic` is resolved like a subscription's name
/// ([`resolve_topic`]: namespace, `-r` remapping).
pub fn qos_report(
    node: &Node,
    topic: &str,
    requested: &QosProfile,
) -> Result<QosReport, ::r2r::Error> {
    let pubs = node.get_publishers_info_by_topic(&resolve_topic(node, topic), false)?;
    let incompatible = pubs
        .iter()
        .filter_map(|p| {
            let why = qos_mismatches(&p.qos_profile, requested);
            (!why.is_empty()).then(|| (p.node_name.clone(), why))
        })
        .collect();
    Ok(QosReport {
        topic: topic.to_string(),
        publishers: pubs.len(),
        incompatible,
    })
}

/// Warns when a synchronized stream delivers nothing for too long, with the
/// QoS report of every input topic: the "nothing arrives" diagnosis.
///
/// Time comes in ([`Stamp`]s of the node's clock, e.g. [`RosClock`]), so
/// under sim time a stall is measured in `/clock` time. Call
/// [`delivered`](Self::delivered) on each set and [`check`](Self::check)
/// from the spin loop.
///
/// [`RosClock`]: super::clock::RosClock
#[derive(Debug)]
pub struct StallWatch {
    topics: Vec<(String, QosProfile)>,
    after: Duration,
    /// The last set, or when watching began.
    last: Option<Stamp>,
    warned: bool,
}

impl StallWatch {
    /// Watches `topics` (as subscribed); warns after `after` without a set.
    pub fn new<'a>(
        topics: impl IntoIterator<Item = (&'a str, &'a QosProfile)>,
        after: Duration,
    ) -> Self {
        StallWatch {
            topics: topics
                .into_iter()
                .map(|(t, q)| (t.to_string(), q.clone()))
                .collect(),
            after,
            last: None,
            warned: false,
        }
    }

    /// A set was delivered at `now`: the watch restarts.
    pub fn delivered(&mut self, now: Stamp) {
        self.last = Some(now);
        self.warned = false;
    }

    /// How long nothing was delivered, as of `now` (from the first check
    /// if nothing ever was). A clock at zero (sim time before the first
    /// `/clock`) or one that went back restarts the watch.
    pub fn silent_for(&mut self, now: Stamp) -> Duration {
        if now == Stamp::ZERO {
            self.last = None;
            return Duration::ZERO;
        }
        let last = *self.last.get_or_insert(now);
        if now < last {
            self.last = Some(now);
            self.warned = false;
            return Duration::ZERO;
        }
        now.since(last)
    }

    /// If the stream has stalled at `now` (once per stall), returns the
    /// reports of every topic (those with no matching publisher first) and
    /// logs the stall with `log::warn!`.
    pub fn check(&mut self, node: &Node, now: Stamp) -> Option<Vec<QosReport>> {
        let silent = self.silent_for(now);
        if self.warned || silent <= self.after {
            return None;
        }
        self.warned = true;
        let mut reports: Vec<QosReport> = self
            .topics
            .iter()
            .filter_map(|(t, q)| qos_report(node, t, q).ok())
            .collect();
        reports.sort_by_key(QosReport::ok);
        let bad: Vec<String> = reports
            .iter()
            .filter(|r| !r.ok())
            .map(|r| r.to_string())
            .collect();
        let secs = silent.as_nanos() as f64 / 1e9;
        if bad.is_empty() {
            log::warn!(
                "stalled: no synchronized set for {secs:.3} s (every input has a matching publisher; check the stamps)"
            );
        } else {
            log::warn!(
                "stalled: no synchronized set for {secs:.3} s: {}",
                bad.join("; ")
            );
        }
        Some(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_rules() {
        let be = QosProfile::sensor_data();
        let rel = QosProfile::default();
        assert!(qos_mismatches(&rel, &be).is_empty());
        assert_eq!(qos_mismatches(&be, &rel), [QosMismatch::Reliability]);
        let tl = QosProfile::default().transient_local();
        assert_eq!(qos_mismatches(&rel, &tl), [QosMismatch::Durability]);
        assert!(qos_mismatches(&tl, &rel).is_empty());
        let dl = QosProfile::default().deadline(StdDuration::from_millis(10));
        assert_eq!(qos_mismatches(&rel, &dl), [QosMismatch::Deadline]);
        let offer = QosProfile::default().deadline(StdDuration::from_millis(5));
        assert!(qos_mismatches(&offer, &dl).is_empty());
    }
}
