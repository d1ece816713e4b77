//! InputAligner: N inputs out as one stream in global stamp order.
//!
//! Semantics of ROS 2 `message_filters::InputAligner` (rolling, 2024,
//! `input_aligner.hpp`; upstream tests in `crates/stamp_sync/tests/it/filters_scenarios.rs`):
//! * Each input holds its messages sorted by stamp (equal stamps in
//!   arrival order). [`dispatch`](InputAligner::dispatch) repeatedly takes
//!   the input whose *next time* is smallest (ties: lowest index) and hands
//!   out its oldest message, until that input is empty and still expected
//!   to deliver.
//! * Next time of an input: its oldest held stamp if it holds one; else,
//!   if it is active, the stamp of the last message it held plus its
//!   period hint ([`period`](InputAlignerBuilder::period), default 0: no
//!   look-ahead); else it is ignored. An input becomes active when it
//!   holds a message at dispatch.
//! * An active, empty input whose next time is at least `timeout` behind
//!   the newest stamp added so far (on any input) becomes inactive: the
//!   others no longer wait for it. Time is only the stamps: no clock.
//! * A message stamped before the last dispatched one is dropped
//!   ([`DropReason::OlderThanLastSet`]).
//!
//! Deliberate differences: upstream queues are unbounded; here an input
//! holding [`capacity`](InputAlignerBuilder::capacity) messages drops its
//! oldest ([`DropReason::QueueOverflow`]). Drops are returned, not only
//! counted. Messages of all inputs share one type `M` (use an enum for
//! different types).

use std::collections::VecDeque;
use std::marker::PhantomData;

use super::Counts;
use crate::driver::dynamic::NoSuchChannel;
use crate::policy::{ConfigError, DropReason, Dropped};
use crate::stamped::Stamped;
use crate::time::{Duration, Stamp};

/// Default per-input capacity.
pub const DEFAULT_CAPACITY: usize = 1000;

/// Aligns N inputs in stamp order: see the [module docs](self).
///
/// ```
/// use stamp_sync::filters::InputAligner;
/// use stamp_sync::{Duration, Stamp};
///
/// let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
/// let mut aligner = InputAligner::builder(2)
///     .timeout(Duration::from_secs(1))
///     .periods(Duration::from_millis(2))
///     .build()
///     .unwrap();
/// aligner.add(1, ms(2)).unwrap();
/// aligner.add(0, ms(1)).unwrap();
/// aligner.add(0, ms(5)).unwrap();
/// let out: Vec<(usize, Stamp)> = aligner.dispatch().collect();
/// // ms(5) waits: input 1 may still send 4 ms (2 ms + its 2 ms period).
/// assert_eq!(out, [(0, ms(1)), (1, ms(2))]);
/// assert_eq!(aligner.status(0).unwrap().queued, 1);
/// ```
#[derive(Clone, Debug)]
pub struct InputAligner<M> {
    inputs: Vec<Input<M>>,
    timeout: Duration,
    capacity: usize,
    /// Newest stamp added (upstream `last_in_ts_`).
    newest_in: Option<Stamp>,
    /// Stamp of the last dispatched message (upstream `last_out_ts_`).
    last_out: Option<Stamp>,
}

#[derive(Clone, Debug)]
struct Input<M> {
    /// Held messages, sorted by stamp; equal stamps in arrival order.
    held: VecDeque<(Stamp, M)>,
    period: Duration,
    /// Oldest held stamp at the last look + period (upstream `next_ts_`).
    next: Stamp,
    active: bool,
    /// Will send nothing more ([`InputAligner::close`]): never waited for.
    closed: bool,
    counts: Counts,
}

impl<M> Input<M> {
    /// Upstream `firstTimeStamp()`, side effects included.
    fn next_time(&mut self) -> Option<Stamp> {
        if let Some(&(t, _)) = self.held.front() {
            self.next = t.saturating_add(self.period);
            self.active = true;
            Some(t)
        } else if self.active && !self.closed {
            Some(self.next)
        } else {
            None
        }
    }
}

/// One input's state (upstream `QueueStatus`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InputStatus {
    /// The others wait for this input.
    pub active: bool,
    /// Messages held.
    pub queued: usize,
    /// Messages dispatched.
    pub processed: u64,
    /// Messages dropped, any reason.
    pub dropped: u64,
    /// All counters.
    pub counts: Counts,
}

