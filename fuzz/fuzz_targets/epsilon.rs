#![no_main]
//! ApproximateEpsilonTime, 2..=9 channels, queue 1..=16, epsilon 0..65535 ns,
//! random options. Bound queue_size + 1: like upstream, the overflow check
//! is skipped on the arrival that fills the last empty channel.
use libfuzzer_sys::fuzz_target;
use stamp_sync::Duration;
use stamp_sync_fuzz::{Input, SetRule, run};

fuzz_target!(|input: Input| {
    let eps = Duration::from_nanos(i64::from(input.param));
    let Ok(p) = stamp_sync::ApproximateEpsilonTime::new(input.q(), eps) else {
        return;
    };
    run(
        &input,
        input.n(2, 9),
        p,
        input.q() + 1,
        SetRule::Within(eps),
        false,
    );
});
