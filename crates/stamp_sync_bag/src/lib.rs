//! Reading header stamps out of recorded bags: MCAP, rosbag2 sqlite3 and
//! ROS 1 `.bag`.
//!
//! [`Bag::open`] recognises the format from the file (or bag directory),
//! lists its [topics](Bag::topics) and reads the chosen topics' messages in
//! **log-time order** (the order they were recorded, which is the arrival
//! order a live synchronizer sees). For each message it reads the header
//! stamp from the first bytes of the serialized data ([`stamp`]) without
//! deserializing the message. Whether a topic has a header is decided from
//! the message definition stored in the bag ([`schema`]), never from its
//! type name.
//!
//! ```no_run
//! use stamp_sync_bag::{Bag, StampSource};
//! use stamp_sync::trace::{replay, PolicyConfig};
//!
//! let bag = Bag::open("husky.mcap")?;
//! for t in bag.topics() {
//!     println!("{} {} {} stamped: {:?}", t.name, t.type_name, t.count, t.header);
//! }
//! let read = bag.trace(&["/fix", "/imu/data"], StampSource::Header)?;
//! let out = replay(&read.trace, 2, &PolicyConfig::approximate(10))?;
//! print!("{}", out.sets_csv());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Containers are parsed by the `mcap`, `rusqlite` and `rosbag` crates. The
//! readers never panic on bad input: truncated, corrupted and unsupported
//! bags are a [`BagError`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod backend;
mod directory;
mod mcap_reader;
mod ros1_reader;
mod sqlite_reader;
pub mod tf;

// Where they used to live.
pub use stamp_sync_wire::{schema, stamp};

use std::fmt;
use std::path::{Path, PathBuf};

use backend::Backend;
use stamp_sync::time::Stamp;
use stamp_sync::trace::Trace;

/// Storage format of a bag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// MCAP (rosbag2 `mcap` storage or any MCAP with CDR or ROS 1 messages).
    Mcap,
    /// rosbag2 sqlite3 (`.db3`).
    Sqlite3,
    /// ROS 1 bag, format version 2.0.
    Ros1,
}

impl Format {
    /// Short name: `mcap`, `sqlite3` or `ros1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Mcap => "mcap",
            Format::Sqlite3 => "sqlite3",
            Format::Ros1 => "ros1",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a topic's messages start with a `std_msgs/Header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderStatus {
    /// The stored definition's first field is a `std_msgs/Header`.
    Stamped,
    /// The stored definition's first field is something else.
    NotStamped,
    /// The bag stores no definition for the type (for example a rosbag2
    /// sqlite3 bag written before message definitions were stored).
    Unknown,
}

/// How a message is serialized, which decides where its stamp sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// ROS 2 CDR with a 4-byte encapsulation header.
    Cdr,
    /// ROS 1 serialization.
    Ros1,
    /// Anything else (stamps cannot be read).
    Other,
}

/// One topic of a bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name, e.g. `/imu/data`.
    pub name: String,
    /// Message type, e.g. `sensor_msgs/msg/Imu` (ROS 2) or `sensor_msgs/Imu` (ROS 1).
    pub type_name: String,
    /// Message serialization.
    pub encoding: Encoding,
    /// Serialization name as stored, e.g. `cdr`.
    pub encoding_name: String,
    /// Messages recorded on the topic.
    pub count: u64,
    /// Whether the messages carry a header stamp.
    pub header: HeaderStatus,
}

impl TopicInfo {
    /// True if the header stamp can be read: the stored definition starts
    /// with a header and the encoding is known.
    pub fn has_header(&self) -> bool {
        self.header == HeaderStatus::Stamped && self.encoding != Encoding::Other
    }
}

/// One message as read from a bag: no payload, just what synchronization needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BagMessage {
    /// Index into [`Bag::topics`].
    pub topic: usize,
    /// When it was recorded (the arrival time).
    pub log_time: Stamp,
    /// Its `header.stamp`, or `None` if the topic has no header.
    pub header_stamp: Option<Stamp>,
    /// Serialized size in bytes.
    pub len: usize,
}

/// One message with its serialized bytes, from [`Bag::read_payloads`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Topic, log time and header stamp.
    pub message: BagMessage,
    /// The message as serialized in the bag (`message.len` bytes).
    pub data: Vec<u8>,
}

/// Which time a bag replay synchronizes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum StampSource {
    /// `header.stamp` (the default). Topics without a header are an error.
    #[default]
    Header,
    /// The recorded log time, for topics without a header.
    Arrival,
}

