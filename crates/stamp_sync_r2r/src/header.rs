//! Stamps and frames of r2r messages: [`HasHeader`] for every generated
//! type with a top-level `std_msgs/Header header`, the stamp getter
//! [`RosHeader`] the drivers take for them, and [`ByHeader`] for the tf
//! filter.

use std::convert::Infallible;

use ::r2r::builtin_interfaces::msg::Time;
use ::r2r::std_msgs::msg::Header;
use stamp_sync::driver::{Channel, Messages, StampAt, StampGetters};
use stamp_sync::{Stamp, StampOf, Stamped};
use stamp_sync_tf::Framed;

/// An r2r message with a top-level `std_msgs/Header header` (implemented
/// for every such type r2r generated, and for `Header` itself).
pub trait HasHeader {
    /// The header.
    fn header(&self) -> &Header;
    /// `header.stamp`.
    #[inline]
    fn stamp(&self) -> Stamp {
        stamp_of_time(&self.header().stamp)
    }
    /// `header.frame_id`.
    #[inline]
    fn frame_id(&self) -> &str {
        &self.header().frame_id
    }
}

impl HasHeader for Header {
    #[inline]
    fn header(&self) -> &Header {
        self
    }
}

/// The unused slots of a tuple of message types.
impl HasHeader for Infallible {
    fn header(&self) -> &Header {
        match *self {}
    }
}

include!(concat!(env!("OUT_DIR"), "/r2r_stamped.rs"));

/// `builtin_interfaces/Time` as a [`Stamp`].
#[inline]
pub fn stamp_of_time(t: &Time) -> Stamp {
    Stamp::from_ros(t.sec, t.nanosec)
}

/// A [`Stamp`] whose seconds do not fit the `i32` of `builtin_interfaces/Time`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stamp {0} does not fit builtin_interfaces/Time (seconds must fit an i32)")]
pub struct StampOutOfRange(pub Stamp);

/// A [`Stamp`] as `builtin_interfaces/Time`.
pub fn time_of_stamp(s: Stamp) -> Result<Time, StampOutOfRange> {
    let (sec, nanosec) = s.to_ros().ok_or(StampOutOfRange(s))?;
    Ok(Time { sec, nanosec })
}

/// The stamp getter of header-bearing r2r messages: `header.stamp`. Give it
/// to a driver's `stamp_with` (one for every channel, or in a tuple with
/// other getters); the helpers of this crate use it by default.
///
/// ```
/// use r2r::sensor_msgs::msg::{CameraInfo, Image};
/// use stamp_sync::{ExactTime, Synchronizer};
/// use stamp_sync_r2r::RosHeader;
/// let mut sync = Synchronizer::<(Image, CameraInfo), _>::builder(ExactTime::new(5)?)
///     .stamp_with(RosHeader)
///     .build()?;
/// sync.add::<0>(Image::default());
/// assert_eq!(sync.add::<1>(CameraInfo::default()), 1);
/// # Ok::<(), stamp_sync::ConfigError>(())
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RosHeader;

impl<M: HasHeader + ?Sized> StampOf<M> for RosHeader {
    #[inline(always)]
    fn stamp_of(&self, msg: &M) -> Stamp {
        msg.stamp()
    }
}

impl<T: Channel<I> + ?Sized, const I: usize> StampAt<T, I> for RosHeader
where
    <T as Channel<I>>::Msg: HasHeader,
{
    #[inline(always)]
    fn stamp_at(&self, msg: &<T as Channel<I>>::Msg) -> Stamp {
        msg.stamp()
    }
}

macro_rules! ros_header_getters {
    ($($get:ident $M:ident),+) => {
        impl<T: Messages + ?Sized> StampGetters<T> for RosHeader
        where
            $(T::$M: HasHeader,)+
        {
            $(
                #[inline(always)]
                fn $get(&self, msg: &T::$M) -> Stamp {
                    msg.stamp()
                }
            )+
        }
    };
}

ros_header_getters!(stamp_0 M0, stamp_1 M1, stamp_2 M2, stamp_3 M3, stamp_4 M4, stamp_5 M5,
    stamp_6 M6, stamp_7 M7, stamp_8 M8);

/// A header-bearing r2r message as [`Stamped`] and [`Framed`], for the
/// tf filter (`TfFilter<ByHeader<Image>>`). Transparent: it derefs to the
/// message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ByHeader<M>(pub M);

impl<M> ByHeader<M> {
    /// The message.
    pub fn into_inner(self) -> M {
        self.0
    }
}

impl<M> std::ops::Deref for ByHeader<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.0
    }
}

impl<M> std::ops::DerefMut for ByHeader<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.0
    }
}

impl<M: HasHeader> Stamped for ByHeader<M> {
    #[inline]
    fn stamp(&self) -> Stamp {
        self.0.stamp()
    }
}

impl<M: HasHeader> Framed for ByHeader<M> {
    #[inline]
    fn frame_id(&self) -> &str {
        self.0.frame_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2r::sensor_msgs::msg::{CameraInfo, Image};

    #[test]
    fn stamps_convert_both_ways() {
        let t = Time { sec: 3, nanosec: 5 };
        let s = stamp_of_time(&t);
        assert_eq!(s.as_nanos(), 3_000_000_005);
        assert_eq!(time_of_stamp(s), Ok(t));
        assert_eq!(time_of_stamp(Stamp::MAX), Err(StampOutOfRange(Stamp::MAX)));
    }

    #[test]
    fn header_types_are_stamped() {
        let mut img = Image::default();
        img.header.stamp.sec = 1;
        img.header.frame_id = "camera".into();
        let mut info = CameraInfo::default();
        info.header.stamp.nanosec = 2;
        assert_eq!(img.stamp().as_nanos(), 1_000_000_000);
        assert_eq!(info.stamp().as_nanos(), 2);
        assert_eq!(img.header.stamp(), img.stamp());
        assert_eq!(RosHeader.stamp_of(&img), img.stamp());
        let wrapped = ByHeader(img.clone());
        assert_eq!(Stamped::stamp(&wrapped), img.stamp());
        assert_eq!(Framed::frame_id(&wrapped), "camera");
        assert_eq!(wrapped.into_inner(), img);
        let mut p = r2r::geometry_msgs::msg::PoseStamped::default();
        p.header.stamp.sec = 7;
        assert_eq!(p.stamp().as_nanos(), 7_000_000_000);
        // sensor_msgs alone has ~27 header types, geometry_msgs ~15.
        const { assert!(STAMPED_TYPES > 30) };
    }
}
