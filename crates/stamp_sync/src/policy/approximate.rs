//! ApproximateTime: the C++ message_filters algorithm, step for step.
//!
//! # What the output promises
//! These hold for every input, and each is a test:
//! * Each set holds exactly one message per channel; no message is emitted
//!   twice; every message is emitted, dropped with a reason, or still queued.
//! * Within a channel, messages are used in arrival order (a channel's queue
//!   is never re-sorted, as upstream). Out-of-order arrivals and gaps below the
//!   inter-message lower bound are counted ([`ApproximateTime::out_of_order`],
//!   [`ApproximateTime::below_lower_bound`]) and logged once; nothing else.
//! * A set is emitted only once it is provably the best one that includes
//!   the current pivot's message. Typically that is when every channel has
//!   a message newer than the set (one period of latency); lower bounds let
//!   the proof come earlier.
//! * No set spans more than `max_interval`.
//! * At most `queue_size` messages per channel stay queued after `add`
//!   (one more during it). On overflow the channel that overflowed drops its
//!   oldest message and cannot be the pivot until another channel becomes
//!   the latest head.
//! * The output depends on stamps *and arrival order*, exactly as upstream.
//!
//! # Fidelity
//! Head ties: the earliest head goes to the lowest channel index, the
//! latest head to the highest. The age penalty scales durations exactly as
//! ROS 1 `ros::Duration::operator*` does ([`Duration::scale_ros1`]). Checked
//! set for set against C++ message_filters by `crates/stamp_sync/tests/it/differential.rs`.

use std::collections::VecDeque;

use super::settings::{self, Configure, Min, Setting, Unit, Value};
use super::{Arrival, ConfigError, DropReason, Output, Policy, Store};
use crate::time::{Duration, Stamp};

/// ApproximateTime policy: see the [module docs](self).
///
/// ```
/// use stamp_sync::{ApproximateTime, Duration};
/// let policy = ApproximateTime::builder()
///     .queue_size(10)
///     .max_interval(Duration::from_millis(20))
///     .lower_bound(0, Duration::from_millis(30))
///     .build()
///     .unwrap();
/// assert_eq!(policy.queue_size(), 10);
/// ```
#[derive(Clone, Debug)]
pub struct ApproximateTime {
    queue_size: usize,
    age_penalty: f64,
    /// `1 + age_penalty`, as upstream computes it.
    factor: f64,
    /// `None` = unlimited (upstream `DURATION_MAX`).
    max_interval: Option<Duration>,
    /// Lower bounds by channel (the lanes hold them after `bind`).
    bounds: Vec<(usize, Duration)>,
    /// `None`: off (upstream).
    deadline: Option<Duration>,
    /// The newest stamp received since the last reset, kept while a
    /// deadline is set.
    newest: Option<Stamp>,
    /// One per channel after `bind`.
    lanes: Vec<Lane>,
    /// Per channel, its deque head (`Lane::head`), or `Stamp::MIN` if the
    /// deque part is empty: the search reads only this. Invariant:
    /// `heads[ch] == lanes[ch].head().unwrap_or(Stamp::MIN)` between steps.
    heads: Vec<Stamp>,
    /// Channels whose deque part is non-empty.
    non_empty: usize,
    /// Lanes with `dropped` set.
    dropped: usize,
    /// False: every lane's `past` is 0 (no search has moved a message), so
    /// recovering is a no-op. True may be stale (then recovering does work).
    moved: bool,
    candidate: Option<Candidate>,
}

/// One channel's queue, split like upstream's `past` vector + `deque`.
#[derive(Clone, Debug, Default)]
struct Lane {
    /// Stamps of the held messages in arrival order; mirrors the store.
    /// `[0, past)` is upstream's `past`, `[past, len)` its deque.
    /// Invariant: `len <= queue_size` after every `add` (`+1` inside it).
    stamps: VecDeque<Stamp>,
    /// Messages examined in the current search ("moved to past").
    past: usize,
    /// Moves made by the running virtual search, undone if it fails.
    virtual_moves: usize,
    /// Upstream `has_dropped_messages`: overflowed, so not eligible as pivot.
    dropped: bool,
    /// The stamp pushed last (valid while `stamps` is non-empty): what the
    /// inter-message check compares with.
    last: Stamp,
    lower_bound: Duration,
    out_of_order: u64,
    below_bound: u64,
    warned: bool,
}

