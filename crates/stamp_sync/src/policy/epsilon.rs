//! ApproximateEpsilonTime: greedy sets whose members lie within `epsilon`
//! of the oldest head, as C++ message_filters (ROS 2) does.
//!
//! # What the output promises
//! * Each set holds one message per channel, every stamp within `epsilon`
//!   of the set's oldest (`oldest + epsilon >= stamp`).
//! * A set is emitted as soon as every channel's head fits: no optimality
//!   search, no latency (compare ApproximateTime, scenario A2 vs E2).
//! * When the heads do not fit, every head within `epsilon` of the oldest
//!   (the oldest included) is dropped ([`DropReason::NoMatch`]).
//! * While some channel is empty, a channel holding more than
//!   `queue_size` drops its oldest ([`DropReason::QueueOverflow`]). As
//!   upstream, this check is skipped on an arrival that makes every channel
//!   non-empty, so a channel may hold `queue_size + 1`.
//! * Within a channel, messages are used in arrival order.

use std::collections::VecDeque;

use super::settings::{self, Configure, Min, Setting, Unit, Value};
use super::{Arrival, ConfigError, DropReason, Output, Policy, Store};
use crate::time::{Duration, Stamp};

/// ApproximateEpsilonTime policy: see the [module docs](self).
///
/// ```
/// use stamp_sync::{ApproximateEpsilonTime, Duration};
/// let p = ApproximateEpsilonTime::new(10, Duration::from_millis(5)).unwrap();
/// assert_eq!(p.epsilon(), Duration::from_millis(5));
/// ```
#[derive(Clone, Debug)]
pub struct ApproximateEpsilonTime {
    queue_size: usize,
    epsilon: Duration,
    /// Accepted, never needed: see [`set_deadline`](Self::set_deadline).
    deadline: Option<Duration>,
    /// Per channel, the held stamps in arrival order; mirrors the store.
    /// Invariant: `len <= queue_size + 1`.
    lanes: Vec<VecDeque<Stamp>>,
    non_empty: usize,
}

impl ApproximateEpsilonTime {
    /// Queue `queue_size` per channel, tolerance `epsilon` (>= 0).
    pub fn new(queue_size: usize, epsilon: Duration) -> Result<Self, ConfigError> {
        if queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        if epsilon.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "epsilon",
                value: epsilon,
            });
        }
        Ok(ApproximateEpsilonTime {
            queue_size,
            epsilon,
            deadline: None,
            lanes: Vec::new(),
            non_empty: 0,
        })
    }

    /// The deadline (`None`: off).
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Sets the deadline. ApproximateEpsilonTime emits a set as soon as
    /// every channel's head fits, and while every channel holds a message
    /// it emits or drops until one is empty: it never waits for a proof,
    /// so the deadline never changes its sets. Accepted so one setting
    /// serves both approximate policies.
    pub fn set_deadline(&mut self, d: Option<Duration>) -> Result<(), ConfigError> {
        super::approximate::check_deadline(d)?;
        self.deadline = d;
        Ok(())
    }

    /// The tolerance.
    pub fn epsilon(&self) -> Duration {
        self.epsilon
    }

    /// Sets the tolerance on a live policy: checked as
    /// [`new`](Self::new) checks it (unchanged on error). Takes effect from
    /// the next message, which runs the match with it. Queued messages stay
    /// queued, even heads that would now fit: the match runs on arrivals
    /// only.
    pub fn set_epsilon(&mut self, epsilon: Duration) -> Result<(), ConfigError> {
        if epsilon.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "epsilon",
                value: epsilon,
            });
        }
        self.epsilon = epsilon;
        Ok(())
    }

    /// Messages per channel.
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    fn pop<S: Store>(
        &mut self,
        ch: usize,
        reason: Option<DropReason>,
        store: &mut S,
        out: &mut Output<S::Set, S::Message>,
    ) {
        let lane = &mut self.lanes[ch];
        let Some(stamp) = lane.pop_front() else {
            return;
        };
        if lane.is_empty() {
            self.non_empty -= 1;
        }
        if let Some(reason) = reason {
            store.drop_front(ch, stamp, reason, out);
        }
    }

    fn process<S: Store>(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let n = self.lanes.len();
        while self.non_empty == n {
            // The oldest head (every lane has one here).
            let Some(&oldest) = self.lanes.iter().filter_map(|l| l.front()).min() else {
                return;
            };
            let limit = oldest.saturating_add(self.epsilon);
            let fits = |t: Option<&Stamp>| t.is_some_and(|&t| t <= limit);
            if self.lanes.iter().all(|l| fits(l.front())) {
                if let Some(set) = store.take_fronts() {
                    out.set(set);
                }
                for ch in 0..n {
                    self.pop(ch, None, store, out);
                }
            } else {
                for ch in 0..n {
                    if fits(self.lanes[ch].front()) {
                        self.pop(ch, Some(DropReason::NoMatch), store, out);
                    }
                }
            }
        }
    }
}

