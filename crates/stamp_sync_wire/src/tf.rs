//! `tf2_msgs/TFMessage` decoded from its serialized bytes (ROS 2 CDR or
//! ROS 1), and `header.frame_id` of any message that starts with a
//! `std_msgs/Header`.
//!
//! The layout is fixed by the message definition, so no schema is needed:
//! ```text
//! geometry_msgs/TransformStamped[] transforms
//!   std_msgs/Header header        (ROS 1: uint32 seq first)
//!     builtin_interfaces/Time stamp   int32 sec, uint32 nanosec
//!     string frame_id
//!   string child_frame_id
//!   geometry_msgs/Transform transform   7 x float64 (x y z, qx qy qz qw)
//! ```
//! CDR (XCDR1, little or big endian) aligns each primitive to its size
//! from the end of the 4-byte encapsulation header and ends strings with a
//! NUL counted in their length; ROS 1 is little endian, packed, strings
//! without NUL. XCDR2 (whose sequences of structs carry a length header and
//! whose doubles align to 4) is refused rather than misread.
//!
//! Pure and panic-free: every length is checked against the bytes left
//! before anything is allocated.

use stamp_sync::time::Stamp;
use stamp_sync_tf::{Quaternion, TfInput, Transform, Vector3};

/// Why a serialized message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the field at `offset` does.
    #[error("message is {len} bytes, too short for {what} at byte {offset}")]
    TooShort {
        /// Bytes in the message.
        len: usize,
        /// Where the field starts.
        offset: usize,
        /// The field.
        what: &'static str,
    },
    /// A CDR encapsulation this decoder does not handle.
    #[error(
        "unsupported CDR encapsulation {0:#06x} (only plain XCDR1 CDR, little or big endian, is decoded)"
    )]
    Encapsulation(u16),
    /// A sequence length larger than the bytes left could hold.
    #[error("{what}: {count} elements announced at byte {offset}, but only {left} bytes follow")]
    Count {
        /// The sequence.
        what: &'static str,
        /// The announced length.
        count: u32,
        /// Where it was read.
        offset: usize,
        /// Bytes after it.
        left: usize,
    },
    /// A string that is not UTF-8 or, in CDR, lacks its terminating NUL.
    #[error("{what} at byte {offset} is not a valid string")]
    BadString {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: usize,
    },
}

/// A byte order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

/// A cursor over serialized bytes; `origin` is where CDR alignment counts
/// from (4 for CDR: after the encapsulation header), `align` whether
/// primitives are aligned at all (CDR yes, ROS 1 no).
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    origin: usize,
    align: bool,
    order: Order,
    nul_strings: bool,
}

impl<'a> Reader<'a> {
    fn cdr(data: &'a [u8]) -> Result<Reader<'a>, DecodeError> {
        let Some(head) = data.first_chunk::<4>() else {
            return Err(DecodeError::TooShort {
                len: data.len(),
                offset: 0,
                what: "the CDR encapsulation header",
            });
        };
        let order = match u16::from_be_bytes([head[0], head[1]]) {
            0x0000 => Order::Big,
            0x0001 => Order::Little,
            other => return Err(DecodeError::Encapsulation(other)),
        };
        Ok(Reader {
            data,
            pos: 4,
            origin: 4,
            align: true,
            order,
            nul_strings: true,
        })
    }

    fn ros1(data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            origin: 0,
            align: false,
            order: Order::Little,
            nul_strings: false,
        }
    }

