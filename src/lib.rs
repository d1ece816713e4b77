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
//! let mut sync = Synchronizer::<(Image, Scan), _>::new(policy)
//!     .unwrap()
//!     .on_set(|(img, scan)| println!("pair {} / {}", img.stamp, scan.stamp));
//! let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
//! sync.add_0(Image { stamp: ms(0), pixels: vec![] });
//! sync.add_1(Scan { stamp: ms(1), ranges: vec![] });
//! sync.add_0(Image { stamp: ms(33), pixels: vec![] });
//! sync.add_1(Scan { stamp: ms(34), ranges: vec![] }); // proves (0, 1) optimal
//! assert_eq!(sync.stats().sets, 1);
//! ```
//!
//! ## Cargo features
//! | feature | what it adds |
//! |---|---|
//! | *(none)* | the policies and synchronizers; no ROS, no C toolchain |
//! | `bag` | bag readers: MCAP, rosbag2 sqlite3, ROS 1 `.bag` |
//! | `cli` | the `stamp-sync` binary (turns on `bag`) |
//! | `r2r` | r2r subscription helpers (needs a ROS 2 environment) |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
// Library code never unwraps on input; tests may (clippy.toml).
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod advice;
#[cfg(feature = "bag")]
#[cfg_attr(docsrs, doc(cfg(feature = "bag")))]
pub mod bag;
pub mod bench;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
pub mod diagnose;
pub mod driver;
pub mod filters;
pub mod policy;
#[cfg(feature = "r2r")]
#[cfg_attr(docsrs, doc(cfg(feature = "r2r")))]
pub mod r2r;
#[cfg(feature = "bag")]
#[cfg_attr(docsrs, doc(cfg(feature = "bag")))]
pub mod report;
pub mod stamped;
pub mod tf;
pub mod time;
pub mod trace;
pub mod wire;

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

// The top floor: only names, no code. Older paths stay valid.
pub use driver::{
    AnyMsg, Channel, ChannelDiagnostics, ChannelStats, Diagnostics, DynSynchronizer, Event,
    Messages, Options, Partial, SharedSynchronizer, Stale, Stats, Synchronizer,
};
pub use driver::{StampAt, StampGetters};
pub use driver::{dynamic, stats, stream};
pub use policy::{
    ApproximateEpsilonTime, ApproximateTime, Arrival, CloneStore, ConfigError, DropReason, Dropped,
    ExactTime, LatestTime, Outcome, Output, Policy, RateConfig, SearchState, SlopTime, Store,
};
pub use policy::{LatchView, Latched, Pick};
pub use stamped::Stamped;
pub use stamped::{HeaderStamp, StampOf};
pub use time::{Duration, Stamp};