impl Lane {
    /// Head of the deque part.
    fn head(&self) -> Option<Stamp> {
        self.stamps.get(self.past).copied()
    }
    fn deque_is_empty(&self) -> bool {
        self.past >= self.stamps.len()
    }
}

/// The best set found so far in the current search. Its members are the
/// front (index 0) of every lane: `make_candidate` drops everything older.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Candidate {
    start: Stamp,
    end: Stamp,
    /// The channel whose head was latest when the search began.
    pivot: usize,
    pivot_time: Stamp,
}

/// ApproximateTime's settings: the policy's config type ([`Configure`])
/// and its builder. The defaults are the table's ([`Configure::SETTINGS`]):
/// queue size 10, age penalty 0.1 (upstream's), no max interval, no lower
/// bounds.
///
/// ```
/// use stamp_sync::{ApproximateTime, Duration};
/// let p = ApproximateTime::builder().queue_size(5).max_interval(Duration::from_millis(20)).build()?;
/// assert_eq!((p.queue_size(), p.age_penalty()), (5, 0.1));
/// # Ok::<(), stamp_sync::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ApproximateConfig {
    /// Messages held per channel.
    pub queue_size: usize,
    /// How much newer sets are preferred (>= 0).
    pub age_penalty: f64,
    /// The widest set; `None`: unlimited.
    pub max_interval: Option<Duration>,
    /// The least gap between two consecutive messages, by channel.
    pub lower_bounds: Vec<(usize, Duration)>,
    /// Emit the best set without waiting for its proof once its newest
    /// member is this far behind the newest stamp; `None`: off (upstream).
    pub deadline: Option<Duration>,
}

impl Default for ApproximateConfig {
    fn default() -> Self {
        settings::defaults()
    }
}

impl ApproximateConfig {
    /// Messages held per channel (upstream recommends >= 2).
    pub fn queue_size(mut self, q: usize) -> Self {
        self.queue_size = q;
        self
    }
    /// How much newer sets are preferred (must be >= 0).
    pub fn age_penalty(mut self, p: f64) -> Self {
        self.age_penalty = p;
        self
    }
    /// Never emit a set spanning more than `d`.
    pub fn max_interval(mut self, d: Duration) -> Self {
        self.max_interval = Some(d);
        self
    }
    /// The least gap between two consecutive messages of `channel`. A true
    /// bound lets sets be proven optimal earlier.
    pub fn lower_bound(mut self, channel: usize, d: Duration) -> Self {
        self.lower_bounds.retain(|(c, _)| *c != channel);
        self.lower_bounds.push((channel, d));
        self
    }
    /// Emit the best set without waiting for its proof once its newest
    /// member is more than `d` behind the newest stamp received.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }
    /// Checks the settings and makes the policy.
    pub fn build(&self) -> Result<ApproximateTime, ConfigError> {
        if self.queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        check_age_penalty(self.age_penalty)?;
        check_max_interval(self.max_interval)?;
        check_deadline(self.deadline)?;
        for &(_, d) in &self.lower_bounds {
            check_lower_bound(d)?;
        }
        Ok(ApproximateTime {
            queue_size: self.queue_size,
            age_penalty: self.age_penalty,
            factor: 1.0 + self.age_penalty,
            max_interval: self.max_interval,
            bounds: self.lower_bounds.clone(),
            deadline: self.deadline,
            newest: None,
            lanes: Vec::new(),
            heads: Vec::new(),
            dropped: 0,
            non_empty: 0,
            moved: false,
            candidate: None,
        })
    }
}

