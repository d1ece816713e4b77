//! ROS 1 bag v2.0 backend, on the `rosbag` crate.
//!
//! `rosbag` slices its memory map by the bag header's `index_pos` without
//! checking it, so a truncated bag (whose index is missing) would panic
//! inside it. Before handing the file over, [`check_bag_header`] reads the
//! first record's header fields and checks that `index_pos` lies inside
//! the file. The same field reader names the compression of a chunk that
//! `rosbag` rejected.

use std::collections::HashMap;
use std::io::Read as _;
use std::ops::Range;
use std::path::Path;

use rosbag::{ChunkRecord, IndexRecord, MessageRecord, RosBag};

use super::backend::Backend;
use super::{BagError, Encoding, Format, HeaderStatus, Raw, TopicInfo};
use stamp_sync::time::Stamp;
use stamp_sync_wire::schema::{DefinitionFormat, first_field_is_header};

pub(crate) struct Ros1Bag {
    bag: RosBag,
    /// Topic index by connection id.
    topic_of_conn: HashMap<u32, usize>,
    /// Byte offset of each chunk, in file order, from the index.
    chunk_pos: Vec<u64>,
    /// Messages per topic, from the index.
    counts: Vec<u64>,
}

const MAGIC_LEN: usize = 13;

fn corrupt(path: &Path, at: Option<String>, detail: impl Into<String>) -> BagError {
    BagError::Corrupt {
        path: path.to_path_buf(),
        format: Format::Ros1,
        at,
        detail: detail.into(),
    }
}

fn u32_at(buf: &[u8], pos: usize) -> Option<u32> {
    let b = buf.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The `name=value` fields of a record header.
fn header_fields(mut header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let len = u32_at(header, 0)? as usize;
        let field = header.get(4..4usize.checked_add(len)?)?;
        header = &header[4 + len..];
        let eq = field.iter().position(|&b| b == b'=')?;
        Some((&field[..eq], &field[eq + 1..]))
    })
}

/// The header bytes of the record at `pos`.
fn record_header(buf: &[u8], pos: usize) -> Option<&[u8]> {
    let len = u32_at(buf, pos)? as usize;
    buf.get(pos.checked_add(4)?..pos.checked_add(4)?.checked_add(len)?)
}

/// Checks the bag header record so that `rosbag` can be used safely.
fn check_bag_header(path: &Path) -> Result<(), BagError> {
    let io = |source| BagError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut head = Vec::with_capacity(8192);
    (&mut file).take(8192).read_to_end(&mut head).map_err(io)?;
    let short = || {
        corrupt(
            path,
            Some("the bag header record".into()),
            "the bag header record is cut short",
        )
    };
    let header = record_header(&head, MAGIC_LEN).ok_or_else(short)?;
    let data_len_pos = MAGIC_LEN + 4 + header.len();
    let data_len = u32_at(&head, data_len_pos).ok_or_else(short)?;
    let start = data_len_pos as u64 + 4 + u64::from(data_len);
    let index_pos = header_fields(header)
        .find(|(name, _)| *name == b"index_pos")
        .and_then(|(_, v)| <[u8; 8]>::try_from(v).ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| {
            corrupt(
                path,
                Some("the bag header record".into()),
                "the bag header has no valid index_pos",
            )
        })?;
    if index_pos == 0 {
        return Err(BagError::Unsupported {
            path: path.to_path_buf(),
            what: "the ROS 1 bag has no index (it was not closed properly); reindex it first (rosbag reindex)".into(),
        });
    }
    if index_pos < start || index_pos > file_len {
        return Err(corrupt(
            path,
            Some("the bag header record".into()),
            format!(
                "the index should start at byte {index_pos} but the file has {file_len} bytes (truncated?)"
            ),
        ));
    }
    Ok(())
}

impl Ros1Bag {
    pub(crate) fn open(path: &Path) -> Result<(Ros1Bag, Vec<TopicInfo>), BagError> {
        check_bag_header(path)?;
        let bag = RosBag::new(path)
            .map_err(|e| corrupt(path, Some("the bag header".into()), e.to_string()))?;
        let mut topics: Vec<TopicInfo> = Vec::new();
        let mut topic_of_conn = HashMap::new();
        let mut chunk_pos = Vec::new();
        let mut counts: Vec<(u32, u64)> = Vec::new();
        for (i, rec) in bag.index_records().enumerate() {
            let rec =
                rec.map_err(|e| corrupt(path, Some(format!("index record {i}")), e.to_string()))?;
            match rec {
                IndexRecord::Connection(c) => {
                    let t = match topics.iter().position(|t| t.name == c.topic) {
                        Some(t) => t,
                        None => {
                            let stamped = first_field_is_header(
                                c.message_definition,
                                DefinitionFormat::Ros1Msg,
                                c.tp,
                            );
                            topics.push(TopicInfo {
                                name: c.topic.to_string(),
                                type_name: c.tp.to_string(),
                                encoding: Encoding::Ros1,
                                encoding_name: "ros1".to_string(),
                                count: 0,
                                header: if c.message_definition.trim().is_empty() {
                                    HeaderStatus::Unknown
                                } else if stamped {
                                    HeaderStatus::Stamped
                                } else {
                                    HeaderStatus::NotStamped
                                },
                            });
                            topics.len() - 1
                        }
                    };
                    topic_of_conn.insert(c.id, t);
                }
                IndexRecord::ChunkInfo(info) => {
                    chunk_pos.push(info.chunk_pos);
                    for e in info.entries() {
                        counts.push((e.conn_id, u64::from(e.count)));
                    }
                }
                IndexRecord::IndexData(_) => {}
            }
        }
        for (conn, n) in counts {
            if let Some(&t) = topic_of_conn.get(&conn) {
                topics[t].count += n;
            }
        }
        chunk_pos.sort_unstable();
        chunk_pos.dedup();
        Ok((
            Ros1Bag {
                bag,
                topic_of_conn,
                chunk_pos,
                counts: topics.iter().map(|t| t.count).collect(),
            },
            topics,
        ))
    }

