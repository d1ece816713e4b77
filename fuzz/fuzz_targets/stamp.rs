#![no_main]
//! Header stamp extraction (CDR and ROS 1) on arbitrary bytes: never
//! panics; errors only for buffers too short to hold a header stamp.
use libfuzzer_sys::fuzz_target;
use stamp_sync_wire::stamp::{cdr_header_stamp, ros1_header_stamp};

fuzz_target!(|data: &[u8]| {
    let a = cdr_header_stamp(data);
    let b = ros1_header_stamp(data);
    if data.len() < 12 {
        assert!(a.is_err() && b.is_err());
    } else {
        assert!(b.is_ok());
    }
});
