//! rosbag2 sqlite3 backend, on `rusqlite` (bundled SQLite), and bag
//! directories (`metadata.yaml` beside the storage file).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::schema::{DefinitionFormat, first_field_is_header};
use super::{BagError, Encoding, Format, HeaderStatus, Raw, TopicInfo};
use crate::time::Stamp;

pub(crate) struct SqliteBag {
    conn: Connection,
    /// `topics.id` of each topic index.
    ids: Vec<i64>,
}

fn sql_error(path: &Path, what: &str, e: &rusqlite::Error) -> BagError {
    let text = e.to_string();
    let code = e.sqlite_error_code();
    match code {
        Some(rusqlite::ErrorCode::NotADatabase) => BagError::NotABag {
            path: path.to_path_buf(),
            reason: text,
        },
        _ if text.contains("no such table") || text.contains("no such column") => {
            BagError::NotABag {
                path: path.to_path_buf(),
                reason: format!("an SQLite database but not a rosbag2 bag ({text})"),
            }
        }
        _ => BagError::Corrupt {
            path: path.to_path_buf(),
            format: Format::Sqlite3,
            at: Some(what.to_string()),
            detail: text,
        },
    }
}

#[derive(serde::Deserialize)]
struct Metadata {
    rosbag2_bagfile_information: BagInfo,
}

#[derive(serde::Deserialize)]
struct BagInfo {
    #[serde(default)]
    storage_identifier: String,
    #[serde(default)]
    relative_file_paths: Vec<String>,
    #[serde(default)]
    compression_format: Option<String>,
    #[serde(default)]
    compression_mode: Option<String>,
}

/// The storage file of a rosbag2 bag directory, from its `metadata.yaml`
/// (or, without one, the single `.db3`/`.mcap` file in it).
pub(crate) fn storage_files_of_dir(dir: &Path) -> Result<Vec<PathBuf>, BagError> {
    let meta_path = dir.join("metadata.yaml");
    match std::fs::read_to_string(&meta_path) {
        Ok(text) => {
            let meta: Metadata = serde_norway::from_str(&text).map_err(|e| BagError::NotABag {
                path: meta_path.clone(),
                reason: format!("metadata.yaml does not parse as rosbag2 metadata: {e}"),
            })?;
            let info = meta.rosbag2_bagfile_information;
            let compression = info.compression_format.unwrap_or_default();
            if !compression.trim().is_empty() {
                return Err(BagError::UnsupportedCompression {
                    path: meta_path,
                    compression: format!(
                        "{} ({} mode)",
                        compression.trim(),
                        info.compression_mode.unwrap_or_default().trim()
                    ),
                    supported: "none for rosbag2 bag directories; MCAP chunk compression (zstd, lz4) is supported",
                });
            }
            // A split bag lists its files in recording order.
            if info.relative_file_paths.is_empty() {
                return Err(BagError::NotABag {
                    path: meta_path,
                    reason: format!(
                        "metadata.yaml lists no storage files (storage {:?})",
                        info.storage_identifier
                    ),
                });
            }
            Ok(info
                .relative_file_paths
                .iter()
                .map(|f| dir.join(f))
                .collect())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let entries = std::fs::read_dir(dir).map_err(|source| BagError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "db3" || x == "mcap"))
                .collect();
            files.sort();
            match files.len() {
                1 => Ok(files),
                0 => Err(BagError::NotABag {
                    path: dir.to_path_buf(),
                    reason: "a directory without metadata.yaml or a .db3/.mcap file".to_string(),
                }),
                n => Err(BagError::Unsupported {
                    path: dir.to_path_buf(),
                    what: format!(
                        "a directory of {n} storage files and no metadata.yaml (which would give their order); open one file at a time"
                    ),
                }),
            }
        }
        Err(source) => Err(BagError::Io {
            path: meta_path,
            source,
        }),
    }
}