    /// The error for chunk `k` that `rosbag` could not read: an unknown
    /// compression is named, anything else is corruption.
    fn chunk_error(&self, path: &Path, k: usize, e: &rosbag::Error) -> BagError {
        let pos = self.chunk_pos.get(k).copied();
        let at = Some(match pos {
            Some(p) => format!("chunk {k} (byte {p})"),
            None => format!("chunk {k}"),
        });
        if let Some(p) = pos.and_then(|p| usize::try_from(p).ok()) {
            if let Ok(file) = std::fs::File::open(path) {
                let mut head = Vec::new();
                // A chunk header is small; 64 KiB is more than enough.
                let mut reader = std::io::BufReader::new(file);
                if std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(p as u64)).is_ok()
                    && (&mut reader).take(65536).read_to_end(&mut head).is_ok()
                {
                    if let Some(h) = record_header(&head, 0) {
                        for (name, value) in header_fields(h) {
                            if name == b"compression" && !matches!(value, b"none" | b"bz2" | b"lz4")
                            {
                                return BagError::UnsupportedCompression {
                                    path: path.to_path_buf(),
                                    compression: String::from_utf8_lossy(value).into_owned(),
                                    supported: "bz2, lz4, none",
                                };
                            }
                        }
                    }
                }
            }
        }
        corrupt(path, at, e.to_string())
    }

    /// Reads chunks `start..end` (in file order; `end` = `None` for all),
    /// counting each message per topic in `seen` and handing each message
    /// of a wanted topic to `sink`. False if `sink` stopped it.
    fn scan_range(
        &self,
        path: &Path,
        wanted: &[bool],
        start: usize,
        end: Option<usize>,
        seen: &mut [u64],
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<bool, BagError> {
        let mut records = self.bag.chunk_records();
        if start > 0 {
            let pos = self.chunk_pos.get(start).copied().unwrap_or(u64::MAX);
            records
                .seek(pos)
                .map_err(|e| self.chunk_error(path, start, &e))?;
        }
        let mut k = start;
        // Checked before `next()`, which decompresses the next chunk.
        while end.is_none_or(|e| k < e) {
            let Some(rec) = records.next() else {
                break;
            };
            let rec = rec.map_err(|e| self.chunk_error(path, k, &e))?;
            let ChunkRecord::Chunk(chunk) = rec else {
                continue;
            };
            for msg in chunk.messages() {
                let msg =
                    msg.map_err(|e| corrupt(path, Some(format!("chunk {k}")), e.to_string()))?;
                let MessageRecord::MessageData(m) = msg else {
                    continue;
                };
                let Some(&topic) = self.topic_of_conn.get(&m.conn_id) else {
                    continue;
                };
                if let Some(n) = seen.get_mut(topic) {
                    *n += 1;
                }
                if !wanted.get(topic).copied().unwrap_or(false) {
                    continue;
                }
                if !sink(Raw {
                    topic,
                    log_time: Stamp::from_nanos_u64(m.time),
                    data: m.data,
                    len: m.data.len(),
                }) {
                    return Ok(false);
                }
            }
            k += 1;
        }
        Ok(true)
    }
}

impl Backend for Ros1Bag {
    fn format(&self) -> Format {
        Format::Ros1
    }

    /// Decompression (bz2 is slow) runs on several threads over runs of
    /// chunks located by the index's chunk positions.
    fn units(&self) -> usize {
        self.chunk_pos.len()
    }

    /// One per topic.
    fn count_slots(&self) -> usize {
        self.counts.len()
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
        match units {
            None => self.scan_range(path, wanted, 0, None, seen, sink),
            Some(r) => self.scan_range(path, wanted, r.start, Some(r.end), seen, sink),
        }
    }

    /// The wanted topics' messages must be what the index counts; if not,
    /// the runs were located wrongly (read again without the index).
    fn check_counts(&self, _path: &Path, wanted: &[bool], seen: &[u64]) -> Result<bool, BagError> {
        Ok(seen
            .iter()
            .zip(&self.counts)
            .zip(wanted)
            .all(|((r, c), w)| !*w || r == c))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    type Row = (usize, i64, Vec<u8>, usize);

    fn collect(f: impl FnOnce(&mut dyn FnMut(Raw<'_>) -> bool)) -> Vec<Row> {
        let mut rows = Vec::new();
        f(&mut |r: Raw<'_>| {
            rows.push((
                r.topic,
                r.log_time.as_nanos(),
                r.data[..r.data.len().min(12)].to_vec(),
                r.len,
            ));
            true
        });
        rows
    }

    #[test]
    fn parallel_scan_equals_sequential_scan() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join("tests/data/bags/rl_husky_gps_odom_imu/test1.bag");
        let (bag, topics) = Ros1Bag::open(&path).unwrap();
        assert!(
            bag.chunk_pos.len() >= 8,
            "enough chunks for the parallel path"
        );
        let wanted = vec![true; topics.len()];
        let par = collect(|sink| crate::backend::scan(&bag, &path, &wanted, false, sink).unwrap());
        let mut seen = vec![0u64; topics.len()];
        let seq = collect(|sink| {
            assert!(
                bag.scan_range(&path, &wanted, 0, None, &mut seen, sink)
                    .unwrap()
            );
        });
        assert!(bag.check_counts(&path, &wanted, &seen).unwrap());
        assert_eq!(par.len(), 16806);
        assert_eq!(par, seq);
    }
}