impl Configure for ApproximateConfig {
    type Policy = ApproximateTime;
    const NAME: &'static str = "approximate";
    const TITLE: &'static str = "ApproximateTime";
    const SETTINGS: &'static [Setting] = &[
        settings::QUEUE_SIZE,
        Setting {
            name: "age_penalty",
            label: "age penalty",
            unit: Unit::Number,
            default: settings::Default::Number(0.1),
            min: Min::AtLeast(0.0),
            help: "ApproximateTime: how much newer sets are preferred",
            live: true,
        },
        Setting {
            name: "max_interval",
            label: "max interval",
            unit: Unit::Duration,
            default: settings::Default::Off,
            min: Min::AtLeast(0.0),
            help: "ApproximateTime: the widest set, e.g. 20ms",
            live: true,
        },
        Setting {
            name: "lower_bounds",
            label: "lower bound",
            unit: Unit::PerChannel,
            default: settings::Default::Off,
            min: Min::AtLeast(0.0),
            help: "ApproximateTime: the least gap between two messages of a channel, CH=DUR, e.g. /imu/data=4ms",
            live: true,
        },
        DEADLINE,
    ];

    fn blank() -> Self {
        ApproximateConfig {
            queue_size: 0,
            age_penalty: 0.0,
            max_interval: None,
            lower_bounds: Vec::new(),
            deadline: None,
        }
    }

    fn get(&self, name: &str) -> Option<Value> {
        match name {
            "queue_size" => Some(Value::Count(self.queue_size)),
            "age_penalty" => Some(Value::Number(self.age_penalty)),
            "max_interval" => self.max_interval.map(Value::Duration),
            "lower_bounds" => {
                let b: Vec<_> = self
                    .lower_bounds
                    .iter()
                    .copied()
                    .filter(|(_, d)| *d != Duration::ZERO)
                    .collect();
                (!b.is_empty()).then_some(Value::PerChannel(b))
            }
            "deadline" => self.deadline.map(Value::Duration),
            _ => None,
        }
    }

    fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError> {
        let v = settings::checked::<Self>(name, v)?;
        match name {
            "queue_size" => self.queue_size = settings::count(v).unwrap_or(0),
            "age_penalty" => self.age_penalty = settings::number(v).unwrap_or(0.0),
            "max_interval" => self.max_interval = settings::duration(v),
            "lower_bounds" => self.lower_bounds = settings::per_channel(v),
            "deadline" => self.deadline = settings::duration(v),
            _ => {}
        }
        Ok(())
    }

    fn build(&self) -> Result<ApproximateTime, ConfigError> {
        ApproximateConfig::build(self)
    }

    fn of(p: &ApproximateTime) -> Self {
        ApproximateConfig {
            queue_size: p.queue_size(),
            age_penalty: p.age_penalty(),
            max_interval: p.max_interval(),
            lower_bounds: p.lower_bounds(),
            deadline: p.deadline(),
        }
    }

    fn apply(&self, p: &mut ApproximateTime) -> Result<(), ConfigError> {
        settings::check_live(self, &Self::of(p))?;
        // The one setter that can still fail (a channel the bound policy
        // lacks) goes first.
        p.set_lower_bounds(&self.lower_bounds)?;
        p.set_age_penalty(self.age_penalty)?;
        p.set_max_interval(self.max_interval)?;
        p.set_deadline(self.deadline)
    }
}

/// The `deadline` setting, shared by ApproximateTime and
/// ApproximateEpsilonTime.
pub(crate) const DEADLINE: Setting = Setting {
    name: "deadline",
    label: "deadline",
    unit: Unit::Duration,
    default: settings::Default::Off,
    min: Min::AtLeast(0.0),
    help: "emit the best set without waiting for its proof once its newest member is this far behind the newest stamp, e.g. 50ms (not upstream)",
    live: true,
};

pub(crate) fn check_deadline(d: Option<Duration>) -> Result<(), ConfigError> {
    match d.filter(|d| d.is_negative()) {
        Some(value) => Err(ConfigError::NegativeDuration {
            what: "deadline",
            value,
        }),
        None => Ok(()),
    }
}

