//! [`TfFilter`]: hold messages until their transforms exist (the pure
//! core of `tf2_ros::MessageFilter`).

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::buffer::{BufferCore, DEFAULT_CACHE_TIME, StampedTransform};
use crate::error::{Extrapolation, TfError, TfErrorKind};
use crate::math::Transform;
use stamp_sync::stamped::Stamped;
use stamp_sync::time::{Duration, Stamp};

/// Default longest wait for a message's transforms: 1 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default number of messages a filter holds: 100.
pub const DEFAULT_QUEUE_SIZE: usize = 100;

/// A message with a stamp and the frame its data is expressed in
/// (`header.frame_id`).
///
/// ```
/// use stamp_sync::{Stamp, Stamped};
/// use stamp_sync_tf::Framed;
/// struct Scan { stamp: Stamp, frame: String }
/// impl Stamped for Scan { fn stamp(&self) -> Stamp { self.stamp } }
/// impl Framed for Scan { fn frame_id(&self) -> &str { &self.frame } }
/// ```
pub trait Framed: Stamped {
    /// The frame id; a leading `/` is ignored.
    fn frame_id(&self) -> &str;
}

/// Implements [`Framed`] for message types with a ROS header
/// (`header.frame_id`), or another `String` field given after `=>`. The type
/// must implement [`Stamped`] too (see [`impl_stamped!`](stamp_sync::impl_stamped)).
///
/// ```
/// # mod builtin_interfaces { #[derive(Default)] pub struct Time { pub sec: i32, pub nanosec: u32 } }
/// # #[derive(Default)] pub struct Header { pub stamp: builtin_interfaces::Time, pub frame_id: String }
/// #[derive(Default)]
/// pub struct LaserScan { pub header: Header }
/// stamp_sync::impl_stamped!(LaserScan);
/// stamp_sync_tf::impl_framed!(LaserScan);
///
/// use stamp_sync_tf::Framed;
/// let mut scan = LaserScan::default();
/// scan.header.frame_id = "laser".into();
/// assert_eq!(scan.frame_id(), "laser");
/// ```
#[macro_export]
macro_rules! impl_framed {
    ($($ty:ty),+ $(,)?) => {
        $( $crate::impl_framed!($ty => header.frame_id); )+
    };
    ($ty:ty => $($field:ident).+) => {
        impl $crate::Framed for $ty {
            #[inline]
            fn frame_id(&self) -> &str {
                &self.$($field).+
            }
        }
    };
}

impl<T: Framed + ?Sized> Framed for &T {
    fn frame_id(&self) -> &str {
        (**self).frame_id()
    }
}
impl<T: Framed + ?Sized> Framed for Box<T> {
    fn frame_id(&self) -> &str {
        (**self).frame_id()
    }
}
impl<T: Framed + ?Sized> Framed for Arc<T> {
    fn frame_id(&self) -> &str {
        (**self).frame_id()
    }
}
impl<T: Framed + ?Sized> Framed for Rc<T> {
    fn frame_id(&self) -> &str {
        (**self).frame_id()
    }
}

/// Anything — typically a synchronizer's matched set — with the stamp and
/// frame it is to be transformed at. Lets a [`TfFilter`] hold a matched
/// set until the transform for its stamp exists and deliver it with the
/// set.
///
/// ```
/// use stamp_sync::Stamp;
/// use stamp_sync_tf::{BufferCore, FramedSet, Quaternion, TfEvent, TfFilter, Transform, Vector3};
///
/// // A matched (image, scan) pair from a Synchronizer, anchored at the
/// // image's stamp and camera frame.
/// let set = (Stamp::from_nanos(50), Stamp::from_nanos(52));
/// let mut filter = TfFilter::builder().target("map").build().unwrap();
/// for _ in filter.add(FramedSet::new(set.0, "camera", set), Stamp::ZERO) {}
///
/// let pose = |x: f64| Transform::new(Vector3::new(x, 0.0, 0.0), Quaternion::IDENTITY);
/// filter.set_transform("map", "camera", Stamp::from_nanos(0), &pose(0.0)).unwrap();
/// filter.set_transform("map", "camera", Stamp::from_nanos(100), &pose(1.0)).unwrap();
/// let events: Vec<_> = filter.poll(Stamp::ZERO).collect();
/// let TfEvent::Released(r) = &events[0] else { panic!() };
/// assert_eq!(r.msg.set, set);
/// assert_eq!(r.transforms[0].transform.translation.x, 0.5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FramedSet<S> {
    /// The stamp to look transforms up at.
    pub stamp: Stamp,
    /// The frame to transform from.
    pub frame_id: String,
    /// The payload.
    pub set: S,
}

