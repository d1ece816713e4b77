//! Cache: the newest `size` messages, ordered by stamp, queried by time.
//!
//! The semantics are those of C++ `message_filters::Cache` (ROS 1 1.15.15
//! and ROS 2 up to Jazzy, `cache.h`), checked query for query against it by
//! `crates/stamp_sync/tests/it/cache_differential.rs`:
//! * [`add`](Cache::add) first evicts the front (the **smallest stamp**)
//!   while the cache is full, then inserts the new message after every held
//!   message whose stamp is `<=` its own: equal stamps keep arrival order.
//!   So an old message added to a full cache still goes in (at the front),
//!   and the message evicted for it is the one with the smallest stamp
//!   held before it came.
//! * [`interval`](Cache::interval) is inclusive at both ends;
//!   [`elem_before`](Cache::elem_before) and [`elem_after`](Cache::elem_after)
//!   are strict (`<`, `>`).
//!
//! Not copied from C++: a size of 0 is an error (C++ leaves the size
//! unset), and [`surrounding_interval`](Cache::surrounding_interval) on an
//! empty cache is empty (ROS 1 reads out of bounds there; ROS 2 later
//! returns empty too). ROS 2 rolling (2026) switched to binary searches
//! that insert a new message *before* equal stamps and start the
//! surrounding interval before a message stamped exactly `start`; this
//! type keeps the older, Debian-checked behaviour.
//!
//! The Python `message_filters.Cache` differs (not sorted, inclusive
//! before/after queries): see `docs/filters.md`.

use std::collections::VecDeque;
use std::collections::vec_deque::Iter;

use crate::policy::ConfigError;
use crate::stamped::Stamped;
use crate::time::Stamp;

/// A bounded, stamp-ordered store of messages: see the [module docs](self).
///
/// ```
/// use stamp_sync::filters::Cache;
/// use stamp_sync::Stamp;
///
/// let s = |sec: i32| Stamp::from_ros(sec, 0);
/// let mut cache = Cache::new(3).unwrap();
/// for (sec, data) in [(10, 'a'), (30, 'c'), (20, 'b')] {
///     cache.add((s(sec), data));
/// }
/// // Kept in stamp order, whatever the arrival order.
/// let got: Vec<char> = cache.interval(s(15), s(30)).map(|m| m.1).collect();
/// assert_eq!(got, ['b', 'c']);
/// assert_eq!(cache.elem_before(s(20)).map(|m| m.1), Some('a'));
/// // Full: the smallest stamp makes room.
/// assert_eq!(cache.add((s(40), 'd')).map(|m| m.1), Some('a'));
/// assert_eq!(cache.oldest_stamp(), Some(s(20)));
/// ```
#[derive(Clone, Debug)]
pub struct Cache<M> {
    /// Held messages, sorted by stamp; equal stamps in arrival order.
    items: VecDeque<M>,
    size: usize,
}

impl<M: Stamped> Cache<M> {
    /// A cache holding at most `size` messages (C++ `Cache(cache_size)`).
    pub fn new(size: usize) -> Result<Self, ConfigError> {
        if size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        Ok(Cache {
            items: VecDeque::with_capacity(size),
            size,
        })
    }

