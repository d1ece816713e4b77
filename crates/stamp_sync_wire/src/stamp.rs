//! Reading `header.stamp` out of serialized messages without deserializing
//! them.
//!
//! Both functions look only at the first bytes of a message and never panic:
//! a buffer that is too short or has an unknown encapsulation is an
//! [`StampError`].

use stamp_sync::time::Stamp;

/// Why a stamp could not be read from a serialized message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StampError {
    /// The message is shorter than the bytes the stamp needs.
    #[error("message is {len} bytes, too short to hold a header stamp ({need} bytes needed)")]
    TooShort {
        /// Bytes in the message.
        len: usize,
        /// Bytes needed to read the stamp.
        need: usize,
    },
    /// A CDR encapsulation kind this reader does not handle (parameter
    /// lists, delimited XCDR2, or an unknown kind).
    #[error("unsupported CDR encapsulation {0:#06x} (only plain CDR/XCDR2, little or big endian)")]
    Encapsulation(u16),
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The header stamp of a CDR-serialized ROS 2 message whose first field is
/// `std_msgs/msg/Header`.
///
/// The message starts with a 4-byte encapsulation header: two bytes of
/// representation identifier (big endian) and two option bytes. Plain CDR
/// (`0x0000` BE, `0x0001` LE) and plain XCDR2 (`0x0006` BE, `0x0007` LE)
/// are supported; the stamp (`int32 sec`, `uint32 nanosec`) then follows
/// immediately in that byte order. Parameter-list (`PL_CDR*`) and delimited
/// (`D_CDR2*`) encodings are reported as [`StampError::Encapsulation`].
///
/// ```
/// use stamp_sync_wire::stamp::cdr_header_stamp;
/// let msg = [0, 1, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 0xAA];
/// assert_eq!(cdr_header_stamp(&msg).unwrap().as_nanos(), 7_000_000_005);
/// ```
pub fn cdr_header_stamp(data: &[u8]) -> Result<Stamp, StampError> {
    let Some(head) = data.first_chunk::<12>() else {
        return Err(StampError::TooShort {
            len: data.len(),
            need: 12,
        });
    };
    let kind = u16::from_be_bytes([head[0], head[1]]);
    let sec_bytes = [head[4], head[5], head[6], head[7]];
    let nsec_bytes = [head[8], head[9], head[10], head[11]];
    let (sec, nsec) = match kind {
        // CDR_BE, CDR2_BE
        0x0000 | 0x0006 => (
            i32::from_be_bytes(sec_bytes),
            u32::from_be_bytes(nsec_bytes),
        ),
        // CDR_LE, CDR2_LE
        0x0001 | 0x0007 => (
            i32::from_le_bytes(sec_bytes),
            u32::from_le_bytes(nsec_bytes),
        ),
        other => return Err(StampError::Encapsulation(other)),
    };
    Ok(Stamp::from_ros(sec, nsec))
}

/// The header stamp of a ROS 1-serialized message whose first field is
/// `Header`: after `uint32 seq` come `uint32 sec` and `uint32 nsec`, little
/// endian.
///
/// ```
/// use stamp_sync_wire::stamp::ros1_header_stamp;
/// let msg = [9, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0];
/// assert_eq!(ros1_header_stamp(&msg).unwrap().as_nanos(), 2_000_000_003);
/// ```
pub fn ros1_header_stamp(data: &[u8]) -> Result<Stamp, StampError> {
    let Some(head) = data.first_chunk::<12>() else {
        return Err(StampError::TooShort {
            len: data.len(),
            need: 12,
        });
    };
    let sec = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let nsec = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    Ok(Stamp::from_nanos(
        i64::from(sec) * NANOS_PER_SEC + i64::from(nsec),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdr_big_endian() {
        let msg = [0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 5];
        assert_eq!(cdr_header_stamp(&msg), Ok(Stamp::from_ros(7, 5)));
    }

    #[test]
    fn cdr_negative_seconds() {
        let msg = [0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(cdr_header_stamp(&msg), Ok(Stamp::from_ros(-1, 0)));
    }

    #[test]
    fn cdr_rejects_parameter_lists_and_short_buffers() {
        let msg = [0, 3, 0, 0, 0, 0, 0, 7, 0, 0, 0, 5];
        assert_eq!(cdr_header_stamp(&msg), Err(StampError::Encapsulation(3)));
        assert_eq!(
            cdr_header_stamp(&msg[..11]),
            Err(StampError::TooShort { len: 11, need: 12 })
        );
    }

    #[test]
    fn ros1_unsigned_seconds() {
        let msg = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0];
        assert_eq!(
            ros1_header_stamp(&msg).map(Stamp::as_nanos),
            Ok(i64::from(u32::MAX) * NANOS_PER_SEC + 1)
        );
        assert!(ros1_header_stamp(&msg[..4]).is_err());
    }
}
