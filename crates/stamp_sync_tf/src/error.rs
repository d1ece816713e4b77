//! Typed transform errors, with the kinds tf2 throws.

use stamp_sync::time::{Duration, Stamp};

/// The tf2 exception class an error corresponds to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TfErrorKind {
    /// `tf2::LookupException`: a frame does not exist, or the tree has a
    /// loop at the requested time.
    Lookup,
    /// `tf2::ConnectivityException`: the frames are in different trees.
    Connectivity,
    /// `tf2::ExtrapolationException`: a link has no data at the time.
    Extrapolation,
    /// `tf2::InvalidArgumentException` (lookups) or one of tf2's
    /// `TF_SELF_TRANSFORM`, `TF_NO_FRAME_ID`, `TF_NO_CHILD_FRAME_ID`,
    /// `TF_NAN_INPUT`, `TF_DENORMALIZED_QUATERNION` rejections (inserts).
    InvalidArgument,
    /// An insert tf2 ignores with a warning and `false`, no exception:
    /// `TF_OLD_DATA` or `TF_REPEATED_DATA`.
    Rejected,
}

impl TfErrorKind {
    /// The lowercase name used in trace output: `lookup`, `connectivity`,
    /// `extrapolation`, `invalid_argument`, `rejected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TfErrorKind::Lookup => "lookup",
            TfErrorKind::Connectivity => "connectivity",
            TfErrorKind::Extrapolation => "extrapolation",
            TfErrorKind::InvalidArgument => "invalid_argument",
            TfErrorKind::Rejected => "rejected",
        }
    }
}

impl core::fmt::Display for TfErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one link (a child frame's cache) had no transform at a time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Extrapolation {
    /// The requested time is after the newest sample.
    Future {
        /// Newest sample.
        latest: Stamp,
    },
    /// The requested time is before the oldest sample.
    Past {
        /// Oldest sample.
        earliest: Stamp,
    },
    /// The link holds one sample, at another time.
    OnlyOne {
        /// That sample's stamp.
        stamp: Stamp,
    },
    /// The link holds no sample at all.
    NoData,
}

impl core::fmt::Display for Extrapolation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Extrapolation::Future { latest } => {
                write!(f, "into the future: the latest data is at {latest}")
            }
            Extrapolation::Past { earliest } => {
                write!(f, "into the past: the earliest data is at {earliest}")
            }
            Extrapolation::OnlyOne { stamp } => write!(f, "but only time {stamp} is in the buffer"),
            Extrapolation::NoData => f.write_str("but the link has no data"),
        }
    }
}

/// Which argument of a call a frame id was.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FrameRole {
    /// The lookup's target frame.
    Target,
    /// The lookup's source frame.
    Source,
    /// A transform's parent frame (`header.frame_id`).
    Parent,
    /// A transform's child frame (`child_frame_id`).
    Child,
}

impl core::fmt::Display for FrameRole {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FrameRole::Target => "target frame",
            FrameRole::Source => "source frame",
            FrameRole::Parent => "parent frame",
            FrameRole::Child => "child frame",
        })
    }
}

