//! rosbag2 sqlite3 backend, on `rusqlite` (bundled SQLite).

use std::ops::Range;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::backend::Backend;
use super::{BagError, Encoding, Format, HeaderStatus, Raw, TopicInfo};
use stamp_sync::time::Stamp;
use stamp_sync_wire::schema::{DefinitionFormat, first_field_is_header};

pub(crate) struct SqliteBag {
    /// A connection is not `Sync`; the one query runs under this lock
    /// (nothing contends: a bag is read sequentially).
    conn: std::sync::Mutex<Connection>,
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
        Ok((
            SqliteBag {
                conn: std::sync::Mutex::new(conn),
                ids,
            },
            topics,
        ))
    }

    /// Every message of the wanted topics, in log-time order (as rosbag2
    /// reads them). False if `sink` stopped the read.
    fn select(
        &self,
        path: &Path,
        wanted: &[bool],
        full: bool,
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<bool, BagError> {
        let chosen: Vec<String> = self
            .ids
            .iter()
            .zip(wanted)
            .filter(|(_, w)| **w)
            .map(|(id, _)| id.to_string())
            .collect();
        if chosen.is_empty() {
            return Ok(true);
        }
        // Only the first 12 bytes are needed for the stamp; length() does
        // not read the blob.
        let data = if full { "data" } else { "substr(data, 1, 12)" };
        let sql = format!(
            "SELECT topic_id, timestamp, {data}, length(data) FROM messages \
             WHERE topic_id IN ({}) ORDER BY timestamp, id",
            chosen.join(",")
        );
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stmt = conn
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
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// One query, no chunks: read sequentially (a connection is not shared
/// between threads).
impl Backend for SqliteBag {
    fn format(&self) -> Format {
        Format::Sqlite3
    }

    fn count_slots(&self) -> usize {
        0
    }

    fn read(
        &self,
        path: &Path,
        wanted: &[bool],
        _units: Option<Range<usize>>,
        full: bool,
        _seen: &mut [u64],
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<bool, BagError> {
        self.select(path, wanted, full, sink)
    }
}