    fn left(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn take<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        if self.align {
            let rel = self.pos - self.origin;
            self.pos += (N - rel % N) % N;
        }
        let start = self.pos;
        let bytes = self
            .data
            .get(start..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or(DecodeError::TooShort {
                len: self.data.len(),
                offset: start,
                what,
            })?;
        self.pos += N;
        Ok(*bytes)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take::<4>(what)?;
        Ok(match self.order {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        })
    }

    fn f64(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        let b = self.take::<8>(what)?;
        Ok(match self.order {
            Order::Little => f64::from_le_bytes(b),
            Order::Big => f64::from_be_bytes(b),
        })
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = self.u32(what)? as usize;
        let start = self.pos;
        let bytes = self
            .data
            .get(start..start.saturating_add(len))
            .filter(|b| b.len() == len)
            .ok_or(DecodeError::TooShort {
                len: self.data.len(),
                offset: start,
                what,
            })?;
        self.pos += len;
        let text = if self.nul_strings {
            // CDR: the length counts a terminating NUL (0 only if empty
            // strings are written without one, as some writers do).
            match bytes.split_last() {
                Some((0, text)) => text,
                None => bytes,
                Some(_) => {
                    return Err(DecodeError::BadString {
                        what,
                        offset: start,
                    });
                }
            }
        } else {
            bytes
        };
        String::from_utf8(text.to_vec()).map_err(|_| DecodeError::BadString {
            what,
            offset: start,
        })
    }

    /// A stamp: CDR `int32 sec, uint32 nanosec`; ROS 1 `uint32 sec, nsec`.
    fn stamp(&mut self) -> Result<Stamp, DecodeError> {
        let sec = self.u32("header.stamp.sec")?;
        let nsec = self.u32("header.stamp.nanosec")?;
        Ok(if self.nul_strings {
            Stamp::from_ros(sec as i32, nsec)
        } else {
            Stamp::from_nanos(i64::from(sec) * 1_000_000_000 + i64::from(nsec))
        })
    }

    fn transforms(&mut self, is_static: bool) -> Result<Vec<TfInput>, DecodeError> {
        let offset = self.pos;
        let count = self.u32("transforms")?;
        // The smallest element: a header, two empty strings, 7 doubles.
        let min_size = if self.nul_strings { 20 + 56 } else { 24 + 56 };
        if (count as usize).saturating_mul(min_size) > self.left() {
            return Err(DecodeError::Count {
                what: "transforms",
                count,
                offset,
                left: self.left(),
            });
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            if !self.nul_strings {
                self.u32("header.seq")?;
            }
            let stamp = self.stamp()?;
            let parent = self.string("header.frame_id")?;
            let child = self.string("child_frame_id")?;
            let mut v = [0.0f64; 7];
            for slot in &mut v {
                *slot = self.f64("transform")?;
            }
            out.push(TfInput {
                is_static,
                stamp,
                parent,
                child,
                transform: Transform::new(
                    Vector3::new(v[0], v[1], v[2]),
                    Quaternion::new(v[3], v[4], v[5], v[6]),
                ),
            });
        }
        Ok(out)
    }
}

/// The transforms of a CDR-serialized `tf2_msgs/msg/TFMessage`, marked
/// static (from `/tf_static`) or not.
///
/// ```
/// use stamp_sync_wire::tf::cdr_tf_message;
/// // Little-endian CDR: one transform "map" -> "base" at 7 s.
/// let mut b = vec![0, 1, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
/// b.extend([4, 0, 0, 0]); b.extend(b"map\0");
/// b.extend([5, 0, 0, 0]); b.extend(b"base\0");
/// b.extend([0, 0, 0]); // align the doubles to 8 (counted from byte 4)
/// for v in [1.5f64, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0] { b.extend(v.to_le_bytes()); }
/// let t = cdr_tf_message(&b, false).unwrap();
/// assert_eq!((t[0].parent.as_str(), t[0].child.as_str()), ("map", "base"));
/// assert_eq!((t[0].stamp.as_nanos(), t[0].transform.translation.x), (7_000_000_000, 1.5));
/// ```
pub fn cdr_tf_message(data: &[u8], is_static: bool) -> Result<Vec<TfInput>, DecodeError> {
    Reader::cdr(data)?.transforms(is_static)
}

/// The transforms of a ROS 1-serialized `tf2_msgs/TFMessage` (or
/// `tf/tfMessage`, which has the same layout).
pub fn ros1_tf_message(data: &[u8], is_static: bool) -> Result<Vec<TfInput>, DecodeError> {
    Reader::ros1(data).transforms(is_static)
}

/// `header.frame_id` of a CDR-serialized message whose first field is a
/// `std_msgs/msg/Header`.
///
/// ```
/// use stamp_sync_wire::tf::cdr_header_frame_id;
/// let msg = [0, 1, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, b'c', b'a', b'm', 0];
/// assert_eq!(cdr_header_frame_id(&msg).unwrap(), "cam");
/// ```
pub fn cdr_header_frame_id(data: &[u8]) -> Result<String, DecodeError> {
    let mut r = Reader::cdr(data)?;
    r.stamp()?;
    r.string("header.frame_id")
}

/// `header.frame_id` of a ROS 1-serialized message whose first field is a
/// `Header`.
pub fn ros1_header_frame_id(data: &[u8]) -> Result<String, DecodeError> {
    let mut r = Reader::ros1(data);
    r.u32("header.seq")?;
    r.stamp()?;
    r.string("header.frame_id")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent writer: every field placed by hand.
    struct Cdr {
        out: Vec<u8>,
        big: bool,
    }

    impl Cdr {
        fn new(big: bool) -> Cdr {
            Cdr {
                out: vec![0, u8::from(!big), 0, 0],
                big,
            }
        }
        fn pad(&mut self, n: usize) {
            while (self.out.len() - 4) % n != 0 {
                self.out.push(0);
            }
        }
        fn u32(&mut self, v: u32) {
            self.pad(4);
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.out.extend(b);
        }
        fn f64(&mut self, v: f64) {
            self.pad(8);
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.out.extend(b);
        }
        fn string(&mut self, s: &str) {
            self.u32(u32::try_from(s.len() + 1).unwrap());
            self.out.extend(s.as_bytes());
            self.out.push(0);
        }
    }

    type Cdr1<'a> = (i32, u32, &'a str, &'a str, [f64; 7]);
    type Ros1<'a> = (u32, u32, &'a str, &'a str, [f64; 7]);

    fn cdr_message(big: bool, items: &[Cdr1<'_>]) -> Vec<u8> {
        let mut w = Cdr::new(big);
        w.u32(u32::try_from(items.len()).unwrap());
        for (sec, nsec, parent, child, v) in items {
            w.u32(*sec as u32);
            w.u32(*nsec);
            w.string(parent);
            w.string(child);
            for x in v {
                w.f64(*x);
            }
        }
        w.out
    }

    fn ros1_message(items: &[Ros1<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(u32::try_from(items.len()).unwrap().to_le_bytes());
        for (k, (sec, nsec, parent, child, v)) in items.iter().enumerate() {
            out.extend(u32::try_from(k).unwrap().to_le_bytes());
            out.extend(sec.to_le_bytes());
            out.extend(nsec.to_le_bytes());
            for s in [parent, child] {
                out.extend(u32::try_from(s.len()).unwrap().to_le_bytes());
                out.extend(s.as_bytes());
            }
            for x in v {
                out.extend(x.to_le_bytes());
            }
        }
        out
    }

    const Q: [f64; 7] = [1.0, -2.5, 3.25, 0.0, 0.0, 0.6, 0.8];

    fn check(t: &TfInput, ns: i64, parent: &str, child: &str, v: [f64; 7], is_static: bool) {
        assert_eq!(t.stamp.as_nanos(), ns);
        assert_eq!((t.parent.as_str(), t.child.as_str()), (parent, child));
        assert_eq!(t.is_static, is_static);
        let (p, q) = (t.transform.translation, t.transform.rotation);
        assert_eq!(
            [p.x, p.y, p.z, q.x, q.y, q.z, q.w].map(f64::to_bits),
            v.map(f64::to_bits)
        );
    }

    #[test]
    fn cdr_both_byte_orders_and_every_string_length() {
        for big in [false, true] {
            // String lengths 0..=8 move the doubles through every alignment.
            let names: Vec<String> = (0..9).map(|n| "f".repeat(n)).collect();
            let items: Vec<_> = names
                .iter()
                .enumerate()
                .map(|(k, n)| {
                    let mut v = Q;
                    v[0] = k as f64;
                    (-(k as i32), 7 * k as u32, "odom", n.as_str(), v)
                })
                .collect();
            let got = cdr_tf_message(&cdr_message(big, &items), true).unwrap();
            assert_eq!(got.len(), items.len());
            for (t, (sec, nsec, p, c, v)) in got.iter().zip(&items) {
                check(t, Stamp::from_ros(*sec, *nsec).as_nanos(), p, c, *v, true);
            }
        }
    }

    #[test]
    fn ros1_layout() {
        let items = [
            (u32::MAX, 3, "map", "odom", Q),
            (5, 999_999_999, "", "x", [0.0; 7]),
        ];
        let got = ros1_tf_message(&ros1_message(&items), false).unwrap();
        check(
            &got[0],
            i64::from(u32::MAX) * 1_000_000_000 + 3,
            "map",
            "odom",
            Q,
            false,
        );
        check(&got[1], 5_999_999_999, "", "x", [0.0; 7], false);
    }

    #[test]
    fn empty_message_and_every_truncation_is_an_error_not_a_panic() {
        assert_eq!(cdr_tf_message(&cdr_message(false, &[]), false), Ok(vec![]));
        let full = cdr_message(false, &[(1, 2, "map", "base", Q)]);
        for n in 0..full.len() {
            assert!(cdr_tf_message(&full[..n], false).is_err(), "prefix {n}");
        }
        let full = ros1_message(&[(1, 2, "map", "base", Q)]);
        for n in 0..full.len() {
            assert!(ros1_tf_message(&full[..n], false).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn huge_counts_and_bad_encapsulations_are_refused() {
        let mut b = vec![0, 1, 0, 0];
        b.extend(u32::MAX.to_le_bytes());
        b.extend([0u8; 100]);
        assert!(matches!(
            cdr_tf_message(&b, false),
            Err(DecodeError::Count {
                count: u32::MAX,
                offset: 4,
                ..
            })
        ));
        let mut x = cdr_message(false, &[]);
        x[1] = 7; // XCDR2
        assert_eq!(
            cdr_tf_message(&x, false),
            Err(DecodeError::Encapsulation(7))
        );
    }

    #[test]
    fn strings_need_their_nul_and_utf8() {
        let mut b = cdr_message(false, &[(1, 2, "map", "base", Q)]);
        // "map\0" starts at 20, after its length; replace the NUL.
        assert_eq!(&b[20..24], b"map\0");
        b[23] = b'x';
        assert!(matches!(
            cdr_tf_message(&b, false),
            Err(DecodeError::BadString {
                what: "header.frame_id",
                offset: 20
            })
        ));
        let mut r = ros1_message(&[(1, 2, "map", "base", Q)]);
        r[20] = 0xff; // inside "map"
        assert!(matches!(
            ros1_tf_message(&r, false),
            Err(DecodeError::BadString { .. })
        ));
    }

    #[test]
    fn header_frame_ids() {
        let mut w = Cdr::new(true);
        w.u32(3);
        w.u32(4);
        w.string("camera_optical");
        w.f64(1.0);
        assert_eq!(cdr_header_frame_id(&w.out).unwrap(), "camera_optical");
        let mut r = Vec::new();
        for v in [9u32, 1, 2, 5] {
            r.extend(v.to_le_bytes());
        }
        r.extend(b"laser");
        assert_eq!(ros1_header_frame_id(&r).unwrap(), "laser");
        assert!(ros1_header_frame_id(&r[..r.len() - 1]).is_err());
        // An empty CDR string written as a bare zero length.
        let mut e = Cdr::new(false);
        e.u32(1);
        e.u32(2);
        e.u32(0);
        assert_eq!(cdr_header_frame_id(&e.out).unwrap(), "");
    }
}
