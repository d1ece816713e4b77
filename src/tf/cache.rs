//! Per-frame transform storage: tf2's `TimeCache` (dynamic links, a
//! time-sorted window of samples) and `StaticCache` (one sample for all
//! time).

use std::collections::VecDeque;

use super::error::Extrapolation;
use super::math::{Quaternion, Vector3};
use crate::time::{Duration, Stamp};

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
}

/// Why an insert into a dynamic link was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `newest > stamp + cache_time`.
    Old { newest: Stamp },
    /// A sample with this stamp is already stored.
    Repeated,
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
    /// `getData`: the sample at `time` (interpolated when both neighbours
    /// have the same parent, else the older one), or why there is none.
    #[inline]
    pub(crate) fn get(&self, time: Stamp) -> Result<Sample, Extrapolation> {
        match self {
            Cache::Dynamic(c) => c.get(time),
            Cache::Static(s) => Ok(Sample { stamp: time, ..*s }),
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
            Cache::Dynamic(c) => c.samples.back().map_or(Stamp::ZERO, |s| s.stamp),
            Cache::Static(_) => Stamp::ZERO,
        }
    }
}

/// A dynamic link: samples sorted by stamp, oldest first, no two with the
/// same stamp, spanning at most `cache_time` (tf2's `TimeCache`).
#[derive(Clone, Debug)]
pub(crate) struct TimeCache {
    samples: VecDeque<Sample>,
    cache_time: Duration,
}

impl TimeCache {
    pub(crate) fn new(cache_time: Duration) -> Self {
        TimeCache {
            samples: VecDeque::new(),
            cache_time,
        }
    }

    /// The newest stamp, if any.
    pub(crate) fn newest(&self) -> Option<Stamp> {
        self.samples.back().map(|s| s.stamp)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// `insertData` of tf2 0.7.6: refuse data older than `cache_time`
    /// before the newest sample and repeated stamps; insert in order; prune
    /// samples more than `cache_time` older than the newest.
    pub(crate) fn insert(&mut self, s: Sample) -> Result<(), Refused> {
        if let Some(newest) = self.samples.back() {
            if newest.stamp > s.stamp + self.cache_time {
                return Err(Refused::Old {
                    newest: newest.stamp,
                });
            }
            if newest.stamp < s.stamp {
                self.samples.push_back(s);
            } else {
                let i = self.samples.partition_point(|x| x.stamp < s.stamp);
                if self.samples.get(i).is_some_and(|x| x.stamp == s.stamp) {
                    return Err(Refused::Repeated);
                }
                self.samples.insert(i, s);
            }
        } else {
            self.samples.push_back(s);
        }
        self.prune();
        Ok(())
    }

    /// `pruneList`: drop samples with `stamp + cache_time < newest`.
    fn prune(&mut self) {
        let Some(newest) = self.samples.back().map(|s| s.stamp) else {
            return;
        };
        while let Some(oldest) = self.samples.front() {
            if oldest.stamp + self.cache_time < newest {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// `getData` (`findClosest` + `interpolate`).
    #[inline]
    pub(crate) fn get(&self, time: Stamp) -> Result<Sample, Extrapolation> {
        let n = self.samples.len();
        let (Some(oldest), Some(newest)) = (self.samples.front(), self.samples.back()) else {
            return Err(Extrapolation::NoData);
        };
        if time == Stamp::ZERO {
            return Ok(*newest);
        }
        if n == 1 {
            return if oldest.stamp == time {
                Ok(*oldest)
            } else {
                Err(Extrapolation::OnlyOne {
                    stamp: oldest.stamp,
                })
            };
        }
        if time == newest.stamp {
            return Ok(*newest);
        }
        if time == oldest.stamp {
            return Ok(*oldest);
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
        let i = self.samples.partition_point(|x| x.stamp <= time);
        let (Some(one), Some(two)) = (self.samples.get(i.wrapping_sub(1)), self.samples.get(i))
        else {
            return Err(Extrapolation::NoData);
        };
        if one.parent != two.parent {
            return Ok(*one);
        }
        Ok(interpolate(one, two, time))
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
    fn ros1_seconds() {
        assert_eq!(ros1_secs(Duration::from_nanos(1_500_000_000)), 1.5);
        assert_eq!(
            ros1_secs(Duration::from_nanos(-1)),
            -1.0 + 1e-9 * 999_999_999.0
        );
    }
}
