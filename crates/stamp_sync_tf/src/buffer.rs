//! [`BufferCore`]: tf2's `BufferCore` without ROS, clocks or locks.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

use crate::cache::{Cache, FrameId, Located, Refused, Sample, TimeCache, is_unit};
use crate::error::{Extrapolation, FrameRole, TfError};
use crate::math::{Quaternion, Transform, Vector3};
use stamp_sync::time::{Duration, Stamp};

/// How long a dynamic link keeps samples by default (tf2's
/// `BufferCore::DEFAULT_CACHE_TIME`, 10 s).
pub const DEFAULT_CACHE_TIME: Duration = Duration::from_secs(10);

/// Longer parent chains are taken for loops (tf2's `MAX_GRAPH_DEPTH`).
pub const MAX_GRAPH_DEPTH: u32 = 1000;

/// tf2's `QUATERNION_NORMALIZATION_TOLERANCE`: an inserted rotation must
/// have `|x² + y² + z² + w² - 1| < 0.01`.
pub const QUATERNION_NORMALIZATION_TOLERANCE: f64 = 10e-3;

/// tf2 reserves frame number 0 under this name: a transform whose parent
/// is named so ends every walk there, and a lookup of it fails as unknown.
const NO_PARENT: &str = "NO_PARENT";

/// A looked-up transform and the time it is valid at.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct StampedTransform {
    /// The time the transform was computed for: the requested time, or for
    /// a request at stamp 0 the latest time all links have in common.
    pub stamp: Stamp,
    /// Maps source-frame coordinates to target-frame coordinates.
    pub transform: Transform,
}

/// A transform tree over time: the pure core of tf2's `BufferCore`.
///
/// Each child frame has one link to a parent: dynamic (samples over
/// time, kept for the cache time, interpolated between) or static (one
/// transform valid at every time). A frame may change parent over time;
/// every sample records its own parent. [`lookup_transform`]
/// walks from both frames to their common ancestor at the requested time.
///
/// Same answers as tf2 0.7.6 (checked against C++ by
/// `crates/stamp_sync_tf/tests/it/tf_differential.rs`): result stamps identical, numbers within
/// 1e-9, the same error kinds. See `docs/transforms.md` for every rule.
///
/// ```
/// use stamp_sync::Stamp;
/// use stamp_sync_tf::{BufferCore, Quaternion, Transform, Vector3};
///
/// let mut tf = BufferCore::new();
/// let at = |x: f64| Transform::new(Vector3::new(x, 0.0, 0.0), Quaternion::IDENTITY);
/// tf.set_transform("map", "base", Stamp::from_nanos(1_000_000_000), &at(1.0)).unwrap();
/// tf.set_transform("map", "base", Stamp::from_nanos(2_000_000_000), &at(3.0)).unwrap();
/// tf.set_static_transform("base", "laser", Stamp::ZERO, &at(0.5)).unwrap();
///
/// let t = tf.lookup_transform("map", "laser", Stamp::from_nanos(1_500_000_000)).unwrap();
/// assert_eq!(t.transform.translation.x, 2.5);
/// // Stamp 0: the latest time every link on the path has data for.
/// assert_eq!(tf.lookup_transform("map", "laser", Stamp::ZERO).unwrap().stamp.as_nanos(), 2_000_000_000);
/// ```
///
/// [`lookup_transform`]: Self::lookup_transform
#[derive(Clone, Debug)]
pub struct BufferCore {
    /// Index = frame number; 0 is `NO_PARENT`.
    frames: Vec<Frame>,
    ids: HashMap<String, FrameId, BuildHasherDefault<FxHasher>>,
    cache_time: Duration,
    /// Accepted inserts so far.
    version: u64,
}

#[derive(Clone, Debug)]
struct Frame {
    name: String,
    cache: Option<Cache>,
}

impl Default for BufferCore {
    fn default() -> Self {
        BufferCore::new()
    }
}

/// Where a walk failed, before any string is built.
enum WalkError {
    Loop(Stamp),
    Connectivity,
    Extrapolation(FrameId, Stamp, Extrapolation),
}

/// tf2's `TransformAccum`.
struct Accum {
    source_vec: Vector3,
    source_quat: Quaternion,
    target_vec: Vector3,
    target_quat: Quaternion,
}

impl Accum {
    const fn new() -> Self {
        Accum {
            source_vec: Vector3::ZERO,
            source_quat: Quaternion::IDENTITY,
            target_vec: Vector3::ZERO,
            target_quat: Quaternion::IDENTITY,
        }
    }