/// A failed lookup or insert. Each names the frames and times involved;
/// [`kind`](Self::kind) gives the tf2 exception class.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TfError {
    /// A frame id that no transform has mentioned (`LookupException`).
    #[error("{role} {frame:?} does not exist")]
    UnknownFrame {
        /// Which argument.
        role: FrameRole,
        /// The frame id.
        frame: String,
    },
    /// The parent links form a loop at `time` (`LookupException`).
    #[error(
        "the tf tree contains a loop at {time} (looking up {source_frame:?} in {target_frame:?})"
    )]
    Loop {
        /// Target frame.
        target_frame: String,
        /// Source frame.
        source_frame: String,
        /// The time of the walk (the latest common time for stamp 0).
        time: Stamp,
    },
    /// No chain of parents connects the frames (`ConnectivityException`).
    #[error(
        "could not find a connection between {target_frame:?} and {source_frame:?} at {time}: they are not part of the same tree"
    )]
    Connectivity {
        /// Target frame.
        target_frame: String,
        /// Source frame.
        source_frame: String,
        /// The requested time (0: latest).
        time: Stamp,
    },
    /// The link from `frame` to its parent has no data at `time`
    /// (`ExtrapolationException`).
    #[error(
        "lookup of {source_frame:?} in {target_frame:?} would require extrapolation of link {frame:?} at {time} {cause}"
    )]
    Extrapolation {
        /// Target frame.
        target_frame: String,
        /// Source frame.
        source_frame: String,
        /// The child frame of the link without data.
        frame: String,
        /// The time looked up (the latest common time for stamp 0).
        time: Stamp,
        /// What the link holds instead.
        cause: Extrapolation,
    },
    /// An empty frame id (`InvalidArgumentException`, `TF_NO_FRAME_ID`,
    /// `TF_NO_CHILD_FRAME_ID`).
    #[error("the {role} id is empty")]
    EmptyFrameId {
        /// Which argument.
        role: FrameRole,
    },
    /// A lookup frame id starting with `/` (`InvalidArgumentException`;
    /// inserts strip one leading slash instead, as tf2 does).
    #[error("the {role} id {frame:?} starts with '/'")]
    LeadingSlash {
        /// Which argument.
        role: FrameRole,
        /// The frame id.
        frame: String,
    },
    /// Parent and child are the same frame (`TF_SELF_TRANSFORM`).
    #[error("transform at {stamp} has frame {frame:?} as both parent and child")]
    SelfTransform {
        /// The frame.
        frame: String,
        /// The transform's stamp.
        stamp: Stamp,
    },
    /// A NaN in translation or rotation (`TF_NAN_INPUT`).
    #[error("transform {parent:?} -> {child:?} at {stamp} contains NaN")]
    NotANumber {
        /// Parent frame.
        parent: String,
        /// Child frame.
        child: String,
        /// The transform's stamp.
        stamp: Stamp,
    },
    /// `|x² + y² + z² + w² - 1| >= 0.01` (`TF_DENORMALIZED_QUATERNION`).
    #[error(
        "transform {parent:?} -> {child:?} at {stamp} has a rotation that is not a unit quaternion (squared norm {norm2})"
    )]
    Denormalized {
        /// Parent frame.
        parent: String,
        /// Child frame.
        child: String,
        /// The transform's stamp.
        stamp: Stamp,
        /// Its squared norm.
        norm2: f64,
    },
    /// Older than the cache keeps: `stamp + cache_time < newest`
    /// (`TF_OLD_DATA`).
    #[error(
        "transform for {child:?} at {stamp} is older than the cache keeps (newest {newest}, cache time {cache_time})"
    )]
    OldData {
        /// Child frame.
        child: String,
        /// The transform's stamp.
        stamp: Stamp,
        /// The newest stamp of the link.
        newest: Stamp,
        /// The buffer's cache time.
        cache_time: Duration,
    },
    /// The link already has a sample at this stamp (`TF_REPEATED_DATA`;
    /// tf2 0.7.6 keeps the first).
    #[error("transform for {child:?} at {stamp} repeats a stamp already in the buffer")]
    RepeatedData {
        /// Child frame.
        child: String,
        /// The transform's stamp.
        stamp: Stamp,
    },
}

impl TfError {
    /// The tf2 exception class.
    pub fn kind(&self) -> TfErrorKind {
        match self {
            TfError::UnknownFrame { .. } | TfError::Loop { .. } => TfErrorKind::Lookup,
            TfError::Connectivity { .. } => TfErrorKind::Connectivity,
            TfError::Extrapolation { .. } => TfErrorKind::Extrapolation,
            TfError::EmptyFrameId { .. }
            | TfError::LeadingSlash { .. }
            | TfError::SelfTransform { .. }
            | TfError::NotANumber { .. }
            | TfError::Denormalized { .. } => TfErrorKind::InvalidArgument,
            TfError::OldData { .. } | TfError::RepeatedData { .. } => TfErrorKind::Rejected,
        }
    }
}
