//! What every storage format provides ([`Backend`]) and the one scan they
//! share: sequential, or over runs of chunks read on several threads and
//! handed out in file order.

use std::ops::Range;
use std::path::Path;

use super::{BagError, Format, Raw};
use stamp_sync::time::Stamp;

/// One storage format's reader of one file.
///
/// A format with an index of independently readable units (MCAP and ROS 1
/// chunks) reports how many it has; the shared [`scan`] then reads runs of
/// them in parallel. Counting: while reading, a backend adds one to
/// `seen[slot]` for every message of the file (wanted or not), with slots
/// of its choosing; [`check_counts`](Backend::check_counts) compares them
/// with what its index says.
/// The whole file is read by the one [`scan`] every format shares.
pub(crate) trait Backend: Send + Sync {
    /// The storage format.
    fn format(&self) -> Format;

    /// Independently readable units in file order; 0 if the file cannot be
    /// split (no index, or an index that does not fit the file).
    fn units(&self) -> usize {
        0
    }

    /// Number of counting slots [`read`](Backend::read) uses.
    fn count_slots(&self) -> usize;

    /// Reads the messages of `units` (`None`: the whole file) in file
    /// order, counting each in `seen` and handing those of wanted topics
    /// (`wanted[topic]`, this file's topic indices) to `sink`, which
    /// returns false to stop. Returns false if it was stopped. `full`:
    /// `Raw::data` must be the whole payload (else a prefix holding the
    /// stamp may do).
    fn read(
        &self,
        path: &Path,
        wanted: &[bool],
        units: Option<Range<usize>>,
        full: bool,
        seen: &mut [u64],
        sink: &mut dyn FnMut(Raw<'_>) -> bool,
    ) -> Result<bool, BagError>;

    /// After a complete read: `Err` if the counts prove the file damaged,
    /// `Ok(false)` if the index disagrees with the data (read it again
    /// sequentially, without the index), `Ok(true)` if all is well.
    fn check_counts(
        &self,
        _path: &Path,
        _wanted: &[bool],
        _seen: &[u64],
    ) -> Result<bool, BagError> {
        Ok(true)
    }
}

/// What a parallel run keeps of one message, owned: the first 12 bytes
/// hold the stamp of every supported encoding.
struct Head {
    topic: usize,
    log_time: Stamp,
    bytes: [u8; 12],
    kept: usize,
    len: usize,
}

impl Head {
    fn of(raw: &Raw<'_>) -> Head {
        let mut bytes = [0u8; 12];
        let kept = raw.data.len().min(12);
        bytes[..kept].copy_from_slice(&raw.data[..kept]);
        Head {
            topic: raw.topic,
            log_time: raw.log_time,
            bytes,
            kept,
            len: raw.len,
        }
    }

    fn raw(&self) -> Raw<'_> {
        Raw {
            topic: self.topic,
            log_time: self.log_time,
            data: &self.bytes[..self.kept],
            len: self.len,
        }
    }
}

/// Threads a parallel scan uses at most.
const MAX_WORKERS: usize = 4;

/// Reads every message of `backend`'s file in file order, handing those of
/// wanted topics to `sink`.
///
/// With at least two units per worker (and `full` off: the runs keep only
/// each message's first bytes), runs of units are read on up to
/// [`MAX_WORKERS`] threads; the counts are checked before anything is
/// handed out, in file order, exactly as a sequential read would.
pub(crate) fn scan(
    backend: &dyn Backend,
    path: &Path,
    wanted: &[bool],
    full: bool,
    sink: &mut dyn FnMut(Raw<'_>) -> bool,
) -> Result<(), BagError> {
    let units = backend.units();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_WORKERS);
    if full || workers < 2 || units < 2 * workers {
        return sequential(backend, path, wanted, full, sink);
    }
    let per = units.div_ceil(workers);
    let runs: Vec<Range<usize>> = (0..workers)
        .map(|w| (w * per).min(units)..((w + 1) * per).min(units))
        .filter(|r| !r.is_empty())
        .collect();
    type Run = (Vec<Head>, Vec<u64>);
    let results: Vec<Result<Run, BagError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|run| {
                let run = run.clone();
                scope.spawn(move || {
                    let mut heads = Vec::new();
                    let mut seen = vec![0u64; backend.count_slots()];
                    backend.read(path, wanted, Some(run), false, &mut seen, &mut |raw| {
                        heads.push(Head::of(&raw));
                        true
                    })?;
                    Ok((heads, seen))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BagError::Corrupt {
                        path: path.to_path_buf(),
                        format: backend.format(),
                        at: None,
                        detail: "a chunk reader thread panicked".to_string(),
                    })
                })
            })
            .collect()
    });
    let mut seen = vec![0u64; backend.count_slots()];
    let mut all = Vec::with_capacity(results.len());
    for r in results {
        let (heads, run_seen) = r?;
        for (s, p) in seen.iter_mut().zip(&run_seen) {
            *s += p;
        }
        all.push(heads);
    }
    if !backend.check_counts(path, wanted, &seen)? {
        // The index disagrees with the chunks: one pass needs no index.
        return sequential(backend, path, wanted, full, sink);
    }
    for head in all.iter().flatten() {
        if !sink(head.raw()) {
            break;
        }
    }
    Ok(())
}

/// The whole file in one pass; the counts are checked if it was read to
/// the end.
pub(crate) fn sequential<B: Backend + ?Sized>(
    backend: &B,
    path: &Path,
    wanted: &[bool],
    full: bool,
    sink: &mut dyn FnMut(Raw<'_>) -> bool,
) -> Result<(), BagError> {
    let mut seen = vec![0u64; backend.count_slots()];
    if backend.read(path, wanted, None, full, &mut seen, sink)? {
        // Without an index to blame, a disagreement is not an error here.
        backend.check_counts(path, wanted, &seen)?;
    }
    Ok(())
}
