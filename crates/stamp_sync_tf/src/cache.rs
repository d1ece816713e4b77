//! Per-frame transform storage: tf2's `TimeCache` (dynamic links, a
//! time-sorted window of samples) and `StaticCache` (one sample for all
//! time).

use std::collections::VecDeque;

use crate::error::Extrapolation;
use crate::math::{Quaternion, Vector3};
use stamp_sync::time::{Duration, Stamp};

/// Index of a frame in the buffer; 0 is tf2's `NO_PARENT`.
pub(crate) type FrameId = u32;

/// One sample of a link: the child frame's pose in `parent` at `stamp`
/// (tf2's `TransformStorage`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub stamp: Stamp,
    pub parent: FrameId,
    pub rotation: Quaternion,
    pub translation: Vector3,
    /// `|rotation|² - 1` is within a few ulps of 0 (see [`is_unit`]).
    pub unit: bool,
}

/// A rotation this close to unit length composes with its inverse to the
/// identity up to rounding, so a walk may skip a common chain segment made
/// of such rotations (the result then differs from tf2's only by rounding:
/// below 1e-11 for translations up to 1 km).
pub(crate) fn is_unit(q: &Quaternion) -> bool {
    (q.length2() - 1.0).abs() <= 16.0 * f64::EPSILON
}

/// Why an insert into a dynamic link was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `newest > stamp + cache_time`.
    Old { newest: Stamp },
    /// A sample with this stamp is already stored.
    Repeated,
}

/// Where a link's transform at a time comes from, before any arithmetic:
/// lets a walk learn the parent cheaply and interpolate only the links it
/// needs.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Located<'a> {
    /// One stored sample (exact stamp, stamp 0, a static link, or the older
    /// neighbour when the two neighbours have different parents).
    Sample(&'a Sample),
    /// Strictly between two samples with the same parent.
    Between(&'a Sample, &'a Sample),
}

impl Located<'_> {
    /// Its transform is a unit rotation (and so is any interpolation).
    #[inline]
    pub(crate) fn unit(&self) -> bool {
        match self {
            Located::Sample(s) => s.unit,
            Located::Between(a, b) => a.unit && b.unit,
        }
    }

    /// The parent frame.
    #[inline]
    pub(crate) fn parent(&self) -> FrameId {
        match self {
            Located::Sample(s) | Located::Between(s, _) => s.parent,
        }
    }

    /// The link's transform at `time` (`getData`'s output).
    #[inline]
    pub(crate) fn sample(&self, time: Stamp) -> Sample {
        match self {
            Located::Sample(s) => **s,
            Located::Between(one, two) => interpolate(one, two, time),
        }
    }
}

/// A link's storage: decided by the first insert for the child frame and
/// kept, as in tf2 0.7.6.
#[derive(Clone, Debug)]
pub(crate) enum Cache {
    /// `TimeCache`.
    Dynamic(TimeCache),
    /// `StaticCache`: the last sample inserted, valid at every time.
    Static(Sample),
}

impl Cache {
    /// tf2's `findClosest` (+ the parent check of `getData`): where the
    /// transform at `time` comes from, or why there is none.
    #[inline]
    pub(crate) fn locate(&self, time: Stamp) -> Result<Located<'_>, Extrapolation> {
        match self {
            Cache::Dynamic(c) => c.locate(time),
            Cache::Static(s) => Ok(Located::Sample(s)),
        }
    }

    /// `getLatestTimeAndParent`: (newest stamp, its parent); static links
    /// report stamp 0; an empty link reports parent 0.
    #[inline]
    pub(crate) fn latest_time_and_parent(&self) -> (Stamp, FrameId) {
        match self {
            Cache::Dynamic(c) => c
                .samples
                .back()
                .map_or((Stamp::ZERO, 0), |s| (s.stamp, s.parent)),
            Cache::Static(s) => (Stamp::ZERO, s.parent),
        }
    }

    /// `getLatestTimestamp`: newest stamp, 0 for static or empty links.
    pub(crate) fn latest_stamp(&self) -> Stamp {
        match self {
            Cache::Dynamic(c) => c.newest().unwrap_or(Stamp::ZERO),
            Cache::Static(_) => Stamp::ZERO,
        }
    }
}

/// A dynamic link: samples sorted by stamp, oldest first, no two with the
/// same stamp, spanning at most `cache_time` (tf2's `TimeCache`). The
/// stamps are also kept apart, densely, for the binary search.
#[derive(Clone, Debug)]
pub(crate) struct TimeCache {
    stamps: VecDeque<Stamp>,
    samples: VecDeque<Sample>,
    cache_time: Duration,
}

