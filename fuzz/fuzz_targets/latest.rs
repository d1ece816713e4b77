#![no_main]
//! LatestTime, 2..=9 channels, random options. Holds one message per
//! channel and re-emits held messages by design (zero-order hold); the
//! harness checks that only the held message is re-emitted, and counts
//! it once.
use libfuzzer_sys::fuzz_target;
use stamp_sync_fuzz::{Input, SetRule, run};

fuzz_target!(|input: Input| {
    run(
        &input,
        input.n(2, 9),
        stamp_sync::LatestTime::new(),
        1,
        SetRule::Any,
        true,
    );
});