    /// The most messages held.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Changes the most messages held (C++ `setCacheSize`): checked as
    /// [`new`](Self::new) checks it (unchanged on error). A smaller size
    /// evicts the smallest stamps beyond it at once, returned oldest first
    /// (C++ keeps them until later adds; here memory stays bounded by the
    /// size).
    pub fn set_size(
        &mut self,
        size: usize,
    ) -> Result<std::collections::vec_deque::Drain<'_, M>, ConfigError> {
        if size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        self.size = size;
        let excess = self.items.len().saturating_sub(size);
        Ok(self.items.drain(..excess))
    }

    /// Messages held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `msg` in stamp order (after held messages with the same stamp).
    /// If the cache was full, the message with the smallest stamp held
    /// before this call is evicted first and returned.
    pub fn add(&mut self, msg: M) -> Option<M> {
        let evicted = if self.items.len() >= self.size {
            self.items.pop_front()
        } else {
            None
        };
        let t = msg.stamp();
        let at = self.items.partition_point(|m| m.stamp() <= t);
        self.items.insert(at, msg);
        evicted
    }

    /// Messages with `start <= stamp <= end`, oldest first (C++
    /// `getInterval`). Empty if `start > end`.
    pub fn interval(&self, start: Stamp, end: Stamp) -> Iter<'_, M> {
        let a = self.items.partition_point(|m| m.stamp() < start);
        let b = self.items.partition_point(|m| m.stamp() <= end).max(a);
        self.items.range(a..b)
    }

    /// The smallest run of messages that surrounds `[start, end]` (C++
    /// `getSurroundingInterval`): from the last message stamped `<= start`
    /// (or the oldest) to the first one from there stamped `>= end` (or the
    /// newest). Empty only when the cache is.
    pub fn surrounding_interval(&self, start: Stamp, end: Stamp) -> Iter<'_, M> {
        let n = self.items.len();
        if n == 0 {
            return self.items.range(0..0);
        }
        let a = self
            .items
            .partition_point(|m| m.stamp() <= start)
            .saturating_sub(1);
        let b = self
            .items
            .partition_point(|m| m.stamp() < end)
            .clamp(a, n - 1);
        self.items.range(a..=b)
    }

    /// The newest message stamped strictly before `t` (C++
    /// `getElemBeforeTime`); among equal stamps the last added.
    pub fn elem_before(&self, t: Stamp) -> Option<&M> {
        let i = self.items.partition_point(|m| m.stamp() < t);
        i.checked_sub(1).and_then(|i| self.items.get(i))
    }

    /// The oldest message stamped strictly after `t` (C++
    /// `getElemAfterTime`); among equal stamps the first added.
    pub fn elem_after(&self, t: Stamp) -> Option<&M> {
        let i = self.items.partition_point(|m| m.stamp() <= t);
        self.items.get(i)
    }

    /// The smallest stamp held (C++ `getOldestTime`, which returns time 0
    /// for an empty cache).
    pub fn oldest_stamp(&self) -> Option<Stamp> {
        self.items.front().map(Stamped::stamp)
    }

    /// The largest stamp held (C++ `getLatestTime`, which returns time 0
    /// for an empty cache).
    pub fn newest_stamp(&self) -> Option<Stamp> {
        self.items.back().map(Stamped::stamp)
    }

    /// The message with the largest stamp (the last added among equals).
    pub fn newest(&self) -> Option<&M> {
        self.items.back()
    }

    /// Every held message, oldest stamp first.
    pub fn iter(&self) -> Iter<'_, M> {
        self.items.iter()
    }

    /// Removes and returns every held message, oldest stamp first.
    pub fn clear(&mut self) -> std::collections::vec_deque::Drain<'_, M> {
        self.items.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ns: i64) -> Stamp {
        Stamp::from_nanos(ns)
    }

    fn ids<'a>(it: impl Iterator<Item = &'a (Stamp, u32)>) -> Vec<u32> {
        it.map(|m| m.1).collect()
    }

    #[test]
    fn equal_stamps_keep_arrival_order_and_queries_pick_the_right_end() {
        let mut c = Cache::new(10).unwrap();
        for (t, id) in [(20, 0), (10, 1), (20, 2), (30, 3), (20, 4)] {
            assert!(c.add((s(t), id)).is_none());
        }
        assert_eq!(ids(c.iter()), [1, 0, 2, 4, 3]);
        assert_eq!(c.elem_before(s(30)).map(|m| m.1), Some(4));
        assert_eq!(c.elem_after(s(10)).map(|m| m.1), Some(0));
        assert_eq!(c.elem_before(s(10)), None);
        assert_eq!(c.elem_after(s(30)), None);
        assert_eq!(ids(c.interval(s(20), s(20))), [0, 2, 4]);
        assert_eq!(ids(c.interval(s(21), s(19))), Vec::<u32>::new());
        // From the last message stamped <= start.
        assert_eq!(ids(c.surrounding_interval(s(20), s(25))), [4, 3]);
        assert_eq!(ids(c.surrounding_interval(s(35), s(5))), [3]);
    }

    #[test]
    fn eviction_happens_before_insertion() {
        let mut c = Cache::new(2).unwrap();
        c.add((s(10), 0));
        c.add((s(20), 1));
        // Older than everything: still inserted; 10 leaves for it.
        assert_eq!(c.add((s(5), 2)).map(|m| m.1), Some(0));
        assert_eq!(ids(c.iter()), [2, 1]);
        assert_eq!(c.len(), 2);
        assert!(Cache::<Stamp>::new(0).is_err());
    }
}
