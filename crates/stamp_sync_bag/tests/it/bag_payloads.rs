//! `Bag::read_payloads` hands out every message's full bytes, in the same
//! order and with the same stamps as `Bag::read`, in every storage format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::data as common;

use common::*;
use stamp_sync_bag::Bag;
use stamp_sync_wire::stamp::{cdr_header_stamp, ros1_header_stamp};

#[test]
fn payloads_match_the_stamp_scan() {
    for (bag, topics) in [
        (SICK_DB3, &SCAN_CLOUD[..]),
        (HUSKY_MCAP, &HUSKY_TOPICS[..]),
        (HUSKY_ROS1, &HUSKY_TOPICS[..]),
        (SICK_ROS1_LZ4, &SCAN_CLOUD[..]),
    ] {
        let b = Bag::open(data(bag)).unwrap();
        let ids: Vec<usize> = topics.iter().map(|t| b.topic_index(t).unwrap()).collect();
        let scanned = b.read(&ids, &mut |_| {}).unwrap();
        let payloads = b.read_payloads(&ids).unwrap();
        assert_eq!(payloads.len(), scanned.len(), "{bag}");
        assert!(!payloads.is_empty(), "{bag}");
        let ros1 = b.format() == stamp_sync_bag::Format::Ros1;
        for (p, m) in payloads.iter().zip(&scanned) {
            assert_eq!(&p.message, m, "{bag}");
            assert_eq!(p.data.len(), m.len, "{bag}: full payload");
            let stamp = if ros1 {
                ros1_header_stamp(&p.data)
            } else {
                cdr_header_stamp(&p.data)
            };
            assert_eq!(Some(stamp.unwrap()), m.header_stamp, "{bag}");
        }
    }
}