/// A bag replayable as a trace: the chosen topics' messages in log-time order.
#[derive(Debug, Clone, Default)]
pub struct BagTrace {
    /// Bag topic index of each trace channel (channel `i` is `topics[i]`).
    pub topics: Vec<usize>,
    /// The messages of those topics in log-time order (`messages[i]` is
    /// trace message `i`).
    pub messages: Vec<BagMessage>,
    /// Channel and stamp of each message, in the same order.
    pub trace: Trace,
}

/// Why a bag could not be read. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BagError {
    /// The file or directory could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in any supported bag format.
    #[error(
        "{path}: not a bag (expected an MCAP file, a rosbag2 .db3 or bag directory, or a ROS 1 .bag v2.0): {reason}"
    )]
    NotABag {
        /// The file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// The bag is truncated or its bytes are damaged.
    #[error("{path}: truncated or corrupted {format} bag{}: {detail}", at.as_ref().map(|a| format!(" at {a}")).unwrap_or_default())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: Format,
        /// Where, if known (a byte offset, chunk or message number).
        at: Option<String>,
        /// What the reader found.
        detail: String,
    },
    /// The bag is compressed in a way this reader does not support.
    #[error("{path}: unsupported compression {compression:?}{}", if supported.is_empty() { String::new() } else { format!(" (supported: {supported})") })]
    UnsupportedCompression {
        /// The file.
        path: PathBuf,
        /// The compression named in the bag.
        compression: String,
        /// What is supported for this format.
        supported: &'static str,
    },
    /// A bag layout this reader does not support (for example a split bag).
    #[error("{path}: unsupported bag: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported.
        what: String,
    },
    /// A topic that is not in the bag.
    #[error("{path}: no topic {topic:?} in the bag; available topics: {}", available.join(", "))]
    UnknownTopic {
        /// The file.
        path: PathBuf,
        /// The topic asked for.
        topic: String,
        /// The topics the bag has.
        available: Vec<String>,
    },
    /// The same topic was asked for twice.
    #[error(
        "{path}: topic {topic} is given more than once; each input channel needs its own topic"
    )]
    DuplicateTopic {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
    },
    /// A topic asked for by header stamp whose type has no header.
    #[error(
        "{path}: topic {topic} ({type_name}) {why}, so it has no header stamp to synchronize on; use the arrival (log) time instead (--stamp arrival)"
    )]
    NoHeader {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// Its type.
        type_name: String,
        /// Why: no header field, no stored definition, or an unknown encoding.
        why: String,
    },
    /// A message whose stamp could not be read.
    #[error("{path}: topic {topic}, message {index} (log time {log_time}): {source}")]
    BadMessage {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// 0-based index of the message among the topic's messages.
        index: u64,
        /// Its log time.
        log_time: Stamp,
        /// What was wrong.
        #[source]
        source: stamp::StampError,
    },
    /// A `/tf` or `/tf_static` message, or a header's frame id, that
    /// could not be decoded ([`Bag::read_tf`]).
    #[error(transparent)]
    Decode(Box<tf::TfDecodeError>),
}

/// Progress of a read, in messages scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Messages scanned so far (all topics).
    pub done: u64,
    /// Messages in the bag (all topics), as far as known.
    pub total: u64,
}

/// Raw message from a format backend: topic index, log time, payload.
pub(crate) struct Raw<'a> {
    pub topic: usize,
    pub log_time: Stamp,
    pub data: &'a [u8],
    /// The payload may be a prefix of a longer message (sqlite reads only
    /// the stamp bytes); this is the full length.
    pub len: usize,
}

/// One storage file of a bag (a split rosbag2 bag has several).
struct Part {
    path: PathBuf,
    backend: Box<dyn Backend>,
    /// The bag's topic index of each of this file's topics.
    topics: Vec<usize>,
    /// Holds the decompressed copy of a zstd-compressed file while open.
    _scratch: Option<tempfile::TempDir>,
}

/// An open bag.
pub struct Bag {
    path: PathBuf,
    format: Format,
    topics: Vec<TopicInfo>,
    bytes: u64,
    /// The storage files, in recording order.
    parts: Vec<Part>,
}

impl fmt::Debug for Bag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bag")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("topics", &self.topics)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

const MCAP_MAGIC: &[u8] = b"\x89MCAP0\r\n";
const ROS1_MAGIC: &[u8] = b"#ROSBAG V2.0\n";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

