//! Fair polling of N input streams, oldest stamp first: the one loop the
//! synchronizing stream and the aligned stream share.
//!
//! Each input has a one-message slot. A step polls every live input whose
//! slot is empty, starting one input further along each step (so a busy
//! input cannot starve the others), then hands out the waiting message
//! with the oldest stamp (ties: the lower input). So messages that are
//! ready together go on in stamp order, as they would arrive live, and a
//! message whose input is alone in being ready goes on at once. A step is
//! `Pending` only when every live input returned `Pending` (each has then
//! registered the waker) and no slot holds a message.

use std::task::{Context, Poll};

use smallvec::SmallVec;

use crate::time::Stamp;

/// Inputs with one-message slots, polled by index.
pub(crate) trait Slotted {
    /// Polls input `i` into its empty slot: `Ready(Some(stamp))` when the
    /// slot now holds a message of that stamp, `Ready(None)` when the input
    /// has ended.
    fn fill(&mut self, i: usize, cx: &mut Context<'_>) -> Poll<Option<Stamp>>;
}

/// What one step of [`FairMerge::step`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Input `i`'s waiting message, of `stamp`, goes on: take it out of
    /// its slot.
    Take(usize, Stamp),
    /// Input `i` has just ended.
    Closed(usize),
    /// Nothing ready; every live input has registered the waker.
    Pending,
    /// Every input has ended and every slot is empty.
    Ended,
}

/// The state of the merge: which slots hold a message, which inputs ended.
#[derive(Clone, Debug)]
pub(crate) struct FairMerge {
    /// `heads[i]`: the stamp of input `i`'s waiting message, if any.
    heads: SmallVec<[Option<Stamp>; 9]>,
    /// `ended[i]`: input `i` returned `Ready(None)`; never polled again.
    ended: SmallVec<[bool; 9]>,
    /// Inputs not ended.
    live: usize,
    /// The input the next step polls first.
    first: usize,
}

impl FairMerge {
    /// `n` inputs, none ended, every slot empty.
    pub(crate) fn new(n: usize) -> Self {
        FairMerge {
            heads: SmallVec::from_elem(None, n),
            ended: SmallVec::from_elem(false, n),
            live: n,
            first: 0,
        }
    }

    /// Every input has ended and no slot holds a message.
    pub(crate) fn is_done(&self) -> bool {
        self.live == 0 && self.heads.iter().all(Option::is_none)
    }

    /// Messages waiting in slots.
    pub(crate) fn waiting(&self) -> usize {
        self.heads.iter().filter(|h| h.is_some()).count()
    }

    /// One step: see the [module docs](self).
    pub(crate) fn step(&mut self, inputs: &mut impl Slotted, cx: &mut Context<'_>) -> Next {
        let n = self.heads.len();
        if n == 0 {
            return Next::Ended;
        }
        let start = self.first;
        self.first = (start + 1) % n;
        for k in 0..n {
            let i = (start + k) % n;
            if self.ended[i] || self.heads[i].is_some() {
                continue;
            }
            match inputs.fill(i, cx) {
                Poll::Ready(Some(stamp)) => self.heads[i] = Some(stamp),
                Poll::Ready(None) => {
                    self.ended[i] = true;
                    self.live -= 1;
                    return Next::Closed(i);
                }
                Poll::Pending => {}
            }
        }
        let oldest = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.map(|t| (t, i)))
            .min();
        match oldest {
            Some((stamp, i)) => {
                self.heads[i] = None;
                Next::Take(i, stamp)
            }
            None if self.live == 0 => Next::Ended,
            None => Next::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Inputs of scripted polls: `Some(t)` a message, `None` pending.
    struct Script {
        polls: Vec<VecDeque<Option<i64>>>,
        polled: Vec<usize>,
    }

    impl Slotted for Script {
        fn fill(&mut self, i: usize, _: &mut Context<'_>) -> Poll<Option<Stamp>> {
            self.polled.push(i);
            match self.polls[i].pop_front() {
                Some(Some(t)) => Poll::Ready(Some(Stamp::from_nanos(t))),
                Some(None) => Poll::Pending,
                None => Poll::Ready(None),
            }
        }
    }

    fn script(polls: &[&[Option<i64>]]) -> Script {
        Script {
            polls: polls.iter().map(|p| p.iter().copied().collect()).collect(),
            polled: Vec::new(),
        }
    }

    #[test]
    fn ready_messages_go_oldest_first_and_a_lone_one_at_once() {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut inputs = script(&[&[Some(5), Some(9)], &[Some(3), None, Some(4)]]);
        let mut m = FairMerge::new(2);
        let t = Stamp::from_nanos;
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Take(1, t(3)));
        assert_eq!(m.waiting(), 1);
        // Input 1 is pending: input 0's 5 goes on without waiting.
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Take(0, t(5)));
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Take(1, t(4)));
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Closed(1));
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Take(0, t(9)));
        assert!(!m.is_done());
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Closed(0));
        assert!(m.is_done());
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Ended);
    }

    #[test]
    fn pending_only_when_every_live_input_is_and_ties_go_to_the_lower_input() {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut inputs = script(&[&[None, Some(7)], &[None, Some(7)]]);
        let mut m = FairMerge::new(2);
        assert_eq!(m.step(&mut inputs, &mut cx), Next::Pending);
        assert_eq!(inputs.polled, [0, 1]);
        // The next step starts with input 1; both tie at 7.
        assert_eq!(
            m.step(&mut inputs, &mut cx),
            Next::Take(0, Stamp::from_nanos(7))
        );
        assert_eq!(inputs.polled, [0, 1, 1, 0]);
        assert_eq!(m.waiting(), 1);
        assert!(!m.is_done());
    }
}