impl SqliteBag {
    pub(crate) fn open(path: &Path) -> Result<(SqliteBag, Vec<TopicInfo>), BagError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(path, "open", &e))?;
        let mut ids = Vec::new();
        let mut topics = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT id, name, type, serialization_format FROM topics ORDER BY id")
                .map_err(|e| sql_error(path, "table topics", &e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(|e| sql_error(path, "table topics", &e))?;
            for row in rows {
                let (id, name, type_name, ser) =
                    row.map_err(|e| sql_error(path, "table topics", &e))?;
                ids.push(id);
                topics.push(TopicInfo {
                    name,
                    type_name,
                    encoding: if ser == "cdr" {
                        Encoding::Cdr
                    } else {
                        Encoding::Other
                    },
                    encoding_name: ser,
                    count: 0,
                    header: HeaderStatus::Unknown,
                });
            }
        }
        let has_definitions: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'message_definitions'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| sql_error(path, "schema", &e))?
            > 0;
        if has_definitions {
            let mut stmt = conn
                .prepare("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions")
                .map_err(|e| sql_error(path, "table message_definitions", &e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(|e| sql_error(path, "table message_definitions", &e))?;
            for row in rows {
                let (ty, enc, def) =
                    row.map_err(|e| sql_error(path, "table message_definitions", &e))?;
                let format = match enc.as_str() {
                    "ros2msg" => DefinitionFormat::Ros2Msg,
                    "ros2idl" => DefinitionFormat::Ros2Idl,
                    _ => continue,
                };
                if def.trim().is_empty() {
                    continue;
                }
                let status = if first_field_is_header(&def, format, &ty) {
                    HeaderStatus::Stamped
                } else {
                    HeaderStatus::NotStamped
                };
                for t in topics.iter_mut().filter(|t| t.type_name == ty) {
                    t.header = status;
                }
            }
        }
        {
            let mut stmt = conn
                .prepare("SELECT topic_id, COUNT(*) FROM messages GROUP BY topic_id")
                .map_err(|e| sql_error(path, "table messages", &e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| sql_error(path, "table messages", &e))?;
            for row in rows {
                let (id, n) = row.map_err(|e| sql_error(path, "table messages", &e))?;
                if let Some(t) = ids.iter().position(|&i| i == id) {
                    topics[t].count = u64::try_from(n).unwrap_or(0);
                }
            }
        }
        Ok((SqliteBag { conn, ids }, topics))
    }

    pub(crate) fn scan(
        &self,
        path: &Path,
        wanted: &[bool],
        full: bool,
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<(), BagError> {
        let chosen: Vec<String> = self
            .ids
            .iter()
            .zip(wanted)
            .filter(|(_, w)| **w)
            .map(|(id, _)| id.to_string())
            .collect();
        if chosen.is_empty() {
            return Ok(());
        }
        // Only the first 12 bytes are needed for the stamp; length() does
        // not read the blob.
        let data = if full { "data" } else { "substr(data, 1, 12)" };
        let sql = format!(
            "SELECT topic_id, timestamp, {data}, length(data) FROM messages \
             WHERE topic_id IN ({}) ORDER BY timestamp, id",
            chosen.join(",")
        );
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(|e| sql_error(path, "table messages", &e))?;
        let mut rows = stmt
            .query([])
            .map_err(|e| sql_error(path, "table messages", &e))?;
        let mut n = 0u64;
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => return Err(sql_error(path, &format!("message {n}"), &e)),
            };
            let at = |e: rusqlite::Error| sql_error(path, &format!("message {n}"), &e);
            let id: i64 = row.get(0).map_err(at)?;
            let ts: i64 = row.get(1).map_err(at)?;
            let head = row.get_ref(2).map_err(at)?;
            let data: &[u8] = match head {
                rusqlite::types::ValueRef::Blob(b) => b,
                rusqlite::types::ValueRef::Text(b) => b,
                _ => &[],
            };
            let len: i64 = row.get(3).map_err(at)?;
            n += 1;
            let Some(topic) = self.ids.iter().position(|&i| i == id) else {
                continue;
            };
            if !sink(Raw {
                topic,
                log_time: Stamp::from_nanos(ts),
                data,
                len: usize::try_from(len).unwrap_or(0),
            }) {
                break;
            }
        }
        Ok(())
    }
}
