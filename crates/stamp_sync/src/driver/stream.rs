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

use super::event::{Event, Stale};
use super::options::Options;
use super::stats::{Diagnostics, Stats};
use super::synchronizer::Synchronizer;
use super::tuple::{Channel, Messages, StampGetters};
use crate::policy::{ConfigError, Dropped, Policy};
use crate::stamped::HeaderStamp;
use crate::time::Stamp;

/// The most messages one `poll_next` takes from the inputs, per input,
/// before it yields to the executor (see [`SyncStream`], `# Implementation`).
pub const POLL_BUDGET_PER_INPUT: usize = 32;

type DropFn<M> = Box<dyn FnMut(Dropped<M>) + Send>;
type StaleFn = Box<dyn FnMut(Stale) + Send>;
type PartialFn<P> = Box<dyn FnMut(P) + Send>;
/// An arrival clock: the time now, on the clock of the received stamps.
pub type Clock = Box<dyn Fn() -> Stamp + Send>;

mod sealed {
    use super::*;

    /// Where one input's events go during a poll.
    pub struct Sink<T: Messages> {
        pub(super) sets: VecDeque<T::Set>,
        pub(super) on_drop: Option<DropFn<T::Message>>,
        pub(super) on_stale: Option<StaleFn>,
        pub(super) on_partial: Option<PartialFn<T::PartialSet>>,
        /// The arrival clock; `None`: a message arrives at its own stamp.
        pub(super) clock: Option<Clock>,
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
        fn poll_input<P, G>(
            &mut self,
            i: usize,
            cx: &mut Context<'_>,
            sync: &mut Synchronizer<Self::Messages, P, G>,
            sink: &mut Sink<Self::Messages>,
        ) -> Poll<Option<()>>
        where
            P: Policy<<Self::Messages as Messages>::Queues>,
            G: StampGetters<Self::Messages>;
    }
}

use sealed::{PollInputs, Sink};

/// A tuple of 2 to 9 [`Stream`]s: what [`SyncStream`] synchronizes.
///
/// Implemented for `(St0, St1, ..)` where every `St: Stream + Unpin` (r2r
/// subscriptions qualify). Items are stamped by their
/// [`Stamped`](crate::Stamped) impl, or by per-channel getters
/// ([`SyncBuilder::stamp_with`]). Sealed.
pub trait SyncInputs: PollInputs + Sized {
    /// Synchronizes the streams with `policy`, items stamped by their
    /// [`Stamped`](crate::Stamped) impls: see [`SyncStream`]. Fails if the
    /// policy does not fit this many channels.
    fn synchronize<P: Policy<QueuesOf<Self>>>(
        self,
        policy: P,
    ) -> Result<SyncStream<Self, P>, ConfigError>
    where
        HeaderStamp: StampGetters<MessagesOf<Self>>,
    {
        self.synchronize_with(policy).build()
    }

    /// Starts a [`SyncBuilder`]: [`Options`], stamp getters, an arrival
    /// clock, and drop, stale and partial-set callbacks.
    ///
    /// ```
    /// use futures::{executor::block_on, stream, StreamExt};
    /// use stamp_sync::stream::SyncInputs;
    /// use stamp_sync::{Duration, ExactTime, HeaderStamp, Options, Stamp};
    ///
    /// struct Odom { t_ms: i64 } // no Stamped impl needed
    /// let a = stream::iter([0, 10, 20].map(Stamp::from_nanos));
    /// let b = stream::iter([0, 10, 20].map(|t| Odom { t_ms: t }));
    /// let sets = (a, b)
    ///     .synchronize_with(ExactTime::new(5).unwrap())
    ///     .stamp_with((HeaderStamp, |o: &Odom| Stamp::from_nanos(o.t_ms)))
    ///     .options(Options::new().reset_on_jump_back(Duration::from_secs(1)))
    ///     .on_drop(|d| eprintln!("dropped {} on {}: {}", d.stamp, d.channel, d.reason))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(block_on(sets.count()), 3);
    /// ```
    fn synchronize_with<P: Policy<QueuesOf<Self>>>(self, policy: P) -> SyncBuilder<Self, P> {
        SyncBuilder {
            inputs: self,
            policy,
            options: Options::default(),
            getters: HeaderStamp,
            sink: Sink {
                sets: VecDeque::new(),
                on_drop: None,
                on_stale: None,
                on_partial: None,
                clock: None,
            },
        }
    }
}

