//! The integration tests of stamp_sync_bag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bag_fuzz;
mod bag_match;
mod bag_payloads;
