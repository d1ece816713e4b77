//! MCAP backend, on the `mcap` crate.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use mcap::McapError;

use super::backend::Backend;
use super::{BagError, Encoding, Format, HeaderStatus, Raw, TopicInfo};
use stamp_sync::time::Stamp;
use stamp_sync_wire::schema::{DefinitionFormat, first_field_is_header};

pub(crate) struct McapBag {
    map: memmap2::Mmap,
    /// The summary's statistics, to check a scan against: messages per
    /// channel and the log-time range.
    stats: Option<mcap::records::Statistics>,
    /// Topic index by channel id (a dense table for the scan loop):
    /// `u32::MAX` = not a known channel.
    dense_topic: Vec<u32>,
    /// Start offsets of the chunks, ascending, from the summary's chunk
    /// indexes (empty without a summary).
    chunk_starts: Vec<u64>,
}

fn corrupt(path: &Path, at: Option<String>, e: &McapError) -> BagError {
    match e {
        McapError::UnsupportedCompression(c) => BagError::UnsupportedCompression {
            path: path.to_path_buf(),
            compression: c.clone(),
            supported: "zstd, lz4, none",
        },
        other => BagError::Corrupt {
            path: path.to_path_buf(),
            format: Format::Mcap,
            at,
            detail: other.to_string(),
        },
    }
}

/// Encoding from an MCAP channel's `message_encoding`.
fn encoding_of(name: &str) -> Encoding {
    match name {
        "cdr" => Encoding::Cdr,
        "ros1" => Encoding::Ros1,
        _ => Encoding::Other,
    }
}

fn header_status(schema: Option<&mcap::Schema<'_>>) -> HeaderStatus {
    let Some(schema) = schema else {
        return HeaderStatus::Unknown;
    };
    let format = match schema.encoding.as_str() {
        "ros2msg" => DefinitionFormat::Ros2Msg,
        "ros1msg" => DefinitionFormat::Ros1Msg,
        "ros2idl" => DefinitionFormat::Ros2Idl,
        _ => return HeaderStatus::Unknown,
    };
    let text = String::from_utf8_lossy(&schema.data);
    if text.trim().is_empty() {
        return HeaderStatus::Unknown;
    }
    if first_field_is_header(&text, format, &schema.name) {
        HeaderStatus::Stamped
    } else {
        HeaderStatus::NotStamped
    }
}

/// The largest record (or decompressed chunk) accepted: 16 times the file
/// size, between 64 MiB and 1 GiB. `mcap`'s own message streams do not
/// bound chunk sizes, so a damaged size field could make them try to
/// allocate exabytes (found by `crates/stamp_sync_bag/tests/it/bag_fuzz.rs`).
fn record_limit(file_len: usize) -> usize {
    file_len.saturating_mul(16).clamp(64 << 20, 1 << 30)
}

/// A byte range of the file to read records from.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// Starts at the file's start (magic to check).
    first: bool,
    /// Ends at the file's end (magic to check).
    last: bool,
}

