//! What a policy step produced: sets and drops, in order, in a buffer the
//! driver preallocates and drains after the step.
//!
//! The two `unsafe` blocks of the crate's core live here: building an
//! outcome in place and moving outcomes out without copying the whole enum
//! (whose size is that of the largest set). Each has its `SAFETY` note.

use super::DropReason;
use crate::time::Stamp;

/// A message the policy gave up on.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropped<M> {
    /// The channel it arrived on.
    pub channel: usize,
    /// Its stamp.
    pub stamp: Stamp,
    /// Why it was dropped.
    pub reason: DropReason,
    /// The message itself, handed back to the user.
    pub message: M,
}

/// One thing a policy step produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<S, M> {
    /// A matched set.
    Set(S),
    /// A dropped message.
    Drop(Dropped<M>),
}

impl<S, M> Outcome<S, M> {
    /// The set, if this is one.
    pub fn into_set(self) -> Option<S> {
        match self {
            Outcome::Set(s) => Some(s),
            Outcome::Drop(_) => None,
        }
    }
    /// The drop, if this is one.
    pub fn into_drop(self) -> Option<Dropped<M>> {
        match self {
            Outcome::Drop(d) => Some(d),
            Outcome::Set(_) => None,
        }
    }
}

/// The reusable buffer a policy writes its outcomes into.
///
/// The driver drains it after each call. It is preallocated for the worst
/// case of one call, so steady-state operation does not allocate.
///
/// A driver with nobody to hand dropped messages to can switch drops to
/// counts only ([`keep_drops(false)`](Self::keep_drops)): the message is
/// dropped at once and only `(channel, reason)` is counted, to be collected
/// with [`take_discarded`](Self::take_discarded).
#[derive(Debug)]
pub struct Output<S, M> {
    outcomes: Vec<Outcome<S, M>>,
    /// False: drops are counted in `discarded`, not recorded as outcomes.
    keep_drops: bool,
    discarded: Discarded,
}

/// Drops counted but not recorded, since the last collection.
#[derive(Debug, Default)]
struct Discarded {
    /// Per channel, per reason. Sized by [`Output::count_channels`].
    counts: Vec<Counts>,
    /// Bit `ch % 64` set: channel `ch` may have non-zero counts.
    dirty: u64,
}

/// One channel's counted drops.
#[derive(Copy, Clone, Debug, Default)]
struct Counts {
    /// By [`DropReason::index`].
    n: [u64; REASONS],
    /// Bit `r` set: reason `r` has a non-zero count.
    reasons: u16,
}

const REASONS: usize = DropReason::ALL.len();
const _: () = assert!(REASONS <= 16, "Counts::reasons has 16 bits");

impl Discarded {
    #[inline]
    fn count(&mut self, channel: usize, reason: DropReason, n: u64) {
        if let Some(c) = self.counts.get_mut(channel) {
            c.n[reason.index()] += n;
            c.reasons |= 1 << reason.index();
            self.dirty |= 1 << (channel % 64);
        }
    }
}