    #[inline]
    fn accum_source(&mut self, s: &Sample) {
        self.source_vec = s.rotation.rotate(self.source_vec) + s.translation;
        self.source_quat = s.rotation * self.source_quat;
    }

    #[inline]
    fn accum_target(&mut self, s: &Sample) {
        self.target_vec = s.rotation.rotate(self.target_vec) + s.translation;
        self.target_quat = s.rotation * self.target_quat;
    }

    /// The walk reached the target from the source.
    fn target_parent_of_source(&self) -> Transform {
        Transform::new(self.source_vec, self.source_quat)
    }

    /// The walk reached the source from the target.
    fn source_parent_of_target(&self) -> Transform {
        let q = self.target_quat.inverse();
        Transform::new(q.rotate(-self.target_vec), q)
    }

    /// Both walks met at a common ancestor.
    fn full_path(&self) -> Transform {
        let q = self.target_quat.inverse();
        let v = q.rotate(-self.target_vec);
        Transform::new(q.rotate(self.source_vec) + v, q * self.source_quat)
    }
}

impl BufferCore {
    /// An empty buffer keeping [`DEFAULT_CACHE_TIME`] (10 s) per link.
    pub fn new() -> Self {
        BufferCore::with_cache_time(DEFAULT_CACHE_TIME)
    }

    /// An empty buffer keeping `cache_time` per dynamic link: a link
    /// keeps the samples within `cache_time` of its newest and refuses
    /// older ones. A negative time behaves as in tf2 (a link keeps at most
    /// its newest sample, often none); arithmetic saturates.
    pub fn with_cache_time(cache_time: Duration) -> Self {
        let mut ids = HashMap::default();
        ids.insert(NO_PARENT.to_string(), 0);
        BufferCore {
            frames: vec![Frame {
                name: NO_PARENT.to_string(),
                cache: None,
            }],
            ids,
            cache_time,
            version: 0,
        }
    }

    /// The cache time.
    pub fn cache_time(&self) -> Duration {
        self.cache_time
    }

    /// How many inserts were accepted so far: changes whenever a lookup's
    /// answer may have changed.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Forgets every sample (frames stay known, as with tf2's `clear`).
    pub fn clear(&mut self) {
        for f in &mut self.frames {
            if let Some(Cache::Dynamic(c)) = &mut f.cache {
                *c = TimeCache::new(self.cache_time);
            }
        }
        self.version += 1;
    }

    /// True once a transform has named `frame` (as parent or child).
    pub fn has_frame(&self, frame: &str) -> bool {
        self.id(frame) != 0
    }

    /// Every known frame, in order of first mention.
    pub fn frames(&self) -> impl Iterator<Item = &str> {
        self.frames.iter().skip(1).map(|f| f.name.as_str())
    }

    /// The newest stamp of `frame`'s dynamic link to its parent; `None`
    /// for unknown frames, roots, static links and empty links.
    pub fn latest_stamp(&self, frame: &str) -> Option<Stamp> {
        match self.cache(self.id(frame)) {
            Some(Cache::Dynamic(c)) => c.newest(),
            _ => None,
        }
    }

    /// Adds a dynamic transform: `child`'s pose in `parent` at `stamp`
    /// (`setTransform(.., is_static = false)`).
    ///
    /// Rejected as in tf2, and then not stored: parent equal to child,
    /// an empty id, a NaN, a rotation with `|norm² - 1| >= 0.01`
    /// (kind `invalid_argument`); a stamp more than the cache time before
    /// the link's newest, or a stamp the link already holds (kind
    /// `rejected`). One leading `/` is stripped from each id.
    pub fn set_transform(
        &mut self,
        parent: &str,
        child: &str,
        stamp: Stamp,
        transform: &Transform,
    ) -> Result<(), TfError> {
        self.insert(parent, child, stamp, transform, false)
    }

    /// Adds a static transform: valid at every time, replacing the link's
    /// previous static transform (`setTransform(.., is_static = true)`).
    ///
    /// As in tf2 0.7.6 a child frame's first insert decides whether its
    /// link is static or dynamic for good: a static transform for a
    /// dynamic link is stored as one more sample at `stamp`, and a dynamic
    /// one for a static link replaces the static transform.
    pub fn set_static_transform(
        &mut self,
        parent: &str,
        child: &str,
        stamp: Stamp,
        transform: &Transform,
    ) -> Result<(), TfError> {
        self.insert(parent, child, stamp, transform, true)
    }