/// Runs `f` over every record of the whole file in order, chunks
/// decompressed (with their CRCs checked), until `f` returns `Ok(false)`.
fn for_each_record(
    path: &Path,
    map: &[u8],
    f: &mut dyn FnMut(mcap::records::Record<'_>) -> Result<bool, BagError>,
) -> Result<(), BagError> {
    let whole = Span {
        start: 0,
        end: map.len(),
        first: true,
        last: true,
    };
    for_each_record_in(path, map, whole, f)
}

/// [`for_each_record`] over the records of `span`, which starts and ends
/// at record boundaries.
fn for_each_record_in(
    path: &Path,
    map: &[u8],
    span: Span,
    f: &mut dyn FnMut(mcap::records::Record<'_>) -> Result<bool, BagError>,
) -> Result<(), BagError> {
    use mcap::sans_io::{LinearReadEvent, LinearReader, LinearReaderOptions};
    let Some(buf) = map.get(span.start..span.end) else {
        return Err(BagError::Corrupt {
            path: path.to_path_buf(),
            format: Format::Mcap,
            at: Some(format!("bytes {}..{}", span.start, span.end)),
            detail: "the chunk index points outside the file".to_string(),
        });
    };
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default()
            .with_record_length_limit(record_limit(map.len()))
            .with_validate_chunk_crcs(true)
            .with_skip_start_magic(!span.first)
            .with_skip_end_magic(!span.last),
    );
    let mut rest = buf;
    let mut n = 0u64;
    while let Some(event) = reader.next_event() {
        let event = event.map_err(|e| {
            let at = span.start + buf.len() - rest.len();
            corrupt(
                path,
                Some(format!("record {n} after byte {} (byte {at})", span.start)),
                &e,
            )
        })?;
        match event {
            LinearReadEvent::ReadRequest(need) => {
                let len = need.min(rest.len());
                reader.insert(len).copy_from_slice(&rest[..len]);
                reader.notify_read(len);
                rest = &rest[len..];
            }
            LinearReadEvent::Record { data, opcode } => {
                let record = mcap::parse_record(opcode, data).map_err(|e| {
                    corrupt(
                        path,
                        Some(format!("record {n} after byte {}", span.start)),
                        &e,
                    )
                })?;
                n += 1;
                if !f(record)? {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

impl McapBag {
    pub(crate) fn open(path: &Path) -> Result<(McapBag, Vec<TopicInfo>), BagError> {
        let file = std::fs::File::open(path).map_err(|source| BagError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // SAFETY: the map is only read. As with every memory-mapped reader,
        // another process truncating the file while it is mapped is outside
        // what this reader defends against.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| BagError::Io {
            path: path.to_path_buf(),
            source,
        })?;

        let mut topics: Vec<TopicInfo> = Vec::new();
        let mut topic_of_channel = HashMap::new();
        let add_channel = |topics: &mut Vec<TopicInfo>, ch: &mcap::Channel<'_>| -> usize {
            if let Some(i) = topics.iter().position(|t| t.name == ch.topic) {
                return i;
            }
            topics.push(TopicInfo {
                name: ch.topic.clone(),
                type_name: ch
                    .schema
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                encoding: encoding_of(&ch.message_encoding),
                encoding_name: ch.message_encoding.clone(),
                count: 0,
                header: header_status(ch.schema.as_deref()),
            });
            topics.len() - 1
        };

        let summary = mcap::Summary::read(&map).ok().flatten();
        let counted = match &summary {
            Some(s) if !s.channels.is_empty() => {
                let mut ids: Vec<_> = s.channels.keys().copied().collect();
                ids.sort_unstable();
                for id in ids {
                    if let Some(ch) = s.channels.get(&id) {
                        let t = add_channel(&mut topics, ch);
                        topic_of_channel.insert(id, t);
                    }
                }
                match &s.stats {
                    Some(stats) => {
                        for (id, n) in &stats.channel_message_counts {
                            if let Some(&t) = topic_of_channel.get(id) {
                                topics[t].count += n;
                            }
                        }
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if !counted {
            // No usable summary (or no statistics): one linear pass learns
            // the channels and counts, and finds truncation now.
            for t in &mut topics {
                t.count = 0;
            }
            let mut schemas: HashMap<u16, std::sync::Arc<mcap::Schema<'static>>> = HashMap::new();
            let mut channels: HashMap<u16, mcap::Channel<'static>> = HashMap::new();
            let mut n = 0u64;
            for_each_record(path, &map, &mut |record| {
                use mcap::records::Record;
                match record {
                    Record::Schema { header, data } => {
                        schemas.insert(
                            header.id,
                            std::sync::Arc::new(mcap::Schema {
                                id: header.id,
                                name: header.name,
                                encoding: header.encoding,
                                data: std::borrow::Cow::Owned(data.into_owned()),
                            }),
                        );
                    }
                    Record::Channel(ch) => {
                        channels.insert(
                            ch.id,
                            mcap::Channel {
                                id: ch.id,
                                topic: ch.topic,
                                schema: schemas.get(&ch.schema_id).cloned(),
                                message_encoding: ch.message_encoding,
                                metadata: ch.metadata,
                            },
                        );
                    }
                    Record::Message { header, .. } => {
                        let id = header.channel_id;
                        let t = match topic_of_channel.get(&id) {
                            Some(&t) => t,
                            None => {
                                let Some(ch) = channels.get(&id) else {
                                    return Err(BagError::Corrupt {
                                        path: path.to_path_buf(),
                                        format: Format::Mcap,
                                        at: Some(format!("message {n}")),
                                        detail: format!("message on unknown channel {id}"),
                                    });
                                };
                                let t = add_channel(&mut topics, ch);
                                topic_of_channel.insert(id, t);
                                t
                            }
                        };
                        topics[t].count += 1;
                        n += 1;
                    }
                    _ => {}
                }
                Ok(true)
            })?;
        }
        let mut chunk_starts: Vec<u64> = summary
            .as_ref()
            .map(|s| {
                s.chunk_indexes
                    .iter()
                    .map(|c| c.chunk_start_offset)
                    .collect()
            })
            .unwrap_or_default();
        chunk_starts.sort_unstable();
        chunk_starts.dedup();
        let stats = if counted {
            summary.and_then(|s| s.stats)
        } else {
            None
        };
        Ok((
            McapBag {
                map,
                stats,
                chunk_starts,
                dense_topic: {
                    let mut d = vec![u32::MAX; 1 << 16];
                    for (&ch, &t) in &topic_of_channel {
                        d[usize::from(ch)] = u32::try_from(t).unwrap_or(u32::MAX);
                    }
                    d
                },
            },
            topics,
        ))
    }

    /// Reads the messages of `span`: checks each against the summary's
    /// log-time range, counts it per channel into `seen`, and hands those of
    /// wanted topics to `sink`.
    fn scan_span(
        &self,
        path: &Path,
        span: Span,
        wanted: &[bool],
        seen: &mut [u64],
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<bool, BagError> {
        let mut complete = true;
        let mut n = 0u64;
        for_each_record_in(path, &self.map, span, &mut |record| {
            let mcap::records::Record::Message { header, data } = record else {
                return Ok(true);
            };
            n += 1;
            // Without chunk CRCs, damaged bytes can decode into plausible
            // records: check them against the summary's statistics.
            if let Some(st) = &self.stats {
                let t = header.log_time;
                if t < st.message_start_time || t > st.message_end_time {
                    return Err(BagError::Corrupt {
                        path: path.to_path_buf(),
                        format: Format::Mcap,
                        at: Some(format!("message {} after byte {}", n - 1, span.start)),
                        detail: format!(
                            "log time {t} ns is outside the recorded range {}..{} ns of the summary",
                            st.message_start_time, st.message_end_time
                        ),
                    });
                }
            }
            if let Some(c) = seen.get_mut(usize::from(header.channel_id)) {
                *c += 1;
            }
            let topic = self.dense_topic[usize::from(header.channel_id)];
            if topic == u32::MAX {
                return Ok(true);
            }
            let topic = topic as usize;
            if !wanted.get(topic).copied().unwrap_or(false) {
                return Ok(true);
            }
            let go_on = sink(Raw {
                topic,
                log_time: Stamp::from_nanos_u64(header.log_time),
                data: &data,
                len: data.len(),
            });
            complete = go_on;
            Ok(go_on)
        })?;
        Ok(complete)
    }

    /// The messages seen per channel must be what the summary counts.
    fn check_channel_counts(&self, path: &Path, seen_dense: &[u64]) -> Result<(), BagError> {
        let Some(st) = &self.stats else {
            return Ok(());
        };
        let seen: HashMap<u16, u64> = seen_dense
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .filter_map(|(ch, n)| Some((u16::try_from(ch).ok()?, *n)))
            .collect();
        let expected: HashMap<u16, u64> = st
            .channel_message_counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, v)| (*k, *v))
            .collect();
        if seen != expected {
            let total: u64 = seen.values().sum();
            return Err(BagError::Corrupt {
                path: path.to_path_buf(),
                format: Format::Mcap,
                at: None,
                detail: format!(
                    "the data section holds {total} messages but the summary counts {} (per channel: found {:?}, expected {:?})",
                    st.message_count,
                    sorted(&seen),
                    sorted(&expected)
                ),
            });
        }
        Ok(())
    }
}

impl Backend for McapBag {
    fn format(&self) -> Format {
        Format::Mcap
    }

    /// The chunks, located by the summary's chunk indexes: only with the
    /// summary's statistics to check the runs against.
    fn units(&self) -> usize {
        let len = self.map.len();
        let usable = self.stats.is_some()
            && self
                .chunk_starts
                .iter()
                .all(|&s| s > 0 && (s as usize) < len);
        if usable { self.chunk_starts.len() } else { 0 }
    }

    /// One per channel id.
    fn count_slots(&self) -> usize {
        1 << 16
    }

    fn read(
        &self,
        path: &Path,
        wanted: &[bool],
        units: Option<Range<usize>>,
        _full: bool,
        seen: &mut [u64],
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<bool, BagError> {
        let len = self.map.len();
        let starts = &self.chunk_starts;
        let span = match units {
            None => Span {
                start: 0,
                end: len,
                first: true,
                last: true,
            },
            Some(r) => Span {
                start: if r.start == 0 {
                    0
                } else {
                    starts.get(r.start).map_or(len, |&s| s as usize)
                },
                end: starts.get(r.end).map_or(len, |&s| s as usize),
                first: r.start == 0,
                last: r.end >= starts.len(),
            },
        };
        self.scan_span(path, span, wanted, seen, sink)
    }

    fn check_counts(&self, path: &Path, _wanted: &[bool], seen: &[u64]) -> Result<bool, BagError> {
        self.check_channel_counts(path, seen)?;
        Ok(true)
    }
}

fn sorted(m: &HashMap<u16, u64>) -> Vec<(u16, u64)> {
    let mut v: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    type Row = (usize, i64, Vec<u8>, usize);

    #[test]
    fn parallel_scan_equals_sequential_scan() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join("tests/data/bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap");
        let (bag, topics) = McapBag::open(&path).unwrap();
        assert!(
            bag.chunk_starts.len() >= 8,
            "enough chunks for the parallel path"
        );
        let wanted = vec![true; topics.len()];
        let mut par: Vec<Row> = Vec::new();
        crate::backend::scan(&bag, &path, &wanted, false, &mut |r| {
            par.push((r.topic, r.log_time.as_nanos(), r.data[..12].to_vec(), r.len));
            true
        })
        .unwrap();
        let mut seq: Vec<Row> = Vec::new();
        let whole = Span {
            start: 0,
            end: bag.map.len(),
            first: true,
            last: true,
        };
        let mut seen = vec![0u64; 1 << 16];
        bag.scan_span(&path, whole, &wanted, &mut seen, &mut |r| {
            seq.push((r.topic, r.log_time.as_nanos(), r.data[..12].to_vec(), r.len));
            true
        })
        .unwrap();
        bag.check_channel_counts(&path, &seen).unwrap();
        assert_eq!(par.len(), 16806);
        assert_eq!(par, seq);
    }
}
