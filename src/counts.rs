//! One vocabulary for message counts, in the bag report and the live
//! diagnosis alike, in text and in JSON: per topic `received` (messages
//! taken in), `emitted` (in a set), `dropped` (by reason) and `queued`
//! (held when the counts were taken). For every topic, `received =
//! emitted + dropped + queued` ([`Counts::balanced`]).

use std::collections::BTreeMap;

use serde::Serialize;
use stamp_sync::driver::ChannelStats;
use stamp_sync::policy::DropReason;

/// One topic's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages taken in (read from the bag, received live).
    pub received: u64,
    /// Messages emitted in a set.
    pub emitted: u64,
    /// Drops by reason name (reasons with no drop left out).
    pub dropped: BTreeMap<&'static str, u64>,
    /// Messages held when the counts were taken.
    pub queued: usize,
}

impl Counts {
    /// The counts of a channel's statistics, with `queued` held.
    pub fn of(stats: &ChannelStats, queued: usize) -> Self {
        Counts {
            received: stats.received,
            emitted: stats.emitted,
            dropped: DropReason::ALL
                .iter()
                .filter(|r| stats.dropped_for(**r) > 0)
                .map(|r| (r.as_str(), stats.dropped_for(*r)))
                .collect(),
            queued,
        }
    }

    /// Drops for every reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Whether every message is accounted for.
    pub fn balanced(&self) -> bool {
        self.received == self.emitted + self.dropped_total() + self.queued as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_name_reasons_and_balance() {
        let mut s = ChannelStats {
            received: 10,
            emitted: 6,
            ..ChannelStats::default()
        };
        s.dropped[DropReason::NotChosen.index()] = 3;
        let c = Counts::of(&s, 1);
        assert_eq!(c.dropped, BTreeMap::from([("not_chosen", 3)]));
        assert_eq!(c.dropped_total(), 3);
        assert!(c.balanced());
        assert!(!Counts::of(&s, 0).balanced());
    }
}
