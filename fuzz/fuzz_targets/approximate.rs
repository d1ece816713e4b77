#![no_main]
//! ApproximateTime, 2..=9 channels, queue 1..=16, age penalty, max
//! interval, lower bounds, random options.
use libfuzzer_sys::fuzz_target;
use stamp_sync::Duration;
use stamp_sync_fuzz::{Input, SetRule, run};

fuzz_target!(|input: Input| {
    let n = input.n(2, 9);
    let mut b = stamp_sync::ApproximateTime::builder()
        .queue_size(input.q())
        .age_penalty(f64::from(input.age_penalty) / 32.0);
    let mut rule = SetRule::Any;
    if input.use_max_interval {
        let d = Duration::from_nanos(i64::from(input.param));
        b = b.max_interval(d);
        rule = SetRule::Within(d);
    }
    for &(c, d) in input.lower_bounds.iter().take(4) {
        b = b.lower_bound(c as usize % n, Duration::from_nanos(i64::from(d)));
    }
    let Ok(p) = b.build() else { return };
    run(&input, n, p, input.q(), rule, false);
});
