//! Transform buffer and TfFilter timings with criterion.
//!
//! * `tf/lookup/chain{d}`: `BufferCore::lookup_transform` between the ends
//!   of a chain of `d` dynamic links (100 Hz, 8 s of data), at random
//!   times inside the data (every link interpolated).
//! * `tf/release/held{n}`: the pure `TfFilter`'s release latency: the time
//!   from the insert of the transform `n` held messages wait for to their
//!   release (`set_transform` + `poll`), per round.
//!
//! `cargo bench --bench tf`. Lookups against C++ tf2: `scripts/compare-tf-cpp.sh`.

use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use stamp_sync::Stamp;
use stamp_sync_tf::{BufferCore, Quaternion, Transform, Vector3};
use stamp_sync_tools::bench::tf::filter_release_latency;

fn chain(depth: usize) -> BufferCore {
    let mut tf = BufferCore::new();
    for k in 0..800i64 {
        for d in 0..depth {
            let a = (k as f64) * 0.01 + d as f64;
            let q = Quaternion::new(0.0, 0.0, (a / 2.0).sin(), (a / 2.0).cos());
            let t = Transform::new(Vector3::new(a, 1.0, 0.0), q);
            let _ = tf.set_transform(
                &format!("f{d}"),
                &format!("f{}", d + 1),
                Stamp::from_nanos(k * 10_000_000 + d as i64),
                &t,
            );
        }
    }
    tf
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("tf/lookup");
    g.measurement_time(StdDuration::from_secs(3));
    for depth in [1usize, 3, 6] {
        let tf = chain(depth);
        let target = "f0".to_string();
        let source = format!("f{depth}");
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("chain{depth}")),
            &depth,
            |b, _| {
                b.iter(|| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let t = Stamp::from_nanos(100_000_000 + (x % 7_000_000_000) as i64);
                    black_box(tf.lookup_transform(&target, &source, t).ok())
                })
            },
        );
    }
    g.finish();
}

fn release(c: &mut Criterion) {
    let mut g = c.benchmark_group("tf/release");
    g.measurement_time(StdDuration::from_secs(3));
    for held in [1usize, 10, 100] {
        g.bench_function(BenchmarkId::from_parameter(format!("held{held}")), |b| {
            b.iter_custom(|iters| {
                let ns: u64 = filter_release_latency(iters as usize, held).iter().sum();
                StdDuration::from_nanos(ns)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, lookups, release);
criterion_main!(benches);
