#![no_main]
//! ExactTime, 2..=9 channels, queue 1..=16, random options.
use libfuzzer_sys::fuzz_target;
use stamp_sync_fuzz::{Input, SetRule, run};

fuzz_target!(|input: Input| {
    let Ok(p) = stamp_sync::ExactTime::new(input.q()) else {
        return;
    };
    run(&input, input.n(2, 9), p, input.q(), SetRule::Equal, false);
});
