//! [`TfFilterStream`]: a [`TfFilter`] over `futures` streams.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, Stream};

use crate::filter::{Framed, TfEvent, TfFilter};
use crate::math::Transform;
use stamp_sync::time::Stamp;

/// The most transforms one `poll_next` takes before it yields (see
/// [`TfFilterStream`], `# Implementation`).
pub const TF_POLL_BUDGET: usize = 64;

/// One transform for a [`TfFilterStream`]: an item of `/tf`
/// (`is_static: false`) or `/tf_static` (`true`).
#[derive(Clone, Debug, PartialEq)]
pub struct TfInput {
    /// From `/tf_static`.
    pub is_static: bool,
    /// `header.stamp`.
    pub stamp: Stamp,
    /// `header.frame_id`.
    pub parent: String,
    /// `child_frame_id`.
    pub child: String,
    /// The child's pose in the parent.
    pub transform: Transform,
}

type Clock = Box<dyn FnMut() -> Stamp + Send>;
type Ticks = Pin<Box<dyn Stream<Item = ()> + Send>>;

/// A [`Stream`] of [`TfEvent`]s: messages from one stream, transforms from
/// another, through a [`TfFilter`]. Made by [`TfFilterStream::new`].
///
/// ```
/// use futures::{executor::block_on, stream, StreamExt};
/// use stamp_sync::Stamp;
/// use stamp_sync_tf::{FramedSet, Quaternion, TfEvent, TfFilter, TfFilterStream, TfInput, Transform, Vector3};
///
/// let pose = |ns: i64, x: f64| TfInput {
///     is_static: false,
///     stamp: Stamp::from_nanos(ns),
///     parent: "map".into(),
///     child: "base".into(),
///     transform: Transform::new(Vector3::new(x, 0.0, 0.0), Quaternion::IDENTITY),
/// };
/// let msgs = stream::iter(vec![FramedSet::new(Stamp::from_nanos(5), "base", "scan")]);
/// let tfs = stream::iter(vec![pose(0, 0.0), pose(10, 1.0)]);
/// let filter = TfFilter::builder().target("map").build().unwrap();
/// let events: Vec<_> = block_on(TfFilterStream::new(msgs, tfs, filter).collect());
/// let TfEvent::Released(r) = &events[0] else { panic!() };
/// assert_eq!(r.transforms[0].transform.translation.x, 0.5);
/// ```
///
/// # End of stream
/// The stream ends once the message input has ended and no message is
/// held, or once both inputs have ended: the messages still held are then
/// failed (with the reason of their last lookup, else
/// [`Timeout`](super::FailureReason::Timeout)) and yielded before the end.
/// After the end it keeps returning `Ready(None)` ([`FusedStream`]).
///
/// # Implementation
/// Each `poll_next` first returns an event already decided. Otherwise it
/// takes every transform that is ready (up to [`TF_POLL_BUDGET`]), then at
/// most one message, then polls the filter, and repeats until an event is
/// decided or both inputs return `Pending` (each has then registered the
/// waker). Transforms first: a message and the transform it waits for that
/// are ready together release the message at once. After the budget it
/// wakes itself and returns `Pending`, so no wakeup is lost. Timeouts are
/// checked whenever an input (or the [`with_ticks`](Self::with_ticks)
/// timer) yields an item: on
/// [`TimeoutClock::ArrivalTime`](super::TimeoutClock::ArrivalTime) with
/// the clock set by [`with_clock`](Self::with_clock) (default: always
/// [`Stamp::ZERO`], so never), on stamp time with the stamps seen.
///
/// # Unpin
/// Both inputs must be `Unpin` (wrap others with `Box::pin`); then
/// `TfFilterStream` is `Unpin` and `StreamExt::next` works on it.
///
/// # Cancel safety
/// `self.next().await` is cancel safe: an item taken from an input is
/// handed to the filter in the same `poll_next`, and decided events wait
/// in the output queue until a later `poll_next` returns them.
#[must_use = "streams do nothing unless polled"]
pub struct TfFilterStream<SM, ST, M> {
    messages: SM,
    transforms: ST,
    filter: TfFilter<M>,
    out: VecDeque<TfEvent<M>>,
    clock: Clock,
    ticks: Option<Ticks>,
    messages_ended: bool,
    transforms_ended: bool,
    done: bool,
}

