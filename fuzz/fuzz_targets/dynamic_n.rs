#![no_main]
//! The dynamic synchronizer with 10..=64 channels (beyond the tuple
//! limit), policy chosen by the input.
use libfuzzer_sys::fuzz_target;
use stamp_sync::Duration;
use stamp_sync_fuzz::{Input, SetRule, run};

fuzz_target!(|input: Input| {
    let n = input.n(10, 64);
    let q = input.q();
    match input.age_penalty % 3 {
        0 => {
            let Ok(p) = stamp_sync::ExactTime::new(q) else {
                return;
            };
            run(&input, n, p, q, SetRule::Equal, false);
        }
        1 => {
            let Ok(p) = stamp_sync::ApproximateTime::new(q) else {
                return;
            };
            run(&input, n, p, q, SetRule::Any, false);
        }
        _ => {
            let eps = Duration::from_nanos(i64::from(input.param));
            let Ok(p) = stamp_sync::ApproximateEpsilonTime::new(q, eps) else {
                return;
            };
            run(&input, n, p, q + 1, SetRule::Within(eps), false);
        }
    }
});
