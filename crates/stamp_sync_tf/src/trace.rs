//! Transform traces: the text format behind `stamp-sync tf` and the
//! differential test against C++ tf2.
//!
//! One record per line, in arrival order:
//! ```text
//! tf,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>
//! tf_static,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>
//! lookup,<stamp_ns>,<target>,<source>
//! ```
//! Lines starting with `#` and blank lines are skipped. Each lookup is
//! answered against the records before it, one output line per lookup:
//! ```text
//! ok,<query_ns>,<result_stamp_ns>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>
//! error,<query_ns>,lookup|connectivity|extrapolation|invalid_argument
//! ```
//! Numbers are printed round-trip exact (Rust's shortest representation
//! that parses back to the same `f64`). A transform that tf2 would ignore
//! (NaN, non-unit rotation, old or repeated data, ...) is ignored here
//! too: it produces no output line; [`TraceOptions::report_inserts`]
//! makes every transform record print `insert,<stamp_ns>,ok|rejected`.
//!
//! ```
//! use stamp_sync_tf::trace::run_trace;
//! use stamp_sync_tf::DEFAULT_CACHE_TIME;
//!
//! let out = run_trace(
//!     "tf,1000,map,base,1,0,0,0,0,0,1\n\
//!      tf,3000,map,base,3,0,0,0,0,0,1\n\
//!      lookup,2000,map,base\n\
//!      lookup,0,map,base\n\
//!      lookup,4000,map,base\n",
//!     DEFAULT_CACHE_TIME,
//! ).unwrap();
//! assert_eq!(out, "ok,2000,2000,2.0,0.0,0.0,0.0,0.0,0.0,1.0\n\
//!                  ok,0,3000,3.0,0.0,0.0,0.0,0.0,0.0,1.0\n\
//!                  error,4000,extrapolation\n");
//! ```

use core::fmt::Write as _;

use crate::buffer::{BufferCore, StampedTransform};
use crate::error::TfError;
use crate::math::{Quaternion, Transform, Vector3};
use stamp_sync::time::{Duration, Stamp};

/// One trace record.
#[derive(Clone, Debug, PartialEq)]
pub enum TfRecord {
    /// A `tf` or `tf_static` line.
    Transform {
        /// `tf_static`.
        is_static: bool,
        /// The transform's stamp.
        stamp: Stamp,
        /// Parent frame (`header.frame_id`).
        parent: String,
        /// Child frame.
        child: String,
        /// The child's pose in the parent.
        transform: Transform,
    },
    /// A `lookup` line: `lookup_transform(target, source, stamp)`.
    Lookup {
        /// Requested time (0: latest common time).
        stamp: Stamp,
        /// Target frame.
        target: String,
        /// Source frame.
        source: String,
    },
}

impl TfRecord {
    /// Inserts a transform record into `buffer` (static or not); `None`
    /// for a lookup.
    pub fn insert_into(&self, buffer: &mut BufferCore) -> Option<Result<(), TfError>> {
        match self {
            TfRecord::Transform {
                is_static: true,
                stamp,
                parent,
                child,
                transform,
            } => Some(buffer.set_static_transform(parent, child, *stamp, transform)),
            TfRecord::Transform {
                stamp,
                parent,
                child,
                transform,
                ..
            } => Some(buffer.set_transform(parent, child, *stamp, transform)),
            TfRecord::Lookup { .. } => None,
        }
    }
}

/// A trace that does not parse: names the 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct TfTraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// How to run a trace.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TraceOptions {
    /// The buffer's cache time.
    pub cache_time: Duration,
    /// Also print `insert,<stamp_ns>,ok|rejected` for each transform.
    pub report_inserts: bool,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            cache_time: super::buffer::DEFAULT_CACHE_TIME,
            report_inserts: false,
        }
    }
}

/// Parses a whole trace; the first bad line is the error.
pub fn parse_trace(text: &str) -> Result<Vec<TfRecord>, TfTraceError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line).map_err(|reason| TfTraceError {
            line: i + 1,
            reason,
        })?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<TfRecord, String> {
    let f: Vec<&str> = line.split(',').collect();
    let kind = f.first().copied().unwrap_or("");
    let want = match kind {
        "tf" | "tf_static" => 11,
        "lookup" => 4,
        _ => {
            return Err(format!(
                "unknown record {kind:?} (expected tf, tf_static or lookup)"
            ));
        }
    };
    if f.len() != want {
        return Err(format!(
            "{kind} needs {want} comma-separated fields, found {}",
            f.len()
        ));
    }
    let field = |i: usize| f.get(i).copied().unwrap_or("");
    let stamp = field(1)
        .parse::<i64>()
        .map(Stamp::from_nanos)
        .map_err(|_| format!("bad stamp {:?} (integer nanoseconds)", field(1)))?;
    if kind == "lookup" {
        return Ok(TfRecord::Lookup {
            stamp,
            target: field(2).to_string(),
            source: field(3).to_string(),
        });
    }
    let mut v = [0.0f64; 7];
    for (k, slot) in v.iter_mut().enumerate() {
        let s = field(4 + k);
        *slot = s
            .parse::<f64>()
            .map_err(|_| format!("bad number {s:?} in field {}", 5 + k))?;
    }
    Ok(TfRecord::Transform {
        is_static: kind == "tf_static",
        stamp,
        parent: field(2).to_string(),
        child: field(3).to_string(),
        transform: Transform::new(
            Vector3::new(v[0], v[1], v[2]),
            Quaternion::new(v[3], v[4], v[5], v[6]),
        ),
    })
}

