//! Driver and followers: for each message of one *driver* channel (a
//! camera frame), what every other channel (a *follower*) has for it:
//! every IMU sample since the previous frame (`ranged`), the newest
//! odometry at or before it (`before`), the nearest message (`closest`), or
//! the pair that brackets it for interpolation (`bracket`).
//!
//! # The contract
//! * Per channel, stamps ascend: a message whose stamp is not greater than
//!   the last one received on its channel is dropped
//!   ([`DropReason::OutOfOrder`]).
//! * Driver messages wait in arrival order, at most `queue_size`
//!   (overflow drops the oldest, [`DropReason::QueueOverflow`]). Each
//!   follower holds at most `queue_size` (overflow drops its oldest:
//!   `QueueOverflow` if no set used it).
//! * The head driver message, stamp `t`, is **final** when every follower
//!   has received a stamp greater than `t`, or, with `max_wait` `W`, when
//!   the newest stamp received on any channel is at least `t + W`. Final
//!   driver messages are emitted in order, at once, each as one set.
//! * Per follower, the set of `t` gets:
//!   * `ranged`: every held message with stamp in `(t_prev, t]` (`t_prev`:
//!     the previous set's stamp; none before the first), consumed. A
//!     ranged message not after `t_prev` when it arrives is dropped
//!     ([`DropReason::Late`]).
//!   * `before`: the newest held message with stamp `<= t`.
//!   * `closest`: of the newest `<= t` and the oldest `> t`, the nearer to
//!     `t`; the earlier on a tie.
//!   * `bracket`: the pair (newest `<= t`, oldest `> t`); a side may be
//!     missing when `max_wait` made the set final.
//! * `before`, `closest` and `bracket` do not consume: one message may
//!   serve several sets (clones). After each set, held messages older than
//!   the newest one `<= t` can serve no later set: they leave, dropped
//!   ([`DropReason::NotChosen`]) unless a set used them.
//! * Every message ends in sets or in one counted drop; what is held at
//!   the end is queued.
//!
//! The state machine is pure: it mirrors the stamps of what the store
//! holds and moves messages through [`FollowStore`].

use std::collections::VecDeque;

use super::{ConfigError, DropReason, Dropped};
use crate::time::{Duration, Stamp};

/// What a follower contributes to each set.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every message since the previous set, up to the set's stamp; consumed.
    Ranged,
    /// The newest message at or before the set's stamp.
    Before,
    /// The nearest message on either side (the earlier on a tie).
    Closest,
    /// The newest at or before and the oldest after, for interpolation.
    Bracket,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 4] = [Mode::Ranged, Mode::Before, Mode::Closest, Mode::Bracket];

    /// `ranged`, `before`, `closest` or `bracket`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Ranged => "ranged",
            Mode::Before => "before",
            Mode::Closest => "closest",
            Mode::Bracket => "bracket",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Mode, ConfigError> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ConfigError::UnknownMode(s.to_string()))
    }
}

/// The settings of a [`Follow`] policy.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowConfig {
    /// The driver channel.
    pub driver: usize,
    /// Every other channel with its mode.
    pub follow: Vec<(usize, Mode)>,
    /// Driver messages waiting, and messages per follower, at most.
    pub queue_size: usize,
    /// A driver message is final once the newest stamp is this far past it.
    pub max_wait: Option<Duration>,
}

impl FollowConfig {
    /// Driver `driver`, no followers yet, queue size 100, no `max_wait`.
    pub fn new(driver: usize) -> Self {
        FollowConfig {
            driver,
            follow: Vec::new(),
            queue_size: 100,
            max_wait: None,
        }
    }

    /// Channel `channel` follows in `mode`.
    pub fn follow(mut self, channel: usize, mode: Mode) -> Self {
        self.follow.retain(|(c, _)| *c != channel);
        self.follow.push((channel, mode));
        self
    }

    /// At most `q` waiting driver messages, and messages per follower.
    pub fn queue_size(mut self, q: usize) -> Self {
        self.queue_size = q;
        self
    }

