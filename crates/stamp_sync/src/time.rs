//! Integer-nanosecond time: [`Stamp`] (a point) and [`Duration`] (a signed span).
//!
//! All synchronization arithmetic is done on `i64` nanoseconds and saturates
//! instead of overflowing, so no input stamp can make a policy panic. The one
//! floating-point step in the whole crate is the ApproximateTime age penalty,
//! done exactly as upstream does it ([`Duration::scale_ros1`]).

use core::fmt;
use core::ops::{Add, Neg, Sub};
use core::str::FromStr;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A point in time: signed nanoseconds since the epoch of its clock.
///
/// `Stamp` is totally ordered and converts losslessly from ROS
/// `builtin_interfaces/Time` (`sec: i32`, `nanosec: u32`).
///
/// ```
/// use stamp_sync::Stamp;
/// let t = Stamp::from_ros(1_700_000_000, 5);
/// assert_eq!(t.as_nanos(), 1_700_000_000_000_000_005);
/// assert_eq!(t.to_ros(), Some((1_700_000_000, 5)));
/// ```
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(i64);

/// A signed span of time in nanoseconds.
///
/// ```
/// use stamp_sync::Duration;
/// assert_eq!("20ms".parse::<Duration>().unwrap(), Duration::from_millis(20));
/// assert_eq!(Duration::from_secs(1).as_nanos(), 1_000_000_000);
/// ```
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(i64);

impl Stamp {
    /// The earliest representable stamp.
    pub const MIN: Stamp = Stamp(i64::MIN);
    /// The latest representable stamp.
    pub const MAX: Stamp = Stamp(i64::MAX);
    /// Time zero of the clock.
    pub const ZERO: Stamp = Stamp(0);

    /// A stamp `ns` nanoseconds after the epoch.
    pub const fn from_nanos(ns: i64) -> Self {
        Stamp(ns)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// From unsigned nanoseconds (a bag's log time), saturating above
    /// `i64::MAX`.
    pub const fn from_nanos_u64(ns: u64) -> Self {
        if ns > i64::MAX as u64 {
            Stamp(i64::MAX)
        } else {
            Stamp(ns as i64)
        }
    }

    /// From a ROS `builtin_interfaces/Time`. Never fails: every `(i32, u32)`
    /// pair fits, including a `nanosec` above one second.
    pub const fn from_ros(sec: i32, nanosec: u32) -> Self {
        Stamp(sec as i64 * NANOS_PER_SEC + nanosec as i64)
    }

    /// To a ROS `builtin_interfaces/Time` `(sec, nanosec)` with
    /// `nanosec < 1e9`, or `None` if the seconds do not fit an `i32`.
    pub const fn to_ros(self) -> Option<(i32, u32)> {
        let sec = self.0.div_euclid(NANOS_PER_SEC);
        let nsec = self.0.rem_euclid(NANOS_PER_SEC);
        if sec < i32::MIN as i64 || sec > i32::MAX as i64 {
            None
        } else {
            Some((sec as i32, nsec as u32))
        }
    }

    /// `self - earlier`, saturating at the `i64` range.
    pub const fn since(self, earlier: Stamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at the `i64` range.
    pub const fn saturating_add(self, d: Duration) -> Stamp {
        Stamp(self.0.saturating_add(d.0))
    }
}

impl Duration {
    /// Zero length.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span ("unlimited").
    pub const MAX: Duration = Duration(i64::MAX);

    /// `ns` nanoseconds.
    pub const fn from_nanos(ns: i64) -> Self {
        Duration(ns)
    }
    /// `us` microseconds (saturating).
    pub const fn from_micros(us: i64) -> Self {
        Duration(us.saturating_mul(1_000))
    }
    /// `ms` milliseconds (saturating).
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms.saturating_mul(1_000_000))
    }
    /// `s` seconds (saturating).
    pub const fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(NANOS_PER_SEC))
    }
    /// Length in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// True for a negative span.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `s` seconds, rounded to the nearest nanosecond: what ROS parameters
    /// and Python hand over. `None` for NaN, infinities and spans beyond
    /// ±9e9 s (about 285 years), which have no `Duration`.
    pub fn from_secs_f64(s: f64) -> Option<Duration> {
        if !s.is_finite() || s.abs() > 9.0e9 {
            return None;
        }
        Some(Duration((s * 1e9).round() as i64))
    }

    /// The length in seconds (for people and ROS parameters; never used to
    /// compute with time).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self * factor` computed the way ROS 1 `ros::Duration::operator*(double)`
    /// does: `fromSec(toSec() * factor)`, with `toSec() = sec + 1e-9 * nsec`
    /// on the normalised `(sec, nsec)` pair and `fromSec` rounding the
    /// fractional nanoseconds half away from zero.
    ///
    /// This is how message_filters applies the ApproximateTime age penalty;
    /// reproducing it bit for bit keeps tie decisions identical to C++.
    /// Results beyond the `i64` range saturate (C++ throws there).
    #[inline]
    pub fn scale_ros1(self, factor: f64) -> Duration {
        let sec = self.0.div_euclid(NANOS_PER_SEC);
        let nsec = self.0.rem_euclid(NANOS_PER_SEC);
        let x = (sec as f64 + 1e-9 * nsec as f64) * factor;
        // Fast path, bit-identical to `scale_ros1_wide`: for |x| < 9e9 s
        // every step is exact in i64 and needs no libm call. `x as i64`
        // truncates, so floor is one less for a negative non-integer;
        // `y` is in [0, 1e9), so `y as i64` is its floor and rounding half
        // away from zero is one compare.
        if x.abs() < 9.0e9 {
            let t = x as i64;
            let whole = if (t as f64) > x { t - 1 } else { t };
            let y = (x - whole as f64) * 1e9;
            let yi = y as i64;
            let frac_ns = yi + i64::from(y - yi as f64 >= 0.5);
            return Duration(whole * NANOS_PER_SEC + frac_ns);
        }
        self.scale_ros1_wide(factor)
    }

    /// The general form of [`scale_ros1`](Self::scale_ros1): f64 floor and
    /// round, i128 and a clamp. Handles every input, including the ones
    /// beyond the fast path (huge spans, infinite or NaN factors).
    fn scale_ros1_wide(self, factor: f64) -> Duration {
        let sec = self.0.div_euclid(NANOS_PER_SEC);
        let nsec = self.0.rem_euclid(NANOS_PER_SEC);
        let x = (sec as f64 + 1e-9 * nsec as f64) * factor;
        let whole = x.floor();
        let frac_ns = ((x - whole) * 1e9).round();
        // `as` saturates for floats, NaN becomes 0: no panic on any input.
        let ns = (whole as i64 as i128) * NANOS_PER_SEC as i128 + frac_ns as i128;
        Duration(ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }
}