/// Parses and runs a trace with a buffer of `cache_time`: the output lines
/// (see the module docs), or the first bad line.
pub fn run_trace(text: &str, cache_time: Duration) -> Result<String, TfTraceError> {
    let records = parse_trace(text)?;
    Ok(run_records(
        &records,
        &TraceOptions {
            cache_time,
            report_inserts: false,
        },
    ))
}

/// Runs parsed records through a fresh [`BufferCore`]: the output text.
pub fn run_records(records: &[TfRecord], options: &TraceOptions) -> String {
    let mut buffer = BufferCore::with_cache_time(options.cache_time);
    let mut out = String::new();
    for r in records {
        match r {
            TfRecord::Transform { stamp, .. } => {
                let result = r.insert_into(&mut buffer);
                if options.report_inserts {
                    let ok = matches!(result, Some(Ok(())));
                    let word = if ok { "ok" } else { "rejected" };
                    let _ = writeln!(out, "insert,{},{word}", stamp.as_nanos());
                }
            }
            TfRecord::Lookup {
                stamp,
                target,
                source,
            } => {
                let result = buffer.lookup_transform(target, source, *stamp);
                write_lookup(&mut out, *stamp, &result);
            }
        }
    }
    out
}

/// A frame id that cannot be written into a trace line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("frame id {0:?} cannot be written into a trace (it holds a comma or a line break)")]
pub struct UnwritableFrame(pub String);

/// Appends `record` as a trace line (numbers round-trip exact), so that
/// [`parse_trace`] reads back the same record.
pub fn write_record(out: &mut String, record: &TfRecord) -> Result<(), UnwritableFrame> {
    let frames: [&str; 2] = match record {
        TfRecord::Transform { parent, child, .. } => [parent, child],
        TfRecord::Lookup { target, source, .. } => [target, source],
    };
    if let Some(bad) = frames.iter().find(|f| f.contains([',', '\n', '\r'])) {
        return Err(UnwritableFrame((*bad).to_string()));
    }
    let _ = match record {
        TfRecord::Transform {
            is_static,
            stamp,
            parent,
            child,
            transform,
        } => {
            let (v, q) = (transform.translation, transform.rotation);
            writeln!(
                out,
                "{},{},{parent},{child},{:?},{:?},{:?},{:?},{:?},{:?},{:?}",
                if *is_static { "tf_static" } else { "tf" },
                stamp.as_nanos(),
                v.x,
                v.y,
                v.z,
                q.x,
                q.y,
                q.z,
                q.w
            )
        }
        TfRecord::Lookup {
            stamp,
            target,
            source,
        } => writeln!(out, "lookup,{},{target},{source}", stamp.as_nanos()),
    };
    Ok(())
}

/// Appends the output line of one lookup.
pub fn write_lookup(out: &mut String, query: Stamp, result: &Result<StampedTransform, TfError>) {
    let _ = match result {
        Ok(t) => {
            let (v, q) = (t.transform.translation, t.transform.rotation);
            writeln!(
                out,
                "ok,{},{},{:?},{:?},{:?},{:?},{:?},{:?},{:?}",
                query.as_nanos(),
                t.stamp.as_nanos(),
                v.x,
                v.y,
                v.z,
                q.x,
                q.y,
                q.z,
                q.w
            )
        }
        Err(e) => writeln!(out, "error,{},{}", query.as_nanos(), e.kind()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_named() {
        let e = parse_trace("# c\n\nlookup,1,a\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("4 comma-separated"), "{e}");
        let e = parse_trace("tf,x,a,b,0,0,0,0,0,0,1\n").unwrap_err();
        assert!(e.to_string().starts_with("line 1: bad stamp"), "{e}");
        let e = parse_trace("tf,1,a,b,0,0,zero,0,0,0,1\n").unwrap_err();
        assert!(e.reason.contains("\"zero\""), "{e}");
        let e = parse_trace("frame,1,a,b\n").unwrap_err();
        assert!(e.reason.contains("unknown record"), "{e}");
    }

    #[test]
    fn written_records_parse_back_identically() {
        let text = "tf,-5,map,base,0.1,-0.0,1e-300,NaN,inf,0.6,0.8\n\
                    tf_static,0,base,laser,0.5,0.0,0.0,0.0,0.0,0.0,1.0\n\
                    lookup,0,map,laser\n";
        let records = parse_trace(text).unwrap();
        let mut out = String::new();
        for r in &records {
            write_record(&mut out, r).unwrap();
        }
        assert_eq!(out, text);
        let back = parse_trace(&out).unwrap();
        assert_eq!(format!("{back:?}"), format!("{records:?}"));
        let bad = TfRecord::Lookup {
            stamp: Stamp::ZERO,
            target: "a,b".into(),
            source: "c".into(),
        };
        assert_eq!(
            write_record(&mut out, &bad),
            Err(UnwritableFrame("a,b".into()))
        );
    }

    #[test]
    fn rejected_inserts_are_ignored_and_reported_on_request() {
        let text = "tf,5,a,b,nan,0,0,0,0,0,1\ntf,5,a,b,0,0,0,0,0,0,1\nlookup,5,a,b\n";
        let records = parse_trace(text).unwrap();
        let out = run_records(
            &records,
            &TraceOptions {
                report_inserts: true,
                ..TraceOptions::default()
            },
        );
        assert_eq!(
            out,
            "insert,5,rejected\ninsert,5,ok\nok,5,5,0.0,0.0,0.0,0.0,0.0,0.0,1.0\n"
        );
    }
}
