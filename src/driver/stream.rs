//! Synchronizing [`Stream`]s: 2 to 9 typed input streams in, one stream of
//! matched tuples out. Runtime-agnostic: only `futures` traits, no executor.
//!
//! ```
//! use futures::{executor::block_on, stream, StreamExt};
//! use stamp_sync::stream::SyncInputs;
//! use stamp_sync::{ApproximateTime, Stamp};
//!
//! let ns = |v: &[i64]| stream::iter(v.iter().map(|&t| Stamp::from_nanos(t)).collect::<Vec<_>>());
//! let sets = (ns(&[0, 3, 6]), ns(&[1, 4, 7]))
//!     .synchronize(ApproximateTime::new(10).unwrap())
//!     .unwrap();
//! let sets: Vec<(Stamp, Stamp)> = block_on(sets.collect());
//! assert_eq!(sets.len(), 2); // (0,1) and (3,4); (6,7) is never proven optimal
//! ```
//!
//! With r2r, the inputs are the streams that `Node::subscribe` returns; see
//! the `r2r` module (feature `r2r`).

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, Stream};

use super::event::Event;
use super::stats::Stats;
use super::synchronizer::Synchronizer;
use super::tuple::Messages;
use crate::policy::{ConfigError, Dropped, Policy};
use crate::stamped::Stamped;

/// The most messages one `poll_next` takes from the inputs, per input,
/// before it yields to the executor (see [`SyncStream`], `# Implementation`).
pub const POLL_BUDGET_PER_INPUT: usize = 32;

type DropFn<M> = Box<dyn FnMut(Dropped<M>) + Send>;

mod sealed {
    use super::*;

    /// Where one input's events go during a poll.
    pub struct Sink<T: Messages> {
        pub(super) sets: VecDeque<T::Set>,
        pub(super) on_drop: Option<DropFn<T::Message>>,
    }

    /// Polls input `i` of a tuple of streams. Private: only the tuples of
    /// [`SyncInputs`](super::SyncInputs) implement it.
    pub trait PollInputs {
        /// The tuple of message types.
        type Messages: Messages;
        /// Number of inputs.
        const N: usize;
        /// Polls input `i` once. `Ready(Some(()))`: a message was fed to
        /// the synchronizer and its events moved to `sink`.
        fn poll_input<P: Policy<<Self::Messages as Messages>::Queues>>(
            &mut self,
            i: usize,
            cx: &mut Context<'_>,
            sync: &mut Synchronizer<Self::Messages, P>,
            sink: &mut Sink<Self::Messages>,
        ) -> Poll<Option<()>>;
    }
}

use sealed::{PollInputs, Sink};

/// A tuple of 2 to 9 [`Stream`]s whose items are [`Stamped`] messages:
/// what [`SyncStream`] synchronizes.
///
/// Implemented for `(St0, St1, ..)` where every `St: Stream + Unpin` and
/// every `St::Item: Stamped` (r2r subscriptions qualify). Sealed.
pub trait SyncInputs: PollInputs + Sized {
    /// Synchronizes the streams with `policy`: see [`SyncStream`]. Fails if
    /// the policy does not fit this many channels.
    fn synchronize<P: Policy<QueuesOf<Self>>>(
        self,
        policy: P,
    ) -> Result<SyncStream<Self, P>, ConfigError> {
        SyncStream::new(self, policy)
    }
}

/// The tuple of message types of inputs `S`, e.g. `(Image, CameraInfo)`.
pub type MessagesOf<S> = <S as PollInputs>::Messages;
/// The typed queues of the inputs `S`.
pub type QueuesOf<S> = <MessagesOf<S> as Messages>::Queues;
/// The set type of the inputs `S`.
pub type SetOf<S> = <MessagesOf<S> as Messages>::Set;
/// One message of any channel of inputs `S`, as handed to drop callbacks.
pub type MessageOf<S> = <MessagesOf<S> as Messages>::Message;

