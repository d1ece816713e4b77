//! [`InputAligner`] over N [`Stream`]s: one stream of `(channel, message)`
//! in stamp order. Runtime-agnostic: only `futures` traits.
//!
//! ```
//! use futures::{executor::block_on, stream, StreamExt};
//! use stamp_sync::filters::InputAligner;
//! use stamp_sync::Stamp;
//!
//! let s = |v: &[i64]| stream::iter(v.iter().map(|&t| Stamp::from_nanos(t)).collect::<Vec<_>>());
//! let aligned = InputAligner::builder(2).build().unwrap().align(vec![s(&[1, 4, 5]), s(&[2, 3, 9])]).unwrap();
//! let out: Vec<(usize, i64)> = block_on(aligned.map(|(ch, t)| (ch, t.as_nanos())).collect());
//! assert_eq!(out, [(0, 1), (1, 2), (1, 3), (0, 4), (0, 5), (1, 9)]);
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, Stream};

use super::InputAligner;
use crate::driver::dynamic::NoSuchChannel;
use crate::driver::fair::{FairMerge, Next, Slotted};
use crate::driver::stream::POLL_BUDGET_PER_INPUT;
use crate::policy::Dropped;
use crate::stamped::Stamped;
use crate::time::Stamp;

type DropFn<M> = Box<dyn FnMut(Dropped<M>) + Send>;

/// The aligned stream: see [`InputAligner::align`].
///
/// # Behaviour
/// Each `poll_next` first hands out a message that can go (as
/// [`InputAligner::dispatch`]). Otherwise it takes messages from the
/// inputs as the synchronizing stream does (one-message slots, polled
/// starting one input further along each pass, so a busy input cannot
/// starve the others; what is ready together goes to the aligner oldest
/// stamp first), adds them, and tries again. Inputs are not polled
/// while a message can go: a slow consumer holds the inputs back instead of
/// growing a queue here. An input that ends is
/// [closed](InputAligner::close): the others no longer wait for it. The
/// stream ends when every input has ended and everything held went out.
/// Drops (late messages, overflow) go to [`on_drop`](Self::on_drop) and are
/// counted in [`InputAligner::status`]. Inputs must be `Unpin` (box them
/// otherwise); `self.next().await` is cancel safe.
pub struct AlignedStream<S: Stream> {
    inputs: Vec<S>,
    /// One message per input, taken from it and not yet added.
    slots: Vec<Option<S::Item>>,
    merge: FairMerge,
    aligner: InputAligner<S::Item>,
    on_drop: Option<DropFn<S::Item>>,
}

impl<M: Stamped> InputAligner<M> {
    /// Aligns `inputs`, one stream per input of this aligner in channel
    /// order. Inputs it has no stream for count as ended; more streams
    /// than inputs is an error.
    pub fn align<S>(mut self, inputs: Vec<S>) -> Result<AlignedStream<S>, NoSuchChannel>
    where
        S: Stream<Item = M> + Unpin,
    {
        let channels = self.channels();
        if inputs.len() > channels {
            return Err(NoSuchChannel {
                channel: channels,
                channels,
            });
        }
        for ch in inputs.len()..channels {
            self.close(ch)?;
        }
        Ok(AlignedStream {
            slots: inputs.iter().map(|_| None).collect(),
            merge: FairMerge::new(inputs.len()),
            inputs,
            aligner: self,
            on_drop: None,
        })
    }
}

impl<S: Stream> AlignedStream<S> {
    /// Calls `f` with every message the aligner drops.
    pub fn on_drop(mut self, f: impl FnMut(Dropped<S::Item>) + Send + 'static) -> Self {
        self.on_drop = Some(Box::new(f));
        self
    }

    /// The aligner: status per input, counters.
    pub fn aligner(&self) -> &InputAligner<S::Item> {
        &self.aligner
    }
}

impl<S: Stream + Unpin> Unpin for AlignedStream<S> {}

impl<S> Stream for AlignedStream<S>
where
    S: Stream + Unpin,
    S::Item: Stamped,
{
    type Item = (usize, S::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut budget = POLL_BUDGET_PER_INPUT * this.inputs.len().max(1);
        loop {
            if let Some(item) = this.aligner.dispatch().next() {
                return Poll::Ready(Some(item));
            }
            let mut slots = Slots {
                inputs: &mut this.inputs,
                slots: &mut this.slots,
            };
            match this.merge.step(&mut slots, cx) {
                Next::Take(i, _) => {
                    if let Some(m) = this.slots.get_mut(i).and_then(Option::take) {
                        if let Ok(Some(d)) = this.aligner.add(i, m) {
                            if let Some(f) = &mut this.on_drop {
                                f(d);
                            }
                        }
                    }
                    budget = budget.saturating_sub(1);
                    if budget == 0 {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Next::Closed(i) => {
                    let _ = this.aligner.close(i);
                }
                Next::Pending => return Poll::Pending,
                Next::Ended => {
                    // Whatever is still held goes out before the end.
                    return match this.aligner.dispatch().next() {
                        Some(item) => Poll::Ready(Some(item)),
                        None => Poll::Ready(None),
                    };
                }
            }
        }
    }
}

/// The inputs and their slots, as [`FairMerge`] polls them.
struct Slots<'a, S: Stream> {
    inputs: &'a mut Vec<S>,
    slots: &'a mut Vec<Option<S::Item>>,
}

impl<S> Slotted for Slots<'_, S>
where
    S: Stream + Unpin,
    S::Item: Stamped,
{
    fn fill(&mut self, i: usize, cx: &mut Context<'_>) -> Poll<Option<Stamp>> {
        let (Some(input), Some(slot)) = (self.inputs.get_mut(i), self.slots.get_mut(i)) else {
            return Poll::Ready(None);
        };
        match Pin::new(input).poll_next(cx) {
            Poll::Ready(Some(m)) => {
                let stamp = m.stamp();
                *slot = Some(m);
                Poll::Ready(Some(stamp))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S> FusedStream for AlignedStream<S>
where
    S: Stream + Unpin,
    S::Item: Stamped,
{
    fn is_terminated(&self) -> bool {
        self.merge.is_done()
            && (0..self.aligner.channels())
                .all(|c| self.aligner.status(c).is_none_or(|s| s.queued == 0))
    }
}