impl TimeCache {
    pub(crate) fn new(cache_time: Duration) -> Self {
        TimeCache {
            stamps: VecDeque::new(),
            samples: VecDeque::new(),
            cache_time,
        }
    }

    /// The newest stamp, if any.
    pub(crate) fn newest(&self) -> Option<Stamp> {
        self.stamps.back().copied()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// `insertData` of tf2 0.7.6: refuse data older than `cache_time`
    /// before the newest sample and repeated stamps; insert in order; prune
    /// samples more than `cache_time` older than the newest.
    pub(crate) fn insert(&mut self, s: Sample) -> Result<(), Refused> {
        if let Some(&newest) = self.stamps.back() {
            if newest > s.stamp + self.cache_time {
                return Err(Refused::Old { newest });
            }
            if newest < s.stamp {
                self.stamps.push_back(s.stamp);
                self.samples.push_back(s);
            } else {
                let i = self.stamps.partition_point(|&x| x < s.stamp);
                if self.stamps.get(i) == Some(&s.stamp) {
                    return Err(Refused::Repeated);
                }
                self.stamps.insert(i, s.stamp);
                self.samples.insert(i, s);
            }
        } else {
            self.stamps.push_back(s.stamp);
            self.samples.push_back(s);
        }
        self.prune();
        Ok(())
    }

    /// `pruneList`: drop samples with `stamp + cache_time < newest`.
    fn prune(&mut self) {
        let Some(&newest) = self.stamps.back() else {
            return;
        };
        while let Some(&oldest) = self.stamps.front() {
            if oldest + self.cache_time < newest {
                self.stamps.pop_front();
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// `findClosest` + the parent check of `getData`.
    #[inline]
    pub(crate) fn locate(&self, time: Stamp) -> Result<Located<'_>, Extrapolation> {
        let n = self.samples.len();
        let (Some(oldest), Some(newest)) = (self.samples.front(), self.samples.back()) else {
            return Err(Extrapolation::NoData);
        };
        if time == Stamp::ZERO {
            return Ok(Located::Sample(newest));
        }
        if n == 1 {
            return if oldest.stamp == time {
                Ok(Located::Sample(oldest))
            } else {
                Err(Extrapolation::OnlyOne {
                    stamp: oldest.stamp,
                })
            };
        }
        if time == newest.stamp {
            return Ok(Located::Sample(newest));
        }
        if time == oldest.stamp {
            return Ok(Located::Sample(oldest));
        }
        if time > newest.stamp {
            return Err(Extrapolation::Future {
                latest: newest.stamp,
            });
        }
        if time < oldest.stamp {
            return Err(Extrapolation::Past {
                earliest: oldest.stamp,
            });
        }
        // oldest < time < newest: `one` is the last sample at or before
        // `time`, `two` the next one.
        let i = self.first_after(time);
        let (Some(one), Some(two)) = (self.samples.get(i.wrapping_sub(1)), self.samples.get(i))
        else {
            return Err(Extrapolation::NoData);
        };
        if one.parent != two.parent {
            return Ok(Located::Sample(one));
        }
        Ok(Located::Between(one, two))
    }

    /// The index of the first stamp after `time`, for
    /// `oldest < time < newest`: an interpolation guess (links are sampled
    /// at a roughly steady rate), then an exponential search from it and a
    /// binary search in the bracket. O(1) for steady rates, O(log n) at
    /// worst; the same answer as `partition_point(|x| x <= time)`.
    #[inline]
    fn first_after(&self, time: Stamp) -> usize {
        let n = self.stamps.len();
        let at = |i: usize| self.stamps.get(i).copied().unwrap_or(Stamp::MAX);
        let (Some(&lo_s), Some(&hi_s)) = (self.stamps.front(), self.stamps.back()) else {
            return 0;
        };
        let span = (hi_s - lo_s).as_nanos() as f64;
        let frac = (time - lo_s).as_nanos() as f64 / span;
        // `as` saturates; NaN becomes 0.
        let guess = ((frac * (n - 1) as f64) as usize).min(n - 1);
        // Bracket: at(lo) <= time < at(hi).
        let (mut lo, mut hi);
        if at(guess) <= time {
            lo = guess;
            let mut step = 1;
            hi = loop {
                let j = lo.saturating_add(step);
                if j >= n {
                    break n;
                }
                if at(j) > time {
                    break j;
                }
                lo = j;
                step *= 2;
            };
        } else {
            hi = guess;
            let mut step = 1;
            lo = loop {
                if hi <= step {
                    break 0;
                }
                let j = hi - step;
                if at(j) <= time {
                    break j;
                }
                hi = j;
                step *= 2;
            };
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if at(mid) <= time {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// `getData`: the link's transform at `time`.
    #[cfg(test)]
    pub(crate) fn get(&self, time: Stamp) -> Result<Sample, Extrapolation> {
        self.locate(time).map(|l| l.sample(time))
    }
}

/// `TimeCache::interpolate`: the ratio from ROS 1 durations in seconds,
/// `setInterpolate3` for the translation, `slerp` for the rotation.
#[inline]
fn interpolate(one: &Sample, two: &Sample, time: Stamp) -> Sample {
    if two.stamp == one.stamp {
        return *two;
    }
    let ratio = ros1_secs(time - one.stamp) / ros1_secs(two.stamp - one.stamp);
    Sample {
        stamp: time,
        parent: one.parent,
        translation: Vector3::lerp(one.translation, two.translation, ratio),
        rotation: one.rotation.slerp(two.rotation, ratio),
        unit: one.unit && two.unit,
    }
}

/// `ros::Duration::toSec()`: `sec + 1e-9 * nsec` with `nsec` in [0, 1e9).
#[inline]
pub(crate) fn ros1_secs(d: Duration) -> f64 {
    let ns = d.as_nanos();
    let sec = ns.div_euclid(1_000_000_000);
    let nsec = ns.rem_euclid(1_000_000_000);
    sec as f64 + 1e-9 * nsec as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ns: i64, x: f64) -> Sample {
        Sample {
            stamp: Stamp::from_nanos(ns),
            parent: 1,
            rotation: Quaternion::IDENTITY,
            translation: Vector3::new(x, 0.0, 0.0),
            unit: true,
        }
    }

    #[test]
    fn insert_refuses_old_and_repeated_and_prunes() {
        let mut c = TimeCache::new(Duration::from_nanos(10));
        assert_eq!(c.insert(sample(20, 0.0)), Ok(()));
        assert_eq!(c.insert(sample(10, 0.0)), Ok(())); // 20 > 10 + 10 is false
        assert_eq!(
            c.insert(sample(9, 0.0)),
            Err(Refused::Old {
                newest: Stamp::from_nanos(20)
            })
        );
        assert_eq!(c.insert(sample(15, 1.0)), Ok(()));
        assert_eq!(c.insert(sample(15, 2.0)), Err(Refused::Repeated));
        assert_eq!(c.len(), 3);
        // Newest 31: 10 + 10 < 31 and 15 + 10 < 31 are pruned, 20 + 10 < 31 too.
        assert_eq!(c.insert(sample(31, 0.0)), Ok(()));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn get_interpolates_and_reports_extrapolation() {
        let mut c = TimeCache::new(Duration::from_secs(10));
        c.insert(sample(10, 1.0)).unwrap();
        assert_eq!(
            c.get(Stamp::from_nanos(11)),
            Err(Extrapolation::OnlyOne {
                stamp: Stamp::from_nanos(10)
            })
        );
        assert_eq!(c.get(Stamp::ZERO).unwrap().translation.x, 1.0);
        c.insert(sample(20, 3.0)).unwrap();
        assert_eq!(c.get(Stamp::from_nanos(15)).unwrap().translation.x, 2.0);
        assert_eq!(
            c.get(Stamp::from_nanos(21)),
            Err(Extrapolation::Future {
                latest: Stamp::from_nanos(20)
            })
        );
        assert_eq!(
            c.get(Stamp::from_nanos(9)),
            Err(Extrapolation::Past {
                earliest: Stamp::from_nanos(10)
            })
        );
    }

    #[test]
    fn first_after_matches_partition_point() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..200 {
            let mut c = TimeCache::new(Duration::MAX);
            let mut t = 0;
            for _ in 0..(2 + next(60)) {
                // Steady, bursty and gappy sampling.
                let gap = if next(4) == 0 { 1000 } else { 10 };
                t += 1 + next(gap) as i64;
                c.insert(sample(t, 0.0)).unwrap();
            }
            let (lo, hi) = (c.stamps[0].as_nanos(), c.newest().unwrap().as_nanos());
            for q in lo..hi {
                let q = Stamp::from_nanos(q);
                assert_eq!(c.first_after(q), c.stamps.partition_point(|&s| s <= q));
            }
        }
    }

    #[test]
    fn ros1_seconds() {
        assert_eq!(ros1_secs(Duration::from_nanos(1_500_000_000)), 1.5);
        assert_eq!(
            ros1_secs(Duration::from_nanos(-1)),
            -1.0 + 1e-9 * 999_999_999.0
        );
    }
}