/// ApproximateEpsilonTime's settings ([`Configure`]): the queue size
/// (default 10) and the tolerance (required, as upstream's constructor).
#[derive(Clone, Debug, PartialEq)]
pub struct EpsilonConfig {
    /// Messages per channel.
    pub queue_size: usize,
    /// The tolerance; `None` until given (required).
    pub epsilon: Option<Duration>,
    /// The deadline (see [`ApproximateEpsilonTime::set_deadline`]).
    pub deadline: Option<Duration>,
}

impl Default for EpsilonConfig {
    fn default() -> Self {
        settings::defaults()
    }
}

impl Configure for EpsilonConfig {
    type Policy = ApproximateEpsilonTime;
    const NAME: &'static str = "epsilon";
    const TITLE: &'static str = "ApproximateEpsilonTime";
    const SETTINGS: &'static [Setting] = &[
        settings::QUEUE_SIZE,
        Setting {
            name: "epsilon",
            label: "epsilon",
            unit: Unit::Duration,
            default: settings::Default::Required,
            min: Min::AtLeast(0.0),
            help: "ApproximateEpsilonTime: how far a set's stamps may lie from its oldest, e.g. 5ms",
            live: true,
        },
        super::approximate::DEADLINE,
    ];

    fn blank() -> Self {
        EpsilonConfig {
            queue_size: 0,
            epsilon: None,
            deadline: None,
        }
    }
    fn get(&self, name: &str) -> Option<Value> {
        match name {
            "queue_size" => Some(Value::Count(self.queue_size)),
            "epsilon" => self.epsilon.map(Value::Duration),
            "deadline" => self.deadline.map(Value::Duration),
            _ => None,
        }
    }
    fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError> {
        let v = settings::checked::<Self>(name, v)?;
        match name {
            "queue_size" => self.queue_size = settings::count(v).unwrap_or(0),
            "deadline" => self.deadline = settings::duration(v),
            _ => self.epsilon = settings::duration(v),
        }
        Ok(())
    }
    fn build(&self) -> Result<ApproximateEpsilonTime, ConfigError> {
        let epsilon = self.epsilon.ok_or(ConfigError::MissingParam {
            param: "epsilon",
            policy: Self::NAME,
        })?;
        let mut p = ApproximateEpsilonTime::new(self.queue_size, epsilon)?;
        p.set_deadline(self.deadline)?;
        Ok(p)
    }
    fn of(p: &ApproximateEpsilonTime) -> Self {
        EpsilonConfig {
            queue_size: p.queue_size(),
            epsilon: Some(p.epsilon()),
            deadline: p.deadline(),
        }
    }
    fn apply(&self, p: &mut ApproximateEpsilonTime) -> Result<(), ConfigError> {
        settings::check_live(self, &Self::of(p))?;
        let epsilon = self.epsilon.ok_or(ConfigError::MissingParam {
            param: "epsilon",
            policy: Self::NAME,
        })?;
        p.set_epsilon(epsilon)?;
        p.set_deadline(self.deadline)
    }
}

impl<S: Store> Policy<S> for ApproximateEpsilonTime {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        self.lanes = (0..channels)
            .map(|_| VecDeque::with_capacity(self.queue_size + 2))
            .collect();
        self.non_empty = 0;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.queue_size + 2
    }

    fn max_events_per_add(&self) -> usize {
        self.lanes.len() * (self.queue_size + 2) + 1
    }

    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let ch = arrival.channel;
        let Some(lane) = self.lanes.get_mut(ch) else {
            return;
        };
        if lane.is_empty() {
            self.non_empty += 1;
        }
        lane.push_back(arrival.stamp);
        if self.non_empty == self.lanes.len() {
            self.process(store, out);
        } else if self.lanes[ch].len() > self.queue_size {
            self.pop(ch, Some(DropReason::QueueOverflow), store, out);
        }
    }

    fn queued(&self, channel: usize) -> usize {
        self.lanes.get(channel).map_or(0, VecDeque::len)
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        for ch in 0..self.lanes.len() {
            while !self.lanes[ch].is_empty() {
                self.pop(ch, Some(DropReason::Reset), store, out);
            }
        }
    }

    fn subset(&self, _keep: &[usize]) -> Option<Box<dyn super::SubsetPolicy<S> + Send>> {
        Some(Box::new(self.clone()))
    }

    fn set_deadline(&mut self, d: Option<Duration>) -> Result<(), ConfigError> {
        ApproximateEpsilonTime::set_deadline(self, d)
    }
}
