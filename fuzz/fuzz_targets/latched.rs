#![no_main]
//! Any registered policy with one latched channel, 2..=9 channels.
use libfuzzer_sys::fuzz_target;
use stamp_sync::policy::PolicyKind;
use stamp_sync_fuzz::{Input, run_latched};

fuzz_target!(|input: Input| {
    let kind = PolicyKind::ALL[usize::from(input.queue_size / 16) % PolicyKind::ALL.len()];
    run_latched(&input, kind, input.n(2, 9));
});