    fn insert(
        &mut self,
        parent: &str,
        child: &str,
        stamp: Stamp,
        t: &Transform,
        is_static: bool,
    ) -> Result<(), TfError> {
        let parent = parent.strip_prefix('/').unwrap_or(parent);
        let child = child.strip_prefix('/').unwrap_or(child);
        if parent == child {
            return Err(TfError::SelfTransform {
                frame: child.to_string(),
                stamp,
            });
        }
        if child.is_empty() {
            return Err(TfError::EmptyFrameId {
                role: FrameRole::Child,
            });
        }
        if parent.is_empty() {
            return Err(TfError::EmptyFrameId {
                role: FrameRole::Parent,
            });
        }
        let (v, q) = (t.translation, t.rotation);
        if [v.x, v.y, v.z, q.x, q.y, q.z, q.w]
            .iter()
            .any(|x| x.is_nan())
        {
            return Err(TfError::NotANumber {
                parent: parent.to_string(),
                child: child.to_string(),
                stamp,
            });
        }
        let norm2 = q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z;
        // Written as in C++ so that an infinite norm is refused too.
        let unit = (norm2 - 1.0).abs() < QUATERNION_NORMALIZATION_TOLERANCE;
        if !unit {
            return Err(TfError::Denormalized {
                parent: parent.to_string(),
                child: child.to_string(),
                stamp,
                norm2,
            });
        }
        let child_id = self.id_or_insert(child);
        let parent_id = self.id_or_insert(parent);
        let sample = Sample {
            stamp,
            parent: parent_id,
            rotation: q,
            translation: v,
            unit: is_unit(&q),
        };
        let cache_time = self.cache_time;
        if child_id == 0 {
            // Child "NO_PARENT": tf2 stores it where no walk ever reads it.
            return Ok(());
        }
        let Some(frame) = self.frames.get_mut(child_id as usize) else {
            return Ok(());
        };
        match &mut frame.cache {
            None if is_static => frame.cache = Some(Cache::Static(sample)),
            None => {
                let mut c = TimeCache::new(cache_time);
                // An empty cache takes any sample.
                let _ = c.insert(sample);
                frame.cache = Some(Cache::Dynamic(c));
            }
            Some(Cache::Static(s)) => *s = sample,
            Some(Cache::Dynamic(c)) => c.insert(sample).map_err(|r| match r {
                Refused::Old { newest } => TfError::OldData {
                    child: child.to_string(),
                    stamp,
                    newest,
                    cache_time,
                },
                Refused::Repeated => TfError::RepeatedData {
                    child: child.to_string(),
                    stamp,
                },
            })?,
        }
        self.version += 1;
        Ok(())
    }

    /// The transform from `source` coordinates to `target` coordinates at
    /// `time` (`lookupTransform(target, source, time)`).
    ///
    /// `time` 0 means the latest time at which every link on the path has
    /// data (static links count for all times); the result's stamp says
    /// which. Equal frame ids give the identity at once, even for unknown
    /// or empty ids (stamp: `time`, or for 0 the frame's newest sample).
    ///
    /// Errors: an empty or `/`-prefixed id ([`InvalidArgument`]), an
    /// unknown frame or a loop ([`Lookup`]), frames in different trees
    /// ([`Connectivity`]), a link without data at the time
    /// ([`Extrapolation`]; with `time` 0 this happens when a link's data
    /// does not reach back to the latest common time of the others).
    ///
    /// [`InvalidArgument`]: super::TfErrorKind::InvalidArgument
    /// [`Lookup`]: super::TfErrorKind::Lookup
    /// [`Connectivity`]: super::TfErrorKind::Connectivity
    /// [`Extrapolation`]: super::TfErrorKind::Extrapolation
    pub fn lookup_transform(
        &self,
        target: &str,
        source: &str,
        time: Stamp,
    ) -> Result<StampedTransform, TfError> {
        if target == source {
            let stamp = if time == Stamp::ZERO {
                self.cache(self.id(target))
                    .map_or(Stamp::ZERO, Cache::latest_stamp)
            } else {
                time
            };
            return Ok(StampedTransform {
                stamp,
                transform: Transform::IDENTITY,
            });
        }
        let target_id = self.validate(target, FrameRole::Target)?;
        let source_id = self.validate(source, FrameRole::Source)?;
        let mut acc = Accum::new();
        self.walk(&mut acc, time, target_id, source_id)
            .map_err(|e| self.walk_error(e, target, source, time))
    }

