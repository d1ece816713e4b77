//! SlopTime: the Python `ApproximateTimeSynchronizer(fs, queue_size, slop,
//! allow_headerless)` of rclpy and rospy, set for set.
//!
//! A different algorithm from C++ ApproximateTime ([`ApproximateTime`](super::ApproximateTime)),
//! so a port from Python that must give the same sets uses this one.
//! Checked against Debian's ROS 1 `python3-message-filters` by
//! `crates/stamp_sync/tests/it/slop_differential.rs`.
//!
//! # Algorithm (as Python)
//! * Each channel holds at most one message per stamp: a message with a
//!   stamp its channel already holds replaces it ([`DropReason::Replaced`];
//!   Python's dict assignment) and takes over its place in the insertion
//!   order. Above `queue_size` distinct stamps, the smallest stamp goes
//!   ([`DropReason::QueueOverflow`]), possibly the message just added.
//! * On each arrival (stamp `s`, channel `k`): for every other channel, its
//!   stamps with `|t - s| <= slop`, ordered by `|t - s|` (ties: insertion
//!   order). If some channel has none, stop. Otherwise the first
//!   combination in the lexicographic order of those lists (the last
//!   channel varies fastest) whose spread, with `s` included, is
//!   **strictly** below `slop` is emitted and its messages removed. At most
//!   one set per arrival; nothing else is ever dropped, so with `slop` 0 no
//!   set is ever emitted.
//! * Python walks the whole product (`itertools.product`, exponential in
//!   the channels); this walks it depth first and enters a subtree only if
//!   it holds a valid combination (an exact check in one sweep), which
//!   finds the same first combination in polynomial time.
//!
//! # allow_headerless
//! Python stamps a message without a header with ROS time on arrival. Here
//! a channel marked [`headerless`](SlopTime::headerless) is matched on
//! [`Arrival::received`], the driver's arrival clock: add its messages with
//! [`Synchronizer::add_at`](crate::Synchronizer::add_at) (or
//! `DynSynchronizer::push_at`) and the current ROS time. Other channels use
//! the header stamp. rospy also clears every queue when ROS time goes back
//! (rclpy does not); this policy follows rclpy — use
//! [`Options::reset_on_jump_back`](crate::Options::reset_on_jump_back) for
//! a reset.

use std::collections::VecDeque;

use super::settings::{self, Configure, Min, Setting, Unit, Value};
use super::{Arrival, ConfigError, DropReason, Output, Policy, Store};
use crate::time::{Duration, Stamp};

/// Python's ApproximateTimeSynchronizer: see the [module docs](self).
///
/// ```
/// use stamp_sync::{Duration, SlopTime, Stamp, Synchronizer};
///
/// let s = |ms: i64| Stamp::from_nanos(ms * 1_000_000);
/// let policy = SlopTime::new(10, Duration::from_millis(50)).unwrap();
/// let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(policy).unwrap();
/// sync.add::<0>(s(0));
/// // Emitted on the arrival that completes it: no wait for a proof.
/// assert_eq!(sync.add::<1>(s(30)), 1);
/// ```
#[derive(Clone, Debug)]
pub struct SlopTime {
    queue_size: usize,
    slop: Duration,
    /// Headerless channels as configured, checked by `bind`.
    headerless_cfg: Vec<usize>,
    headerless: Vec<bool>,
    /// Per channel, its held stamps in store (arrival) order.
    lanes: Vec<VecDeque<Entry>>,
    /// Insertion counter: Python dict order.
    next_seq: u64,
    /// Scratch, allocated by `bind`: per channel the candidates.
    cands: Vec<Vec<Cand>>,
    /// Scratch: the channels searched (all but the arriving one).
    others: Vec<usize>,
    /// Scratch: depth-first search state.
    pick: Vec<usize>,
    bounds: Vec<(Stamp, Stamp)>,
    pos: Vec<usize>,
    /// Scratch: every candidate by stamp, with its depth.
    sorted: Vec<(Stamp, usize)>,
    /// Scratch: candidates per depth inside the feasibility window.
    hits: Vec<u32>,
}

#[derive(Copy, Clone, Debug)]
struct Entry {
    stamp: Stamp,
    /// Position in the dict's insertion order (kept when replaced).
    seq: u64,
}

#[derive(Copy, Clone, Debug)]
struct Cand {
    delta: Duration,
    seq: u64,
    stamp: Stamp,
}