fn check_age_penalty(p: f64) -> Result<(), ConfigError> {
    if p.is_finite() && p >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::BadAgePenalty(p))
    }
}

fn check_max_interval(d: Option<Duration>) -> Result<(), ConfigError> {
    match d.filter(|d| d.is_negative()) {
        Some(value) => Err(ConfigError::NegativeDuration {
            what: "max interval",
            value,
        }),
        None => Ok(()),
    }
}

fn check_lower_bound(d: Duration) -> Result<(), ConfigError> {
    if d.is_negative() {
        Err(ConfigError::NegativeDuration {
            what: "inter-message lower bound",
            value: d,
        })
    } else {
        Ok(())
    }
}

impl ApproximateTime {
    /// Queue size `queue_size`, upstream defaults otherwise.
    pub fn new(queue_size: usize) -> Result<Self, ConfigError> {
        Self::builder().queue_size(queue_size).build()
    }

    /// The default settings, to change and [`build`](ApproximateConfig::build).
    pub fn builder() -> ApproximateConfig {
        ApproximateConfig::default()
    }

    /// Messages held per channel.
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }
    /// The age penalty.
    pub fn age_penalty(&self) -> f64 {
        self.age_penalty
    }
    /// The max interval, `None` if unlimited.
    pub fn max_interval(&self) -> Option<Duration> {
        self.max_interval
    }
    /// The inter-message lower bounds that are not 0, by channel.
    pub fn lower_bounds(&self) -> Vec<(usize, Duration)> {
        let mut b: Vec<_> = self
            .bounds
            .iter()
            .copied()
            .filter(|(_, d)| *d != Duration::ZERO)
            .collect();
        b.sort_unstable();
        b
    }

    /// Sets the age penalty on a live policy, as C++
    /// `getPolicy()->setAgePenalty(p)`: checked as
    /// [`age_penalty`](ApproximateConfig::age_penalty) is (unchanged on
    /// error). Takes effect from the next message. Queued messages stay
    /// queued, and a search in progress goes on with its candidate and
    /// pivot, compared from then on with the new penalty (C++ does not
    /// reset either).
    pub fn set_age_penalty(&mut self, p: f64) -> Result<(), ConfigError> {
        check_age_penalty(p)?;
        self.age_penalty = p;
        self.factor = 1.0 + p;
        Ok(())
    }

    /// The deadline (`None`: off).
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Sets the deadline on a live policy (`None`: off; not upstream). Takes
    /// effect from the next message, measured from the newest stamp
    /// received from then on.
    pub fn set_deadline(&mut self, d: Option<Duration>) -> Result<(), ConfigError> {
        check_deadline(d)?;
        if d.is_none() {
            self.newest = None;
        }
        self.deadline = d;
        Ok(())
    }

    /// Sets the max interval on a live policy (`None` = unlimited), as C++
    /// `setMaxIntervalDuration(d)`: checked as the builder's is (unchanged
    /// on error). Takes effect from the next message. Nothing is dropped at
    /// once: the bound is checked when a search starts a new candidate, so
    /// a candidate already found is still published even if it spans more,
    /// and queued messages too far apart are dropped
    /// ([`DropReason::MaxInterval`]) when the next search reaches them.
    pub fn set_max_interval(&mut self, d: Option<Duration>) -> Result<(), ConfigError> {
        check_max_interval(d)?;
        self.max_interval = d;
        Ok(())
    }

    /// Sets the inter-message lower bound of `channel` on a live policy
    /// (0 = none), as C++ `setInterMessageLowerBound(i, d)`: checked as the
    /// builder's is, and `channel` must exist once the policy is bound
    /// (unchanged on error). Takes effect from the next message: the next
    /// virtual search uses it. Queued messages stay; a set already proven
    /// is not revisited; the out-of-order and below-bound counters go on.
    pub fn set_lower_bound(&mut self, channel: usize, d: Duration) -> Result<(), ConfigError> {
        self.set_lower_bounds_checked(&[(channel, d)], false)
    }

    /// Sets every channel's lower bound at once: the listed channels to
    /// their bound, every other channel to 0. Checked as a whole before
    /// anything changes; otherwise as [`set_lower_bound`](Self::set_lower_bound).
    pub fn set_lower_bounds(&mut self, bounds: &[(usize, Duration)]) -> Result<(), ConfigError> {
        self.set_lower_bounds_checked(bounds, true)
    }

    fn set_lower_bounds_checked(
        &mut self,
        bounds: &[(usize, Duration)],
        others_to_zero: bool,
    ) -> Result<(), ConfigError> {
        let channels = self.lanes.len();
        for &(channel, d) in bounds {
            check_lower_bound(d)?;
            if channels > 0 && channel >= channels {
                return Err(ConfigError::NoSuchChannel { channel, channels });
            }
        }
        if others_to_zero {
            self.bounds.clear();
            for lane in &mut self.lanes {
                lane.lower_bound = Duration::ZERO;
            }
        }
        for &(channel, d) in bounds {
            self.bounds.retain(|(c, _)| *c != channel);
            if d != Duration::ZERO {
                self.bounds.push((channel, d));
            }
            if let Some(lane) = self.lanes.get_mut(channel) {
                lane.lower_bound = d;
            }
        }
        Ok(())
    }

    /// Arrivals on `channel` with a stamp older than the previous message.
    pub fn out_of_order(&self, channel: usize) -> u64 {
        self.lanes.get(channel).map_or(0, |l| l.out_of_order)
    }
    /// Arrivals on `channel` closer than its inter-message lower bound.
    pub fn below_lower_bound(&self, channel: usize) -> u64 {
        self.lanes.get(channel).map_or(0, |l| l.below_bound)
    }
    /// The current pivot channel and its stamp, if a search is running.
    pub fn pivot(&self) -> Option<(usize, Stamp)> {
        self.candidate.map(|c| (c.pivot, c.pivot_time))
    }
    /// The current candidate's earliest and latest stamp, if any.
    pub fn candidate(&self) -> Option<(Stamp, Stamp)> {
        self.candidate.map(|c| (c.start, c.end))
    }

    #[inline]
    fn scaled(&self, d: Duration) -> Duration {
        // 0 (the pivot still the latest head) scales to 0 for every
        // finite factor: skip the float path.
        if d == Duration::ZERO {
            return d;
        }
        d.scale_ros1(self.factor)
    }

    /// Earliest head (ties: lowest index) and latest head (ties: highest).
    /// Requires every deque non-empty.
    #[inline]
    fn bounds_of_heads(&self) -> ((usize, Stamp), (usize, Stamp)) {
        let first = self.heads.first().copied().unwrap_or(Stamp::MIN);
        let (mut start, mut end) = ((0, first), (0, first));
        for (i, &t) in self.heads.iter().enumerate().skip(1) {
            if t < start.1 {
                start = (i, t);
            }
            if t >= end.1 {
                end = (i, t);
            }
        }
        (start, end)
    }

    /// Re-reads channel `ch`'s head after its lane changed.
    #[inline(always)]
    fn sync_head(&mut self, ch: usize) {
        if let (Some(h), Some(lane)) = (self.heads.get_mut(ch), self.lanes.get(ch)) {
            *h = lane.head().unwrap_or(Stamp::MIN);
        }
    }

    /// Re-reads every head.
    fn sync_heads(&mut self) {
        for (h, lane) in self.heads.iter_mut().zip(&self.lanes) {
            *h = lane.head().unwrap_or(Stamp::MIN);
        }
    }

    /// Like `bounds_of_heads`, over virtual times: an exhausted channel's
    /// next message cannot be earlier than `max(last + lower_bound, pivot)`.
    fn virtual_bounds(&self, pivot_time: Stamp) -> ((usize, Stamp), (usize, Stamp)) {
        let vt = |lane: &Lane| match lane.head() {
            Some(t) => t,
            None => {
                let last = lane.past.checked_sub(1).and_then(|i| lane.stamps.get(i));
                let bound = last.map_or(Stamp::MIN, |&t| t.saturating_add(lane.lower_bound));
                bound.max(pivot_time)
            }
        };
        let first = vt(&self.lanes[0]);
        let (mut start, mut end) = ((0, first), (0, first));
        for (i, lane) in self.lanes.iter().enumerate().skip(1) {
            let t = vt(lane);
            if t < start.1 {
                start = (i, t);
            }
            if t >= end.1 {
                end = (i, t);
            }
        }
        (start, end)
    }

    fn move_to_past(&mut self, ch: usize) {
        let lane = &mut self.lanes[ch];
        if lane.deque_is_empty() {
            return;
        }
        lane.past += 1;
        self.moved = true;
        if lane.deque_is_empty() {
            self.non_empty -= 1;
        }
        self.sync_head(ch);
    }

    /// Upstream `dequeDeleteFront`; only called with no search running, so
    /// the past part is empty and the deque head is the front.
    fn delete_front<S: Store>(
        &mut self,
        ch: usize,
        reason: DropReason,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let lane = &mut self.lanes[ch];
        debug_assert_eq!(lane.past, 0);
        if let Some(stamp) = lane.stamps.pop_front() {
            if lane.stamps.is_empty() {
                self.non_empty -= 1;
            }
            store.drop_front(ch, stamp, reason, out);
        }
        self.sync_head(ch);
    }

    /// Upstream `makeCandidate`: the heads become the candidate and the
    /// examined (`past`) messages are dropped for good.
    fn make_candidate<S: Store>(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        for (ch, lane) in self.lanes.iter_mut().enumerate() {
            if lane.past == 0 {
                continue;
            }
            for _ in 0..lane.past {
                if let Some(stamp) = lane.stamps.pop_front() {
                    store.drop_front(ch, stamp, DropReason::NotChosen, out);
                }
            }
            lane.past = 0;
            // The head is unchanged: the deque head is now the front.
        }
        self.moved = false;
    }

    /// Upstream `recover()` on every channel: undo all moves to past.
    fn recover_all(&mut self) {
        if !self.moved {
            return;
        }
        for lane in &mut self.lanes {
            lane.past = 0;
        }
        self.moved = false;
        self.non_empty = self.lanes.iter().filter(|l| !l.stamps.is_empty()).count();
        self.sync_heads();
    }

    /// Upstream `publishCandidate`: emit every lane's front, recover the rest.
    fn publish<S: Store>(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        self.candidate = None;
        for lane in &mut self.lanes {
            lane.past = 0;
            lane.stamps.pop_front();
        }
        if let Some(set) = store.take_fronts() {
            out.set(set);
        }
        self.moved = false;
        self.non_empty = self.lanes.iter().filter(|l| !l.stamps.is_empty()).count();
        self.sync_heads();
    }

    /// Upstream `checkInterMessageBound`, for a message appended behind at
    /// least one other in the deque part. Counts and logs; changes nothing.
    #[inline]
    fn check_bound(&mut self, ch: usize, prev: Stamp, now: Stamp) {
        let Some(lane) = self.lanes.get_mut(ch) else {
            return;
        };
        if now >= prev && now - prev >= lane.lower_bound {
            return;
        }
        self.bound_broken(ch, prev, now);
    }

    /// [`check_bound`](Self::check_bound) found `now` after `prev` out of
    /// order or too close: count and log once.
    #[cold]
    #[inline(never)]
    fn bound_broken(&mut self, ch: usize, prev: Stamp, now: Stamp) {
        let lane = &mut self.lanes[ch];
        if now < prev {
            lane.out_of_order += 1;
            if !lane.warned {
                log::warn!(
                    "messages on channel {ch} arrived out of order ({now} after {prev}); logged once"
                );
            }
            lane.warned = true;
        } else if now - prev < lane.lower_bound {
            lane.below_bound += 1;
            if !lane.warned {
                log::warn!(
                    "messages on channel {ch} arrived closer ({}) than the lower bound ({}); logged once",
                    now - prev,
                    lane.lower_bound
                );
            }
            lane.warned = true;
        }
    }

    /// Upstream `process()`: search while every channel has a head.
    fn process<S: Store>(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let n = self.lanes.len();
        while self.non_empty == n {
            let ((start_idx, start_t), (end_idx, end_t)) = self.bounds_of_heads();
            if self.dropped > 0 {
                self.clear_dropped_except(end_idx);
            }
            let c = match self.candidate {
                None => {
                    if self.max_interval.is_some_and(|max| end_t - start_t > max) {
                        self.delete_front(start_idx, DropReason::MaxInterval, store, out);
                        continue;
                    }
                    if self.lanes[end_idx].dropped {
                        self.delete_front(start_idx, DropReason::AfterOverflow, store, out);
                        continue;
                    }
                    self.make_candidate(store, out);
                    Candidate {
                        start: start_t,
                        end: end_t,
                        pivot: end_idx,
                        pivot_time: end_t,
                    }
                }
                Some(c) => {
                    if self.scaled(end_t - c.end) >= start_t - c.start {
                        c
                    } else {
                        self.make_candidate(store, out);
                        Candidate {
                            start: start_t,
                            end: end_t,
                            ..c
                        }
                    }
                }
            };
            self.candidate = Some(c);
            self.move_to_past(start_idx);

            if start_idx == c.pivot || self.scaled(end_t - c.end) >= c.pivot_time - c.start {
                self.publish(store, out);
            } else if self.non_empty < n {
                self.virtual_search(c, store, out);
            }
        }
    }

    /// The deadline (not upstream): while the candidate's newest member is
    /// more than `deadline` behind the newest stamp, publish it unproven and
    /// go on as upstream does after a set.
    #[inline(never)]
    fn meet_deadline<S: Store>(
        &mut self,
        deadline: Duration,
        stamp: Stamp,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let newest = self.newest.map_or(stamp, |n| n.max(stamp));
        self.newest = Some(newest);
        while let Some(c) = self.candidate {
            if newest - c.end <= deadline {
                return;
            }
            self.publish(store, out);
            self.process(store, out);
        }
    }

    /// Channel `ch` holds more than `queue_size`: upstream drops its oldest
    /// message, marks it, and restarts the search.
    fn overflow<S: Store>(
        &mut self,
        ch: usize,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        self.recover_all();
        let lane = &mut self.lanes[ch];
        if let Some(stamp) = lane.stamps.pop_front() {
            store.drop_front(ch, stamp, DropReason::QueueOverflow, out);
        }
        if !lane.dropped {
            lane.dropped = true;
            self.dropped += 1;
        }
        self.sync_head(ch);
        if self.candidate.take().is_some() {
            self.process(store, out);
        }
    }

    /// Upstream clears `has_dropped_messages` on every channel but the
    /// latest head's at each search step.
    fn clear_dropped_except(&mut self, keep: usize) {
        let mut left = 0;
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            lane.dropped &= i == keep;
            left += usize::from(lane.dropped);
        }
        self.dropped = left;
    }

    /// Checks the mirrors (`heads`, `non_empty`, `moved`, `dropped`) in debug builds.
    #[inline]
    fn debug_check(&self) {
        if cfg!(debug_assertions) {
            for (ch, lane) in self.lanes.iter().enumerate() {
                debug_assert_eq!(
                    self.heads[ch],
                    lane.head().unwrap_or(Stamp::MIN),
                    "head {ch}"
                );
                debug_assert!(self.moved || lane.past == 0, "past without moved on {ch}");
            }
            let n = self.lanes.iter().filter(|l| !l.deque_is_empty()).count();
            debug_assert_eq!(self.non_empty, n, "non_empty");
            let d = self.lanes.iter().filter(|l| l.dropped).count();
            debug_assert_eq!(self.dropped, d, "dropped");
        }
    }

    /// Upstream's virtual search: assume each exhausted channel's next
    /// message comes as early as its lower bound allows, and see whether the
    /// candidate is already provably optimal.
    fn virtual_search<S: Store>(
        &mut self,
        c: Candidate,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        for lane in &mut self.lanes {
            lane.virtual_moves = 0;
        }
        loop {
            let ((vstart_idx, vstart_t), (_, vend_t)) = self.virtual_bounds(c.pivot_time);
            let lhs = self.scaled(vend_t - c.end);
            if lhs >= c.pivot_time - c.start {
                self.publish(store, out);
                return;
            }
            // Upstream asserts the virtual start is a real head before the
            // pivot; if that ever failed we give up the proof instead.
            if lhs < vstart_t - c.start || self.lanes[vstart_idx].deque_is_empty() {
                for lane in &mut self.lanes {
                    lane.past -= lane.virtual_moves;
                }
                self.non_empty = self.lanes.iter().filter(|l| !l.deque_is_empty()).count();
                self.sync_heads();
                return;
            }
            self.move_to_past(vstart_idx);
            self.lanes[vstart_idx].virtual_moves += 1;
        }
    }
}

