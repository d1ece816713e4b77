//! The tuples of message types a typed synchronizer runs over: one queue
//! per channel, one message type per channel, 2 to 9 of them (one macro,
//! invoked once per arity).

use std::collections::VecDeque;
use std::convert::Infallible;

use super::core::Core;
use super::event::Partial;
use super::options::Options;
use crate::policy::{CloneStore, ConfigError, Policy, Store};
use crate::time::Stamp;

/// One message of any channel of a tuple synchronizer, as handed to drop
/// callbacks. Unused channels are [`Infallible`].
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum AnyMsg<
    A,
    B,
    C = Infallible,
    D = Infallible,
    E = Infallible,
    F = Infallible,
    G = Infallible,
    H = Infallible,
    I = Infallible,
> {
    Ch0(A),
    Ch1(B),
    Ch2(C),
    Ch3(D),
    Ch4(E),
    Ch5(F),
    Ch6(G),
    Ch7(H),
    Ch8(I),
}

mod sealed {
    pub trait Sealed {}
}

/// A tuple of message types `(M0, .., Mk)`, 2 to 9 of them.
///
/// Sealed: implemented for tuples only.
pub trait Messages: sealed::Sealed {
    /// Number of channels.
    const CHANNELS: usize;
    /// The matched set, the tuple itself.
    type Set;
    /// Any one message, for drop callbacks.
    type Message;
    /// Per-channel typed queues.
    type Queues: Store<Set = Self::Set, Message = Self::Message>;
    /// A partial set: one `Option` per channel.
    type PartialSet;
    /// Empty queues, each with room for `capacity` messages.
    fn queues(capacity: usize) -> Self::Queues;
    /// Grows `queues` to room for `capacity` messages each.
    fn reserve(queues: &mut Self::Queues, capacity: usize);
    /// Sorts a partial set's members into their tuple slots.
    fn partial(p: Partial<Self::Message>) -> Self::PartialSet;
}

/// Channel `I` of a [`Messages`] tuple, and its message type.
pub trait Channel<const I: usize>: Messages {
    /// The message type of channel `I`.
    type Msg;
    /// Appends `msg` to channel `I`.
    fn push(queues: &mut Self::Queues, msg: Self::Msg);
}

/// The typed queues of a tuple synchronizer: one `VecDeque` per channel.
#[derive(Debug)]
pub struct TupleQueues<Q>(Q);

macro_rules! impl_channel {
    (($($G:ident),*) $T:ident $i:tt) => {
        impl<$($G),*> Channel<$i> for ($($G,)*) {
            type Msg = $T;
            #[inline]
            fn push(queues: &mut Self::Queues, msg: $T) {
                (queues.0).$i.push_back(msg);
            }
        }
    };
}