/// Settings for [`InputAligner`].
#[derive(Clone, Debug)]
pub struct InputAlignerBuilder<M> {
    channels: usize,
    timeout: Duration,
    periods: Vec<(usize, Duration)>,
    capacity: usize,
    message: PhantomData<fn() -> M>,
}

impl<M> InputAlignerBuilder<M> {
    /// How far behind the newest stamp an empty input may fall before the
    /// others stop waiting for it (default 1 s, as the upstream tests).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// The least gap between two messages of `channel` (upstream
    /// `setInputPeriod`; default 0). Be optimistic: a period that is too
    /// long makes later messages of that input arrive too late.
    pub fn period(mut self, channel: usize, d: Duration) -> Self {
        self.periods.push((channel, d));
        self
    }
    /// The same period for every input.
    pub fn periods(mut self, d: Duration) -> Self {
        self.periods = (0..self.channels).map(|c| (c, d)).collect();
        self
    }
    /// Messages held per input (default [`DEFAULT_CAPACITY`]).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }
    /// Checks the settings.
    pub fn build(self) -> Result<InputAligner<M>, ConfigError> {
        if self.channels == 0 {
            return Err(ConfigError::TooFewChannels(0));
        }
        if self.capacity == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        if self.timeout.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "timeout",
                value: self.timeout,
            });
        }
        let mut inputs: Vec<Input<M>> = (0..self.channels)
            .map(|_| Input {
                held: VecDeque::new(),
                period: Duration::ZERO,
                next: Stamp::MAX,
                active: false,
                closed: false,
                counts: Counts::default(),
            })
            .collect();
        for &(channel, d) in &self.periods {
            let Some(input) = inputs.get_mut(channel) else {
                return Err(ConfigError::NoSuchChannel {
                    channel,
                    channels: self.channels,
                });
            };
            if d.is_negative() {
                return Err(ConfigError::NegativeDuration {
                    what: "period",
                    value: d,
                });
            }
            input.period = d;
        }
        Ok(InputAligner {
            inputs,
            timeout: self.timeout,
            capacity: self.capacity,
            newest_in: None,
            last_out: None,
        })
    }
}

impl<M> InputAligner<M> {
    /// Settings for `channels` inputs.
    pub fn builder(channels: usize) -> InputAlignerBuilder<M> {
        InputAlignerBuilder {
            channels,
            timeout: Duration::from_secs(1),
            periods: Vec::new(),
            capacity: DEFAULT_CAPACITY,
            message: PhantomData,
        }
    }

    /// `channels` inputs, `timeout`, no period hints.
    pub fn new(channels: usize, timeout: Duration) -> Result<Self, ConfigError> {
        Self::builder(channels).timeout(timeout).build()
    }

