//! The driver of the follower policy ([`Follow`]): per-channel queues of
//! one message type (an enum of your topics' types, or [`TraceMsg`](crate::trace::TraceMsg)),
//! the policy, counters.
//!
//! ```
//! use stamp_sync::driver::follow::FollowSynchronizer;
//! use stamp_sync::policy::{FollowConfig, Mode};
//! use stamp_sync::{Event, Stamp};
//!
//! let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
//! // Channel 0: camera frames; 1: IMU (every sample since the last frame);
//! // 2: odometry (the newest at or before each frame).
//! let config = FollowConfig::new(0)
//!     .follow(1, Mode::Ranged)
//!     .follow(2, Mode::Before);
//! let mut sync = FollowSynchronizer::<Stamp>::new(3, &config).unwrap();
//! let mut sets = Vec::new();
//! for (ch, t) in [(2, 0), (1, 5), (1, 10), (0, 10), (1, 15), (2, 15)] {
//!     sets.extend(sync.push(ch, ms(t), ms(t)).filter_map(Event::into_set));
//! }
//! // The frame at 10 ms is final once the IMU passed it (15) and odometry too.
//! assert_eq!(sets.len(), 1);
//! assert_eq!(sets[0].driver, ms(10));
//! assert_eq!(sets[0].ranged(1), Some(&[ms(5), ms(10)][..]));
//! assert_eq!(sets[0].one(2), Some(&ms(0)));
//! ```
//!
//! Accounting, per channel: `received = emitted + dropped + queued`. A
//! driver or `ranged` message counts as emitted when its set goes out; a
//! `before`, `closest` or `bracket` message, which several sets may share
//! (clones), when it leaves the queue after a set used it; the times a
//! message went out in sets are [`FollowSynchronizer::appearances`].

use std::collections::VecDeque;

use super::event::Event;
use super::stats::Stats;
use crate::policy::{
    ConfigError, Follow, FollowConfig, FollowOutcome, FollowSet, FollowStore, Follower,
};
use crate::time::Stamp;

/// Per-channel queues of one message type, and the vectors of recycled
/// sets.
#[derive(Debug)]
struct Queues<M> {
    queues: Vec<VecDeque<M>>,
    /// Empty, with capacity. Invariant: at most [`SPARE`] each.
    spare_ranged: Vec<Vec<M>>,
    spare_parts: Vec<Vec<(usize, Follower<M>)>>,
}

/// Recycled vectors kept, at most, of each kind.
const SPARE: usize = 16;

impl<M: Clone> FollowStore for Queues<M> {
    type Message = M;
    fn take(&mut self, channel: usize, pos: usize) -> Option<M> {
        self.queues.get_mut(channel)?.remove(pos)
    }
    fn clone_at(&self, channel: usize, pos: usize) -> Option<M> {
        self.queues.get(channel)?.get(pos).cloned()
    }
    fn ranged_vec(&mut self) -> Vec<M> {
        self.spare_ranged.pop().unwrap_or_default()
    }
    fn parts_vec(&mut self) -> Vec<(usize, Follower<M>)> {
        self.spare_parts.pop().unwrap_or_default()
    }
}

/// Runs the [`Follow`] policy over `channels` inputs of message type `M`.
#[derive(Debug)]
pub struct FollowSynchronizer<M> {
    policy: Follow,
    queues: Queues<M>,
    out: Vec<FollowOutcome<M>>,
    stats: Stats,
    appearances: Vec<u64>,
}

impl<M: Clone> FollowSynchronizer<M> {
    /// The policy `config` over `channels` inputs.
    pub fn new(channels: usize, config: &FollowConfig) -> Result<Self, ConfigError> {
        let policy = config.build(channels)?;
        Ok(FollowSynchronizer {
            queues: Queues {
                queues: (0..channels)
                    .map(|_| VecDeque::with_capacity(config.queue_size + 1))
                    .collect(),
                spare_ranged: Vec::with_capacity(SPARE),
                spare_parts: Vec::with_capacity(SPARE),
            },
            out: Vec::with_capacity(2 * channels + 2),
            stats: Stats::new(channels),
            appearances: vec![0; channels],
            policy,
        })
    }

