//! ExactTime: sets of messages with identical stamps, as C++ message_filters.
//!
//! # What the output promises
//! * Each set holds one message per channel, all with the same stamp.
//! * A set is emitted on the arrival that completes it.
//! * After a set at stamp `t` is emitted, every partial set at or before
//!   `t` is dropped ([`DropReason::OlderThanLastSet`](crate::DropReason::OlderThanLastSet)). A message older than
//!   the last set is still held until the next set or overflow, as upstream.
//! * A second message with the same stamp on the same channel replaces the
//!   first ([`DropReason::Replaced`](crate::DropReason::Replaced); upstream drops it silently).
//! * `queue_size` counts distinct stamps. When more are held, the oldest
//!   stamps' partial sets are dropped ([`DropReason::QueueOverflow`](crate::DropReason::QueueOverflow)).
//! * For a given multiset of arrivals per channel, interleaving the channels
//!   differently gives the same sets as long as no overflow happens.

mod held;

use held::{Held, Joined};

use super::settings::{self, Configure, Setting, Value};
use super::{Arrival, ConfigError, Output, Policy, Store};
use crate::time::Stamp;

/// ExactTime policy: see the [module docs](self).
///
/// ```
/// use stamp_sync::ExactTime;
/// let policy = ExactTime::new(10).unwrap();
/// assert_eq!(policy.queue_size(), 10);
/// assert!(ExactTime::new(0).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ExactTime {
    queue_size: usize,
    /// The distinct stamps held and who holds them; mirrors the store.
    /// Invariant: at most `queue_size` stamps after every `add`.
    held: Held,
    last_set: Option<Stamp>,
}

impl ExactTime {
    /// Holds at most `queue_size` distinct stamps.
    pub fn new(queue_size: usize) -> Result<Self, ConfigError> {
        if queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        Ok(ExactTime {
            queue_size,
            held: Held::default(),
            last_set: None,
        })
    }

    /// Distinct stamps held at most.
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    /// The stamp of the last emitted set.
    pub fn last_set(&self) -> Option<Stamp> {
        self.last_set
    }
}

/// ExactTime's settings ([`Configure`]): the queue size (default 10).
#[derive(Clone, Debug, PartialEq)]
pub struct ExactConfig {
    /// Distinct stamps held.
    pub queue_size: usize,
}

impl Default for ExactConfig {
    fn default() -> Self {
        settings::defaults()
    }
}

impl Configure for ExactConfig {
    type Policy = ExactTime;
    const NAME: &'static str = "exact";
    const TITLE: &'static str = "ExactTime";
    const SETTINGS: &'static [Setting] = &[settings::QUEUE_SIZE];

    fn blank() -> Self {
        ExactConfig { queue_size: 0 }
    }
    fn get(&self, name: &str) -> Option<Value> {
        (name == "queue_size").then_some(Value::Count(self.queue_size))
    }
    fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError> {
        let v = settings::checked::<Self>(name, v)?;
        self.queue_size = settings::count(v).unwrap_or(0);
        Ok(())
    }
    fn build(&self) -> Result<ExactTime, ConfigError> {
        ExactTime::new(self.queue_size)
    }
    fn of(p: &ExactTime) -> Self {
        ExactConfig {
            queue_size: p.queue_size(),
        }
    }
    fn apply(&self, p: &mut ExactTime) -> Result<(), ConfigError> {
        settings::check_live(self, &Self::of(p))
    }
}

impl<S: Store> Policy<S> for ExactTime {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        self.held = Held::new(channels, self.queue_size);
        self.last_set = None;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.queue_size + 1
    }

    fn max_events_per_add(&self) -> usize {
        // Every held message can leave in one call.
        self.held.channels() * (self.queue_size + 1) + 1
    }

    #[inline]
    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        let stamp = arrival.stamp;
        // Join the stamp (a second message with it on the same channel
        // replaces the first).
        let Some(joined) = self.held.join(arrival.channel, stamp, store, out) else {
            return;
        };
        // A complete set goes out; every older partial set is dropped.
        if let Joined::Complete(at) = joined {
            self.last_set = Some(stamp);
            self.held.emit(at, stamp, store, out);
        }
        // Too many stamps: the oldest partial sets go.
        while self.held.len() > self.queue_size {
            self.held.evict_oldest(store, out);
        }
        self.held.settle();
        self.held.debug_check(store, self.queue_size);
    }

    fn queued(&self, channel: usize) -> usize {
        self.held.queued(channel)
    }

    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        self.held.reset(store, out);
        self.last_set = None;
    }

    fn subset(&self, _keep: &[usize]) -> Option<Box<dyn super::SubsetPolicy<S> + Send>> {
        Some(Box::new(self.clone()))
    }
}
