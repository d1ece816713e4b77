//! Transforms recorded in a bag: `/tf` and `/tf_static`
//! (`tf2_msgs/TFMessage`, CDR or ROS 1) decoded in log-time order, with
//! the header stamp and frame of the messages to transform. What
//! `stamp-sync tf BAG` and `stamp-sync match BAG --target-frame` replay.

use super::{Bag, BagError, BagMessage, Encoding};
use stamp_sync::time::{Duration, Stamp};
use stamp_sync_tf::TfInput;
use stamp_sync_tf::trace::TfRecord;
use stamp_sync_wire::tf::{
    DecodeError, cdr_header_frame_id, cdr_tf_message, ros1_header_frame_id, ros1_tf_message,
};

/// The dynamic transforms topic.
pub const TF_TOPIC: &str = "/tf";
/// The static transforms topic.
pub const TF_STATIC_TOPIC: &str = "/tf_static";

/// One transform as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedTransform {
    /// The log (arrival) time of the `TFMessage` that carried it.
    pub log_time: Stamp,
    /// The transform (`is_static` for `/tf_static`).
    pub transform: TfInput,
}

/// A message of a stamped topic with the frame its data is in.
#[derive(Debug, Clone, PartialEq)]
pub struct FramedMessage {
    /// Topic, log time, header stamp.
    pub message: BagMessage,
    /// Its `header.frame_id`.
    pub frame_id: String,
}

impl FramedMessage {
    /// The header stamp (the log time if the topic had none, which
    /// [`Bag::read_tf`] does not let happen).
    pub fn stamp(&self) -> Stamp {
        self.message.header_stamp.unwrap_or(self.message.log_time)
    }
}

/// What [`Bag::read_tf`] read.
#[derive(Debug, Clone, Default)]
pub struct TfRead {
    /// Every transform of `/tf` and `/tf_static`, in log-time order
    /// (equal log times in storage order, a message's transforms in
    /// message order).
    pub transforms: Vec<LoggedTransform>,
    /// The messages of the topics asked for, in log-time order.
    pub messages: Vec<FramedMessage>,
    /// Bag topic index of each topic asked for, in the order given.
    pub topics: Vec<usize>,
    /// Whether the bag has a `/tf` or a `/tf_static` topic at all.
    pub has_tf_topics: bool,
}

/// A `/tf` or `/tf_static` message that could not be decoded, or a header
/// whose frame id could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: topic {topic}, message {index} (log time {log_time}): {source}")]
pub struct TfDecodeError {
    /// The file.
    pub path: std::path::PathBuf,
    /// The topic.
    pub topic: String,
    /// 0-based index among the topic's messages.
    pub index: u64,
    /// Its log time.
    pub log_time: Stamp,
    /// What was wrong.
    #[source]
    pub source: DecodeError,
}

impl Bag {
    /// Reads `/tf` and `/tf_static` and the messages of `topics` (each
    /// needs a header: [`BagError::NoHeader`] otherwise), in one pass.
    ///
    /// A bag without tf topics reads as no transforms
    /// ([`TfRead::has_tf_topics`] tells). A tf topic of another type, or
    /// in an encoding other than CDR or ROS 1, is
    /// [`BagError::Unsupported`]; a message that does not decode is
    /// [`BagError::Decode`].
    pub fn read_tf(&self, topics: &[&str]) -> Result<TfRead, BagError> {
        let mut wanted = Vec::with_capacity(topics.len());
        for name in topics {
            let t = self.topic_index(name)?;
            if wanted.contains(&t) {
                return Err(BagError::DuplicateTopic {
                    path: self.path.clone(),
                    topic: name.to_string(),
                });
            }
            self.check_header(t)?;
            wanted.push(t);
        }
        let mut tf_topics = Vec::new();
        for name in [TF_TOPIC, TF_STATIC_TOPIC] {
            let Some(t) = self.topics.iter().position(|i| i.name == name) else {
                continue;
            };
            let info = &self.topics[t];
            let is_tf_type =
                info.type_name.ends_with("/TFMessage") || info.type_name.ends_with("/tfMessage");
            if !is_tf_type || info.encoding == Encoding::Other {
                return Err(BagError::Unsupported {
                    path: self.path.clone(),
                    what: format!(
                        "{name} is {} ({}); transforms are read from tf2_msgs/TFMessage in CDR or ROS 1",
                        info.type_name, info.encoding_name
                    ),
                });
            }
            if wanted.contains(&t) {
                return Err(BagError::DuplicateTopic {
                    path: self.path.clone(),
                    topic: name.to_string(),
                });
            }
            tf_topics.push((t, name == TF_STATIC_TOPIC));
        }
        let mut all: Vec<usize> = wanted.clone();
        all.extend(tf_topics.iter().map(|&(t, _)| t));

        let mut out = TfRead {
            topics: wanted.clone(),
            has_tf_topics: !tf_topics.is_empty(),
            ..TfRead::default()
        };
        let mut index = vec![0u64; self.topics.len()];
        let mut failed: Option<TfDecodeError> = None;
        self.read_each(&all, true, &mut |_| {}, &mut |m, data| {
            if failed.is_some() {
                return;
            }
            let (Some(info), Some(i)) = (self.topics.get(m.topic), index.get_mut(m.topic)) else {
                return;
            };
            let n = *i;
            *i += 1;
            let cdr = info.encoding == Encoding::Cdr;
            let decoded = match tf_topics.iter().find(|&&(t, _)| t == m.topic) {
                Some(&(_, is_static)) => {
                    let r = if cdr {
                        cdr_tf_message(data, is_static)
                    } else {
                        ros1_tf_message(data, is_static)
                    };
                    r.map(|ts| {
                        out.transforms
                            .extend(ts.into_iter().map(|transform| LoggedTransform {
                                log_time: m.log_time,
                                transform,
                            }));
                    })
                }
                None => {
                    let r = if cdr {
                        cdr_header_frame_id(data)
                    } else {
                        ros1_header_frame_id(data)
                    };
                    r.map(|frame_id| {
                        out.messages.push(FramedMessage {
                            message: m,
                            frame_id,
                        })
                    })
                }
            };
            if let Err(source) = decoded {
                failed = Some(TfDecodeError {
                    path: self.path.clone(),
                    topic: info.name.clone(),
                    index: n,
                    log_time: m.log_time,
                    source,
                });
            }
        })?;
        if let Some(e) = failed {
            return Err(BagError::Decode(Box::new(e)));
        }
        // Stable: equal log times keep storage order.
        out.transforms.sort_by_key(|t| t.log_time);
        out.messages.sort_by_key(|m| m.message.log_time);
        Ok(out)
    }
}