impl<S> FramedSet<S> {
    /// `set`, to be transformed from `frame_id` at `stamp`.
    pub fn new(stamp: Stamp, frame_id: impl Into<String>, set: S) -> Self {
        FramedSet {
            stamp,
            frame_id: frame_id.into(),
            set,
        }
    }
}

impl<S> Stamped for FramedSet<S> {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

impl<S> Framed for FramedSet<S> {
    fn frame_id(&self) -> &str {
        &self.frame_id
    }
}

/// Why a message left the filter without its transforms.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// The message's frame id is empty.
    EmptyFrameId,
    /// Timed out while its frame, or a target frame, was unknown.
    UnknownFrame,
    /// Timed out while its frame and a target frame were in different trees.
    NoPath,
    /// Older than the cache: a link on its path already holds data more
    /// than the cache time newer than the message, so the data for its
    /// stamp can no longer be inserted.
    Expired,
    /// Timed out while the data for its stamp had not arrived (or the tree
    /// had a loop).
    Timeout,
    /// Dropped, oldest first, to keep the queue within its size.
    QueueFull,
}

impl FailureReason {
    /// Every reason, in counter order.
    pub const ALL: [FailureReason; 6] = [
        FailureReason::EmptyFrameId,
        FailureReason::UnknownFrame,
        FailureReason::NoPath,
        FailureReason::Expired,
        FailureReason::Timeout,
        FailureReason::QueueFull,
    ];

    const fn index(self) -> usize {
        self as usize
    }

    /// Its name in reports: `empty_frame_id`, `unknown_frame`, `no_path`,
    /// `expired`, `timeout`, `queue_full`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureReason::EmptyFrameId => "empty_frame_id",
            FailureReason::UnknownFrame => "unknown_frame",
            FailureReason::NoPath => "no_path",
            FailureReason::Expired => "expired",
            FailureReason::Timeout => "timeout",
            FailureReason::QueueFull => "queue_full",
        }
    }
}

impl core::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FailureReason::EmptyFrameId => "empty frame id",
            FailureReason::UnknownFrame => "unknown frame",
            FailureReason::NoPath => "no path between frames",
            FailureReason::Expired => "older than the transform cache",
            FailureReason::Timeout => "timed out waiting for transforms",
            FailureReason::QueueFull => "queue full",
        })
    }
}

/// Which clock the timeout runs on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum TimeoutClock {
    /// Stamp time (default): a message times out once the filter has seen
    /// a message or dynamic transform stamped more than the timeout after
    /// it. Deterministic; right for bag replay; needs no clock.
    #[default]
    StampTime,
    /// Arrival time: a message times out once `now` (as passed to
    /// [`TfFilter::poll`]) is more than the timeout after the `now` it was
    /// added with.
    ArrivalTime,
}

/// A message released with its transforms.
#[derive(Clone, Debug, PartialEq)]
pub struct Released<M> {
    /// The message.
    pub msg: M,
    /// For each target frame, in the order given to the builder, the
    /// transform from the message's frame to it at the message's stamp.
    pub transforms: SmallVec<[StampedTransform; 2]>,
}

/// A message the filter gave up on.
#[derive(Clone, Debug, PartialEq)]
pub struct Failed<M> {
    /// The message.
    pub msg: M,
    /// Why.
    pub reason: FailureReason,
    /// The last lookup error for it, if a lookup was tried.
    pub error: Option<TfError>,
}

/// What comes out of a [`TfFilter`].
#[derive(Clone, Debug, PartialEq)]
pub enum TfEvent<M> {
    /// Its transforms are available.
    Released(Released<M>),
    /// It will not get them.
    Failed(Failed<M>),
}

/// Counters of a [`TfFilter`]. Every message added is released once,
/// failed once, or pending.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TfFilterStats {
    /// Messages added.
    pub received: u64,
    /// Messages released with their transforms.
    pub released: u64,
    /// Transforms the buffer refused (invalid, old or repeated).
    pub transforms_rejected: u64,
    failed: [u64; 6],
}

impl TfFilterStats {
    /// Messages failed for `reason`.
    pub fn failed(&self, reason: FailureReason) -> u64 {
        self.failed.get(reason.index()).copied().unwrap_or(0)
    }

