//! Getting the stamp a message is synchronized on.
//!
//! * Messages with a ROS `std_msgs/Header`: one line, [`impl_stamped!`](crate::impl_stamped).
//! * Headerless or custom-stamped types: implement [`Stamped`] by hand, wrap
//!   the message as `(Stamp, M)`, or pass the stamp explicitly with
//!   [`Synchronizer::add_stamped`](crate::Synchronizer::add_stamped).

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
