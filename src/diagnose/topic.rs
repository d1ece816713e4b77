//! What the diagnosis keeps per topic: recent arrivals and stamps, rates,
//! stamp ages, and what the graph said.

use std::collections::VecDeque;

use super::{Thresholds, TopicGraph};
use crate::advice;
use stamp_sync::time::{Duration, Stamp};

/// Arrivals kept per topic for rates, ages and stamps.
pub(super) const RECENT: usize = 256;
/// Sets whose emission times are kept (sets per second).
pub(super) const SET_TIMES: usize = 4096;
/// The last sets shown.
pub(super) const LAST_SETS: usize = 10;
/// Lost-message totals kept per topic (one per increase).
pub(super) const LOST_SAMPLES: usize = 64;

#[derive(Clone, Debug)]
pub(super) struct TopicState {
    pub(super) name: String,
    pub(super) graph: Option<TopicGraph>,
    pub(super) received: u64,
    pub(super) unreadable: u64,
    /// (arrival, stamp), oldest first.
    pub(super) recent: VecDeque<(Stamp, Stamp)>,
    pub(super) last_stamp: Option<Stamp>,
    pub(super) backwards: u64,
    pub(super) backwards_max: Duration,
    pub(super) last_backwards: Option<Stamp>,
    /// The first check that saw a publisher on the graph.
    pub(super) publishers_since: Option<Stamp>,
    /// (when, the middleware's lost total then), one per increase, oldest
    /// first; the first is the total when it was first reported.
    pub(super) lost: VecDeque<(Stamp, u64)>,
}

impl TopicState {
    pub(super) fn new(name: &str) -> Self {
        TopicState {
            name: name.to_string(),
            graph: None,
            received: 0,
            unreadable: 0,
            recent: VecDeque::with_capacity(RECENT),
            last_stamp: None,
            backwards: 0,
            backwards_max: Duration::ZERO,
            last_backwards: None,
            publishers_since: None,
            lost: VecDeque::with_capacity(LOST_SAMPLES),
        }
    }

    /// The lost total is `total` at `now`.
    pub(super) fn lost(&mut self, total: u64, now: Stamp) {
        if self.lost.back().is_some_and(|&(_, t)| t >= total) {
            return;
        }
        if self.lost.len() == LOST_SAMPLES {
            self.lost.pop_front();
        }
        self.lost.push_back((now, total));
    }

    /// The lost total, if the middleware reports one.
    pub(super) fn lost_total(&self) -> Option<u64> {
        self.lost.back().map(|&(_, t)| t)
    }

    /// Messages lost since `from`, and when the last was reported.
    pub(super) fn lost_since(&self, from: Stamp) -> Option<(u64, Stamp)> {
        let &(last_at, last) = self.lost.back()?;
        let before = self
            .lost
            .iter()
            .rev()
            .find(|(at, _)| *at < from)
            .map_or(0, |&(_, t)| t);
        (last > before).then_some((last - before, last_at))
    }

    pub(super) fn last_arrival(&self) -> Option<Stamp> {
        self.recent.back().map(|(a, _)| *a)
    }

    /// Entries that arrived within `window` before `now`.
    pub(super) fn within(
        &self,
        now: Stamp,
        window: Duration,
    ) -> impl Iterator<Item = &(Stamp, Stamp)> {
        let from = now - window;
        self.recent.iter().filter(move |(a, _)| *a >= from)
    }

    /// The median time between arrivals (3 arrivals or more).
    pub(super) fn period(&self) -> Option<Duration> {
        let n = self.recent.len();
        if n < 3 {
            return None;
        }
        let skip = n.saturating_sub(33);
        let mut gaps: Vec<i64> = self
            .recent
            .iter()
            .skip(skip)
            .zip(self.recent.iter().skip(skip + 1))
            .map(|((a, _), (b, _))| b.since(*a).as_nanos())
            .collect();
        advice::Summary::of(&mut gaps).map(|s| Duration::from_nanos(s.median_ns))
    }

    /// How long it may be silent before it is stale.
    pub(super) fn stale_after(&self, th: &Thresholds) -> Duration {
        match self.period() {
            Some(p) => Duration::from_nanos(p.as_nanos().saturating_mul(th.stale_periods))
                .max(th.stale_min),
            None => th.silent_unknown,
        }
    }

    /// Did it deliver within its stale threshold?
    pub(super) fn flows(&self, now: Stamp, th: &Thresholds) -> bool {
        self.last_arrival()
            .is_some_and(|last| now.since(last) <= self.stale_after(th))
    }

    /// Arrivals per second over the window: up to the last arrival while
    /// it flows, up to `now` once it is silent (the rate decays).
    pub(super) fn rate_hz(&self, now: Stamp, th: &Thresholds) -> f64 {
        let mut it = self.within(now, th.window);
        let Some((first, _)) = it.next() else {
            return 0.0;
        };
        let (n, last) = it.fold((1u64, *first), |(n, _), (a, _)| (n + 1, *a));
        let end = if self.flows(now, th) { last } else { now };
        let span = end.since(*first).as_nanos();
        if n < 2 || span <= 0 {
            return 0.0;
        }
        (n - 1) as f64 * 1e9 / span as f64
    }

    /// Median stamp age at arrival over the window (`min` entries or more).
    pub(super) fn age(&self, now: Stamp, window: Duration, min: usize) -> Option<i64> {
        let mut ages: Vec<i64> = self
            .within(now, window)
            .map(|(a, s)| a.since(*s).as_nanos())
            .collect();
        if ages.len() < min {
            return None;
        }
        advice::Summary::of(&mut ages).map(|s| s.median_ns)
    }

    pub(super) fn stamps(&self, now: Stamp, window: Duration) -> Vec<i64> {
        self.within(now, window)
            .map(|(_, s)| s.as_nanos())
            .collect()
    }

    pub(super) fn publishers(&self) -> Option<usize> {
        self.graph.as_ref().map(|g| g.publishers.len())
    }
}