    /// Messages failed for any reason.
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }
}

/// A bad filter configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TfFilterConfigError {
    /// No target frame.
    #[error("a tf filter needs at least one target frame")]
    NoTarget,
    /// An empty target frame id.
    #[error("target frame {index} is empty")]
    EmptyTarget {
        /// Its position.
        index: usize,
    },
    /// Queue size 0.
    #[error("the queue size must be at least 1")]
    ZeroQueue,
    /// A negative timeout or tolerance.
    #[error("{what} must not be negative, got {value}")]
    Negative {
        /// `timeout` or `tolerance`.
        what: &'static str,
        /// The value.
        value: Duration,
    },
}

/// Configures a [`TfFilter`]: [`TfFilter::builder`].
#[derive(Clone, Debug)]
pub struct TfFilterBuilder {
    targets: Vec<String>,
    tolerance: Duration,
    timeout: Duration,
    clock: TimeoutClock,
    queue_size: usize,
    cache_time: Duration,
}

impl TfFilterBuilder {
    /// Adds a target frame (a leading `/` is ignored). At least one.
    pub fn target(mut self, frame: impl Into<String>) -> Self {
        let f: String = frame.into();
        let f = f.strip_prefix('/').map(str::to_string).unwrap_or(f);
        self.targets.push(f);
        self
    }

    /// Also require the transforms at `stamp + tolerance` before release
    /// (as `tf2_ros::MessageFilter::setTolerance`): waits until the data
    /// reaches past the stamp. Default 0.
    pub fn tolerance(mut self, d: Duration) -> Self {
        self.tolerance = d;
        self
    }

    /// Longest wait for a message's transforms (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Which clock the timeout runs on (default stamp time).
    pub fn timeout_clock(mut self, c: TimeoutClock) -> Self {
        self.clock = c;
        self
    }

    /// Most messages held (default [`DEFAULT_QUEUE_SIZE`]).
    pub fn queue_size(mut self, n: usize) -> Self {
        self.queue_size = n;
        self
    }

    /// The transform buffer's cache time (default 10 s).
    pub fn cache_time(mut self, d: Duration) -> Self {
        self.cache_time = d;
        self
    }

    /// The filter, or what is wrong with the configuration.
    pub fn build<M: Framed>(self) -> Result<TfFilter<M>, TfFilterConfigError> {
        if self.targets.is_empty() {
            return Err(TfFilterConfigError::NoTarget);
        }
        if let Some(index) = self.targets.iter().position(String::is_empty) {
            return Err(TfFilterConfigError::EmptyTarget { index });
        }
        if self.queue_size == 0 {
            return Err(TfFilterConfigError::ZeroQueue);
        }
        for (what, value) in [("timeout", self.timeout), ("tolerance", self.tolerance)] {
            if value.is_negative() {
                return Err(TfFilterConfigError::Negative { what, value });
            }
        }
        Ok(TfFilter {
            buffer: BufferCore::with_cache_time(self.cache_time),
            pending: VecDeque::with_capacity(self.queue_size),
            events: VecDeque::with_capacity(self.queue_size + 2),
            targets: self.targets,
            tolerance: self.tolerance,
            timeout: self.timeout,
            clock: self.clock,
            queue_size: self.queue_size,
            stamp_clock: None,
            checked_version: 0,
            stats: TfFilterStats::default(),
        })
    }
}

struct Pending<M> {
    msg: M,
    arrival: Stamp,
    last_error: Option<TfError>,
}

/// Holds messages until the transforms from their frame to every target
/// frame exist at their stamp, then releases them with those transforms.
///
/// Pure: no clock, no I/O. Feed transforms with
/// [`set_transform`](Self::set_transform) /
/// [`set_static_transform`](Self::set_static_transform) and messages with
/// [`add`](Self::add); call [`poll`](Self::poll) to get the messages that
/// became ready, timed out or expired. `add` checks the new message at
/// once; `poll` re-checks the held ones when the buffer changed.
///
/// Bounded: at most `queue_size` messages are held (the oldest is failed
/// with [`FailureReason::QueueFull`]), and none longer than the timeout
/// ([`TimeoutClock`]). Every failure is counted by reason in
/// [`stats`](Self::stats).
///
/// A held message is released by the first check after its transforms
/// exist (the next `add` or `poll`); the messages one check releases come
/// out in arrival order, before the message being added.
pub struct TfFilter<M> {
    buffer: BufferCore,
    targets: Vec<String>,
    tolerance: Duration,
    timeout: Duration,
    clock: TimeoutClock,
    queue_size: usize,
    pending: VecDeque<Pending<M>>,
    events: VecDeque<TfEvent<M>>,
    /// Newest stamp of any message or dynamic transform.
    stamp_clock: Option<Stamp>,
    /// Buffer version the held messages were last checked against.
    checked_version: u64,
    stats: TfFilterStats,
}