    /// True if [`lookup_transform`](Self::lookup_transform) would succeed.
    pub fn can_transform(&self, target: &str, source: &str, time: Stamp) -> bool {
        self.lookup_transform(target, source, time).is_ok()
    }

    fn walk_error(&self, e: WalkError, target: &str, source: &str, time: Stamp) -> TfError {
        match e {
            WalkError::Loop(t) => TfError::Loop {
                target_frame: target.to_string(),
                source_frame: source.to_string(),
                time: t,
            },
            WalkError::Connectivity => TfError::Connectivity {
                target_frame: target.to_string(),
                source_frame: source.to_string(),
                time,
            },
            WalkError::Extrapolation(frame, t, cause) => TfError::Extrapolation {
                target_frame: target.to_string(),
                source_frame: source.to_string(),
                frame: self.name(frame).to_string(),
                time: t,
                cause,
            },
        }
    }

    fn validate(&self, frame: &str, role: FrameRole) -> Result<FrameId, TfError> {
        if frame.is_empty() {
            return Err(TfError::EmptyFrameId { role });
        }
        if frame.starts_with('/') {
            return Err(TfError::LeadingSlash {
                role,
                frame: frame.to_string(),
            });
        }
        match self.id(frame) {
            0 => Err(TfError::UnknownFrame {
                role,
                frame: frame.to_string(),
            }),
            id => Ok(id),
        }
    }

    #[inline]
    fn id(&self, frame: &str) -> FrameId {
        self.ids.get(frame).copied().unwrap_or(0)
    }

    fn id_or_insert(&mut self, frame: &str) -> FrameId {
        if let Some(&id) = self.ids.get(frame) {
            return id;
        }
        let id = FrameId::try_from(self.frames.len()).unwrap_or(FrameId::MAX);
        self.frames.push(Frame {
            name: frame.to_string(),
            cache: None,
        });
        self.ids.insert(frame.to_string(), id);
        id
    }

    fn name(&self, id: FrameId) -> &str {
        self.frames.get(id as usize).map_or("", |f| f.name.as_str())
    }

    #[inline]
    fn cache(&self, id: FrameId) -> Option<&Cache> {
        if id == 0 {
            return None;
        }
        self.frames.get(id as usize).and_then(|f| f.cache.as_ref())
    }