    /// Adds `msg`, stamped `stamp`, on `channel`; returns the sets and
    /// drops it caused, in order. A channel out of range is ignored.
    pub fn push(
        &mut self,
        channel: usize,
        msg: M,
        stamp: Stamp,
    ) -> impl Iterator<Item = Event<FollowSet<M>, M>> + '_ {
        if let Some(q) = self.queues.queues.get_mut(channel) {
            q.push_back(msg);
            self.stats.received(channel, stamp);
            self.policy
                .add(channel, stamp, &mut self.queues, &mut self.out);
        }
        self.drain()
    }

    /// Gives back a set you are done with: its vectors serve later sets,
    /// so that a loop that recycles each set allocates nothing in steady
    /// state (the messages are dropped).
    pub fn recycle(&mut self, set: FollowSet<M>) {
        let q = &mut self.queues;
        let mut parts = set.followers;
        for (_, part) in parts.drain(..) {
            if let Follower::Ranged(mut v) = part {
                if q.spare_ranged.len() < SPARE {
                    v.clear();
                    q.spare_ranged.push(v);
                }
            }
        }
        if q.spare_parts.len() < SPARE {
            q.spare_parts.push(parts);
        }
    }

    /// Drops everything held (reason `Reset`) and forgets the state.
    pub fn reset(&mut self) -> impl Iterator<Item = Event<FollowSet<M>, M>> + '_ {
        self.policy.reset(&mut self.queues, &mut self.out);
        self.drain()
    }

    fn drain(&mut self) -> impl Iterator<Item = Event<FollowSet<M>, M>> + '_ {
        let FollowSynchronizer {
            out,
            stats,
            appearances,
            policy,
            ..
        } = self;
        let driver = policy.config().driver;
        out.drain(..).filter_map(move |o| match o {
            FollowOutcome::Set(set) => {
                stats.sets += 1;
                emitted(stats, driver);
                appearances[driver] += 1;
                for (c, part) in &set.followers {
                    let n = part.len() as u64;
                    appearances[*c] += n;
                    if let Follower::Ranged(_) = part {
                        for _ in 0..n {
                            emitted(stats, *c);
                        }
                    }
                }
                Some(Event::Set(set))
            }
            FollowOutcome::Drop(d) => {
                stats.count_drop(d.channel, d.reason);
                Some(Event::Drop(d))
            }
            FollowOutcome::Released(c) => {
                emitted(stats, c);
                None
            }
        })
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Messages held on `channel`.
    pub fn queued(&self, channel: usize) -> usize {
        self.policy.queued(channel)
    }

    /// Per channel, how many times its messages went out in sets (a shared
    /// `before` message counts once per set).
    pub fn appearances(&self) -> &[u64] {
        &self.appearances
    }

    /// The policy.
    pub fn policy(&self) -> &Follow {
        &self.policy
    }
}

fn emitted(stats: &mut Stats, channel: usize) {
    if let Some(c) = stats.channels.get_mut(channel) {
        c.emitted += 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{DropReason, Mode};

    fn ms(t: i64) -> Stamp {
        Stamp::from_nanos(t * 1_000_000)
    }

    #[test]
    fn a_slow_before_follower_serves_several_frames() {
        // GPS at 0 and 100 under frames every 30 ms; max_wait 0: final at once.
        let config = FollowConfig::new(0).follow(1, Mode::Before);
        let mut s = FollowSynchronizer::<Stamp>::new(2, &config).unwrap();
        let mut sets = Vec::new();
        for (ch, t) in [
            (1, 0),
            (0, 30),
            (0, 60),
            (0, 90),
            (1, 100),
            (0, 120),
            (1, 200),
        ] {
            sets.extend(s.push(ch, ms(t), ms(t)).filter_map(Event::into_set));
        }
        let got: Vec<(Stamp, Option<Stamp>)> =
            sets.iter().map(|s| (s.driver, s.one(1).copied())).collect();
        assert_eq!(
            got,
            [
                (ms(30), Some(ms(0))),
                (ms(60), Some(ms(0))),
                (ms(90), Some(ms(0))),
                (ms(120), Some(ms(100)))
            ]
        );
        // The fix at 0 served three frames, then left (emitted once).
        let st = s.stats();
        assert_eq!(st.channels[1].emitted, 1);
        assert_eq!(s.appearances()[1], 4);
        assert_eq!(s.queued(1), 2);
        assert_eq!(
            st.channels[1].received,
            st.channels[1].emitted + s.queued(1) as u64
        );
        // Out of order on its channel.
        let d: Vec<_> = s
            .push(1, ms(150), ms(150))
            .filter_map(Event::into_drop)
            .collect();
        assert_eq!(d[0].reason, DropReason::OutOfOrder);
    }
}
