//! The offline API: sets of a stamp trace, and the stamps of a bag.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use stamp_sync::Event;
use stamp_sync::driver::DynSynchronizer;
use stamp_sync::driver::dynamic::VecQueues;
use std::sync::mpsc;

use std::collections::VecDeque;

use stamp_sync::driver::{Messages, Synchronizer, TupleQueues};
use stamp_sync::policy::{AnyPolicy, Policy, Visit};
use stamp_sync::time::Stamp;
use stamp_sync_bag::StampSource;

use crate::policy::{config_of, value_error};

/// Integers of a sequence, read in place from a C-contiguous numpy array
/// of 8-byte or 4-byte integers (its `__array_interface__`), or else
/// element by element.
fn ints(what: &str, seq: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    if let Some(v) = array_ints(seq)? {
        return Ok(v);
    }
    let mut out = Vec::with_capacity(seq.len().unwrap_or(0));
    for item in seq.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what}: expected a sequence of ints or a numpy integer array"
        ))
    })? {
        let item = item?;
        out.push(
            item.extract::<i64>()
                .map_err(|_| PyTypeError::new_err(format!("{what}: {item} is not an int")))?,
        );
    }
    Ok(out)
}

/// The array interface's integers, without a copy of the array.
fn array_ints(seq: &Bound<'_, PyAny>) -> PyResult<Option<Vec<i64>>> {
    let Ok(iface) = seq.getattr("__array_interface__") else {
        return Ok(None);
    };
    let Ok(iface) = iface.cast_into::<PyDict>() else {
        return Ok(None);
    };
    let get = |k: &str| iface.get_item(k).ok().flatten();
    let contiguous = get("strides").is_none_or(|s| s.is_none());
    let (Some(typestr), Some(shape), Some(data)) = (get("typestr"), get("shape"), get("data"))
    else {
        return Ok(None);
    };
    let typestr: String = typestr.extract()?;
    let shape: Vec<usize> = shape.extract()?;
    let (ptr, _readonly): (usize, bool) = data.extract()?;
    if !contiguous || shape.len() != 1 || (ptr == 0 && shape[0] > 0) {
        return Ok(None);
    }
    let n = shape[0];
    // SAFETY: the array interface promises `n` contiguous elements of
    // `typestr` at `ptr`, alive while `seq` is (held by the caller, under
    // the GIL for the whole read); unaligned reads need no alignment.
    let read = |size: usize, f: &dyn Fn(&[u8]) -> i64| -> Vec<i64> {
        let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, n * size) };
        bytes.chunks_exact(size).map(f).collect()
    };
    let le8 = |b: &[u8]| b.try_into().map(i64::from_le_bytes).unwrap_or(0);
    let le4 = |b: &[u8]| b.try_into().map(i32::from_le_bytes).map_or(0, i64::from);
    let leu4 = |b: &[u8]| b.try_into().map(u32::from_le_bytes).map_or(0, i64::from);
    Ok(match typestr.as_str() {
        "<i8" => Some(read(8, &le8)),
        "<i4" => Some(read(4, &le4)),
        "<u4" => Some(read(4, &leu4)),
        _ => None,
    })
}

/// `match_trace(channels, stamps_ns, n, policy)`: the sets `policy` emits
/// for messages arriving in this order (input `channels[i]`, stamp
/// `stamps_ns[i]`), as tuples of stamps in input order.
#[pyfunction]
pub fn match_trace<'py>(
    py: Python<'py>,
    channels: &Bound<'py, PyAny>,
    stamps_ns: &Bound<'py, PyAny>,
    n: i64,
    policy: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let n = crate::policy::count("n", n)?;
    let (config, _) = config_of(policy)?;
    let channels = ints("channels", channels)?;
    let stamps = ints("stamps_ns", stamps_ns)?;
    if channels.len() != stamps.len() {
        return Err(PyValueError::new_err(format!(
            "channels has {} entries and stamps_ns {}: one of each per message",
            channels.len(),
            stamps.len()
        )));
    }
    let mut pairs = Vec::with_capacity(channels.len());
    for (c, s) in channels.iter().zip(&stamps) {
        let ch = usize::try_from(*c)
            .ok()
            .filter(|ch| *ch < n)
            .ok_or_else(|| PyValueError::new_err(format!("channel {c}: expected 0..{n}")))?;
        pairs.push((ch, Stamp::from_nanos(*s)));
    }
    let policy = config.build().map_err(value_error)?;
    let out = PyList::empty(py);
    // The policy runs on a thread of its own, without Python; this thread
    // makes the tuples of each chunk of sets as it comes.
    let (tx, rx) = mpsc::sync_channel::<Vec<i64>>(4);
    std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            visit_typed(
                policy,
                Run {
                    pairs: &pairs,
                    n,
                    tx,
                },
            )
        });
        let mut made = Ok(());
        for chunk in rx {
            if made.is_err() {
                continue;
            }
            made = chunk
                .chunks_exact(n.max(1))
                .try_for_each(|set| out.append(PyTuple::new(py, set)?));
        }
        let ran = run
            .join()
            .unwrap_or_else(|_| Err("the policy thread failed".to_string()));
        made.and(ran.map_err(PyValueError::new_err))
    })?;
    Ok(out)
}