    /// Number of inputs.
    pub fn channels(&self) -> usize {
        self.inputs.len()
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Messages held per input at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the period hint of input `channel` at run time (upstream
    /// `setInputPeriod`): checked as the builder's
    /// [`period`](InputAlignerBuilder::period) is (unchanged on error).
    /// It counts from the next look at the input's oldest held message: an
    /// input that is empty now is still expected at the time the old period
    /// gave, as upstream.
    pub fn set_period(&mut self, channel: usize, period: Duration) -> Result<(), ConfigError> {
        let channels = self.inputs.len();
        let Some(input) = self.inputs.get_mut(channel) else {
            return Err(ConfigError::NoSuchChannel { channel, channels });
        };
        if period.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "period",
                value: period,
            });
        }
        input.period = period;
        Ok(())
    }

    /// Stamp of the last dispatched message.
    pub fn last_dispatched(&self) -> Option<Stamp> {
        self.last_out
    }

    /// The state of input `channel` (upstream `getQueueStatus`).
    pub fn status(&self, channel: usize) -> Option<InputStatus> {
        self.inputs.get(channel).map(|i| InputStatus {
            active: i.active,
            queued: i.held.len(),
            processed: i.counts.released,
            dropped: i.counts.dropped_total(),
            counts: i.counts,
        })
    }

    /// Adds `msg` to input `channel` with an explicit stamp. Returns the
    /// message dropped by this call: `msg` itself if it is older than the
    /// last dispatched one, or the input's oldest on overflow.
    pub fn add_stamped(
        &mut self,
        channel: usize,
        msg: M,
        stamp: Stamp,
    ) -> Result<Option<Dropped<M>>, NoSuchChannel> {
        let channels = self.inputs.len();
        let Some(input) = self.inputs.get_mut(channel) else {
            return Err(NoSuchChannel { channel, channels });
        };
        input.counts.received += 1;
        let drop = |input: &mut Input<M>, stamp, reason, message| {
            input.counts.drop(reason);
            Some(Dropped {
                channel,
                stamp,
                reason,
                message,
            })
        };
        if self.last_out.is_some_and(|last| stamp < last) {
            return Ok(drop(input, stamp, DropReason::OlderThanLastSet, msg));
        }
        if self.newest_in.is_none_or(|t| stamp > t) {
            self.newest_in = Some(stamp);
        }
        let at = input.held.partition_point(|(t, _)| *t <= stamp);
        input.held.insert(at, (stamp, msg));
        if input.held.len() > self.capacity {
            if let Some((t, m)) = input.held.pop_front() {
                return Ok(drop(input, t, DropReason::QueueOverflow, m));
            }
        }
        Ok(None)
    }

    /// Hands out, in stamp order, every message that can go now (upstream
    /// `dispatchMessages`): each item is `(channel, message)`. Lazy:
    /// messages not taken from the iterator stay held.
    pub fn dispatch(&mut self) -> Dispatch<'_, M> {
        let go = self.inputs.iter().any(|i| !i.held.is_empty());
        Dispatch { aligner: self, go }
    }

    /// One step of upstream `dispatchFirstMessage`: `Ok(Some)` a message
    /// went out, `Ok(None)` an input timed out, `Err(())` nothing to do.
    fn step(&mut self) -> Result<Option<(usize, M)>, ()> {
        let mut first: Option<(usize, Stamp)> = None;
        for (i, input) in self.inputs.iter_mut().enumerate() {
            if let Some(t) = input.next_time() {
                if first.is_none_or(|(_, best)| t < best) {
                    first = Some((i, t));
                }
            }
        }
        let Some((idx, t)) = first else {
            return Err(());
        };
        let input = &mut self.inputs[idx];
        if let Some((stamp, msg)) = input.held.pop_front() {
            input.counts.released += 1;
            self.last_out = Some(stamp);
            return Ok(Some((idx, msg)));
        }
        let behind = self.newest_in.map(|newest| newest.since(t));
        if behind.is_some_and(|b| b >= self.timeout) {
            input.active = false;
            return Ok(None);
        }
        Err(())
    }

    /// Marks input `channel` as ended (not upstream: for a finished stream
    /// or bag). Its held messages still go out in order, but once it is
    /// empty the others no longer wait for it; when every input is closed,
    /// [`dispatch`](Self::dispatch) hands out everything. A message added
    /// later is still dispatched.
    pub fn close(&mut self, channel: usize) -> Result<(), NoSuchChannel> {
        let channels = self.inputs.len();
        match self.inputs.get_mut(channel) {
            Some(input) => {
                input.closed = true;
                Ok(())
            }
            None => Err(NoSuchChannel { channel, channels }),
        }
    }

    /// Removes every held message without dispatching it.
    pub fn clear(&mut self) -> impl Iterator<Item = Dropped<M>> + '_ {
        self.inputs
            .iter_mut()
            .enumerate()
            .flat_map(|(channel, input)| {
                let counts = &mut input.counts;
                input.held.drain(..).map(move |(stamp, message)| {
                    counts.drop(DropReason::Reset);
                    Dropped {
                        channel,
                        stamp,
                        reason: DropReason::Reset,
                        message,
                    }
                })
            })
    }
}

impl<M: Stamped> InputAligner<M> {
    /// Adds `msg` to input `channel`, stamped by its [`Stamped`] impl: see
    /// [`add_stamped`](Self::add_stamped).
    pub fn add(&mut self, channel: usize, msg: M) -> Result<Option<Dropped<M>>, NoSuchChannel> {
        let stamp = msg.stamp();
        self.add_stamped(channel, msg, stamp)
    }
}

/// The messages that can go now: see [`InputAligner::dispatch`].
#[derive(Debug)]
pub struct Dispatch<'a, M> {
    aligner: &'a mut InputAligner<M>,
    /// Upstream runs the loop only if some input held a message.
    go: bool,
}

impl<M> Iterator for Dispatch<'_, M> {
    type Item = (usize, M);

    fn next(&mut self) -> Option<(usize, M)> {
        while self.go {
            match self.aligner.step() {
                Ok(Some(item)) => return Some(item),
                Ok(None) => {}
                Err(()) => self.go = false,
            }
        }
        None
    }
}
