#![no_main]
//! ApproximateTime, 2..=9 channels, queue 1..=16, age penalty, max
//! interval, lower bounds, random options.
use libfuzzer_sys::fuzz_target;
use stamp_sync::policy::PolicyKind;
use stamp_sync_fuzz::{Input, run_kind};

fuzz_target!(|input: Input| run_kind(&input, PolicyKind::Approximate, input.n(2, 9)));