macro_rules! impl_messages {
    ($n:expr; $all:tt; $($T:ident $i:tt $V:ident),+) => {
        impl<$($T),+> sealed::Sealed for ($($T,)+) {}

        impl<$($T),+> Messages for ($($T,)+) {
            const CHANNELS: usize = $n;
            type Set = ($($T,)+);
            type Message = AnyMsg<$($T),+>;
            type Queues = TupleQueues<($(VecDeque<$T>,)+)>;
            type PartialSet = ($(Option<$T>,)+);
            fn partial(p: Partial<Self::Message>) -> Self::PartialSet {
                let mut set: Self::PartialSet = ($(None::<$T>,)+);
                for d in p.members.into_iter().flatten() {
                    match d.message {
                        $(AnyMsg::$V(m) => set.$i = Some(m),)+
                        #[allow(unreachable_patterns)]
                        _ => {}
                    }
                }
                set
            }
            fn reserve(queues: &mut Self::Queues, capacity: usize) {
                queues.reserve(capacity);
            }
            fn queues(capacity: usize) -> Self::Queues {
                TupleQueues(($({ let q: VecDeque<$T> = VecDeque::with_capacity(capacity); q },)+))
            }
        }

        impl<$($T),+> TupleQueues<($(VecDeque<$T>,)+)> {
            /// Room for `capacity` messages in every queue.
            pub fn reserve(&mut self, capacity: usize) {
                $( let q = &mut (self.0).$i; q.reserve(capacity.saturating_sub(q.len())); )+
            }
        }

        impl<$($T),+> Store for TupleQueues<($(VecDeque<$T>,)+)> {
            type Set = ($($T,)+);
            type Message = AnyMsg<$($T),+>;

            #[inline]
            fn channels(&self) -> usize {
                $n
            }
            #[inline]
            fn len(&self, channel: usize) -> usize {
                match channel {
                    $($i => (self.0).$i.len(),)+
                    _ => 0,
                }
            }
            #[inline]
            fn remove(&mut self, channel: usize, pos: usize) -> Option<Self::Message> {
                match channel {
                    $($i => (self.0).$i.remove(pos).map(AnyMsg::$V),)+
                    _ => None,
                }
            }
            #[inline]
            fn pop_front(&mut self, channel: usize) -> Option<Self::Message> {
                match channel {
                    $($i => (self.0).$i.pop_front().map(AnyMsg::$V),)+
                    _ => None,
                }
            }
            #[inline]
            fn discard_front(&mut self, channel: usize) -> bool {
                match channel {
                    $($i => (self.0).$i.pop_front().is_some(),)+
                    _ => false,
                }
            }
            #[inline]
            fn take_set(&mut self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set> {
                let at = [$(pos($i)),+];
                if $(at[$i] >= (self.0).$i.len())||+ {
                    return None;
                }
                // Position 0 (the common case) is a cheap pop_front.
                Some(($(if at[$i] == 0 {
                    (self.0).$i.pop_front()?
                } else {
                    (self.0).$i.remove(at[$i])?
                },)+))
            }
            #[inline]
            fn take_fronts(&mut self) -> Option<Self::Set> {
                if $((self.0).$i.is_empty())||+ {
                    return None;
                }
                Some(($((self.0).$i.pop_front()?,)+))
            }
        }

        impl<$($T: Clone),+> CloneStore for TupleQueues<($(VecDeque<$T>,)+)> {
            fn clone_set(&self, pos: &mut dyn FnMut(usize) -> usize) -> Option<Self::Set> {
                let at = [$(pos($i)),+];
                Some(($((self.0).$i.get(at[$i])?.clone(),)+))
            }
        }

        $( impl_channel!($all $T $i); )+
    };
}

impl<A, B, C, D, E, F, G, H, I> AnyMsg<A, B, C, D, E, F, G, H, I> {
    /// The channel this message belongs to.
    pub fn channel(&self) -> usize {
        match self {
            AnyMsg::Ch0(_) => 0,
            AnyMsg::Ch1(_) => 1,
            AnyMsg::Ch2(_) => 2,
            AnyMsg::Ch3(_) => 3,
            AnyMsg::Ch4(_) => 4,
            AnyMsg::Ch5(_) => 5,
            AnyMsg::Ch6(_) => 6,
            AnyMsg::Ch7(_) => 7,
            AnyMsg::Ch8(_) => 8,
        }
    }
}

/// Driver state shared by [`Synchronizer`] and [`SharedSynchronizer`].
pub(super) type State<T, P> = Core<<T as Messages>::Queues, P>;

pub(super) fn new_state<T: Messages, P: Policy<T::Queues>>(
    policy: P,
    options: Options,
) -> Result<State<T, P>, ConfigError> {
    Core::new(T::CHANNELS, policy, options, T::queues)
}

/// Adds `msg` on channel `I` of `state`.
#[inline]
pub(super) fn add_typed<T, P, const I: usize>(
    state: &mut State<T, P>,
    msg: <T as Channel<I>>::Msg,
    stamp: Stamp,
    received: Stamp,
) where
    T: Channel<I>,
    P: Policy<T::Queues>,
{
    state.add(I, stamp, received, |q| T::push(q, msg));
}

impl_messages!(2; (A, B); A 0 Ch0, B 1 Ch1);
impl_messages!(3; (A, B, C); A 0 Ch0, B 1 Ch1, C 2 Ch2);
impl_messages!(4; (A, B, C, D); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3);
impl_messages!(5; (A, B, C, D, E); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4);
impl_messages!(6; (A, B, C, D, E, F); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5);
impl_messages!(7; (A, B, C, D, E, F, G); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5, G 6 Ch6);
impl_messages!(8; (A, B, C, D, E, F, G, H); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5, G 6 Ch6, H 7 Ch7);
impl_messages!(9; (A, B, C, D, E, F, G, H, I); A 0 Ch0, B 1 Ch1, C 2 Ch2, D 3 Ch3, E 4 Ch4, F 5 Ch5, G 6 Ch6, H 7 Ch7, I 8 Ch8);