impl<S, M> Default for Output<S, M> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<S, M> Output<S, M> {
    /// An empty buffer with room for `n` outcomes.
    pub fn with_capacity(n: usize) -> Self {
        Output {
            outcomes: Vec::with_capacity(n),
            keep_drops: true,
            discarded: Discarded::default(),
        }
    }
    /// Prepares the drop counters for `channels` channels (needed before
    /// [`keep_drops(false)`](Self::keep_drops) has any effect).
    pub fn count_channels(&mut self, channels: usize) {
        self.discarded.counts = vec![Counts::default(); channels];
        self.discarded.dirty = 0;
    }
    /// Records drops as outcomes (`true`, the default) or only counts them.
    pub fn keep_drops(&mut self, keep: bool) {
        self.keep_drops = keep;
    }
    /// True if drops are recorded as outcomes.
    pub fn keeps_drops(&self) -> bool {
        self.keep_drops
    }
    /// True if drops were counted since the last
    /// [`take_discarded`](Self::take_discarded).
    #[inline(always)]
    pub fn has_discarded(&self) -> bool {
        self.discarded.dirty != 0
    }
    /// Hands over the counted drops as `(channel, reason, count)` and
    /// resets the counters.
    #[inline]
    pub fn take_discarded(&mut self, mut f: impl FnMut(usize, DropReason, u64)) {
        let Discarded { counts, dirty } = &mut self.discarded;
        if *dirty == 0 {
            return;
        }
        let mut bits = std::mem::take(dirty);
        // Each set bit names the channels `ch % 64 == bit`.
        while bits != 0 {
            let mut ch = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            while let Some(c) = counts.get_mut(ch) {
                let mut reasons = std::mem::take(&mut c.reasons);
                while reasons != 0 {
                    let r = reasons.trailing_zeros() as usize;
                    reasons &= reasons - 1;
                    if let (Some(n), Some(reason)) = (c.n.get_mut(r), DropReason::from_index(r)) {
                        f(ch, reason, std::mem::take(n));
                    }
                }
                ch += 64;
            }
        }
    }
    /// Appends `make()` built in place: `Vec::push` of an `Outcome` moves
    /// the whole enum (the size of the largest set), a drop needs far less.
    #[inline(always)]
    fn push_in_place(&mut self, make: impl FnOnce() -> Outcome<S, M>) {
        if self.outcomes.len() == self.outcomes.capacity() {
            self.outcomes.reserve(1);
        }
        let len = self.outcomes.len();
        // SAFETY: `reserve` guarantees room for one more element at `len`;
        // it is written before the length covers it.
        unsafe {
            std::ptr::write(self.outcomes.as_mut_ptr().add(len), make());
            self.outcomes.set_len(len + 1);
        }
    }
    /// Records an emitted set.
    #[inline]
    pub fn set(&mut self, set: S) {
        self.push_in_place(|| Outcome::Set(set));
    }
    /// Records an emitted set before the outcomes recorded since `mark` (a
    /// [`len`](Self::len) taken earlier in the same step).
    #[inline]
    pub fn insert_set(&mut self, mark: usize, set: S) {
        if mark >= self.outcomes.len() {
            self.set(set);
        } else {
            self.outcomes.insert(mark, Outcome::Set(set));
        }
    }
    /// Counts a drop whose message is already freed (only when drops are
    /// not kept; see [`keep_drops`](Self::keep_drops)).
    #[inline]
    pub fn count_drop(&mut self, channel: usize, reason: DropReason) {
        self.discarded.count(channel, reason, 1);
    }
    /// Counts `n` drops whose messages are already freed.
    pub fn count_drops(&mut self, channel: usize, reason: DropReason, n: u64) {
        self.discarded.count(channel, reason, n);
    }
    /// Renumbers the channels of the drops recorded since `mark` (a
    /// [`len`](Self::len) taken earlier in the same step): channel `c`
    /// becomes `map[c]`. For an adapter whose inner policy runs over a view
    /// of some of the channels, with drops kept during the inner call; if
    /// drops are not kept now, the renumbered drops become counts and
    /// their messages are freed.
    pub fn remap_drops(&mut self, mark: usize, map: &[usize]) {
        let keep = self.keep_drops;
        let Output {
            outcomes,
            discarded,
            ..
        } = self;
        let mut i = 0;
        outcomes.retain_mut(|o| {
            i += 1;
            let Outcome::Drop(d) = o else {
                return true;
            };
            if i <= mark {
                return true;
            }
            d.channel = map.get(d.channel).copied().unwrap_or(d.channel);
            if keep || d.channel >= discarded.counts.len() {
                return true;
            }
            discarded.count(d.channel, d.reason, 1);
            false
        });
    }
    /// Records a drop.
    #[inline]
    pub fn drop_message(&mut self, channel: usize, stamp: Stamp, reason: DropReason, message: M) {
        if !self.keep_drops && channel < self.discarded.counts.len() {
            drop(message);
            self.count_drop(channel, reason);
            return;
        }
        self.push_in_place(|| {
            Outcome::Drop(Dropped {
                channel,
                stamp,
                reason,
                message,
            })
        });
    }
    /// Number of outcomes recorded.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }
    /// True if nothing was recorded.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
    /// Outcomes recorded so far.
    pub fn outcomes(&self) -> &[Outcome<S, M>] {
        &self.outcomes
    }
    /// Takes the outcomes out in order, keeping the allocation.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Outcome<S, M>> {
        self.outcomes.drain(..)
    }
    /// Takes out the outcomes recorded since `start`, in order.
    pub fn drain_from(&mut self, start: usize) -> std::vec::Drain<'_, Outcome<S, M>> {
        let start = start.min(self.outcomes.len());
        self.outcomes.drain(start..)
    }
    /// Takes the outcomes out in order like [`drain`](Self::drain), but
    /// hands sets and drops to `set` and `drop` without moving the whole
    /// [`Outcome`] first: a drop costs a copy of the dropped message only.
    /// `ctx` is handed to every callback (the driver's counters). Keeps the
    /// allocation.
    #[inline]
    pub fn drain_split<C>(
        &mut self,
        ctx: &mut C,
        mut set: impl FnMut(&mut C, S),
        mut drop: impl FnMut(&mut C, Dropped<M>),
    ) {
        let len = self.outcomes.len();
        let base = self.outcomes.as_ptr();
        // SAFETY: the length is set to 0 before any element is read, so
        // each of the `len` initialised elements is moved out exactly once
        // below and never dropped by the vector. If a callback panics, the
        // unread rest leaks (safe), it is never read or dropped twice.
        // Nothing can touch `self.outcomes` while we read: `self` is
        // borrowed mutably for the whole call.
        unsafe {
            self.outcomes.set_len(0);
            for i in 0..len {
                match &*base.add(i) {
                    Outcome::Set(s) => set(ctx, std::ptr::read(s)),
                    Outcome::Drop(d) => drop(ctx, std::ptr::read(d)),
                }
            }
        }
    }
    /// Grows the buffer so `n` more outcomes fit without reallocating.
    pub fn reserve(&mut self, n: usize) {
        self.outcomes.reserve(n);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::rc::Rc;

    #[test]
    fn drain_split_moves_each_outcome_out_once() {
        let msg = Rc::new(());
        let mut out: Output<Rc<()>, Rc<()>> = Output::with_capacity(1);
        out.set(msg.clone());
        out.drop_message(1, Stamp::from_nanos(5), DropReason::Replaced, msg.clone());
        out.set(msg.clone()); // grows past the preallocated capacity
        assert_eq!(Rc::strong_count(&msg), 4);
        let (mut sets, mut drops) = (0, Vec::new());
        out.drain_split(
            &mut sets,
            |n, s| {
                *n += 1;
                drop(s);
            },
            |_, d| drops.push((d.channel, d.stamp, d.reason)),
        );
        assert_eq!(sets, 2);
        assert_eq!(drops, [(1, Stamp::from_nanos(5), DropReason::Replaced)]);
        assert!(out.is_empty());
        // Every message was dropped exactly once: no leak, no double drop.
        assert_eq!(Rc::strong_count(&msg), 1);
    }

    #[test]
    fn counted_drops_free_the_message_and_are_collected_once() {
        let msg = Rc::new(());
        let mut out: Output<(), Rc<()>> = Output::with_capacity(4);
        out.count_channels(2);
        out.keep_drops(false);
        assert!(!out.keeps_drops());
        out.drop_message(1, Stamp::ZERO, DropReason::QueueOverflow, msg.clone());
        out.drop_message(1, Stamp::ZERO, DropReason::QueueOverflow, msg.clone());
        out.drop_message(0, Stamp::ZERO, DropReason::Reset, msg.clone());
        assert!(out.is_empty());
        assert_eq!(Rc::strong_count(&msg), 1);
        let mut got = Vec::new();
        out.take_discarded(|c, r, n| got.push((c, r, n)));
        got.sort();
        assert_eq!(
            got,
            [(0, DropReason::Reset, 1), (1, DropReason::QueueOverflow, 2)]
        );
        out.take_discarded(|c, r, n| got.push((c, r, n)));
        assert_eq!(got.len(), 2, "collected once");
        // A channel without counters is recorded as an outcome instead.
        out.drop_message(5, Stamp::ZERO, DropReason::Reset, msg.clone());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn remap_drops_renumbers_only_after_the_mark_and_counts_when_not_kept() {
        let mut out: Output<u8, u8> = Output::default();
        out.count_channels(4);
        out.drop_message(0, Stamp::ZERO, DropReason::NotChosen, 1);
        let mark = out.len();
        out.drop_message(0, Stamp::ZERO, DropReason::NotChosen, 2);
        out.set(7);
        out.drop_message(1, Stamp::ZERO, DropReason::Reset, 3);
        out.remap_drops(mark, &[2, 3]);
        let got: Vec<_> = out
            .drain()
            .map(|o| match o {
                Outcome::Drop(d) => (d.channel, d.message),
                Outcome::Set(s) => (99, s),
            })
            .collect();
        assert_eq!(got, [(0, 1), (2, 2), (99, 7), (3, 3)]);
        // Not kept: the renumbered drops are counted on their new channel.
        out.drop_message(0, Stamp::ZERO, DropReason::NotChosen, 1);
        out.set(8);
        out.drop_message(1, Stamp::ZERO, DropReason::Stale, 2);
        out.keep_drops(false);
        out.remap_drops(0, &[2, 3]);
        assert_eq!(out.len(), 1);
        let mut counted = Vec::new();
        out.take_discarded(|c, r, n| counted.push((c, r, n)));
        counted.sort();
        assert_eq!(
            counted,
            [(2, DropReason::NotChosen, 1), (3, DropReason::Stale, 1)]
        );
    }

    #[test]
    fn insert_set_goes_before_the_marked_outcomes() {
        let mut out: Output<u8, u8> = Output::default();
        out.drop_message(0, Stamp::ZERO, DropReason::NotChosen, 1);
        let mark = out.len();
        out.drop_message(0, Stamp::ZERO, DropReason::OlderThanLastSet, 2);
        out.insert_set(mark, 9);
        out.insert_set(out.len() + 3, 10);
        let got: Vec<_> = out.drain().collect();
        assert!(matches!(got[0], Outcome::Drop(Dropped { message: 1, .. })));
        assert_eq!(got[1], Outcome::Set(9));
        assert!(matches!(got[2], Outcome::Drop(Dropped { message: 2, .. })));
        assert_eq!(got[3], Outcome::Set(10));
    }
}