impl<M> core::fmt::Debug for TfFilter<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TfFilter")
            .field("targets", &self.targets)
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Outcome of checking one message.
enum Check {
    Ready(SmallVec<[StampedTransform; 2]>),
    Expired(TfError),
    Wait(TfError),
}

impl TfFilter<()> {
    /// A builder: add at least one [`target`](TfFilterBuilder::target).
    pub fn builder() -> TfFilterBuilder {
        TfFilterBuilder {
            targets: Vec::new(),
            tolerance: Duration::ZERO,
            timeout: DEFAULT_TIMEOUT,
            clock: TimeoutClock::StampTime,
            queue_size: DEFAULT_QUEUE_SIZE,
            cache_time: DEFAULT_CACHE_TIME,
        }
    }
}

impl<M: Framed> TfFilter<M> {
    /// The transform buffer (for lookups of your own).
    pub fn buffer(&self) -> &BufferCore {
        &self.buffer
    }

    /// The target frames.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// Counters.
    pub fn stats(&self) -> &TfFilterStats {
        &self.stats
    }

    /// Messages held right now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds a dynamic transform (see [`BufferCore::set_transform`]).
    pub fn set_transform(
        &mut self,
        parent: &str,
        child: &str,
        stamp: Stamp,
        transform: &Transform,
    ) -> Result<(), TfError> {
        let r = self.buffer.set_transform(parent, child, stamp, transform);
        if r.is_ok() {
            self.advance_stamp_clock(stamp);
        } else {
            self.stats.transforms_rejected += 1;
        }
        r
    }

    /// Adds a static transform (see [`BufferCore::set_static_transform`]).
    pub fn set_static_transform(
        &mut self,
        parent: &str,
        child: &str,
        stamp: Stamp,
        transform: &Transform,
    ) -> Result<(), TfError> {
        let r = self
            .buffer
            .set_static_transform(parent, child, stamp, transform);
        if r.is_err() {
            self.stats.transforms_rejected += 1;
        }
        r
    }

