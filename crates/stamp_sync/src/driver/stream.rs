//! Synchronizing [`Stream`]s: 2 to 9 typed input streams in, one stream of
//! matched tuples out. Runtime-agnostic: only `futures` traits, no executor.
//!
//! ```
//! use futures::{executor::block_on, stream, StreamExt};
//! use stamp_sync::stream::SyncInputs;
//! use stamp_sync::{ApproximateTime, Stamp};
//!
//! let ns = |v: &[i64]| stream::iter(v.iter().map(|&t| Stamp::from_nanos(t)).collect::<Vec<_>>());
//! let mut sets = (ns(&[0, 3, 6]), ns(&[1, 4, 7]))
//!     .synchronize(ApproximateTime::new(10).unwrap())
//!     .unwrap();
//! let got: Vec<(Stamp, Stamp)> = block_on((&mut sets).collect());
//! assert_eq!(got.len(), 2); // (0,1) and (3,4); (6,7) is never proven optimal
//! // Every message is accounted for: in a set, dropped, or still queued.
//! let c = &sets.stats().channels[0];
//! assert_eq!(c.received, c.emitted + c.dropped_total() + sets.queued(0) as u64);
//! ```
//!
//! With r2r, the inputs are the streams that `Node::subscribe` returns; see
//! the `stamp_sync_r2r` crate.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, Stream};

use super::builder::{Builder, ForStream};
use super::event::{Partial, Stale};
use super::fair::{FairMerge, Next, Slotted};
use super::handlers::{Callbacks, Handlers};
use super::stats::{Diagnostics, Stats};
use super::tuple::{Channel, Messages, StampGetters, State, add_typed, new_state};
use crate::policy::{ConfigError, Dropped, Policy};
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

/// The most messages one `poll_next` feeds to the policy, per input,
/// before it yields to the executor (see [`SyncStream`], `# Implementation`).
pub const POLL_BUDGET_PER_INPUT: usize = 32;

mod sealed {
    use super::*;

    /// Polls input `i` of a tuple of streams into its slot, and feeds the
    /// slot to the synchronizer. Private: only the tuples of
    /// [`SyncInputs`](super::SyncInputs) implement it. (It names the
    /// driver's private state: nobody outside can implement or call it.)
    #[allow(private_interfaces)]
    pub trait PollInputs {
        /// The tuple of message types.
        type Messages: Messages;
        /// One waiting message per input.
        type Slots: Default;
        /// Number of inputs.
        const N: usize;
        /// Polls input `i` into its empty slot, with the time it is
        /// received (`received(stamp)`); the stamp of what it holds.
        fn poll_slot<G: StampGetters<Self::Messages>>(
            &mut self,
            slots: &mut Self::Slots,
            i: usize,
            cx: &mut Context<'_>,
            getters: &G,
            received: &dyn Fn(Stamp) -> Stamp,
        ) -> Poll<Option<Stamp>>;
        /// Adds input `i`'s waiting message, of `stamp`, to `state`.
        fn feed<P: Policy<<Self::Messages as Messages>::Queues>>(
            slots: &mut Self::Slots,
            i: usize,
            state: &mut State<Self::Messages, P>,
            stamp: Stamp,
        );
    }
}

use sealed::PollInputs;

