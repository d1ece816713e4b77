#![no_main]
//! The dynamic synchronizer with 10..=64 channels (beyond the tuple
//! limit), any registered policy, chosen by the input.
use libfuzzer_sys::fuzz_target;
use stamp_sync::policy::PolicyKind;
use stamp_sync_fuzz::{Input, run_kind};

fuzz_target!(|input: Input| {
    let kind = PolicyKind::ALL[usize::from(input.age_penalty) % PolicyKind::ALL.len()];
    run_kind(&input, kind, input.n(10, 64));
});
