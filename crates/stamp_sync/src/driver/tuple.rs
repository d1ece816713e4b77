//! The tuples of message types a typed synchronizer runs over: one queue
//! per channel, one message type per channel, 2 to 9 of them (one macro,
//! invoked once per arity).

use std::collections::VecDeque;
use std::convert::Infallible;

use super::core::Core;
use super::event::Partial;
use super::handlers::Clock;
use super::options::Options;
use crate::policy::{CloneStore, ConfigError, Pick, Policy, Store};
use crate::stamped::{HeaderStamp, StampOf, Stamped};
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

/// The message type in each of the 9 slots of a [`Messages`] tuple
/// ([`Infallible`] beyond its arity): how [`StampGetters`] names them.
#[doc(hidden)]
pub trait Slots {
    type M0;
    type M1;
    type M2;
    type M3;
    type M4;
    type M5;
    type M6;
    type M7;
    type M8;
}

/// A tuple of message types `(M0, .., Mk)`, 2 to 9 of them.
///
/// Sealed: implemented for tuples only.
pub trait Messages: sealed::Sealed + Slots {
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

/// The stamp getter of channel `I` of `T`: what `add::<I>` uses.
///
/// Implemented for [`HeaderStamp`] (every channel whose message is
/// [`Stamped`](crate::Stamped), the default of every driver, so generic
/// code bounding `<T as Channel<I>>::Msg: Stamped` keeps compiling) and for
/// tuples of getters `(G0, .., Gk)` (channel `I`'s is `GI`).
pub trait StampAt<T: Channel<I> + ?Sized, const I: usize> {
    /// The stamp of `msg`, a message of channel `I`.
    fn stamp_at(&self, msg: &<T as Channel<I>>::Msg) -> Stamp;
}

impl<T: Channel<I> + ?Sized, const I: usize> StampAt<T, I> for HeaderStamp
where
    <T as Channel<I>>::Msg: Stamped,
{
    #[inline(always)]
    fn stamp_at(&self, msg: &<T as Channel<I>>::Msg) -> Stamp {
        msg.stamp()
    }
}

/// One stamp getter for every channel of `T`: [`HeaderStamp`] when every
/// message type is [`Stamped`](crate::Stamped), or a tuple `(G0, .., Gk)`
/// with each `Gi:` [`StampOf`]`<Mi>`, e.g. `(HeaderStamp, |o: &Odom| ..)`.
/// The drivers call channel `i`'s getter on each of its messages (static
/// dispatch). Implemented for tuples of the arity of `T`.
pub trait StampGetters<T: Messages + ?Sized> {
    #[doc(hidden)]
    fn stamp_0(&self, msg: &T::M0) -> Stamp;
    #[doc(hidden)]
    fn stamp_1(&self, msg: &T::M1) -> Stamp;
    #[doc(hidden)]
    fn stamp_2(&self, msg: &T::M2) -> Stamp;
    #[doc(hidden)]
    fn stamp_3(&self, msg: &T::M3) -> Stamp;
    #[doc(hidden)]
    fn stamp_4(&self, msg: &T::M4) -> Stamp;
    #[doc(hidden)]
    fn stamp_5(&self, msg: &T::M5) -> Stamp;
    #[doc(hidden)]
    fn stamp_6(&self, msg: &T::M6) -> Stamp;
    #[doc(hidden)]
    fn stamp_7(&self, msg: &T::M7) -> Stamp;
    #[doc(hidden)]
    fn stamp_8(&self, msg: &T::M8) -> Stamp;
}

impl<T: Messages + ?Sized> StampGetters<T> for HeaderStamp
where
    T::M0: Stamped,
    T::M1: Stamped,
    T::M2: Stamped,
    T::M3: Stamped,
    T::M4: Stamped,
    T::M5: Stamped,
    T::M6: Stamped,
    T::M7: Stamped,
    T::M8: Stamped,
{
    #[inline(always)]
    fn stamp_0(&self, msg: &T::M0) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_1(&self, msg: &T::M1) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_2(&self, msg: &T::M2) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_3(&self, msg: &T::M3) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_4(&self, msg: &T::M4) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_5(&self, msg: &T::M5) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_6(&self, msg: &T::M6) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_7(&self, msg: &T::M7) -> Stamp {
        msg.stamp()
    }
    #[inline(always)]
    fn stamp_8(&self, msg: &T::M8) -> Stamp {
        msg.stamp()
    }
}

/// Channel `I` of a [`Messages`] tuple, and its message type.
pub trait Channel<const I: usize>: Messages {
    /// The message type of channel `I`.
    type Msg;
    /// Appends `msg` to channel `I`.
    fn push(queues: &mut Self::Queues, msg: Self::Msg);
    /// The stamp of `msg` by channel `I`'s getter in `getters`.
    fn stamp_by<Gs: StampGetters<Self>>(getters: &Gs, msg: &Self::Msg) -> Stamp;
}

/// The typed queues of a tuple synchronizer: one `VecDeque` per channel.
#[derive(Debug)]
pub struct TupleQueues<Q>(Q);

macro_rules! impl_channel {
    (($($G:ident),*) ($($Gt:ident),*) $T:ident $Gi:ident $i:tt $get:ident) => {
        impl<$($G,)* $($Gt),*> StampAt<($($G,)*), $i> for ($($Gt,)*)
        where
            $Gi: StampOf<$T>,
        {
            #[inline(always)]
            fn stamp_at(&self, msg: &$T) -> Stamp {
                self.$i.stamp_of(msg)
            }
        }

        impl<$($G),*> Channel<$i> for ($($G,)*) {
            type Msg = $T;
            #[inline]
            fn push(queues: &mut Self::Queues, msg: $T) {
                (queues.0).$i.push_back(msg);
            }
            #[inline(always)]
            fn stamp_by<Gs: StampGetters<Self>>(getters: &Gs, msg: &$T) -> Stamp {
                getters.$get(msg)
            }
        }
    };
}

macro_rules! impl_messages {
    ($n:expr; $all:tt $getters:tt; $($T:ident $i:tt $V:ident $get:ident $M:ident $Gt:ident),+; $($none:ident $Mn:ident),*) => {
        impl<$($T),+> sealed::Sealed for ($($T,)+) {}

        impl<$($T),+> Slots for ($($T,)+) {
            $(type $M = $T;)+
            $(type $Mn = Infallible;)*
        }

        impl<$($T, $Gt: StampOf<$T>),+> StampGetters<($($T,)+)> for ($($Gt,)+) {
            $(
                #[inline(always)]
                fn $get(&self, msg: &$T) -> Stamp {
                    self.$i.stamp_of(msg)
                }
            )+
            $(
                fn $none(&self, msg: &Infallible) -> Stamp {
                    match *msg {}
                }
            )*
        }

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
            fn push_back(&mut self, channel: usize, msg: Self::Message) -> Result<(), Self::Message> {
                match (channel, msg) {
                    $(($i, AnyMsg::$V(m)) => (self.0).$i.push_back(m),)+
                    (_, msg) => return Err(msg),
                }
                Ok(())
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
            fn clone_message(&self, channel: usize, pos: usize) -> Option<Self::Message> {
                match channel {
                    $($i => (self.0).$i.get(pos).cloned().map(AnyMsg::$V),)+
                    _ => None,
                }
            }
            fn take_set_cloning(&mut self, pick: &mut dyn FnMut(usize) -> Pick) -> Option<Self::Set> {
                let at = [$(pick($i)),+];
                if $(at[$i].pos() >= (self.0).$i.len())||+ {
                    return None;
                }
                Some(($(match at[$i] {
                    Pick::Clone(p) => (self.0).$i.get(p)?.clone(),
                    Pick::Take(0) => (self.0).$i.pop_front()?,
                    Pick::Take(p) => (self.0).$i.remove(p)?,
                },)+))
            }
        }

        $( impl_channel!($all $getters $T $Gt $i $get); )+
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

/// Driver state of the typed drivers.
pub(super) type State<T, P> = Core<<T as Messages>::Queues, P>;

pub(super) fn new_state<T: Messages, P: Policy<T::Queues>>(
    policy: P,
    options: Options,
    clock: Option<Clock>,
) -> Result<State<T, P>, ConfigError> {
    Core::new(T::CHANNELS, policy, options, clock, T::queues)
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

impl_messages!(2; (A, B) (G0, G1); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1;
    stamp_2 M2, stamp_3 M3, stamp_4 M4, stamp_5 M5, stamp_6 M6, stamp_7 M7, stamp_8 M8);
impl_messages!(3; (A, B, C) (G0, G1, G2); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1, C 2 Ch2 stamp_2 M2 G2;
    stamp_3 M3, stamp_4 M4, stamp_5 M5, stamp_6 M6, stamp_7 M7, stamp_8 M8);
impl_messages!(4; (A, B, C, D) (G0, G1, G2, G3); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1, C 2 Ch2 stamp_2 M2 G2,
    D 3 Ch3 stamp_3 M3 G3; stamp_4 M4, stamp_5 M5, stamp_6 M6, stamp_7 M7, stamp_8 M8);
impl_messages!(5; (A, B, C, D, E) (G0, G1, G2, G3, G4); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1, C 2 Ch2 stamp_2 M2 G2,
    D 3 Ch3 stamp_3 M3 G3, E 4 Ch4 stamp_4 M4 G4; stamp_5 M5, stamp_6 M6, stamp_7 M7, stamp_8 M8);
impl_messages!(6; (A, B, C, D, E, F) (G0, G1, G2, G3, G4, G5); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1, C 2 Ch2 stamp_2 M2 G2,
    D 3 Ch3 stamp_3 M3 G3, E 4 Ch4 stamp_4 M4 G4, F 5 Ch5 stamp_5 M5 G5; stamp_6 M6, stamp_7 M7, stamp_8 M8);
impl_messages!(7; (A, B, C, D, E, F, G) (G0, G1, G2, G3, G4, G5, G6); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1, C 2 Ch2 stamp_2 M2 G2,
    D 3 Ch3 stamp_3 M3 G3, E 4 Ch4 stamp_4 M4 G4, F 5 Ch5 stamp_5 M5 G5, G 6 Ch6 stamp_6 M6 G6;
    stamp_7 M7, stamp_8 M8);
impl_messages!(8; (A, B, C, D, E, F, G, H) (G0, G1, G2, G3, G4, G5, G6, G7); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1, C 2 Ch2 stamp_2 M2 G2,
    D 3 Ch3 stamp_3 M3 G3, E 4 Ch4 stamp_4 M4 G4, F 5 Ch5 stamp_5 M5 G5, G 6 Ch6 stamp_6 M6 G6,
    H 7 Ch7 stamp_7 M7 G7; stamp_8 M8);
impl_messages!(9; (A, B, C, D, E, F, G, H, I) (G0, G1, G2, G3, G4, G5, G6, G7, G8); A 0 Ch0 stamp_0 M0 G0, B 1 Ch1 stamp_1 M1 G1,
    C 2 Ch2 stamp_2 M2 G2, D 3 Ch3 stamp_3 M3 G3, E 4 Ch4 stamp_4 M4 G4, F 5 Ch5 stamp_5 M5 G5,
    G 6 Ch6 stamp_6 M6 G6, H 7 Ch7 stamp_7 M7 G7, I 8 Ch8 stamp_8 M8 G8;);
