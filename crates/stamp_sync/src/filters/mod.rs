//! The message_filters filters besides synchronization: [`Cache`],
//! [`TimeSequencer`] and [`InputAligner`].
//!
//! Like the policies they are pure state machines: no clock, no I/O, no
//! lock, bounded memory. Time comes in as [`Stamp`](crate::Stamp)s (a
//! sequencer is told `now`), and every message a filter gives up on comes
//! back as a [`Dropped`](crate::Dropped) with its
//! [`DropReason`], counted in [`Counts`]. A
//! `message_filters` chain is plain code: call the next filter with what
//! one returns (examples in `docs/filters.md`).

pub mod aligned;
pub mod aligner;
pub mod cache;
pub mod sequencer;

pub use aligned::AlignedStream;
pub use aligner::{InputAligner, InputAlignerBuilder, InputStatus};
pub use cache::Cache;
pub use sequencer::TimeSequencer;

use crate::policy::DropReason;

/// What a filter did with the messages it was given.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages added.
    pub received: u64,
    /// Messages handed out.
    pub released: u64,
    /// Messages dropped, indexed by [`DropReason::index`].
    pub dropped: [u64; DropReason::ALL.len()],
}

impl Counts {
    /// Messages dropped for `reason`.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }
    /// Messages dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.dropped[reason.index()] += 1;
    }
}