impl SlopTime {
    /// `queue_size` distinct stamps per channel, tolerance `slop` (>= 0;
    /// sets must span strictly less).
    pub fn new(queue_size: usize, slop: Duration) -> Result<Self, ConfigError> {
        if queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        if slop.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "slop",
                value: slop,
            });
        }
        Ok(SlopTime {
            queue_size,
            slop,
            headerless_cfg: Vec::new(),
            headerless: Vec::new(),
            lanes: Vec::new(),
            next_seq: 0,
            cands: Vec::new(),
            others: Vec::new(),
            pick: Vec::new(),
            bounds: Vec::new(),
            pos: Vec::new(),
            sorted: Vec::new(),
            hits: Vec::new(),
        })
    }

    /// Matches `channel` on the arrival clock ([`Arrival::received`])
    /// instead of the header stamp: Python's `allow_headerless` for a
    /// channel whose messages have no header.
    pub fn headerless(mut self, channel: usize) -> Self {
        self.headerless_cfg.push(channel);
        self
    }

    /// The tolerance.
    pub fn slop(&self) -> Duration {
        self.slop
    }

    /// Sets the slop on a live policy (Python: assigning `sync.slop`):
    /// checked as [`new`](Self::new) checks it (unchanged on error). Takes
    /// effect from the next arrival, whose search uses it. Queued messages
    /// stay queued, even combinations that would now fit: as in Python, a
    /// set is only looked for around an arriving message.
    pub fn set_slop(&mut self, slop: Duration) -> Result<(), ConfigError> {
        if slop.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "slop",
                value: slop,
            });
        }
        self.slop = slop;
        Ok(())
    }

    /// Distinct stamps held per channel.
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    fn drop_at<S: Store>(
        &mut self,
        ch: usize,
        pos: usize,
        reason: DropReason,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let Some(e) = self.lanes[ch].remove(pos) else {
            return;
        };
        if let Some(m) = store.remove(ch, pos) {
            out.drop_message(ch, e.stamp, reason, m);
        }
    }

    /// Fills `cands` for every channel but `k`; false if one has none.
    fn collect(&mut self, k: usize, s: Stamp) -> bool {
        self.others.clear();
        for (ch, lane) in self.lanes.iter().enumerate() {
            if ch == k {
                continue;
            }
            let c = &mut self.cands[ch];
            c.clear();
            for e in lane {
                let delta = abs(e.stamp.since(s));
                if delta <= self.slop {
                    c.push(Cand {
                        delta,
                        seq: e.seq,
                        stamp: e.stamp,
                    });
                }
            }
            if c.is_empty() {
                return false;
            }
            // Python's stable sort by delta = this order (seq is unique).
            c.sort_unstable_by_key(|c| (c.delta, c.seq));
            self.others.push(ch);
        }
        true
    }

    /// Every candidate by stamp, with the depth of its channel (for
    /// [`feasible`](Self::feasible)).
    fn sort_candidates(&mut self) {
        self.sorted.clear();
        for (depth, &ch) in self.others.iter().enumerate() {
            self.sorted
                .extend(self.cands[ch].iter().map(|c| (c.stamp, depth)));
        }
        self.sorted.sort_unstable();
    }

    /// Python's own walk, for few combinations: `itertools.product` order
    /// (the last channel fastest), the first whose spread with `s` is below
    /// the slop; left in `pick`.
    fn search_all(&mut self, s: Stamp) -> bool {
        let m = self.others.len();
        self.pick.clear();
        self.pick.resize(m + 1, 0);
        loop {
            let (mut lo, mut hi) = (s, s);
            for d in 0..m {
                let t = self.cands[self.others[d]][self.pick[d]].stamp;
                lo = lo.min(t);
                hi = hi.max(t);
            }
            if hi.since(lo) < self.slop {
                return true;
            }
            let mut d = m;
            loop {
                if d == 0 {
                    return false;
                }
                d -= 1;
                self.pick[d] += 1;
                if self.pick[d] < self.cands[self.others[d]].len() {
                    break;
                }
                self.pick[d] = 0;
            }
        }
    }

    /// Can the channels from depth `d` on each add a candidate so that the
    /// whole set, which already spans `[lo, hi]`, spans less than the slop?
    /// Exact: a window `[a, a + slop - 1]` with `hi - slop + 1 <= a <= lo`
    /// must hold a candidate of every such channel. Sweeps `a` over the
    /// points where a candidate enters the window: O(candidates).
    fn feasible(&mut self, d: usize, lo: Stamp, hi: Stamp) -> bool {
        let need = self.others.len().saturating_sub(d);
        if need == 0 {
            return true;
        }
        let w = self.slop - Duration::from_nanos(1);
        let (mut a, a_max) = (hi - w, lo);
        self.hits.clear();
        self.hits.resize(self.others.len(), 0);
        let sorted = &self.sorted;
        let hits = &mut self.hits;
        // The window holds `sorted[i..j]`; entries of depth >= d are counted.
        let (mut covered, mut i, mut j) = (0, 0, 0);
        loop {
            while i < j && sorted[i].0 < a {
                let depth = sorted[i].1;
                if depth >= d {
                    hits[depth] -= 1;
                    covered -= usize::from(hits[depth] == 0);
                }
                i += 1;
            }
            if i == j {
                while sorted.get(j).is_some_and(|e| e.0 < a) {
                    j += 1;
                }
                i = j;
            }
            while let Some(&(t, depth)) = sorted.get(j) {
                if t > a.saturating_add(w) {
                    break;
                }
                if depth >= d {
                    hits[depth] += 1;
                    covered += usize::from(hits[depth] == 1);
                }
                j += 1;
            }
            if covered == need {
                return true;
            }
            // Coverage only grows when the next candidate enters.
            let Some(&(next, _)) = sorted.get(j) else {
                return false;
            };
            a = next - w;
            if a > a_max {
                return false;
            }
        }
    }

    /// The first combination, in `itertools.product` order, whose spread
    /// (with `s`) is below the slop; left in `pick`. Every step keeps a
    /// completion possible ([`feasible`](Self::feasible)), so the walk never
    /// backs out of a subtree: O(channels x queue x candidates).
    fn search(&mut self, s: Stamp) -> bool {
        let m = self.others.len();
        // A spread is never below 0.
        if self.slop <= Duration::ZERO {
            return false;
        }
        // Few combinations (the common case: a candidate or two per
        // channel): walk them all, as Python does.
        let few = self.others.iter().try_fold(1usize, |n, &ch| {
            n.checked_mul(self.cands[ch].len()).filter(|n| *n <= FEW)
        });
        if few.is_some() {
            return self.search_all(s);
        }
        self.sort_candidates();
        // No completion, no search.
        if !self.feasible(0, s, s) {
            return false;
        }
        self.pick.clear();
        self.pick.resize(m + 1, 0);
        self.bounds.clear();
        self.bounds.resize(m + 1, (s, s));
        let mut d = 0;
        loop {
            if d == m {
                return true;
            }
            let ch = self.others[d];
            let Some(&c) = self.cands[ch].get(self.pick[d]) else {
                if d == 0 {
                    return false;
                }
                d -= 1;
                self.pick[d] += 1;
                continue;
            };
            let (lo, hi) = self.bounds[d];
            let (lo, hi) = (lo.min(c.stamp), hi.max(c.stamp));
            if hi.since(lo) >= self.slop || !self.feasible(d + 1, lo, hi) {
                self.pick[d] += 1;
                continue;
            }
            self.bounds[d + 1] = (lo, hi);
            d += 1;
            self.pick[d] = 0;
        }
    }
}