    /// tf2's `walkToTopParent` with `TransformAccum`, with one change that
    /// only affects rounding: tf2 accumulates both chains up to the source
    /// chain's top and lets the common part cancel; this walk locates the
    /// samples first (parents only, no arithmetic), stops the target chain
    /// where it meets the source chain, and, when the common part's
    /// rotations are unit quaternions (so it does cancel), interpolates and
    /// accumulates only the links below the meeting frame. Otherwise (tf2
    /// accepts rotations up to 1 % off unit length and does not normalize
    /// them) it accumulates the common part on both sides exactly as tf2.
    /// Success, error kinds and the result stamp are tf2's in every case:
    /// the links above the meeting frame are exactly those tf2 gathers
    /// successfully on both sides.
    fn walk(
        &self,
        acc: &mut Accum,
        time: Stamp,
        target: FrameId,
        source: FrameId,
    ) -> Result<StampedTransform, WalkError> {
        let done = |transform: Transform| StampedTransform {
            stamp: time,
            transform,
        };
        if source == target {
            return Ok(done(Transform::IDENTITY));
        }
        let time = if time == Stamp::ZERO {
            self.latest_common_time(target, source)?
        } else {
            time
        };
        let done = |transform: Transform| StampedTransform {
            stamp: time,
            transform,
        };

        // From the source up to its root, the first link without data, or
        // the target.
        let mut chain: SmallVec<[(FrameId, Located<'_>); 16]> = SmallVec::new();
        let mut frame = source;
        let mut top_parent = frame;
        let mut source_miss = None;
        while frame != 0 {
            let Some(cache) = self.cache(frame) else {
                top_parent = frame;
                break;
            };
            let located = match cache.locate(time) {
                Ok(l) if l.parent() != 0 => l,
                Ok(_) => {
                    top_parent = frame;
                    source_miss = Some((frame, Extrapolation::NoData));
                    break;
                }
                Err(miss) => {
                    top_parent = frame;
                    source_miss = Some((frame, miss));
                    break;
                }
            };
            if frame == target {
                for (_, l) in &chain {
                    acc.accum_source(&l.sample(time));
                }
                return Ok(done(acc.target_parent_of_source()));
            }
            chain.push((frame, located));
            top_parent = frame;
            frame = located.parent();
            if chain.len() > MAX_GRAPH_DEPTH as usize {
                return Err(WalkError::Loop(time));
            }
        }

        // From the target up to the source chain.
        let mut target_chain: SmallVec<[Located<'_>; 16]> = SmallVec::new();
        let mut meet = chain.len();
        frame = target;
        while frame != top_parent {
            if let Some(k) = chain.iter().position(|&(f, _)| f == frame) {
                meet = k;
                break;
            }
            let Some(cache) = self.cache(frame) else {
                break;
            };
            let located = match cache.locate(time) {
                Ok(l) if l.parent() != 0 => l,
                Ok(_) => return Err(WalkError::Extrapolation(frame, time, Extrapolation::NoData)),
                Err(miss) => return Err(WalkError::Extrapolation(frame, time, miss)),
            };
            target_chain.push(located);
            frame = located.parent();
            if target_chain.len() > MAX_GRAPH_DEPTH as usize {
                return Err(WalkError::Loop(time));
            }
        }
        let met = meet < chain.len() || frame == top_parent;
        if !met {
            return Err(match source_miss {
                Some((f, miss)) => WalkError::Extrapolation(f, time, miss),
                None => WalkError::Connectivity,
            });
        }
        for l in &target_chain {
            acc.accum_target(&l.sample(time));
        }
        if meet == 0 {
            // The target chain reached the source.
            return Ok(done(acc.source_parent_of_target()));
        }
        let common = chain.get(meet..).unwrap_or(&[]);
        let (source_part, exact) = if common.iter().all(|(_, l)| l.unit()) {
            (chain.get(..meet).unwrap_or(&[]), false)
        } else {
            (&chain[..], true)
        };
        for (_, l) in source_part {
            acc.accum_source(&l.sample(time));
        }
        if exact {
            // tf2's target walk goes on through the common part.
            for (_, l) in common {
                acc.accum_target(&l.sample(time));
            }
        }
        Ok(done(acc.full_path()))
    }

    /// tf2's `getLatestCommonTime`: the oldest of the newest stamps of the
    /// dynamic links between the frames (0 if there are none).
    fn latest_common_time(&self, target: FrameId, source: FrameId) -> Result<Stamp, WalkError> {
        let min = |a: Option<Stamp>, t: Stamp| {
            if t == Stamp::ZERO {
                a
            } else {
                Some(a.map_or(t, |a| a.min(t)))
            }
        };
        let mut chain: SmallVec<[(Stamp, FrameId); 16]> = SmallVec::new();
        let mut frame = source;
        let mut common = None;
        let mut depth = 0u32;
        while frame != 0 {
            let Some(cache) = self.cache(frame) else {
                break;
            };
            let latest = cache.latest_time_and_parent();
            if latest.1 == 0 {
                break;
            }
            common = min(common, latest.0);
            chain.push(latest);
            frame = latest.1;
            if frame == target {
                return Ok(common.unwrap_or(Stamp::ZERO));
            }
            depth += 1;
            if depth > MAX_GRAPH_DEPTH {
                return Err(WalkError::Loop(Stamp::ZERO));
            }
        }

        frame = target;
        depth = 0;
        common = None;
        let mut common_parent = 0;
        while let Some(cache) = self.cache(frame) {
            let latest = cache.latest_time_and_parent();
            if latest.1 == 0 {
                break;
            }
            common = min(common, latest.0);
            if chain.iter().any(|&(_, p)| p == latest.1) {
                common_parent = latest.1;
                break;
            }
            frame = latest.1;
            if frame == source {
                return Ok(common.unwrap_or(Stamp::ZERO));
            }
            depth += 1;
            if depth > MAX_GRAPH_DEPTH {
                return Err(WalkError::Loop(Stamp::ZERO));
            }
        }
        if common_parent == 0 {
            return Err(WalkError::Connectivity);
        }
        for &(t, p) in &chain {
            common = min(common, t);
            if p == common_parent {
                break;
            }
        }
        Ok(common.unwrap_or(Stamp::ZERO))
    }
}

/// The hash of rustc's `FxHasher`: frame ids are short strings, and a
/// lookup hashes two of them.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}