impl<SM, ST, M> fmt::Debug for TfFilterStream<SM, ST, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TfFilterStream")
            .field("filter", &self.filter)
            .field("out", &self.out.len())
            .field("messages_ended", &self.messages_ended)
            .field("transforms_ended", &self.transforms_ended)
            .finish_non_exhaustive()
    }
}

impl<SM, ST, M> TfFilterStream<SM, ST, M>
where
    SM: Stream<Item = M> + Unpin,
    ST: Stream<Item = TfInput> + Unpin,
    M: Framed,
{
    /// Runs `filter` over `messages` and `transforms`.
    pub fn new(messages: SM, transforms: ST, filter: TfFilter<M>) -> Self {
        TfFilterStream {
            messages,
            transforms,
            filter,
            out: VecDeque::new(),
            clock: Box::new(|| Stamp::ZERO),
            ticks: None,
            messages_ended: false,
            transforms_ended: false,
            done: false,
        }
    }

    /// The arrival clock for
    /// [`TimeoutClock::ArrivalTime`](super::TimeoutClock::ArrivalTime).
    pub fn with_clock(mut self, clock: impl FnMut() -> Stamp + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Also checks the timeouts whenever `ticks` yields (a timer), so a
    /// held message times out even while no input arrives. The stream
    /// does not end with `ticks`.
    pub fn with_ticks(mut self, ticks: impl Stream<Item = ()> + Send + 'static) -> Self {
        self.ticks = Some(Box::pin(ticks));
        self
    }

    /// The filter (its buffer, stats, pending count). (Not `filter`:
    /// that name is `StreamExt::filter`.)
    pub fn tf_filter(&self) -> &TfFilter<M> {
        &self.filter
    }
}

impl<SM, ST, M> Unpin for TfFilterStream<SM, ST, M> {}

impl<SM, ST, M> Stream for TfFilterStream<SM, ST, M>
where
    SM: Stream<Item = M> + Unpin,
    ST: Stream<Item = TfInput> + Unpin,
    M: Framed,
{
    type Item = TfEvent<M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut budget = TF_POLL_BUDGET;
        loop {
            if let Some(e) = this.out.pop_front() {
                return Poll::Ready(Some(e));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let mut progressed = false;
            let mut budget_hit = false;
            while !this.transforms_ended {
                if budget == 0 {
                    budget_hit = true;
                    break;
                }
                match Pin::new(&mut this.transforms).poll_next(cx) {
                    Poll::Ready(Some(t)) => {
                        budget -= 1;
                        progressed = true;
                        // Refused transforms are counted in the stats.
                        let _ = if t.is_static {
                            this.filter.set_static_transform(
                                &t.parent,
                                &t.child,
                                t.stamp,
                                &t.transform,
                            )
                        } else {
                            this.filter
                                .set_transform(&t.parent, &t.child, t.stamp, &t.transform)
                        };
                    }
                    Poll::Ready(None) => this.transforms_ended = true,
                    Poll::Pending => break,
                }
            }
            if !this.messages_ended {
                match Pin::new(&mut this.messages).poll_next(cx) {
                    Poll::Ready(Some(m)) => {
                        progressed = true;
                        // Its arrival: read after the input handed it over.
                        let now = (this.clock)();
                        this.out.extend(this.filter.add(m, now));
                    }
                    Poll::Ready(None) => this.messages_ended = true,
                    Poll::Pending => {}
                }
            }
            if let Some(ticks) = &mut this.ticks {
                // Every tick that is ready: one poll below covers them.
                loop {
                    match ticks.as_mut().poll_next(cx) {
                        Poll::Ready(Some(())) => progressed = true,
                        Poll::Ready(None) => {
                            this.ticks = None;
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
            }
            let now = (this.clock)();
            this.out.extend(this.filter.poll(now));
            if this.messages_ended && (this.transforms_ended || this.filter.pending() == 0) {
                this.out.extend(this.filter.flush());
                this.done = true;
                continue;
            }
            if !this.out.is_empty() {
                continue;
            }
            if budget_hit {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }
}

impl<SM, ST, M> FusedStream for TfFilterStream<SM, ST, M>
where
    SM: Stream<Item = M> + Unpin,
    ST: Stream<Item = TfInput> + Unpin,
    M: Framed,
{
    fn is_terminated(&self) -> bool {
        self.done && self.out.is_empty()
    }
}
