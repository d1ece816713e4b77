//! TimeSequencer: releases messages in stamp order once `stamp + delay`
//! has passed on a clock the caller reads.
//!
//! As C++ `message_filters::TimeSequencer`:
//! * Held messages are sorted by stamp; equal stamps keep arrival order.
//! * [`release(now)`](TimeSequencer::release) hands out, oldest first,
//!   every held message with `stamp + delay <= now`, and remembers the
//!   stamp of the last one.
//! * A message stamped before the last released one is dropped
//!   ([`DropReason::OlderThanLastSet`]): releasing it would break the
//!   order. Equal to it is still accepted.
//! * When more than `queue_size` messages are held, the oldest goes
//!   ([`DropReason::QueueOverflow`]); that may be the one just added.
//!
//! Deliberate differences from C++:
//! * The clock is yours: `now` is a [`Stamp`] on the clock of the header
//!   stamps (wall time, ROS time or sim time). C++ compares with the
//!   system clock and runs a wall timer, which breaks with sim time
//!   (ros2/message_filters#21, #175). [`next_release`](TimeSequencer::next_release)
//!   says when to call again, so no polling rate is needed.
//! * On overflow C++ erases *every* message sharing the oldest stamp
//!   (`multiset::erase(value)`); here exactly one message goes.
//! * `queue_size` 0 (unlimited in C++) is an error: memory stays bounded.
//! * Drops are returned with a reason instead of vanishing.

use std::collections::VecDeque;

use super::Counts;
use crate::policy::{ConfigError, DropReason, Dropped};
use crate::stamped::Stamped;
use crate::time::{Duration, Stamp};

/// Releases messages in stamp order after a delay: see the
/// [module docs](self).
///
/// ```
/// use stamp_sync::filters::TimeSequencer;
/// use stamp_sync::{Duration, Stamp};
///
/// let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
/// let mut seq = TimeSequencer::new(Duration::from_millis(100), 10).unwrap();
/// for t in [30, 10, 20] {
///     assert!(seq.add(ms(t)).is_none());
/// }
/// assert_eq!(seq.next_release(), Some(ms(110)));
/// assert_eq!(seq.release(ms(125)).collect::<Vec<_>>(), [ms(10), ms(20)]);
/// // Older than the last released message: dropped with a reason.
/// assert!(seq.add(ms(15)).is_some());
/// assert_eq!(seq.release(ms(1000)).collect::<Vec<_>>(), [ms(30)]);
/// ```
#[derive(Clone, Debug)]
pub struct TimeSequencer<M> {
    delay: Duration,
    queue_size: usize,
    /// Held messages with their stamps, sorted; equal stamps in arrival order.
    held: VecDeque<(Stamp, M)>,
    last_released: Option<Stamp>,
    counts: Counts,
}

impl<M> TimeSequencer<M> {
    /// Holds each message until `stamp + delay`, at most `queue_size`
    /// messages at once.
    pub fn new(delay: Duration, queue_size: usize) -> Result<Self, ConfigError> {
        if queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        if delay.is_negative() {
            return Err(ConfigError::NegativeDuration {
                what: "delay",
                value: delay,
            });
        }
        Ok(TimeSequencer {
            delay,
            queue_size,
            held: VecDeque::with_capacity(queue_size + 1),
            last_released: None,
            counts: Counts::default(),
        })
    }

    /// The delay.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The most messages held.
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    /// Messages held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The stamp of the last released message.
    pub fn last_released(&self) -> Option<Stamp> {
        self.last_released
    }

    /// Counters: received, released, dropped by reason.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// When the oldest held message becomes due (`stamp + delay`): the
    /// time to call [`release`](Self::release) next.
    pub fn next_release(&self) -> Option<Stamp> {
        self.held.front().map(|(t, _)| t.saturating_add(self.delay))
    }

    /// Adds `msg` with an explicit stamp. Returns the message dropped by
    /// this call, if any: `msg` itself when it is older than the last
    /// released message, or the oldest held one on overflow.
    pub fn add_stamped(&mut self, msg: M, stamp: Stamp) -> Option<Dropped<M>> {
        self.counts.received += 1;
        if self.last_released.is_some_and(|last| stamp < last) {
            return Some(self.dropped(stamp, DropReason::OlderThanLastSet, msg));
        }
        let at = self.held.partition_point(|(t, _)| *t <= stamp);
        self.held.insert(at, (stamp, msg));
        if self.held.len() > self.queue_size {
            if let Some((t, m)) = self.held.pop_front() {
                return Some(self.dropped(t, DropReason::QueueOverflow, m));
            }
        }
        None
    }

    fn dropped(&mut self, stamp: Stamp, reason: DropReason, message: M) -> Dropped<M> {
        self.counts.drop(reason);
        Dropped {
            channel: 0,
            stamp,
            reason,
            message,
        }
    }

    /// Hands out, oldest stamp first, every held message whose
    /// `stamp + delay <= now`. Lazy: messages not taken from the iterator
    /// stay held.
    pub fn release(&mut self, now: Stamp) -> Release<'_, M> {
        Release { seq: self, now }
    }

    /// Removes every held message (oldest first) without releasing it.
    pub fn clear(&mut self) -> impl Iterator<Item = Dropped<M>> + '_ {
        let counts = &mut self.counts;
        self.held.drain(..).map(move |(stamp, message)| {
            counts.drop(DropReason::Reset);
            Dropped {
                channel: 0,
                stamp,
                reason: DropReason::Reset,
                message,
            }
        })
    }
}

impl<M: Stamped> TimeSequencer<M> {
    /// Adds `msg`, stamped by its [`Stamped`] impl: see
    /// [`add_stamped`](Self::add_stamped).
    pub fn add(&mut self, msg: M) -> Option<Dropped<M>> {
        let stamp = msg.stamp();
        self.add_stamped(msg, stamp)
    }
}

/// The messages due at `now`: see [`TimeSequencer::release`].
#[derive(Debug)]
pub struct Release<'a, M> {
    seq: &'a mut TimeSequencer<M>,
    now: Stamp,
}

impl<M> Iterator for Release<'_, M> {
    type Item = M;

    fn next(&mut self) -> Option<M> {
        let due = self.seq.next_release().is_some_and(|due| due <= self.now);
        if !due {
            return None;
        }
        let (stamp, msg) = self.seq.held.pop_front()?;
        self.seq.last_released = Some(stamp);
        self.seq.counts.released += 1;
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_drops_exactly_one_and_equal_to_last_is_accepted() {
        let s = Stamp::from_nanos;
        let mut seq = TimeSequencer::new(Duration::ZERO, 2).unwrap();
        assert!(seq.add_stamped('a', s(5)).is_none());
        assert!(seq.add_stamped('b', s(5)).is_none());
        let d = seq.add_stamped('c', s(5)).unwrap();
        assert_eq!((d.message, d.reason), ('a', DropReason::QueueOverflow));
        assert_eq!(seq.release(s(5)).collect::<String>(), "bc");
        assert!(seq.add_stamped('d', s(5)).is_none());
        let late = seq.add_stamped('e', s(4)).unwrap();
        assert_eq!(late.reason, DropReason::OlderThanLastSet);
        assert_eq!(seq.counts().dropped_total(), 2);
        assert_eq!(seq.counts().received, 5);
        assert!(TimeSequencer::<()>::new(Duration::from_nanos(-1), 1).is_err());
    }
}
