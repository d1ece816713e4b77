//! The integration tests of the `stamp-sync` command line and its library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bag_cli;
mod cli_slop;
mod cli_trace;
mod no_panics_in_src;
mod readme;
mod reference_traces;
mod tf_bag;
mod tf_cli;