    /// Adds a message that arrived at `now` (used by
    /// [`TimeoutClock::ArrivalTime`] only) and returns what this caused:
    /// its own release or failure if decided at once, and a
    /// [`QueueFull`](FailureReason::QueueFull) failure of the oldest held
    /// message. Dropping the iterator drops the events (they are counted).
    #[must_use = "the events of this call are dropped with the iterator"]
    pub fn add(
        &mut self,
        msg: M,
        now: Stamp,
    ) -> std::collections::vec_deque::Drain<'_, TfEvent<M>> {
        self.stats.received += 1;
        self.advance_stamp_clock(msg.stamp());
        if frame_of(&msg).is_empty() {
            self.fail(msg, FailureReason::EmptyFrameId, None);
            return self.events.drain(..);
        }
        // Held messages that became ready first, to keep release order.
        self.recheck();
        match self.check(&msg) {
            Check::Ready(t) => self.release(msg, t),
            Check::Expired(e) => self.fail(msg, FailureReason::Expired, Some(e)),
            Check::Wait(e) => {
                if self.pending.len() >= self.queue_size {
                    if let Some(old) = self.pending.pop_front() {
                        self.fail(old.msg, FailureReason::QueueFull, old.last_error);
                    }
                }
                self.pending.push_back(Pending {
                    msg,
                    arrival: now,
                    last_error: Some(e),
                });
            }
        }
        self.events.drain(..)
    }

    /// Releases the held messages whose transforms now exist, fails the
    /// expired and timed-out ones; `now` is the arrival clock (used by
    /// [`TimeoutClock::ArrivalTime`] only).
    #[must_use = "the events of this call are dropped with the iterator"]
    pub fn poll(&mut self, now: Stamp) -> std::collections::vec_deque::Drain<'_, TfEvent<M>> {
        self.recheck();
        let clock = match self.clock {
            TimeoutClock::StampTime => self.stamp_clock,
            TimeoutClock::ArrivalTime => Some(now),
        };
        if let Some(clock) = clock {
            let mut i = 0;
            while let Some(p) = self.pending.get(i) {
                let start = match self.clock {
                    TimeoutClock::StampTime => p.msg.stamp(),
                    TimeoutClock::ArrivalTime => p.arrival,
                };
                if clock - start > self.timeout {
                    if let Some(p) = self.pending.remove(i) {
                        let reason = timeout_reason(p.last_error.as_ref());
                        self.fail(p.msg, reason, p.last_error);
                    }
                } else {
                    i += 1;
                }
            }
        }
        self.events.drain(..)
    }

    /// Fails every held message (as timed out, or with the unknown-frame
    /// or no-path reason of its last lookup): for the end of input.
    #[must_use = "the events of this call are dropped with the iterator"]
    pub fn flush(&mut self) -> std::collections::vec_deque::Drain<'_, TfEvent<M>> {
        self.recheck();
        while let Some(p) = self.pending.pop_front() {
            let reason = timeout_reason(p.last_error.as_ref());
            self.fail(p.msg, reason, p.last_error);
        }
        self.events.drain(..)
    }

    fn advance_stamp_clock(&mut self, stamp: Stamp) {
        self.stamp_clock = Some(self.stamp_clock.map_or(stamp, |c| c.max(stamp)));
    }

    /// Re-checks every held message if the buffer changed since the last
    /// check.
    fn recheck(&mut self) {
        let version = self.buffer.version();
        if version == self.checked_version {
            return;
        }
        self.checked_version = version;
        let mut i = 0;
        while let Some(p) = self.pending.get(i) {
            match self.check(&p.msg) {
                Check::Wait(e) => {
                    if let Some(p) = self.pending.get_mut(i) {
                        p.last_error = Some(e);
                    }
                    i += 1;
                }
                Check::Ready(t) => {
                    if let Some(p) = self.pending.remove(i) {
                        self.release(p.msg, t);
                    }
                }
                Check::Expired(e) => {
                    if let Some(p) = self.pending.remove(i) {
                        self.fail(p.msg, FailureReason::Expired, Some(e));
                    }
                }
            }
        }
    }

    fn check(&self, msg: &M) -> Check {
        let frame = frame_of(msg);
        let stamp = msg.stamp();
        let mut out = SmallVec::new();
        for target in &self.targets {
            match self.buffer.lookup_transform(target, frame, stamp) {
                Ok(t) => out.push(t),
                Err(e) => {
                    return if self.is_expired(&e, stamp) {
                        Check::Expired(e)
                    } else {
                        Check::Wait(e)
                    };
                }
            }
            if self.tolerance > Duration::ZERO {
                if let Err(e) = self
                    .buffer
                    .lookup_transform(target, frame, stamp + self.tolerance)
                {
                    return Check::Wait(e);
                }
            }
        }
        Check::Ready(out)
    }

    /// Data for `stamp` on the failing link could no longer be inserted.
    fn is_expired(&self, e: &TfError, stamp: Stamp) -> bool {
        let TfError::Extrapolation {
            frame,
            cause: Extrapolation::Past { .. } | Extrapolation::OnlyOne { .. },
            ..
        } = e
        else {
            return false;
        };
        self.buffer
            .latest_stamp(frame)
            .is_some_and(|newest| newest > stamp + self.buffer.cache_time())
    }

    fn release(&mut self, msg: M, transforms: SmallVec<[StampedTransform; 2]>) {
        self.stats.released += 1;
        self.events
            .push_back(TfEvent::Released(Released { msg, transforms }));
    }

    fn fail(&mut self, msg: M, reason: FailureReason, error: Option<TfError>) {
        if let Some(n) = self.stats.failed.get_mut(reason.index()) {
            *n += 1;
        }
        self.events
            .push_back(TfEvent::Failed(Failed { msg, reason, error }));
    }
}

fn frame_of<M: Framed>(msg: &M) -> &str {
    let f = msg.frame_id();
    f.strip_prefix('/').unwrap_or(f)
}

fn timeout_reason(e: Option<&TfError>) -> FailureReason {
    match e {
        Some(TfError::UnknownFrame { .. }) => FailureReason::UnknownFrame,
        Some(e) if e.kind() == TfErrorKind::Connectivity => FailureReason::NoPath,
        _ => FailureReason::Timeout,
    }
}