/// A [`Stream`] of matched sets built from a tuple of input streams and a
/// [`Policy`]. Made by [`SyncInputs::synchronize`].
///
/// Each item is one matched tuple, members in input order. Messages the
/// policy gives up on go to the callback set with
/// [`on_drop`](Self::on_drop) (or are only counted, in
/// [`stats`](Self::stats)). To get drops as a second stream, send them into
/// a channel from that callback.
///
/// # End of stream
/// The stream ends once **any** input has ended and every set already
/// matched has been yielded, like `StreamExt::zip`: without that input no
/// set can be completed reliably any more. Messages still queued in the
/// policy are then left there (see [`queued`](Self::queued)). After the end
/// it keeps returning `Ready(None)` ([`FusedStream`]).
///
/// # Implementation
/// Each `poll_next` first returns a set already matched, if any. Otherwise
/// it polls the inputs in turn, starting one further along each call
/// (rotation, so a busy input cannot starve the others), and feeds every
/// message straight to the policy: O(1) per message plus the policy's own
/// step. It stops as soon as a set is matched, and returns `Pending` only
/// after every live input has returned `Pending` in the same pass, so each
/// one has registered the waker. To stay cooperative it also stops after
/// [`POLL_BUDGET_PER_INPUT`] × N messages without a set; it then wakes
/// itself and returns `Pending`, so no wakeup is lost.
///
/// The output queue is bounded: it holds at most the sets of one policy
/// step (usually one), and **inputs are not polled while it is non-empty**.
/// A slow consumer therefore applies backpressure to the input streams
/// instead of growing a queue here. For r2r subscriptions that means: the
/// messages wait in r2r's per-subscription channel (10 messages in r2r
/// 0.9.7; when it is full, `spin_once` discards the newest message it
/// takes), and behind it in rcl/DDS, which keeps the subscription's QoS
/// `depth` newest messages (`KeepLast`). Spin and poll in the same loop,
/// as the examples do, and the channel never fills.
///
/// # Unpin
/// Every input must be `Unpin`: the inputs are stored by value in a tuple
/// and polled by index through `Pin::new`. r2r's `Node::subscribe` streams
/// are `Unpin`; wrap any other stream with `Box::pin` (or
/// `futures::StreamExt::boxed`). Then `SyncStream` itself is `Unpin`, and
/// `StreamExt::next` works on it directly.
///
/// # Cancel safety
/// `self.next().await` is cancel safe: a message is handed to the policy in
/// the same `poll_next` that takes it from its input, and a matched set is
/// held in the output queue until a later `poll_next` returns it, so
/// dropping a `next()` future (e.g. in `select!`) loses nothing.
#[must_use = "streams do nothing unless polled"]
pub struct SyncStream<S: SyncInputs, P: Policy<QueuesOf<S>>> {
    inputs: S,
    /// `ended[i]`: input `i` returned `Ready(None)`; it is never polled again.
    ended: [bool; 9],
    /// Some input ended: no input is polled again.
    done: bool,
    /// The input the next pass starts with.
    first: usize,
    sync: Synchronizer<MessagesOf<S>, P>,
    /// Invariant: non-empty only between a policy step and the `poll_next`
    /// calls that return its sets; at most one step's sets.
    sink: Sink<MessagesOf<S>>,
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>> fmt::Debug for SyncStream<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncStream")
            .field("inputs", &S::N)
            .field("ended", &&self.ended[..S::N])
            .field("pending_sets", &self.sink.sets.len())
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>> SyncStream<S, P> {
    pub(crate) fn new(inputs: S, policy: P) -> Result<Self, ConfigError> {
        let sync = Synchronizer::new(policy)?;
        let sets = VecDeque::with_capacity(sync.policy().max_events_per_add());
        Ok(SyncStream {
            inputs,
            ended: [false; 9],
            done: false,
            first: 0,
            sync,
            sink: Sink {
                sets,
                on_drop: None,
            },
        })
    }

    /// Calls `f` with every message the policy drops, during the
    /// `poll_next` whose policy step dropped it.
    pub fn on_drop(mut self, f: impl FnMut(Dropped<MessageOf<S>>) + Send + 'static) -> Self {
        self.sink.on_drop = Some(Box::new(f));
        self
    }

    /// Counters per channel: received, emitted, dropped by reason.
    pub fn stats(&self) -> &Stats {
        self.sync.stats()
    }

    /// Messages of `channel` held by the policy right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.sync.queued(channel)
    }

    /// The policy, for its own diagnostics.
    pub fn policy(&self) -> &P {
        self.sync.policy()
    }