/// A partial set of inputs `S`: one `Option` per channel.
pub type PartialOf<S> = <MessagesOf<S> as Messages>::PartialSet;

/// Builds a [`SyncStream`]: made by [`SyncInputs::synchronize_with`].
#[must_use = "call build() to get the stream"]
pub struct SyncBuilder<S: SyncInputs, P, G = HeaderStamp> {
    inputs: S,
    policy: P,
    options: Options,
    getters: G,
    sink: Sink<MessagesOf<S>>,
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> SyncBuilder<S, P, G> {
    /// [`Options`] around the policy. Stale checks run on the arrival
    /// clock: set one with [`clock`](Self::clock).
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// One stamp getter per input, as
    /// [`Synchronizer::stamp_with`](crate::Synchronizer::stamp_with).
    pub fn stamp_with<G2>(self, getters: G2) -> SyncBuilder<S, P, G2> {
        SyncBuilder {
            inputs: self.inputs,
            policy: self.policy,
            options: self.options,
            getters,
            sink: self.sink,
        }
    }

    /// The arrival clock: each message taken from an input is received at
    /// `now()` (what [`Options::arrival_stamps`], the stale check and
    /// arrival-clock policies such as [`LatestTime`](crate::LatestTime)
    /// use). Without one, a message is received at its own stamp. The r2r
    /// helpers use the node's ROS clock.
    pub fn clock(mut self, now: impl Fn() -> Stamp + Send + 'static) -> Self {
        self.sink.clock = Some(Box::new(now));
        self
    }

    /// Calls `f` with every message the policy drops; see
    /// [`SyncStream::on_drop`].
    pub fn on_drop(mut self, f: impl FnMut(Dropped<MessageOf<S>>) + Send + 'static) -> Self {
        self.sink.on_drop = Some(Box::new(f));
        self
    }

    /// Calls `f` with every stale-channel report ([`Options::stale_after`]).
    pub fn on_stale(mut self, f: impl FnMut(Stale) + Send + 'static) -> Self {
        self.sink.on_stale = Some(Box::new(f));
        self
    }

    /// Calls `f` with every partial set ([`Options::partial_sets`]).
    pub fn on_partial(mut self, f: impl FnMut(PartialOf<S>) + Send + 'static) -> Self {
        self.sink.on_partial = Some(Box::new(f));
        self
    }

    /// Checks the policy and options against the inputs and makes the stream.
    pub fn build(self) -> Result<SyncStream<S, P, G>, ConfigError> {
        let sync = Synchronizer::with_options(self.policy, self.options)?.stamp_with(self.getters);
        let mut sink = self.sink;
        sink.sets = VecDeque::with_capacity(sync.policy().max_events_per_add());
        Ok(SyncStream {
            inputs: self.inputs,
            ended: [false; 9],
            done: false,
            first: 0,
            sync,
            sink,
        })
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
/// [`Policy`]. Made by [`SyncInputs::synchronize`] or, with [`Options`],
/// stamp getters, an arrival clock and stale and partial-set callbacks,
/// by [`SyncInputs::synchronize_with`].
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
/// # Stale channels without messages
/// The stale check ([`Options::stale_after`]) runs on every message taken
/// from an input, so a silent input is reported while the others flow. A
/// `Stream` cannot wake itself on a timer: to notice that *every* input
/// went silent, call [`poll_stale`](Self::poll_stale) from a timer of your
/// executor (e.g. in a `select!` loop next to `next()`).
///
/// # Cancel safety
/// `self.next().await` is cancel safe: a message is handed to the policy in
/// the same `poll_next` that takes it from its input, and a matched set is
/// held in the output queue until a later `poll_next` returns it, so
/// dropping a `next()` future (e.g. in `select!`) loses nothing.
#[must_use = "streams do nothing unless polled"]
pub struct SyncStream<S: SyncInputs, P: Policy<QueuesOf<S>>, G = HeaderStamp> {
    inputs: S,
    /// `ended[i]`: input `i` returned `Ready(None)`; it is never polled again.
    ended: [bool; 9],
    /// Some input ended: no input is polled again.
    done: bool,
    /// The input the next pass starts with.
    first: usize,
    sync: Synchronizer<MessagesOf<S>, P, G>,
    /// Invariant: non-empty only between a policy step and the `poll_next`
    /// calls that return its sets; at most one step's sets.
    sink: Sink<MessagesOf<S>>,
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> fmt::Debug for SyncStream<S, P, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncStream")
            .field("inputs", &S::N)
            .field("ended", &&self.ended[..S::N])
            .field("pending_sets", &self.sink.sets.len())
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> SyncStream<S, P, G> {
    /// Calls `f` with every message the policy drops, during the
    /// `poll_next` whose policy step dropped it.
    pub fn on_drop(mut self, f: impl FnMut(Dropped<MessageOf<S>>) + Send + 'static) -> Self {
        self.sink.on_drop = Some(Box::new(f));
        self
    }

    /// Calls `f` with every stale-channel report ([`Options::stale_after`]).
    pub fn on_stale(mut self, f: impl FnMut(Stale) + Send + 'static) -> Self {
        self.sink.on_stale = Some(Box::new(f));
        self
    }

    /// Calls `f` with every partial set ([`Options::partial_sets`]).
    pub fn on_partial(mut self, f: impl FnMut(PartialOf<S>) + Send + 'static) -> Self {
        self.sink.on_partial = Some(Box::new(f));
        self
    }

    /// Runs the stale check at `now` (arrival clock) without a message:
    /// call it from a timer (see *Stale channels without messages*).
    /// Reports and partial sets go to their callbacks, drops to the drop
    /// callback. It emits no set with this crate's policies (a flush only
    /// drops); a set some policy did emit would be yielded by the next
    /// `poll_next`.
    pub fn poll_stale(&mut self, now: Stamp) {
        deliver(&mut self.sink, self.sync.poll_events(now));
    }

    /// Continues with `policy`, as
    /// [`Synchronizer::replace_policy`](crate::Synchronizer::replace_policy):
    /// every queued message is dropped (reason `Reset`, counted, handed to
    /// the drop callback). On error nothing changes.
    pub fn replace_policy(&mut self, policy: P) -> Result<(), ConfigError> {
        self.sync
            .replace_policy_events(policy, |events| deliver(&mut self.sink, events))
    }

    /// The policy, for its run-time setters; see
    /// [`Synchronizer::policy_mut`](crate::Synchronizer::policy_mut).
    pub fn policy_mut(&mut self) -> &mut P {
        self.sync.policy_mut()
    }

    /// A snapshot of counters, queues and the search in progress.
    pub fn diagnostics(&self) -> Diagnostics {
        self.sync.diagnostics()
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

impl<S: SyncInputs, P: Policy<QueuesOf<S>>, G> Unpin for SyncStream<S, P, G> {}

impl<S, P, G> Stream for SyncStream<S, P, G>
where
    S: SyncInputs,
    P: Policy<QueuesOf<S>>,
    G: StampGetters<MessagesOf<S>>,
{
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

impl<S, P, G> FusedStream for SyncStream<S, P, G>
where
    S: SyncInputs,
    P: Policy<QueuesOf<S>>,
    G: StampGetters<MessagesOf<S>>,
{
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
            Event::Stale(s) => {
                if let Some(f) = &mut sink.on_stale {
                    f(s);
                }
            }
            Event::Partial(p) => {
                if let Some(f) = &mut sink.on_partial {
                    f(T::partial(p));
                }
            }
        }
    }
}

macro_rules! impl_sync_inputs {
    ($n:expr; $($St:ident $i:tt),+) => {
        impl<$($St),+> PollInputs for ($($St,)+)
        where
            $($St: Stream + Unpin,)+
        {
            type Messages = ($($St::Item,)+);
            const N: usize = $n;

            #[inline]
            fn poll_input<P, Gs>(
                &mut self,
                i: usize,
                cx: &mut Context<'_>,
                sync: &mut Synchronizer<Self::Messages, P, Gs>,
                sink: &mut Sink<Self::Messages>,
            ) -> Poll<Option<()>>
            where
                P: Policy<<Self::Messages as Messages>::Queues>,
                Gs: StampGetters<Self::Messages>,
            {
                match i {
                    $($i => match Pin::new(&mut self.$i).poll_next(cx) {
                        Poll::Ready(Some(msg)) => {
                            let stamp = <Self::Messages as Channel<$i>>::stamp_by(sync.getters(), &msg);
                            let received = sink.clock.as_ref().map_or(stamp, |now| now());
                            deliver(sink, sync.push_stamped_at::<$i>(msg, stamp, received));
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