impl TfRead {
    /// The bag as a transform trace ([`stamp_sync_tf::trace`]): for every
    /// message, in log-time order, the transforms logged at or before its
    /// log time plus `delay` that are not in yet, then one lookup per
    /// `(target, source)` pair at its header stamp. Running it
    /// ([`run_records`](stamp_sync_tf::trace::run_records)) answers what a node
    /// would have found `delay` after each message arrived.
    pub fn lookup_trace(&self, pairs: &[(String, String)], delay: Duration) -> Vec<TfRecord> {
        let mut out = Vec::with_capacity(self.transforms.len() + self.messages.len() * pairs.len());
        let mut next = self.transforms.iter().peekable();
        for m in &self.messages {
            let horizon = m.message.log_time + delay;
            while let Some(t) = next.next_if(|t| t.log_time <= horizon) {
                out.push(record_of(&t.transform));
            }
            out.extend(pairs.iter().map(|(target, source)| TfRecord::Lookup {
                stamp: m.stamp(),
                target: target.clone(),
                source: source.clone(),
            }));
        }
        out
    }
}

/// A transform as a trace record.
pub fn record_of(t: &TfInput) -> TfRecord {
    TfRecord::Transform {
        is_static: t.is_static,
        stamp: t.stamp,
        parent: t.parent.clone(),
        child: t.child.clone(),
        transform: t.transform,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stamp_sync_tf::{Quaternion, Transform, Vector3};

    fn logged(log_ns: i64, child: &str) -> LoggedTransform {
        LoggedTransform {
            log_time: Stamp::from_nanos(log_ns),
            transform: TfInput {
                is_static: false,
                stamp: Stamp::from_nanos(log_ns - 1),
                parent: "map".into(),
                child: child.into(),
                transform: Transform::new(Vector3::ZERO, Quaternion::IDENTITY),
            },
        }
    }

    fn message(log_ns: i64, stamp_ns: i64) -> FramedMessage {
        FramedMessage {
            message: BagMessage {
                topic: 0,
                log_time: Stamp::from_nanos(log_ns),
                header_stamp: Some(Stamp::from_nanos(stamp_ns)),
                len: 0,
            },
            frame_id: "cam".into(),
        }
    }

    fn kinds(records: &[TfRecord]) -> String {
        records
            .iter()
            .map(|r| match r {
                TfRecord::Transform { child, .. } => child.clone(),
                TfRecord::Lookup { stamp, .. } => format!("?{}", stamp.as_nanos()),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn transforms_up_to_the_log_time_plus_delay_come_first() {
        let read = TfRead {
            transforms: vec![
                logged(10, "a"),
                logged(20, "b"),
                logged(21, "c"),
                logged(40, "d"),
            ],
            messages: vec![message(20, 5), message(30, 6), message(50, 7)],
            topics: vec![0],
            has_tf_topics: true,
        };
        let pairs = [("map".to_string(), "cam".to_string())];
        assert_eq!(
            kinds(&read.lookup_trace(&pairs, Duration::ZERO)),
            "a b ?5 c ?6 d ?7"
        );
        assert_eq!(
            kinds(&read.lookup_trace(&pairs, Duration::from_nanos(10))),
            "a b c ?5 d ?6 ?7"
        );
        let two = [pairs[0].clone(), ("odom".to_string(), "cam".to_string())];
        assert_eq!(
            kinds(&read.lookup_trace(&two, Duration::from_nanos(1))),
            "a b c ?5 ?5 ?6 ?6 d ?7 ?7"
        );
    }
}
