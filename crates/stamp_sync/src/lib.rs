//! # stamp_sync
//!
//! Synchronize ROS messages by their header stamps: `message_filters` for
//! Rust, with the same answers as C++ message_filters.
//!
//! * [`ApproximateTime`] and [`ExactTime`] emit exactly the sets C++
//!   message_filters emits (checked against it by a differential test).
//! * Policies are pure state machines ([`policy`]): no I/O, no locks, no
//!   clock, no allocation per message. Drivers ([`Synchronizer`],
//!   [`SharedSynchronizer`], [`DynSynchronizer`]) call your code only after
//!   the policy step is done.
//! * Every drop is reported with its channel and [`DropReason`].
//!
//! ```
//! use stamp_sync::{ApproximateTime, Stamp, Synchronizer};
//!
//! #[derive(Debug)]
//! struct Image { stamp: Stamp, pixels: Vec<u8> }
//! #[derive(Debug)]
//! struct Scan { stamp: Stamp, ranges: Vec<f32> }
//! impl stamp_sync::Stamped for Image { fn stamp(&self) -> Stamp { self.stamp } }
//! impl stamp_sync::Stamped for Scan { fn stamp(&self) -> Stamp { self.stamp } }
//!
//! let policy = ApproximateTime::new(10).unwrap();
//! let mut sync = Synchronizer::<(Image, Scan), _>::builder(policy)
//!     .on_set(|(img, scan)| println!("pair {} / {}", img.stamp, scan.stamp))
//!     .build()
//!     .unwrap();
//! let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
//! sync.add::<0>(Image { stamp: ms(0), pixels: vec![] });
//! sync.add::<1>(Scan { stamp: ms(1), ranges: vec![] });
//! sync.add::<0>(Image { stamp: ms(33), pixels: vec![] });
//! sync.add::<1>(Scan { stamp: ms(34), ranges: vec![] }); // proves (0, 1) optimal
//! assert_eq!(sync.stats().sets, 1);
//! ```
//!
//! ## The workspace
//! This crate is the core: time, stamps, policies, drivers, filters and
//! stamp traces, with no ROS, no I/O and no C toolchain. Around it:
//!
//! | crate | what it adds |
//! |---|---|
//! | `stamp_sync_tf` | tf2's transform buffer and the tf-aware filter |
//! | `stamp_sync_wire` | header stamps read from serialized CDR / ROS 1 bytes |
//! | `stamp_sync_bag` | bag readers: MCAP, rosbag2 sqlite3, ROS 1 `.bag` |
//! | `stamp_sync_r2r` | r2r subscriptions, raw transport, parameters, diagnostics |
//! | `stamp_sync_tools` | the `stamp-sync` command line: replay, report, diagnosis, bench |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
// Library code never unwraps on input; tests may (clippy.toml).
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod driver;
pub mod filters;
pub mod policy;
pub mod stamped;
pub mod time;
pub mod trace;

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The examples of the repository's `docs/filters.md` (not packaged; only
/// `cargo test --doc` in the repository reads it).
#[cfg(doctest)]
#[doc = include_str!("../../../docs/filters.md")]
pub struct FiltersGuide;

/// The examples of the repository's `docs/keep-going.md` (drop-out and
/// deadline; not packaged).
#[cfg(doctest)]
#[doc = include_str!("../../../docs/keep-going.md")]
pub struct KeepGoingGuide;

/// The examples of the repository's `docs/followers.md` (not packaged).
#[cfg(doctest)]
#[doc = include_str!("../../../docs/followers.md")]
pub struct FollowersGuide;

// The names a user starts from; everything else is under its module
// (`driver`, `policy`, `filters`, `trace`). Only names, no code.
pub use driver::stream;
pub use driver::{
    Builder, Diagnostics, DropOutClock, DynSynchronizer, Event, Options, SharedSynchronizer, Stats,
    Synchronizer,
};
pub use policy::{
    ApproximateEpsilonTime, ApproximateTime, ConfigError, DropReason, Dropped, ExactTime, Latched,
    LatestTime, Policy, SlopTime,
};
pub use stamped::{HeaderStamp, StampOf, Stamped};
pub use time::{Duration, Stamp};