impl Add<Duration> for Stamp {
    type Output = Stamp;
    fn add(self, d: Duration) -> Stamp {
        self.saturating_add(d)
    }
}

impl Sub<Duration> for Stamp {
    type Output = Stamp;
    fn sub(self, d: Duration) -> Stamp {
        Stamp(self.0.saturating_sub(d.0))
    }
}

impl Sub for Stamp {
    type Output = Duration;
    fn sub(self, earlier: Stamp) -> Duration {
        self.since(earlier)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, o: Duration) -> Duration {
        Duration(self.0.saturating_add(o.0))
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, o: Duration) -> Duration {
        Duration(self.0.saturating_sub(o.0))
    }
}

impl Neg for Duration {
    type Output = Duration;
    fn neg(self) -> Duration {
        Duration(self.0.saturating_neg())
    }
}

impl From<core::time::Duration> for Duration {
    /// Saturates above `i64::MAX` nanoseconds (292 years).
    fn from(d: core::time::Duration) -> Self {
        Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stamp({self})")
    }
}

impl fmt::Display for Stamp {
    /// `seconds.nanoseconds`, e.g. `1700000000.000000005`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sec = self.0.div_euclid(NANOS_PER_SEC);
        let nsec = self.0.rem_euclid(NANOS_PER_SEC);
        write!(f, "{sec}.{nsec:09}")
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({self})")
    }
}