    /// A driver message is final once the newest stamp is `w` past it.
    pub fn max_wait(mut self, w: Duration) -> Self {
        self.max_wait = Some(w);
        self
    }

    /// Checks the settings against `channels` and makes the policy.
    pub fn build(&self, channels: usize) -> Result<Follow, ConfigError> {
        if channels < 2 {
            return Err(ConfigError::TooFewChannels(channels));
        }
        if self.queue_size == 0 {
            return Err(ConfigError::ZeroQueueSize);
        }
        if let Some(value) = self.max_wait.filter(|d| d.is_negative()) {
            return Err(ConfigError::NegativeDuration {
                what: "max wait",
                value,
            });
        }
        let no_such = |channel| ConfigError::NoSuchChannel { channel, channels };
        if self.driver >= channels {
            return Err(no_such(self.driver));
        }
        let mut mode = vec![None; channels];
        for &(c, m) in &self.follow {
            if c == self.driver {
                return Err(ConfigError::FollowerIsDriver(c));
            }
            *mode.get_mut(c).ok_or_else(|| no_such(c))? = Some(m);
        }
        if let Some(c) = (0..channels).find(|&c| c != self.driver && mode[c].is_none()) {
            return Err(ConfigError::NoMode(c));
        }
        Ok(Follow {
            config: self.clone(),
            mode,
            last: vec![None; channels],
            newest: None,
            t_prev: None,
            held: (0..channels)
                .map(|_| VecDeque::with_capacity(self.queue_size + 1))
                .collect(),
        })
    }
}

/// One follower's part of a set.
#[derive(Clone, Debug, PartialEq)]
pub enum Follower<M> {
    /// `ranged`: every message since the previous set, in stamp order.
    Ranged(Vec<M>),
    /// `before`: the newest at or before the set's stamp.
    Before(Option<M>),
    /// `closest`: the nearest.
    Closest(Option<M>),
    /// `bracket`: (newest at or before, oldest after).
    Bracket(Option<M>, Option<M>),
}

impl<M> Follower<M> {
    /// How many messages it holds.
    pub fn len(&self) -> usize {
        match self {
            Follower::Ranged(v) => v.len(),
            Follower::Before(m) | Follower::Closest(m) => usize::from(m.is_some()),
            Follower::Bracket(lo, hi) => usize::from(lo.is_some()) + usize::from(hi.is_some()),
        }
    }

    /// Whether it holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The messages, in stamp order.
    pub fn messages(&self) -> Vec<&M> {
        match self {
            Follower::Ranged(v) => v.iter().collect(),
            Follower::Before(m) | Follower::Closest(m) => m.iter().collect(),
            Follower::Bracket(lo, hi) => lo.iter().chain(hi).collect(),
        }
    }
}

/// One set: the driver's message and, per follower in channel order, its
/// part.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowSet<M> {
    /// The driver message's stamp.
    pub stamp: Stamp,
    /// The driver message.
    pub driver: M,
    /// `(channel, part)` per follower, in channel order.
    pub followers: Vec<(usize, Follower<M>)>,
}

impl<M> FollowSet<M> {
    /// The part of follower `channel`.
    pub fn follower(&self, channel: usize) -> Option<&Follower<M>> {
        self.followers
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, f)| f)
    }
    /// The `ranged` messages of `channel` (`None` if it is not ranged).
    pub fn ranged(&self, channel: usize) -> Option<&[M]> {
        match self.follower(channel)? {
            Follower::Ranged(v) => Some(v),
            _ => None,
        }
    }
    /// The one message of a `before` or `closest` follower.
    pub fn one(&self, channel: usize) -> Option<&M> {
        match self.follower(channel)? {
            Follower::Before(m) | Follower::Closest(m) => m.as_ref(),
            _ => None,
        }
    }
    /// The pair of a `bracket` follower.
    pub fn bracket(&self, channel: usize) -> Option<(Option<&M>, Option<&M>)> {
        match self.follower(channel)? {
            Follower::Bracket(lo, hi) => Some((lo.as_ref(), hi.as_ref())),
            _ => None,
        }
    }
}