/// Up to this many combinations, [`SlopTime::search`] walks them all.
const FEW: usize = 16;

fn abs(d: Duration) -> Duration {
    if d.is_negative() { -d } else { d }
}

/// SlopTime's settings ([`Configure`]): the queue size (default 10) and the
/// slop (required, as in Python's `ApproximateTimeSynchronizer`).
#[derive(Clone, Debug, PartialEq)]
pub struct SlopConfig {
    /// Distinct stamps per channel.
    pub queue_size: usize,
    /// Sets span strictly less than this; `None` until given (required).
    pub slop: Option<Duration>,
}

impl Default for SlopConfig {
    fn default() -> Self {
        settings::defaults()
    }
}

impl Configure for SlopConfig {
    type Policy = SlopTime;
    const NAME: &'static str = "slop";
    const TITLE: &'static str = "SlopTime (Python ApproximateTimeSynchronizer)";
    const SETTINGS: &'static [Setting] = &[
        settings::QUEUE_SIZE,
        Setting {
            name: "slop",
            label: "slop",
            unit: Unit::Duration,
            default: settings::Default::Required,
            min: Min::AtLeast(0.0),
            help: "SlopTime (Python ApproximateTimeSynchronizer): sets span less than this, e.g. 100ms",
            live: true,
        },
    ];

    fn blank() -> Self {
        SlopConfig {
            queue_size: 0,
            slop: None,
        }
    }
    fn get(&self, name: &str) -> Option<Value> {
        match name {
            "queue_size" => Some(Value::Count(self.queue_size)),
            "slop" => self.slop.map(Value::Duration),
            _ => None,
        }
    }
    fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError> {
        let v = settings::checked::<Self>(name, v)?;
        match name {
            "queue_size" => self.queue_size = settings::count(v).unwrap_or(0),
            _ => self.slop = settings::duration(v),
        }
        Ok(())
    }
    fn build(&self) -> Result<SlopTime, ConfigError> {
        let slop = self.slop.ok_or(ConfigError::MissingParam {
            param: "slop",
            policy: Self::NAME,
        })?;
        SlopTime::new(self.queue_size, slop)
    }
    fn of(p: &SlopTime) -> Self {
        SlopConfig {
            queue_size: p.queue_size(),
            slop: Some(p.slop()),
        }
    }
    fn apply(&self, p: &mut SlopTime) -> Result<(), ConfigError> {
        settings::check_live(self, &Self::of(p))?;
        let slop = self.slop.ok_or(ConfigError::MissingParam {
            param: "slop",
            policy: Self::NAME,
        })?;
        p.set_slop(slop)
    }
}