impl<S: Store> Policy<S> for ApproximateTime {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        if let Some(&(channel, _)) = self.bounds.iter().find(|(c, _)| *c >= channels) {
            return Err(ConfigError::NoSuchChannel { channel, channels });
        }
        self.lanes = (0..channels)
            .map(|_| Lane {
                stamps: VecDeque::with_capacity(self.queue_size + 1),
                ..Lane::default()
            })
            .collect();
        self.heads = vec![Stamp::MIN; channels];
        self.moved = false;
        self.dropped = 0;
        for &(ch, d) in &self.bounds {
            self.lanes[ch].lower_bound = d;
        }
        self.non_empty = 0;
        self.candidate = None;
        self.newest = None;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.queue_size + 1
    }

    fn max_events_per_add(&self) -> usize {
        // Every held message can leave in one call, as a drop or in a set.
        self.lanes.len() * (self.queue_size + 1) + 1
    }

    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let ch = arrival.channel;
        let Some(lane) = self.lanes.get_mut(ch) else {
            return;
        };
        let prev = std::mem::replace(&mut lane.last, arrival.stamp);
        lane.stamps.push_back(arrival.stamp);
        if lane.stamps.len() - lane.past == 1 {
            self.non_empty += 1;
            self.sync_head(ch);
            if self.non_empty == self.lanes.len() {
                self.process(store, out);
            }
        } else {
            self.check_bound(ch, prev, arrival.stamp);
        }
        if self.lanes[ch].stamps.len() > self.queue_size {
            self.overflow(ch, store, out);
        }
        if let Some(deadline) = self.deadline {
            self.meet_deadline(deadline, arrival.stamp, store, out);
        }
        self.debug_check();
    }

    fn queued(&self, channel: usize) -> usize {
        self.lanes.get(channel).map_or(0, |l| l.stamps.len())
    }

    fn search(&self) -> super::SearchState {
        super::SearchState {
            pivot: self.pivot(),
            candidate: self.candidate(),
        }
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        for (ch, lane) in self.lanes.iter_mut().enumerate() {
            while let Some(stamp) = lane.stamps.pop_front() {
                store.drop_front(ch, stamp, DropReason::Reset, out);
            }
            lane.past = 0;
            lane.dropped = false;
            lane.warned = false;
        }
        self.dropped = 0;
        self.non_empty = 0;
        self.moved = false;
        self.sync_heads();
        self.candidate = None;
        self.newest = None;
    }

    fn subset(&self, keep: &[usize]) -> Option<Box<dyn super::SubsetPolicy<S> + Send>> {
        let mut p = self.clone();
        p.bounds = super::subset::renumber(&self.bounds, keep);
        Some(Box::new(p))
    }

    fn set_deadline(&mut self, d: Option<Duration>) -> Result<(), ConfigError> {
        ApproximateTime::set_deadline(self, d)
    }
}