/// Per-channel message storage a [`Follow`] step drives: each channel a
/// FIFO in arrival order; the step appends nothing, it removes and clones.
pub trait FollowStore {
    /// One message of any channel.
    type Message;
    /// Removes the message at `pos` of `channel`.
    fn take(&mut self, channel: usize, pos: usize) -> Option<Self::Message>;
    /// Clones the message at `pos` of `channel`.
    fn clone_at(&self, channel: usize, pos: usize) -> Option<Self::Message>;
    /// An empty vector for a set's `ranged` messages: a recycled one, so
    /// that steady state allocates nothing.
    fn ranged_vec(&mut self) -> Vec<Self::Message> {
        Vec::new()
    }
    /// An empty vector for a set's followers.
    fn parts_vec(&mut self) -> Vec<(usize, Follower<Self::Message>)> {
        Vec::new()
    }
}

/// What one step produced, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum FollowOutcome<M> {
    /// A set.
    Set(FollowSet<M>),
    /// A dropped message.
    Drop(Dropped<M>),
    /// A message some set used left the store (not a drop): counted as
    /// emitted then.
    Released(usize),
}

/// The follower policy: see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Follow {
    config: FollowConfig,
    /// Per channel its mode; `None` for the driver.
    mode: Vec<Option<Mode>>,
    /// Per channel, the last stamp received in order.
    last: Vec<Option<Stamp>>,
    newest: Option<Stamp>,
    /// The stamp of the last set.
    t_prev: Option<Stamp>,
    /// Per channel, the held stamps and whether a set used each, mirroring
    /// the store. Invariant: at most `queue_size` after every step.
    held: Vec<VecDeque<(Stamp, bool)>>,
}

impl Follow {
    /// The settings.
    pub fn config(&self) -> &FollowConfig {
        &self.config
    }

    /// The head driver message's stamp and the followers it waits for
    /// (those that have not received a stamp after it); `None` when no
    /// driver message waits.
    pub fn waiting_on(&self) -> Option<(Stamp, Vec<usize>)> {
        let &(t, _) = self.held.get(self.config.driver)?.front()?;
        let behind = (0..self.mode.len())
            .filter(|&c| self.mode[c].is_some() && self.last[c].is_none_or(|l| l <= t))
            .collect();
        Some((t, behind))
    }

    /// Messages held on `channel`.
    pub fn queued(&self, channel: usize) -> usize {
        self.held.get(channel).map_or(0, VecDeque::len)
    }

    fn drop_at<S: FollowStore>(
        &mut self,
        channel: usize,
        pos: usize,
        reason: DropReason,
        store: &mut S,
        out: &mut Vec<FollowOutcome<S::Message>>,
    ) {
        let Some((stamp, used)) = self.held.get_mut(channel).and_then(|h| h.remove(pos)) else {
            return;
        };
        if let Some(message) = store.take(channel, pos) {
            out.push(if used {
                FollowOutcome::Released(channel)
            } else {
                FollowOutcome::Drop(Dropped {
                    channel,
                    stamp,
                    reason,
                    message,
                })
            });
        }
    }

    /// A message stamped `stamp` was appended to `channel` of `store`.
    pub fn add<S: FollowStore>(
        &mut self,
        channel: usize,
        stamp: Stamp,
        store: &mut S,
        out: &mut Vec<FollowOutcome<S::Message>>,
    ) {
        let Some(held) = self.held.get_mut(channel) else {
            return;
        };
        held.push_back((stamp, false));
        let pos = held.len() - 1;
        if self.last[channel].is_some_and(|l| stamp <= l) {
            return self.drop_at(channel, pos, DropReason::OutOfOrder, store, out);
        }
        self.last[channel] = Some(stamp);
        self.newest = Some(self.newest.map_or(stamp, |n| n.max(stamp)));
        let ranged = self.mode[channel] == Some(Mode::Ranged);
        if ranged && self.t_prev.is_some_and(|p| stamp <= p) {
            self.drop_at(channel, pos, DropReason::Late, store, out);
        } else if self.held[channel].len() > self.config.queue_size {
            self.drop_at(channel, 0, DropReason::QueueOverflow, store, out);
        }
        while self.head_is_final() {
            self.emit(store, out);
        }
    }