impl fmt::Display for Duration {
    /// The largest whole unit that represents the value exactly, e.g. `20ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n % NANOS_PER_SEC == 0 {
            write!(f, "{}s", n / NANOS_PER_SEC)
        } else if n != 0 && n % 1_000_000 == 0 {
            write!(f, "{}ms", n / 1_000_000)
        } else if n != 0 && n % 1_000 == 0 {
            write!(f, "{}us", n / 1_000)
        } else {
            write!(f, "{n}ns")
        }
    }
}

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseDurationError {
    /// Not an integer with a unit.
    #[error(
        "invalid duration {input:?}: expected an integer with a unit (ns, us, ms or s), e.g. 20ms"
    )]
    Format {
        /// The text given.
        input: String,
    },
    /// An integer with a unit, but more nanoseconds than an `i64` holds
    /// (about 292 years).
    #[error("duration {input:?} is too long: at most about 292 years (9223372036854775807ns) fit")]
    Overflow {
        /// The text given.
        input: String,
    },
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    /// Parses `<integer><unit>` with unit `ns`, `us`, `ms` or `s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDurationError::Format {
            input: s.to_string(),
        };
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '+'))
            .ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let mul = match unit {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            _ => return Err(err()),
        };
        let overflow = || ParseDurationError::Overflow {
            input: s.to_string(),
        };
        let v: i64 = num
            .parse()
            .map_err(|e: std::num::ParseIntError| match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    overflow()
                }
                _ => err(),
            })?;
        v.checked_mul(mul).map(Duration).ok_or_else(overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ros_round_trip_and_extremes() {
        for (s, n) in [
            (0, 0),
            (-1, 999_999_999),
            (i32::MAX, 999_999_999),
            (i32::MIN, 0),
        ] {
            assert_eq!(Stamp::from_ros(s, n).to_ros(), Some((s, n)));
        }
        assert_eq!(
            Stamp::from_ros(1, 1_500_000_000).to_ros(),
            Some((2, 500_000_000))
        );
        assert_eq!(Stamp::MAX.to_ros(), None);
        assert_eq!(Stamp::MIN.to_ros(), None);
    }

    #[test]
    fn unsigned_nanos_saturate() {
        assert_eq!(Stamp::from_nanos_u64(7).as_nanos(), 7);
        assert_eq!(Stamp::from_nanos_u64(i64::MAX as u64), Stamp::MAX);
        assert_eq!(Stamp::from_nanos_u64(i64::MAX as u64 + 1), Stamp::MAX);
        assert_eq!(Stamp::from_nanos_u64(u64::MAX), Stamp::MAX);
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Stamp::MAX - Stamp::MIN, Duration::MAX);
        assert_eq!(Stamp::MAX + Duration::from_secs(1), Stamp::MAX);
        assert_eq!(Stamp::MIN - Duration::from_secs(1), Stamp::MIN);
    }

    #[test]
    fn parse_durations() {
        assert_eq!(
            "40000000ns".parse::<Duration>(),
            Ok(Duration::from_millis(40))
        );
        assert_eq!("7us".parse::<Duration>(), Ok(Duration::from_nanos(7000)));
        assert_eq!("2s".parse::<Duration>(), Ok(Duration::from_secs(2)));
        for bad in ["", "20", "ms", "1.5s", "20 ms", "9999999999999s", "3h"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
        assert_eq!(Duration::from_millis(20).to_string(), "20ms");
        assert_eq!(Stamp::from_nanos(-1).to_string(), "-1.999999999");
    }

    #[test]
    fn scale_matches_ros1_rounding() {
        // 1.1 * 3 ns = 3.3 ns -> 3 ns; 1.1 * 5 ns = 5.5 -> 6 (half away from zero,
        // computed through seconds in double precision as ROS 1 does).
        let s = |ns: i64, f: f64| Duration::from_nanos(ns).scale_ros1(f).as_nanos();
        assert_eq!(s(0, 1.1), 0);
        assert_eq!(s(1_000_000_000, 1.1), 1_100_000_000);
        assert_eq!(s(-1_000_000_000, 1.1), -1_100_000_000);
        assert_eq!(s(3, 1.1), 3);
        assert_eq!(s(i64::MAX, 1.1), i64::MAX);
        assert_eq!(s(i64::MIN, 1.1), i64::MIN);
        assert_eq!(s(5, f64::NAN), 0);
    }

    #[test]
    fn scale_fast_path_matches_wide() {
        // A deterministic sweep (xorshift) over spans around the fast-path
        // edges, rounding ties and ordinary values, with several factors.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let factors = [1.0, 1.1, 1.5, 2.0, 0.0, 1e-9, 3.7, 1.000_000_1, 10.0, 1e9];
        let edges = [
            0,
            1,
            5,
            -5,
            499_999_999,
            500_000_000,
            999_999_999,
            -999_999_999,
            8_999_999_999_999_999_999,
            -8_999_999_999_999_999_999,
            8_181_818_181_818_181_818,
            i64::MAX,
            i64::MIN,
        ];
        for &f in &factors {
            for &d in &edges {
                let d = Duration::from_nanos(d);
                assert_eq!(d.scale_ros1(f), d.scale_ros1_wide(f), "{d:?} * {f}");
            }
            for i in 0..200_000u32 {
                let r = next();
                // Mix of magnitudes: ns, ms, s, and the whole range.
                let ns = match i % 4 {
                    0 => (r % 2_000_000_001) as i64 - 1_000_000_000,
                    1 => (r % 200_000_000_000) as i64 - 100_000_000_000,
                    2 => ((r % 20_000_000) as i64 - 10_000_000) * 1_000,
                    _ => r as i64,
                };
                let d = Duration::from_nanos(ns);
                assert_eq!(d.scale_ros1(f), d.scale_ros1_wide(f), "{d:?} * {f}");
            }
        }
    }
}
