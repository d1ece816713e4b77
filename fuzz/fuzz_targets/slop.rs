#![no_main]
//! SlopTime (Python's ApproximateTimeSynchronizer), 2..=9 channels, queue
//! 1..=16, slop 0..65535 ns, random options.
use libfuzzer_sys::fuzz_target;
use stamp_sync::policy::PolicyKind;
use stamp_sync_fuzz::{Input, run_kind};

fuzz_target!(|input: Input| run_kind(&input, PolicyKind::Slop, input.n(2, 9)));