    fn head_is_final(&self) -> bool {
        let Some(&(t, _)) = self.held[self.config.driver].front() else {
            return false;
        };
        let passed = (0..self.mode.len())
            .filter(|&c| self.mode[c].is_some())
            .all(|c| self.last[c].is_some_and(|l| l > t));
        let waited = match (self.config.max_wait, self.newest) {
            (Some(w), Some(n)) => n >= t.saturating_add(w),
            _ => false,
        };
        passed || waited
    }

    /// Emits the head driver message's set.
    fn emit<S: FollowStore>(&mut self, store: &mut S, out: &mut Vec<FollowOutcome<S::Message>>) {
        let d = self.config.driver;
        let Some((t, _)) = self.held[d].pop_front() else {
            return;
        };
        let Some(driver) = store.take(d, 0) else {
            return;
        };
        let mut followers = store.parts_vec();
        followers.reserve(self.mode.len() - 1);
        for c in 0..self.mode.len() {
            let Some(mode) = self.mode[c] else {
                continue;
            };
            let held = &self.held[c];
            // Held stamps ascend: the newest <= t, and the oldest > t after it.
            let after = held.partition_point(|&(s, _)| s <= t);
            let lo = after.checked_sub(1);
            let hi = (after < held.len()).then_some(after);
            let part = match mode {
                Mode::Ranged => {
                    let mut v = store.ranged_vec();
                    v.reserve(after);
                    for _ in 0..after {
                        self.held[c].pop_front();
                        v.extend(store.take(c, 0));
                    }
                    Follower::Ranged(v)
                }
                Mode::Before => Follower::Before(self.pick(c, lo, store)),
                Mode::Closest => {
                    let nearer = match (lo, hi) {
                        (Some(l), Some(h)) => {
                            let (ls, hs) = (self.held[c][l].0, self.held[c][h].0);
                            if hs - t < t - ls { Some(h) } else { Some(l) }
                        }
                        (l, h) => l.or(h),
                    };
                    Follower::Closest(self.pick(c, nearer, store))
                }
                Mode::Bracket => {
                    let lo_m = self.pick(c, lo, store);
                    Follower::Bracket(lo_m, self.pick(c, hi, store))
                }
            };
            followers.push((c, part));
            // What is older than the newest <= t serves no later set.
            if mode != Mode::Ranged {
                for _ in 0..lo.unwrap_or(0) {
                    self.drop_at(c, 0, DropReason::NotChosen, store, out);
                }
            }
        }
        self.t_prev = Some(t);
        out.push(FollowOutcome::Set(FollowSet {
            stamp: t,
            driver,
            followers,
        }));
    }

    /// Clones message `pos` of `channel` and marks it used.
    fn pick<S: FollowStore>(
        &mut self,
        channel: usize,
        pos: Option<usize>,
        store: &S,
    ) -> Option<S::Message> {
        let pos = pos?;
        let m = store.clone_at(channel, pos)?;
        if let Some(h) = self.held[channel].get_mut(pos) {
            h.1 = true;
        }
        Some(m)
    }

    /// Drops everything held ([`DropReason::Reset`]; a message a set used
    /// is released) and forgets the state.
    pub fn reset<S: FollowStore>(
        &mut self,
        store: &mut S,
        out: &mut Vec<FollowOutcome<S::Message>>,
    ) {
        for c in 0..self.held.len() {
            while !self.held[c].is_empty() {
                self.drop_at(c, 0, DropReason::Reset, store, out);
            }
        }
        self.last.iter_mut().for_each(|l| *l = None);
        self.newest = None;
        self.t_prev = None;
    }
}
