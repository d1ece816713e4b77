//! Getting the stamp a message is synchronized on.
//!
//! * Your own types with a ROS `std_msgs/Header`: one line,
//!   [`impl_stamped!`](crate::impl_stamped).
//! * Types you do not own (every r2r message is generated inside the `r2r`
//!   crate, so `impl Stamped for r2r::my_msgs::msg::Foo` in your crate
//!   breaks the orphan rule), headerless types, or a stamp in a custom
//!   field: a per-channel stamp getter ([`StampOf`]): a closure
//!   `|m: &Foo| ...`, or a named getter type made with
//!   [`stamp_getter!`](crate::stamp_getter), set on the driver with
//!   `stamp_with` (e.g. [`Builder::stamp_with`](crate::Builder::stamp_with)).
//!   No wrapper type, no `Stamped` impl.
//! * Or pass the stamp explicitly with
//!   [`Synchronizer::add_stamped`](crate::Synchronizer::add_stamped), or
//!   wrap the message as `(Stamp, M)`.
//!
//! ```
//! use stamp_sync::{ExactTime, HeaderStamp, Stamp, Synchronizer};
//!
//! struct Odom { t_us: i64 } // no header: microseconds in a field
//! let mut sync = Synchronizer::<(Stamp, Odom), _>::builder(ExactTime::new(5).unwrap())
//!     .stamp_with((HeaderStamp, |o: &Odom| Stamp::from_nanos(o.t_us * 1_000)))
//!     .build()
//!     .unwrap();
//! sync.add::<0>(Stamp::from_nanos(7_000));
//! assert_eq!(sync.add::<1>(Odom { t_us: 7 }), 1);
//! ```

use std::rc::Rc;
use std::sync::Arc;

use crate::time::Stamp;

/// A message that knows the stamp it is synchronized on.
///
/// ```
/// use stamp_sync::{Stamp, Stamped};
/// struct Tick { t_ns: i64 }
/// impl Stamped for Tick {
///     fn stamp(&self) -> Stamp { Stamp::from_nanos(self.t_ns) }
/// }
/// assert_eq!(Tick { t_ns: 5 }.stamp(), Stamp::from_nanos(5));
/// ```
pub trait Stamped {
    /// The stamp, normally `header.stamp`.
    fn stamp(&self) -> Stamp;
}

/// Never called: fills the unused slots of a tuple synchronizer.
impl Stamped for std::convert::Infallible {
    fn stamp(&self) -> Stamp {
        match *self {}
    }
}

impl Stamped for Stamp {
    fn stamp(&self) -> Stamp {
        *self
    }
}

/// A message paired with an explicit stamp: the trivial custom stamp.
impl<M> Stamped for (Stamp, M) {
    fn stamp(&self) -> Stamp {
        self.0
    }
}

impl<T: Stamped + ?Sized> Stamped for &T {
    fn stamp(&self) -> Stamp {
        (**self).stamp()
    }
}

impl<T: Stamped + ?Sized> Stamped for Box<T> {
    fn stamp(&self) -> Stamp {
        (**self).stamp()
    }
}

impl<T: Stamped + ?Sized> Stamped for Arc<T> {
    fn stamp(&self) -> Stamp {
        (**self).stamp()
    }
}

impl<T: Stamped + ?Sized> Stamped for Rc<T> {
    fn stamp(&self) -> Stamp {
        (**self).stamp()
    }
}

/// Implements [`Stamped`] for message types that carry a ROS header.
///
/// For types defined in your crate. A type of another crate (any r2r
/// message, including ones generated from your own workspace: r2r
/// generates them inside the `r2r` crate) cannot get a `Stamped` impl in
/// your crate (the orphan rule); use a stamp getter instead:
/// [`stamp_getter!`](crate::stamp_getter) or a closure (see the
/// [module docs](self)).
///
/// The default field path is `header.stamp`; any `stamp` with `sec: i32`
/// and `nanosec: u32` fields works (`builtin_interfaces/Time`, as in r2r and
/// rclrs). Give another path after `=>` for custom layouts.
///
/// ```
/// # mod builtin_interfaces { #[derive(Default)] pub struct Time { pub sec: i32, pub nanosec: u32 } }
/// # #[derive(Default)] pub struct Header { pub stamp: builtin_interfaces::Time, pub frame_id: String }
/// #[derive(Default)]
/// pub struct PointStamped { pub header: Header, pub x: f64 }
/// #[derive(Default)]
/// pub struct Odd { pub meta: Header }
/// stamp_sync::impl_stamped!(PointStamped);
/// stamp_sync::impl_stamped!(Odd => meta.stamp);
///
/// use stamp_sync::Stamped;
/// let mut p = PointStamped::default();
/// p.header.stamp.sec = 2;
/// assert_eq!(p.stamp().as_nanos(), 2_000_000_000);
/// ```
#[macro_export]
macro_rules! impl_stamped {
    ($($ty:ty),+ $(,)?) => {
        $( $crate::impl_stamped!($ty => header.stamp); )+
    };
    ($ty:ty => $($field:ident).+) => {
        impl $crate::stamped::Stamped for $ty {
            #[inline]
            fn stamp(&self) -> $crate::time::Stamp {
                let t = &self.$($field).+;
                $crate::time::Stamp::from_ros(t.sec, t.nanosec)
            }
        }
    };
}

