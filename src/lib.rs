//! # stamp_sync_tools
//!
//! What the `stamp-sync` command line does, as a library: replay a policy
//! over a bag or a stamp trace and report what it emits and drops, with
//! advice ([`report`], [`advice`]); diagnose live topics ([`diagnose`],
//! `stamp-sync watch`, feature `watch`); time the policies ([`bench`](mod@bench)).
//! The binary (`src/main.rs` and its `src/cli/`) parses and checks flags, calls this
//! library and maps the result to an exit code; its modules are not API.
//!
//! ```no_run
//! use stamp_sync::policy::PolicyConfig;
//! use stamp_sync_bag::{Bag, StampSource};
//!
//! let bag = Bag::open("husky.bag")?;
//! let read = bag.trace(&["/fix", "/imu/data"], StampSource::Header)?;
//! let config = PolicyConfig::approximate(10);
//! let timed = stamp_sync_tools::report::timed_replay(&read.trace, 2, &config)?;
//! let report = stamp_sync_tools::report::report(&bag, &read, &config, &timed);
//! println!("{} sets", report.sets);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
// Library code never unwraps on input; tests may (clippy.toml).
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod advice;
pub mod bench;
pub mod counts;
pub mod diagnose;
pub mod report;