impl Bag {
    /// Opens a bag: an `.mcap` file, a rosbag2 `.db3`, a rosbag2 bag
    /// directory (with `metadata.yaml`; split into several files, or
    /// compressed by rosbag2 in zstd FILE mode, which is decompressed into
    /// a temporary directory kept while the bag is open), or a ROS 1
    /// `.bag`. The format is recognised from the file's first bytes, not
    /// its name.
    pub fn open(path: impl AsRef<Path>) -> Result<Bag, BagError> {
        let path = path.as_ref();
        let io = |source| BagError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_dir() {
            return Bag::open_file(path);
        }
        let storage = directory::storage_files(path)?;
        let mut files = storage
            .files
            .iter()
            .map(|f| Bag::open_storage(f, storage.zstd))
            .collect::<Result<Vec<_>, _>>()?;
        match files.len() {
            1 => Ok(files.remove(0)),
            _ => Bag::join(path, files),
        }
    }

    /// One storage file of a bag directory, decompressed first if rosbag2
    /// compressed it whole.
    fn open_storage(file: &Path, zstd: bool) -> Result<Bag, BagError> {
        if !zstd {
            return Bag::open_file(file);
        }
        let (scratch, plain) = directory::unzstd(file)?;
        let mut bag = Bag::open_file(&plain)?;
        bag.path = file.to_path_buf();
        if let Some(part) = bag.parts.first_mut() {
            part.path = file.to_path_buf();
            part._scratch = Some(scratch);
        }
        Ok(bag)
    }

    /// A split bag: the files' topics merged by name (type and encoding
    /// must agree), read one file after the other.
    fn join(dir: &Path, files: Vec<Bag>) -> Result<Bag, BagError> {
        let mut bag = Bag {
            path: dir.to_path_buf(),
            format: files.first().map_or(Format::Mcap, |f| f.format),
            topics: Vec::new(),
            bytes: 0,
            parts: Vec::new(),
        };
        for file in files {
            if file.format != bag.format {
                return Err(BagError::Unsupported {
                    path: file.path,
                    what: format!(
                        "a split bag mixing {} and {} files",
                        bag.format, file.format
                    ),
                });
            }
            bag.bytes += file.bytes;
            let mut index_of = Vec::with_capacity(file.topics.len());
            for info in file.topics {
                let merged = match bag.topics.iter().position(|t| t.name == info.name) {
                    Some(i) => i,
                    None => {
                        bag.topics.push(TopicInfo {
                            count: 0,
                            ..info.clone()
                        });
                        bag.topics.len() - 1
                    }
                };
                let t = &mut bag.topics[merged];
                if t.type_name != info.type_name || t.encoding_name != info.encoding_name {
                    return Err(BagError::Unsupported {
                        path: file.path,
                        what: format!(
                            "topic {} is {} ({}) here but {} ({}) in an earlier file of the split bag",
                            info.name,
                            info.type_name,
                            info.encoding_name,
                            t.type_name,
                            t.encoding_name
                        ),
                    });
                }
                t.count += info.count;
                if t.header == HeaderStatus::Unknown {
                    t.header = info.header;
                }
                index_of.push(merged);
            }
            for part in file.parts {
                let topics = part
                    .topics
                    .iter()
                    .map(|&t| index_of.get(t).copied().unwrap_or(usize::MAX))
                    .collect();
                bag.parts.push(Part { topics, ..part });
            }
        }
        Ok(bag)
    }

    fn open_file(path: &Path) -> Result<Bag, BagError> {
        use std::io::Read as _;
        let io = |source| BagError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut head = [0u8; 16];
        let mut file = std::fs::File::open(path).map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len();
        let mut n = 0;
        while n < head.len() {
            let got = file.read(&mut head[n..]).map_err(io)?;
            if got == 0 {
                break;
            }
            n += got;
        }
        let head = &head[..n];
        let (backend, topics): (Box<dyn Backend>, Vec<TopicInfo>) = if head.starts_with(MCAP_MAGIC)
        {
            let (b, t) = mcap_reader::McapBag::open(path)?;
            (Box::new(b), t)
        } else if head.starts_with(ROS1_MAGIC) {
            let (b, t) = ros1_reader::Ros1Bag::open(path)?;
            (Box::new(b), t)
        } else if head.starts_with(SQLITE_MAGIC) {
            let (b, t) = sqlite_reader::SqliteBag::open(path)?;
            (Box::new(b), t)
        } else if head.starts_with(b"#ROSBAG V") {
            return Err(BagError::Unsupported {
                path: path.to_path_buf(),
                what: format!(
                    "ROS 1 bag version {:?} (only 2.0 is supported)",
                    String::from_utf8_lossy(&head[9..]).trim_end()
                ),
            });
        } else {
            return Err(BagError::NotABag {
                path: path.to_path_buf(),
                reason: if head.is_empty() {
                    "the file is empty".to_string()
                } else {
                    format!(
                        "unrecognised first bytes {:02x?}",
                        &head[..head.len().min(8)]
                    )
                },
            });
        };
        let format = backend.format();
        Ok(Bag {
            path: path.to_path_buf(),
            format,
            bytes,
            parts: vec![Part {
                path: path.to_path_buf(),
                backend,
                topics: (0..topics.len()).collect(),
                _scratch: None,
            }],
            topics,
        })
    }

