//! Timing helpers behind `stamp-sync tf --bench` and
//! `scripts/compare-tf-cpp.sh`: lookup throughput and the filter's
//! release latency. (Measurement code: the only part of `tf` that reads a
//! clock.)

use std::hint::black_box;
use std::time::Instant;

use stamp_sync::time::{Duration, Stamp};
use stamp_sync_tf::BufferCore;
use stamp_sync_tf::trace::TfRecord;
use stamp_sync_tf::{FramedSet, TfEvent, TfFilter};
use stamp_sync_tf::{Quaternion, Transform, Vector3};

/// Result of [`bench_lookups`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LookupBench {
    /// Lookups timed.
    pub lookups: u64,
    /// Of these, successful.
    pub ok: u64,
    /// Seconds spent in the timed loops.
    pub seconds: f64,
}

impl LookupBench {
    /// Lookups per second.
    pub fn lookups_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.lookups as f64 / self.seconds
        } else {
            0.0
        }
    }
}

impl core::fmt::Display for LookupBench {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "lookups={} ok={} seconds={:.6} lookups_per_s={:.0}",
            self.lookups,
            self.ok,
            self.seconds,
            self.lookups_per_s()
        )
    }
}

/// Applies every transform record of `records` in order, then times
/// `repeats` passes over all its lookups against that buffer (as
/// `tf_oracle --bench` does).
pub fn bench_lookups(records: &[TfRecord], cache_time: Duration, repeats: u32) -> LookupBench {
    let mut buffer = BufferCore::with_cache_time(cache_time);
    let mut lookups = Vec::new();
    for r in records {
        match r {
            TfRecord::Transform { .. } => {
                let _ = r.insert_into(&mut buffer);
            }
            TfRecord::Lookup {
                stamp,
                target,
                source,
            } => lookups.push((*stamp, target.as_str(), source.as_str())),
        }
    }
    let mut ok = 0u64;
    let mut checksum = 0.0;
    let t0 = Instant::now();
    for _ in 0..repeats {
        for &(stamp, target, source) in &lookups {
            if let Ok(t) = buffer.lookup_transform(target, source, stamp) {
                checksum += t.transform.translation.x;
                ok += 1;
            }
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    black_box(checksum);
    LookupBench {
        lookups: lookups.len() as u64 * u64::from(repeats),
        ok,
        seconds,
    }
}

/// Release latency of the pure [`TfFilter`]: the time from the insert of
/// the transform a held message waits for to the message's release
/// (`set_transform` + `poll`), over `rounds` rounds with `held` messages
/// waiting on a 3-link chain to one target. Returns the per-round
/// latencies in nanoseconds, sorted.
pub fn filter_release_latency(rounds: usize, held: usize) -> Vec<u64> {
    let pose = |x: f64| Transform::new(Vector3::new(x, 0.0, 0.0), Quaternion::IDENTITY);
    let ms = |t: i64| Stamp::from_nanos(t * 1_000_000);
    let mut out = Vec::with_capacity(rounds);
    let mut filter = match TfFilter::builder()
        .target("map")
        .queue_size(held.max(1) + 1)
        .build::<FramedSet<u64>>()
    {
        Ok(f) => f,
        Err(_) => return out,
    };
    let _ = filter.set_static_transform("base", "laser", Stamp::ZERO, &pose(0.1));
    let _ = filter.set_transform("odom", "base", ms(0), &pose(0.0));
    let _ = filter.set_transform("map", "odom", ms(0), &pose(0.0));
    for round in 0..rounds as i64 {
        // Messages stamped just after the newest odom -> base sample.
        let t = round * 10;
        let _ = filter.set_transform("map", "odom", ms(t + 10), &pose(0.0));
        for k in 0..held {
            let stamp = ms(t) + Duration::from_micros(k as i64 + 1);
            for e in filter.add(FramedSet::new(stamp, "laser", k as u64), Stamp::ZERO) {
                black_box(e);
            }
        }
        let t0 = Instant::now();
        let _ = filter.set_transform("odom", "base", ms(t + 10), &pose(t as f64));
        let mut released = 0;
        for e in filter.poll(Stamp::ZERO) {
            if matches!(e, TfEvent::Released(_)) {
                released += 1;
            }
            black_box(e);
        }
        let ns = t0.elapsed().as_nanos();
        if released == held {
            out.push(u64::try_from(ns).unwrap_or(u64::MAX));
        }
    }
    out.sort_unstable();
    out
}