/// A per-channel stamp getter: the stamp a message of type `M` is
/// synchronized on.
///
/// Implemented for [`HeaderStamp`] (the message's own [`Stamped`] impl,
/// the default of every driver), for every closure or function
/// `Fn(&M) -> Stamp`, and for the types [`stamp_getter!`](crate::stamp_getter)
/// defines. The drivers take one per channel, as a tuple, and call it with
/// static dispatch: the default getters compile to the same code as
/// calling [`Stamped::stamp`].
pub trait StampOf<M: ?Sized> {
    /// The stamp of `msg`.
    fn stamp_of(&self, msg: &M) -> Stamp;
}

/// The getter that uses the message's own [`Stamped`] impl (normally its
/// `header.stamp`): the default for every channel.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeaderStamp;

impl<M: Stamped + ?Sized> StampOf<M> for HeaderStamp {
    #[inline(always)]
    fn stamp_of(&self, msg: &M) -> Stamp {
        msg.stamp()
    }
}

impl<M: ?Sized, F: Fn(&M) -> Stamp> StampOf<M> for F {
    #[inline(always)]
    fn stamp_of(&self, msg: &M) -> Stamp {
        self(msg)
    }
}

/// Defines a named stamp getter type ([`StampOf`]) for a message type you
/// do not own, e.g. an r2r message generated from your workspace: it
/// compiles in your crate, where `impl Stamped for r2r::..` cannot. The
/// default field path is `header.stamp`; any `stamp` with `sec: i32` and
/// `nanosec: u32` fields works (`builtin_interfaces/Time`). Give another
/// path after `=>`. A named type, unlike a closure, can be written in a
/// struct field's type.
///
/// ```
/// # mod r2r { pub mod my_msgs { pub mod msg {
/// #   #[derive(Default)] pub struct Time { pub sec: i32, pub nanosec: u32 }
/// #   #[derive(Default)] pub struct Header { pub stamp: Time }
/// #   #[derive(Default)] pub struct Foo { pub header: Header }
/// #   #[derive(Default)] pub struct Bar { pub meta: Header }
/// # } } }
/// use stamp_sync::{ExactTime, Synchronizer};
///
/// stamp_sync::stamp_getter!(pub FooStamp: r2r::my_msgs::msg::Foo);
/// stamp_sync::stamp_getter!(BarStamp: r2r::my_msgs::msg::Bar => meta.stamp);
///
/// type Sync = Synchronizer<(r2r::my_msgs::msg::Foo, r2r::my_msgs::msg::Bar), ExactTime, (FooStamp, BarStamp)>;
/// let mut sync: Sync = Synchronizer::builder(ExactTime::new(5).unwrap()).stamp_with((FooStamp, BarStamp)).build().unwrap();
/// sync.add::<0>(Default::default());
/// assert_eq!(sync.add::<1>(Default::default()), 1);
/// ```
#[macro_export]
macro_rules! stamp_getter {
    ($(#[$meta:meta])* $vis:vis $name:ident : $ty:ty) => {
        $crate::stamp_getter!($(#[$meta])* $vis $name : $ty => header.stamp);
    };
    ($(#[$meta:meta])* $vis:vis $name:ident : $ty:ty => $($field:ident).+) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
        $vis struct $name;
        impl $crate::stamped::StampOf<$ty> for $name {
            #[inline]
            fn stamp_of(&self, msg: &$ty) -> $crate::time::Stamp {
                let t = &msg.$($field).+;
                $crate::time::Stamp::from_ros(t.sec, t.nanosec)
            }
        }
    };
}