    /// The storage file read (for a bag directory, the file inside it;
    /// for a split bag, the directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The storage files read, in recording order (more than one for a
    /// split rosbag2 bag).
    pub fn files(&self) -> impl Iterator<Item = &Path> + '_ {
        self.parts.iter().map(|p| p.path.as_path())
    }

    /// The storage format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Size of the storage files in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes
    }

    /// The bag's topics, in the order the bag lists them.
    pub fn topics(&self) -> &[TopicInfo] {
        &self.topics
    }

    /// Index of the topic called `name`, or [`BagError::UnknownTopic`]
    /// listing the topics the bag has.
    pub fn topic_index(&self, name: &str) -> Result<usize, BagError> {
        self.topics
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| BagError::UnknownTopic {
                path: self.path.clone(),
                topic: name.to_string(),
                available: self.topics.iter().map(|t| t.name.clone()).collect(),
            })
    }

    /// Reads the messages of `topics` (indices into [`Bag::topics`]) in
    /// log-time order; messages with equal log times keep their storage
    /// order. Header stamps are read for topics that
    /// [have a header](TopicInfo::has_header); a message too short to hold
    /// one is an error. `progress` is called now and then.
    pub fn read(
        &self,
        topics: &[usize],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<BagMessage>, BagError> {
        let mut out: Vec<BagMessage> = Vec::new();
        self.read_each(topics, false, progress, &mut |m, _| out.push(m))?;
        if !out.is_sorted_by_key(|m| m.log_time) {
            out.sort_by_key(|m| m.log_time);
        }
        Ok(out)
    }

    /// Like [`Bag::read`], with each message's serialized bytes (CDR for a
    /// ROS 2 bag, ROS 1 serialization for a ROS 1 bag), e.g. to publish
    /// them again as they were recorded. Reads sequentially and keeps every
    /// payload in memory: meant for small bags and short windows.
    pub fn read_payloads(&self, topics: &[usize]) -> Result<Vec<Payload>, BagError> {
        let mut out: Vec<Payload> = Vec::new();
        self.read_each(topics, true, &mut |_| {}, &mut |message, data| {
            out.push(Payload {
                message,
                data: data.to_vec(),
            })
        })?;
        if !out.is_sorted_by_key(|p| p.message.log_time) {
            out.sort_by_key(|p| p.message.log_time);
        }
        Ok(out)
    }

    /// Hands every message of `topics` to `keep`, in storage order, with
    /// its bytes (only the first 12 unless `full`).
    fn read_each(
        &self,
        topics: &[usize],
        full: bool,
        progress: &mut dyn FnMut(Progress),
        keep: &mut dyn FnMut(BagMessage, &[u8]),
    ) -> Result<(), BagError> {
        let n = self.topics.len();
        let mut wanted = vec![false; n];
        for &t in topics {
            if let Some(w) = wanted.get_mut(t) {
                *w = true;
            }
        }
        let total: u64 = topics
            .iter()
            .filter_map(|&t| self.topics.get(t))
            .map(|t| t.count)
            .sum();
        let mut per_topic = vec![0u64; n];
        let mut err: Option<BagError> = None;
        let mut done = 0u64;
        for part in &self.parts {
            // This file's topic indices.
            let local_wanted: Vec<bool> = part
                .topics
                .iter()
                .map(|&t| wanted.get(t).copied().unwrap_or(false))
                .collect();
            let mut sink = |raw: Raw<'_>| -> bool {
                done += 1;
                if done % 4096 == 0 {
                    progress(Progress { done, total });
                }
                let Some(&topic) = part.topics.get(raw.topic) else {
                    return true;
                };
                let Some(info) = self.topics.get(topic) else {
                    return true;
                };
                if !wanted[topic] {
                    return true;
                }
                let index = per_topic[topic];
                per_topic[topic] += 1;
                let header_stamp = if info.has_header() {
                    let s = match info.encoding {
                        Encoding::Cdr => stamp::cdr_header_stamp(raw.data),
                        _ => stamp::ros1_header_stamp(raw.data),
                    };
                    match s {
                        Ok(s) => Some(s),
                        Err(source) => {
                            err = Some(BagError::BadMessage {
                                path: part.path.clone(),
                                topic: info.name.clone(),
                                index,
                                log_time: raw.log_time,
                                source,
                            });
                            return false;
                        }
                    }
                } else {
                    None
                };
                keep(
                    BagMessage {
                        topic,
                        log_time: raw.log_time,
                        header_stamp,
                        len: raw.len,
                    },
                    raw.data,
                );
                true
            };
            backend::scan(&*part.backend, &part.path, &local_wanted, full, &mut sink)?;
            if err.is_some() {
                break;
            }
        }
        if let Some(e) = err {
            return Err(e);
        }
        progress(Progress { done, total });
        Ok(())
    }

    /// The messages of the topics named in `names`, as a trace whose channel
    /// `i` is `names[i]`, synchronizing on `source`.
    ///
    /// Errors: an unknown topic ([`BagError::UnknownTopic`]), and with
    /// [`StampSource::Header`] a topic without a header
    /// ([`BagError::NoHeader`]), besides read errors.
    pub fn trace(&self, names: &[&str], source: StampSource) -> Result<BagTrace, BagError> {
        self.trace_with_progress(names, source, &mut |_| {})
    }

    /// [`Bag::trace`] with a progress callback.
    pub fn trace_with_progress(
        &self,
        names: &[&str],
        source: StampSource,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<BagTrace, BagError> {
        let mut topics = Vec::with_capacity(names.len());
        for name in names {
            let t = self.topic_index(name)?;
            if topics.contains(&t) {
                return Err(BagError::DuplicateTopic {
                    path: self.path.clone(),
                    topic: name.to_string(),
                });
            }
            if source == StampSource::Header {
                self.check_header(t)?;
            }
            topics.push(t);
        }
        let mut channel_of = vec![usize::MAX; self.topics.len()];
        for (ch, &t) in topics.iter().enumerate() {
            channel_of[t] = ch;
        }
        let messages = self.read(&topics, progress)?;
        let trace = Trace::from_pairs(messages.iter().map(|m| {
            let stamp = match source {
                StampSource::Header => m.header_stamp.unwrap_or(m.log_time),
                StampSource::Arrival => m.log_time,
            };
            (channel_of[m.topic], stamp)
        }));
        Ok(BagTrace {
            topics,
            messages,
            trace,
        })
    }

    /// Ok if topic `t` has a readable header stamp, else [`BagError::NoHeader`].
    pub fn check_header(&self, t: usize) -> Result<(), BagError> {
        let Some(info) = self.topics.get(t) else {
            return Err(BagError::UnknownTopic {
                path: self.path.clone(),
                topic: format!("#{t}"),
                available: self.topics.iter().map(|t| t.name.clone()).collect(),
            });
        };
        if info.has_header() {
            return Ok(());
        }
        let why = if info.encoding == Encoding::Other {
            format!(
                "is serialized as {:?}, which this reader cannot read stamps from",
                info.encoding_name
            )
        } else {
            match info.header {
                HeaderStatus::NotStamped => {
                    "has no std_msgs/Header as its first field (per the definition stored in the bag)".to_string()
                }
                _ => "has no message definition stored in the bag".to_string(),
            }
        };
        Err(BagError::NoHeader {
            path: self.path.clone(),
            topic: info.name.clone(),
            type_name: info.type_name.clone(),
            why,
        })
    }
}

/// True if the file at `path` starts like a bag this crate reads (MCAP,
/// ROS 1 or SQLite); false if it does not or cannot be read.
pub fn has_bag_magic(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 16];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    let head = &head[..n];
    [
        MCAP_MAGIC,
        ROS1_MAGIC,
        SQLITE_MAGIC,
        b"#ROSBAG V".as_slice(),
    ]
    .iter()
    .any(|m| head.starts_with(m))
}

/// Opens a bag; see [`Bag::open`].
pub fn open(path: impl AsRef<Path>) -> Result<Bag, BagError> {
    Bag::open(path)
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