/// Sets per chunk handed from the policy thread.
const CHUNK: usize = 4096;

/// The policy over stamps alone: the stamps of every set, `n` per set,
/// flat, in chunks of [`CHUNK`] sets. Typed queues (2 to 9 inputs, as
/// `stamp-sync bench` runs) or, beyond, the dynamic synchronizer.
struct Run<'a> {
    pairs: &'a [(usize, Stamp)],
    n: usize,
    tx: mpsc::SyncSender<Vec<i64>>,
}

impl Run<'_> {
    /// Sends `flat` on when it holds a chunk; false when nobody listens.
    fn flush(&self, flat: &mut Vec<i64>, last: bool) -> bool {
        if flat.len() >= CHUNK * self.n || (last && !flat.is_empty()) {
            let full = std::mem::replace(flat, Vec::with_capacity(CHUNK * self.n));
            return self.tx.send(full).is_ok();
        }
        true
    }
}

impl Visit<VecQueues<Stamp>> for Run<'_> {
    type Output = Result<(), String>;
    fn visit<P: Policy<VecQueues<Stamp>>>(self, policy: P) -> Self::Output {
        let mut sync = DynSynchronizer::new(self.n, policy).map_err(|e| e.to_string())?;
        let mut flat = Vec::with_capacity(CHUNK * self.n);
        for &(ch, stamp) in self.pairs {
            let events = sync
                .push_stamped(ch, stamp, stamp, stamp)
                .map_err(|e| e.to_string())?;
            for e in events {
                if let Event::Set(set) = e {
                    flat.extend(set.iter().map(|s| s.as_nanos()));
                }
            }
            if !self.flush(&mut flat, false) {
                return Ok(());
            }
        }
        self.flush(&mut flat, true);
        Ok(())
    }
}

macro_rules! typed_run {
    ($($T:ident $i:tt),+) => {
        impl Visit<TupleQueues<($(VecDeque<$T>,)+)>> for Run<'_> {
            type Output = Result<(), String>;
            fn visit<Pol: Policy<TupleQueues<($(VecDeque<$T>,)+)>>>(self, policy: Pol) -> Self::Output {
                let mut sync = Synchronizer::<($($T,)+), _>::new(policy).map_err(|e| e.to_string())?;
                let mut flat = Vec::with_capacity(CHUNK * self.n);
                let push = |flat: &mut Vec<i64>, set: &($($T,)+)| {
                    $(flat.push(set.$i.as_nanos());)+
                };
                for &(ch, stamp) in self.pairs {
                    match ch {
                        $($i => {
                            for e in sync.push_stamped::<$i>(stamp, stamp, stamp) {
                                if let Event::Set(set) = e {
                                    push(&mut flat, &set);
                                }
                            }
                        })+
                        _ => return Err(format!("channel {ch}: no such input")),
                    }
                    if !self.flush(&mut flat, false) {
                        return Ok(());
                    }
                }
                self.flush(&mut flat, true);
                Ok(())
            }
        }
    };
}

type S = Stamp;
typed_run!(S 0, S 1);
typed_run!(S 0, S 1, S 2);
typed_run!(S 0, S 1, S 2, S 3);
typed_run!(S 0, S 1, S 2, S 3, S 4);
typed_run!(S 0, S 1, S 2, S 3, S 4, S 5);
typed_run!(S 0, S 1, S 2, S 3, S 4, S 5, S 6);
typed_run!(S 0, S 1, S 2, S 3, S 4, S 5, S 6, S 7);
typed_run!(S 0, S 1, S 2, S 3, S 4, S 5, S 6, S 7, S 8);

/// Runs `policy` with `run` on the typed queues of its arity.
fn visit_typed(policy: AnyPolicy, run: Run<'_>) -> Result<(), String> {
    type Q<T> = <T as Messages>::Queues;
    match run.n {
        2 => policy.visit::<Q<(S, S)>, _>(run),
        3 => policy.visit::<Q<(S, S, S)>, _>(run),
        4 => policy.visit::<Q<(S, S, S, S)>, _>(run),
        5 => policy.visit::<Q<(S, S, S, S, S)>, _>(run),
        6 => policy.visit::<Q<(S, S, S, S, S, S)>, _>(run),
        7 => policy.visit::<Q<(S, S, S, S, S, S, S)>, _>(run),
        8 => policy.visit::<Q<(S, S, S, S, S, S, S, S)>, _>(run),
        9 => policy.visit::<Q<(S, S, S, S, S, S, S, S, S)>, _>(run),
        _ => policy.visit::<VecQueues<S>, _>(run),
    }
}

/// `bag_stamps(path, topics)`: `(channels, stamps_ns)` of the topics'
/// messages in log order, input `i` being `topics[i]` (MCAP, rosbag2 or
/// ROS 1 bags; header stamps).
#[pyfunction]
pub fn bag_stamps(
    py: Python<'_>,
    path: std::path::PathBuf,
    topics: Vec<String>,
) -> PyResult<(Vec<usize>, Vec<i64>)> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let t = py
        .detach(|| stamp_sync_bag::open(&path).and_then(|b| b.trace(&names, StampSource::Header)))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(t.trace
        .messages
        .iter()
        .map(|m| (m.channel, m.stamp.as_nanos()))
        .unzip())
}
