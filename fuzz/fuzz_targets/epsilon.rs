#![no_main]
//! ApproximateEpsilonTime, 2..=9 channels, queue 1..=16, epsilon 0..65535 ns,
//! random options.
use libfuzzer_sys::fuzz_target;
use stamp_sync::policy::PolicyKind;
use stamp_sync_fuzz::{Input, run_kind};

fuzz_target!(|input: Input| run_kind(&input, PolicyKind::Epsilon, input.n(2, 9)));