impl<S: Store> Policy<S> for SlopTime {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        self.headerless = vec![false; channels];
        for &channel in &self.headerless_cfg {
            match self.headerless.get_mut(channel) {
                Some(h) => *h = true,
                None => return Err(ConfigError::NoSuchChannel { channel, channels }),
            }
        }
        let cap = self.queue_size + 1;
        self.lanes = (0..channels)
            .map(|_| VecDeque::with_capacity(cap))
            .collect();
        self.cands = (0..channels).map(|_| Vec::with_capacity(cap)).collect();
        self.others = Vec::with_capacity(channels);
        self.pick = Vec::with_capacity(channels + 1);
        self.bounds = Vec::with_capacity(channels + 1);
        self.pos = Vec::with_capacity(channels);
        self.sorted = Vec::with_capacity(channels * cap);
        self.hits = Vec::with_capacity(channels);
        self.next_seq = 0;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.queue_size + 1
    }

    fn max_events_per_add(&self) -> usize {
        // A replaced message, an overflow, a set.
        3
    }

    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let k = arrival.channel;
        if k >= self.lanes.len() {
            return;
        }
        let s = if self.headerless[k] {
            arrival.received
        } else {
            arrival.stamp
        };
        // The new message is the last one in the store's lane `k`.
        let seq = match self.lanes[k].iter().position(|e| e.stamp == s) {
            Some(p) => {
                let seq = self.lanes[k][p].seq;
                self.drop_at(k, p, DropReason::Replaced, store, out);
                seq
            }
            None => {
                self.next_seq += 1;
                self.next_seq
            }
        };
        self.lanes[k].push_back(Entry { stamp: s, seq });
        while self.lanes[k].len() > self.queue_size {
            let lane = &self.lanes[k];
            let Some(min) = (0..lane.len()).min_by_key(|&i| lane[i].stamp) else {
                break;
            };
            self.drop_at(k, min, DropReason::QueueOverflow, store, out);
        }
        if !self.lanes[k].iter().any(|e| e.stamp == s) {
            return; // the new message was the smallest stamp: evicted
        }
        if !self.collect(k, s) || !self.search(s) {
            return;
        }
        // Store positions of the chosen stamps, then take them as a set.
        self.pos.clear();
        let mut d = 0;
        for ch in 0..self.lanes.len() {
            let t = if ch == k {
                s
            } else {
                let c = self.cands[ch][self.pick[d]];
                d += 1;
                c.stamp
            };
            let p = self.lanes[ch].iter().position(|e| e.stamp == t);
            self.pos.push(p.unwrap_or(usize::MAX));
        }
        let pos = &self.pos;
        let set = store.take_set(&mut |ch| pos[ch]);
        // The positions are in range, so the messages left the store even
        // if no set came back (a latched view drops a set it cannot
        // complete).
        for (ch, &p) in self.pos.iter().enumerate() {
            self.lanes[ch].remove(p);
        }
        if let Some(set) = set {
            out.set(set);
        }
    }

    fn queued(&self, channel: usize) -> usize {
        self.lanes.get(channel).map_or(0, VecDeque::len)
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        for ch in 0..self.lanes.len() {
            while !self.lanes[ch].is_empty() {
                self.drop_at(ch, 0, DropReason::Reset, store, out);
            }
        }
    }

    fn subset(&self, keep: &[usize]) -> Option<Box<dyn super::SubsetPolicy<S> + Send>> {
        let mut p = self.clone();
        p.headerless_cfg = (self.headerless_cfg.iter())
            .filter_map(|&c| keep.iter().position(|&k| k == c))
            .collect();
        Some(Box::new(p))
    }
}