/// A tuple of 2 to 9 [`Stream`]s: what [`SyncStream`] synchronizes.
///
/// Implemented for `(St0, St1, ..)` where every `St: Stream + Unpin` (r2r
/// subscriptions qualify). Items are stamped by their
/// [`Stamped`](crate::Stamped) impl, or by per-channel getters
/// ([`Builder::stamp_with`]). Sealed.
pub trait SyncInputs: PollInputs + Sized {
    /// Synchronizes the streams with `policy`, items stamped by their
    /// [`Stamped`](crate::Stamped) impls: see [`SyncStream`]. Fails if the
    /// policy does not fit this many channels. For options, getters, a
    /// clock and callbacks use [`SyncStream::builder`].
    fn synchronize<P: Policy<QueuesOf<Self>>>(
        self,
        policy: P,
    ) -> Result<SyncStream<Self, P>, ConfigError>
    where
        HeaderStamp: StampGetters<MessagesOf<Self>>,
    {
        SyncStream::builder(self, policy).build()
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
/// A partial set of inputs `S`: one `Option` per channel.
pub type PartialOf<S> = <MessagesOf<S> as Messages>::PartialSet;

/// The builder [`SyncStream::builder`] returns.
pub type StreamBuilder<S, P, G = HeaderStamp> = Builder<ForStream<S, MessagesOf<S>>, P, G>;

/// Where the stream's events go: sets into the output queue, the rest to
/// the callbacks.
struct Sink<T: Messages> {
    /// Invariant: non-empty only between a policy step and the `poll_next`
    /// calls that return its sets; at most one step's sets.
    sets: VecDeque<T::Set>,
    callbacks: Callbacks<T::Set, T::Message, T::PartialSet>,
}

impl<T: Messages> Handlers<T::Set, T::Message> for Sink<T> {
    #[inline]
    fn set(&mut self, set: T::Set) {
        self.sets.push_back(set);
    }
    #[inline]
    fn drop(&mut self, dropped: Dropped<T::Message>) {
        self.callbacks.drop(dropped);
    }
    fn stale(&mut self, stale: Stale) {
        self.callbacks.stale(stale);
    }
    fn partial(&mut self, partial: Partial<T::Message>) {
        self.callbacks.partial(partial);
    }
    #[inline]
    fn wants_drops(&self) -> bool {
        self.callbacks.wants_drops()
    }
}

/// A [`Stream`] of matched sets built from a tuple of input streams and a
/// [`Policy`]. Made by [`SyncInputs::synchronize`] or, with
/// [`Options`](crate::Options), stamp getters, an arrival clock and drop,
/// stale and partial-set callbacks, by [`SyncStream::builder`].
///
/// Each item is one matched tuple, members in input order. Messages the
/// policy gives up on go to the `on_drop` callback (or are only counted, in
/// [`stats`](Self::stats)). To get drops as a second stream, send them into
/// a channel from that callback.
///
/// # End of stream
/// The stream ends once **every** input has ended, every message they
/// yielded has gone through the policy and every set matched has been
/// yielded. What the policy still holds then stays queued
/// ([`queued`](Self::queued)): per channel, `received = emitted + dropped +
/// queued` ([`Stats`]). An input that ends early is simply not polled
/// again; the others go on. After the end it keeps returning `Ready(None)`
/// ([`FusedStream`]).
///
/// # Implementation
/// Each `poll_next` first returns a set already matched, if any. Otherwise
/// it feeds the policy from the inputs **oldest stamp first**: every input
/// has a one-message lookahead slot; a pass polls every input whose slot is
/// empty, starting one input further along each pass (so a busy input
/// cannot starve the others), then feeds the waiting message with the
/// oldest stamp (ties: the lower input). Messages ready together therefore
/// reach the policy in stamp order, as they would arrive live: over inputs
/// that are all ready (pre-filled channels, a recording) the stream yields
/// exactly the sets [`Synchronizer`](crate::Synchronizer) yields fed in
/// stamp order. A message whose input alone is ready goes on at once. It
/// stops as soon as a set is matched, and returns `Pending` only after
/// every live input has returned `Pending` with no message waiting, so each
/// has registered the waker. To stay cooperative it also stops after
/// [`POLL_BUDGET_PER_INPUT`] × N messages without a set; it then wakes
/// itself and returns `Pending`, so no wakeup is lost. A message is
/// received (on the arrival clock) when it is taken from its input, and
/// counted when it reaches the policy.
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
/// # Stale channels without messages
/// The stale check ([`Options::stale_after`](crate::Options::stale_after))
/// runs on every message taken from an input, so a silent input is reported
/// while the others flow. A `Stream` cannot wake itself on a timer: to
/// notice that *every* input went silent, call [`poll`](Self::poll) from a
/// timer of your executor (e.g. in a `select!` loop next to `next()`).
///
/// # Cancel safety
/// `self.next().await` is cancel safe: a message taken from its input waits
/// in the stream's own slot until it is handed to the policy, and a matched
/// set is held in the output queue until a later `poll_next` returns it, so
/// dropping a `next()` future (e.g. in `select!`) loses nothing.
#[must_use = "streams do nothing unless polled"]
pub struct SyncStream<S: SyncInputs, P: Policy<QueuesOf<S>>, G = HeaderStamp> {
    inputs: S,
    /// One message per input, taken from it and not yet fed.
    slots: S::Slots,
    merge: FairMerge,
    state: State<MessagesOf<S>, P>,
    getters: G,
    sink: Sink<MessagesOf<S>>,
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> fmt::Debug for SyncStream<S, P, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncStream")
            .field("inputs", &S::N)
            .field("waiting", &self.merge.waiting())
            .field("pending_sets", &self.sink.sets.len())
            .field("stats", &self.state.stats)
            .finish_non_exhaustive()
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>> SyncStream<S, P> {
    /// Starts a [`Builder`] over `inputs`: [`Options`](crate::Options),
    /// stamp getters, an arrival clock, and drop, stale and partial-set
    /// callbacks.
    ///
    /// ```
    /// use futures::{executor::block_on, stream, StreamExt};
    /// use stamp_sync::stream::SyncStream;
    /// use stamp_sync::{Duration, ExactTime, HeaderStamp, Options, Stamp};
    ///
    /// struct Odom { t_ms: i64 } // no Stamped impl needed
    /// let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    /// let a = stream::iter([0, 10, 20].map(ms));
    /// let b = stream::iter([0, 10, 20].map(|t| Odom { t_ms: t }));
    /// let sets = SyncStream::builder((a, b), ExactTime::new(5).unwrap())
    ///     .stamp_with((HeaderStamp, move |o: &Odom| ms(o.t_ms)))
    ///     .options(Options::new().reset_on_jump_back(Duration::from_secs(1)))
    ///     .on_drop(|d| eprintln!("dropped {} on {}: {}", d.stamp, d.channel, d.reason))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(block_on(sets.count()), 3);
    /// ```
    pub fn builder(inputs: S, policy: P) -> StreamBuilder<S, P> {
        Builder::new(ForStream::new(inputs), policy)
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> Builder<ForStream<S, MessagesOf<S>>, P, G> {
    /// Checks the policy and options against the inputs and makes the stream.
    pub fn build(self) -> Result<SyncStream<S, P, G>, ConfigError> {
        let state = new_state::<MessagesOf<S>, P>(self.policy, self.options, self.clock)?;
        let sets = VecDeque::with_capacity(state.policy.max_events_per_add());
        Ok(SyncStream {
            inputs: self.kind.inputs,
            slots: S::Slots::default(),
            merge: FairMerge::new(S::N),
            state,
            getters: self.getters,
            sink: Sink {
                sets,
                callbacks: self.kind.callbacks,
            },
        })
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> SyncStream<S, P, G> {
    /// Runs the stale check at `now` (arrival clock) without a message:
    /// call it from a timer (see *Stale channels without messages*).
    /// Reports and partial sets go to their callbacks, drops to the drop
    /// callback. It emits no set with this crate's policies (a flush only
    /// drops); a set some policy did emit would be yielded by the next
    /// `poll_next`. Returns the sets it emitted.
    pub fn poll(&mut self, now: Stamp) -> usize {
        self.state.keep_drops(self.sink.wants_drops());
        self.state.poll(now);
        self.state.deliver(&mut self.sink)
    }

    /// Drops everything queued (reason
    /// [`DropReason::Reset`](crate::DropReason::Reset), counted, handed to
    /// the drop callback), keeping the configuration and the statistics.
    pub fn reset(&mut self) {
        self.state.keep_drops(self.sink.wants_drops());
        self.state.reset();
        self.state.deliver(&mut self.sink);
    }

    /// Continues with `policy`, as
    /// [`Synchronizer::replace_policy`](crate::Synchronizer::replace_policy):
    /// every queued message is dropped (reason `Reset`, counted, handed to
    /// the drop callback). On error nothing changes.
    pub fn replace_policy(&mut self, policy: P) -> Result<(), ConfigError> {
        self.state.keep_drops(self.sink.wants_drops());
        self.state
            .replace_policy(policy, <MessagesOf<S> as Messages>::reserve)?;
        self.state.deliver(&mut self.sink);
        Ok(())
    }

    /// Turns [`Options::drop_out_after`](crate::Options::drop_out_after)
    /// on, changes it, or turns it off (`None`) on a live synchronizer; off,
    /// every out channel rejoins at once. A change of clock brings every
    /// channel back in. What it emits comes out with the next step.
    pub fn set_drop_out_after(
        &mut self,
        after: Option<crate::Duration>,
        clock: crate::DropOutClock,
    ) -> Result<(), crate::ConfigError> {
        self.state.set_drop_out_after(after, clock)
    }

    /// Runs `f` on the policy, for its run-time setters; see
    /// [`Synchronizer::with_policy`](crate::Synchronizer::with_policy).
    pub fn with_policy<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> R {
        self.state.with_policy(f)
    }

    /// The policy, for its run-time setters.
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.state.policy
    }

    /// The policy, for its own diagnostics.
    pub fn policy(&self) -> &P {
        &self.state.policy
    }

    /// A snapshot of counters, queues and the search in progress.
    pub fn diagnostics(&self) -> Diagnostics {
        self.state.diagnostics()
    }

    /// Counters per channel: received, emitted, dropped by reason.
    pub fn stats(&self) -> &Stats {
        &self.state.stats
    }

    /// Messages of `channel` held by the policy right now.
    pub fn queued(&self, channel: usize) -> usize {
        self.state.queued(channel)
    }

    /// Number of inputs.
    pub fn channels(&self) -> usize {
        S::N
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

    /// Gives the input streams back. Messages waiting in the stream's
    /// slots or queued in the policy, and matched sets not yet yielded, are
    /// lost.
    pub fn into_inner(self) -> S {
        self.inputs
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> Unpin for SyncStream<S, P, G> {}

/// The inputs and their slots, as [`FairMerge`] polls them.
struct Slots<'a, S: SyncInputs, G, P> {
    inputs: &'a mut S,
    slots: &'a mut S::Slots,
    getters: &'a G,
    /// For the arrival clock.
    state: &'a State<MessagesOf<S>, P>,
}

impl<S, G, P> Slotted for Slots<'_, S, G, P>
where
    S: SyncInputs,
    G: StampGetters<MessagesOf<S>>,
    P: Policy<QueuesOf<S>>,
{
    #[inline]
    fn fill(&mut self, i: usize, cx: &mut Context<'_>) -> Poll<Option<Stamp>> {
        let state = self.state;
        self.inputs
            .poll_slot(self.slots, i, cx, self.getters, &|t| state.received(t))
    }
}

impl<S, P, G> Stream for SyncStream<S, P, G>
where
    S: SyncInputs,
    P: Policy<QueuesOf<S>>,
    G: StampGetters<MessagesOf<S>>,
{
    type Item = SetOf<S>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut budget = POLL_BUDGET_PER_INPUT * S::N;
        loop {
            if let Some(set) = this.sink.sets.pop_front() {
                return Poll::Ready(Some(set));
            }
            let mut slots = Slots {
                inputs: &mut this.inputs,
                slots: &mut this.slots,
                getters: &this.getters,
                state: &this.state,
            };
            match this.merge.step(&mut slots, cx) {
                Next::Take(i, stamp) => {
                    this.state.keep_drops(this.sink.wants_drops());
                    S::feed(&mut this.slots, i, &mut this.state, stamp);
                    this.state.deliver(&mut this.sink);
                    budget = budget.saturating_sub(1);
                    if budget == 0 && this.sink.sets.is_empty() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Next::Closed(_) => {}
                Next::Pending => return Poll::Pending,
                Next::Ended => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.merge.is_done() {
            let n = self.sink.sets.len();
            (n, Some(n))
        } else {
            (self.sink.sets.len(), None)
        }
    }
}

impl<S, P, G> FusedStream for SyncStream<S, P, G>
where
    S: SyncInputs,
    P: Policy<QueuesOf<S>>,
    G: StampGetters<MessagesOf<S>>,
{
    fn is_terminated(&self) -> bool {
        self.merge.is_done() && self.sink.sets.is_empty()
    }
}

macro_rules! impl_sync_inputs {
    ($n:expr; $($St:ident $i:tt),+) => {
        #[allow(private_interfaces)]
        impl<$($St),+> PollInputs for ($($St,)+)
        where
            $($St: Stream + Unpin,)+
        {
            type Messages = ($($St::Item,)+);
            type Slots = ($(Option<($St::Item, Stamp)>,)+);
            const N: usize = $n;

            #[inline]
            fn poll_slot<Gs: StampGetters<Self::Messages>>(
                &mut self,
                slots: &mut Self::Slots,
                i: usize,
                cx: &mut Context<'_>,
                getters: &Gs,
                received: &dyn Fn(Stamp) -> Stamp,
            ) -> Poll<Option<Stamp>> {
                match i {
                    $($i => match Pin::new(&mut self.$i).poll_next(cx) {
                        Poll::Ready(Some(msg)) => {
                            let stamp = <Self::Messages as Channel<$i>>::stamp_by(getters, &msg);
                            slots.$i = Some((msg, received(stamp)));
                            Poll::Ready(Some(stamp))
                        }
                        Poll::Ready(None) => Poll::Ready(None),
                        Poll::Pending => Poll::Pending,
                    },)+
                    _ => Poll::Ready(None),
                }
            }

            #[inline]
            fn feed<P: Policy<<Self::Messages as Messages>::Queues>>(
                slots: &mut Self::Slots,
                i: usize,
                state: &mut State<Self::Messages, P>,
                stamp: Stamp,
            ) {
                match i {
                    $($i => {
                        if let Some((msg, received)) = slots.$i.take() {
                            add_typed::<Self::Messages, P, $i>(state, msg, stamp, received);
                        }
                    })+
                    _ => {}
                }
            }
        }

        impl<$($St),+> SyncInputs for ($($St,)+)
        where
            $($St: Stream + Unpin,)+
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