    /// The input streams.
    pub fn get_ref(&self) -> &S {
        &self.inputs
    }

    /// The input streams, mutably.
    ///
    /// Taking items out of an input directly bypasses the synchronizer; an
    /// input that has already ended is not polled again whatever you do.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inputs
    }

    /// Gives the input streams back. Messages queued in the policy and
    /// matched sets not yet yielded are lost.
    pub fn into_inner(self) -> S {
        self.inputs
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>> Unpin for SyncStream<S, P> {}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>> Stream for SyncStream<S, P> {
    type Item = SetOf<S>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let n = S::N;
        let mut budget = POLL_BUDGET_PER_INPUT * n;
        loop {
            if let Some(set) = this.sink.sets.pop_front() {
                return Poll::Ready(Some(set));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let start = this.first;
            this.first = (this.first + 1) % n;
            let mut any_ready = false;
            for k in 0..n {
                let i = (start + k) % n;
                if this.ended[i] {
                    continue;
                }
                match this
                    .inputs
                    .poll_input(i, cx, &mut this.sync, &mut this.sink)
                {
                    Poll::Ready(Some(())) => {
                        any_ready = true;
                        budget = budget.saturating_sub(1);
                        if !this.sink.sets.is_empty() {
                            // Next call starts after this input.
                            this.first = (i + 1) % n;
                            break;
                        }
                    }
                    Poll::Ready(None) => {
                        this.ended[i] = true;
                        this.done = true;
                        break;
                    }
                    Poll::Pending => {}
                }
            }
            if !any_ready && !this.done {
                // Every live input returned Pending and registered `cx`.
                return Poll::Pending;
            }
            if budget == 0 && this.sink.sets.is_empty() && !this.done {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            let n = self.sink.sets.len();
            (n, Some(n))
        } else {
            (self.sink.sets.len(), None)
        }
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>> FusedStream for SyncStream<S, P> {
    fn is_terminated(&self) -> bool {
        self.done && self.sink.sets.is_empty()
    }
}

fn deliver<T: Messages>(
    sink: &mut Sink<T>,
    events: impl Iterator<Item = Event<T::Set, T::Message>>,
) {
    for e in events {
        match e {
            Event::Set(s) => sink.sets.push_back(s),
            Event::Drop(d) => {
                if let Some(f) = &mut sink.on_drop {
                    f(d);
                }
            }
            // The stream's synchronizer runs without options.
            Event::Stale(_) | Event::Partial(_) => {}
        }
    }
}

macro_rules! impl_sync_inputs {
    ($n:expr; $($St:ident $i:tt),+) => {
        impl<$($St),+> PollInputs for ($($St,)+)
        where
            $($St: Stream + Unpin, $St::Item: Stamped,)+
        {
            type Messages = ($($St::Item,)+);
            const N: usize = $n;

            #[inline]
            fn poll_input<P: Policy<<Self::Messages as Messages>::Queues>>(
                &mut self,
                i: usize,
                cx: &mut Context<'_>,
                sync: &mut Synchronizer<Self::Messages, P>,
                sink: &mut Sink<Self::Messages>,
            ) -> Poll<Option<()>> {
                match i {
                    $($i => match Pin::new(&mut self.$i).poll_next(cx) {
                        Poll::Ready(Some(msg)) => {
                            deliver(sink, sync.push::<$i>(msg));
                            Poll::Ready(Some(()))
                        }
                        Poll::Ready(None) => Poll::Ready(None),
                        Poll::Pending => Poll::Pending,
                    },)+
                    _ => Poll::Ready(None),
                }
            }
        }

        impl<$($St),+> SyncInputs for ($($St,)+)
        where
            $($St: Stream + Unpin, $St::Item: Stamped,)+
        {
        }
    };
}

impl_sync_inputs!(2; A 0, B 1);
impl_sync_inputs!(3; A 0, B 1, C 2);
impl_sync_inputs!(4; A 0, B 1, C 2, D 3);
impl_sync_inputs!(5; A 0, B 1, C 2, D 3, E 4);
impl_sync_inputs!(6; A 0, B 1, C 2, D 3, E 4, F 5);
impl_sync_inputs!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
impl_sync_inputs!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
impl_sync_inputs!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
