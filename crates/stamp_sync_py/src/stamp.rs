//! Stamps and durations from Python objects.

use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyInt;
use stamp_sync::time::{Duration, Stamp};
use std::sync::Mutex;

/// Nanoseconds of a stamp: a `builtin_interfaces/Time` (`sec`,
/// `nanosec`), an `rclpy.time.Time` (`nanoseconds`), a ROS 1 time (`secs`,
/// `nsecs`) or an int of nanoseconds.
pub fn stamp_ns(stamp: &Bound<'_, PyAny>) -> PyResult<i64> {
    if stamp.is_instance_of::<PyInt>() {
        return stamp.extract::<i64>().map_err(|_| {
            PyValueError::new_err(format!(
                "stamp {stamp}: out of the range of i64 nanoseconds"
            ))
        });
    }
    let ty = stamp.get_type();
    let known = lock_kinds()
        .iter()
        .find(|(t, _)| t.bind(stamp.py()).is(&ty))
        .map(|(_, k)| *k);
    if let Some(kind) = known {
        if let Some(ns) = read(stamp, kind)? {
            return Ok(ns);
        }
    }
    for kind in [Kind::SecNanosec, Kind::Nanoseconds, Kind::SecsNsecs] {
        if let Some(ns) = read(stamp, kind)? {
            let mut kinds = lock_kinds();
            if kinds.len() < KINDS_MAX {
                kinds.push((ty.unbind(), kind));
            }
            return Ok(ns);
        }
    }
    Err(PyTypeError::new_err(format!(
        "a stamp of type {}: expected a builtin_interfaces Time (sec, nanosec), an rclpy.time.Time (nanoseconds), a ROS 1 time (secs, nsecs) or an int of nanoseconds",
        type_name(stamp)
    )))
}

/// How a stamp type spells its time.
#[derive(Copy, Clone, Debug)]
enum Kind {
    /// builtin_interfaces Time.
    SecNanosec,
    /// rclpy.time.Time.
    Nanoseconds,
    /// ROS 1.
    SecsNsecs,
    /// An int of nanoseconds.
    Int,
}

/// Stamp types seen, with their kind: probing raises (slow) exceptions,
/// a known type is read at once. Invariant: at most [`KINDS_MAX`].
static KINDS: Mutex<Vec<(Py<PyType>, Kind)>> = Mutex::new(Vec::new());
const KINDS_MAX: usize = 16;

fn lock_kinds() -> std::sync::MutexGuard<'static, Vec<(Py<PyType>, Kind)>> {
    KINDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The nanoseconds of `stamp` read as `kind`; `None` if it has not that
/// kind's attributes.
fn read(stamp: &Bound<'_, PyAny>, kind: Kind) -> PyResult<Option<i64>> {
    let py = stamp.py();
    let parts = |s: &Bound<'_, PyString>, ns: &Bound<'_, PyString>| -> PyResult<Option<i64>> {
        let Some(sec) = attr(stamp, s)? else {
            return Ok(None);
        };
        let sec: i64 = sec.extract()?;
        let nsec: i64 = stamp.getattr(ns)?.extract()?;
        sec.checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(nsec))
            .map(Some)
            .ok_or_else(|| PyValueError::new_err(format!("stamp {sec} s {nsec} ns: out of range")))
    };
    match kind {
        Kind::SecNanosec if rosidl(&stamp.get_type()) => {
            parts(intern!(py, "_sec"), intern!(py, "_nanosec"))
        }
        Kind::SecNanosec => parts(intern!(py, "sec"), intern!(py, "nanosec")),
        Kind::Nanoseconds => attr(stamp, intern!(py, "nanoseconds"))?
            .map(|ns| ns.extract())
            .transpose(),
        Kind::SecsNsecs => parts(intern!(py, "secs"), intern!(py, "nsecs")),
        Kind::Int => stamp.extract::<i64>().map(Some),
    }
}

use pyo3::types::{PyString, PyType};

/// `obj.name`, or `None` if it has no such attribute.
fn attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    match obj.getattr(name) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<PyAttributeError>(obj.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The stamp of `msg.header.stamp`; `None` if `msg` has no `header`.
pub fn header_stamp(msg: &Bound<'_, PyAny>) -> PyResult<Option<Stamp>> {
    let py = msg.py();
    let Some(header) = field(msg, intern!(py, "header"), intern!(py, "_header"))? else {
        return Ok(None);
    };
    let stamp = field(&header, intern!(py, "stamp"), intern!(py, "_stamp"))?.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "a message of type {} whose header has no stamp",
            type_name(msg)
        ))
    })?;
    stamp_ns(&stamp).map(|ns| Some(Stamp::from_nanos(ns)))
}

/// `obj.name`, or `None` without it. A ROS 2 message (a rosidl-generated
/// class) is read from its slot `_name`, which its property `name` returns:
/// the same value without a Python call.
fn field<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    slot: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if rosidl(&obj.get_type()) {
        if let Some(v) = attr(obj, slot)? {
            return Ok(Some(v));
        }
    }
    attr(obj, name)
}

/// Types seen, and whether each is a rosidl-generated message class (it
/// has `_fields_and_field_types`). Invariant: at most [`KINDS_MAX`] * 4.
static ROSIDL: Mutex<Vec<(Py<PyType>, bool)>> = Mutex::new(Vec::new());

fn rosidl(ty: &Bound<'_, PyType>) -> bool {
    let known = ROSIDL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|(t, _)| t.bind(ty.py()).is(ty))
        .map(|(_, r)| *r);
    if let Some(r) = known {
        return r;
    }
    let r = ty
        .hasattr(intern!(ty.py(), "_fields_and_field_types"))
        .unwrap_or(false);
    let mut seen = ROSIDL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.len() < KINDS_MAX * 4 {
        seen.push((ty.clone().unbind(), r));
    }
    r
}

/// The name of `obj`'s type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// A duration from float seconds (`what` names it in the error): finite
/// and not negative.
pub fn seconds(what: &str, s: f64) -> PyResult<Duration> {
    if s < 0.0 {
        return Err(PyValueError::new_err(format!(
            "{what} {s}: must not be negative"
        )));
    }
    Duration::from_secs_f64(s).ok_or_else(|| {
        PyValueError::new_err(format!("{what} {s}: expected a finite number of seconds"))
    })
}

/// A duration from float seconds as rclpy's `Duration(seconds=s)` makes
/// it: truncated to the nanosecond (rospy's `Duration.from_sec` agrees
/// below one second). For the Python policy, whose slop must be Python's.
pub fn seconds_truncated(what: &str, s: f64) -> PyResult<Duration> {
    seconds(what, s)?;
    // `seconds` bounds `s` to what an i64 of nanoseconds holds.
    Ok(Duration::from_nanos((s * 1e9) as i64))
}

/// How one input's messages were read last time: their types, and whether
/// each level is a rosidl class (read from its slots). A message of other
/// types takes the general path ([`header_stamp`]).
pub struct Plan {
    msg: Py<PyType>,
    header: Py<PyType>,
    stamp: Py<PyType>,
    slots: [bool; 3],
    kind: Kind,
}

impl Plan {
    /// The plan that reads `msg` (which has a readable header stamp).
    pub fn of(msg: &Bound<'_, PyAny>) -> PyResult<Option<Plan>> {
        let py = msg.py();
        let Some(header) = field(msg, intern!(py, "header"), intern!(py, "_header"))? else {
            return Ok(None);
        };
        let Some(stamp) = field(&header, intern!(py, "stamp"), intern!(py, "_stamp"))? else {
            return Ok(None);
        };
        let (m, h, s) = (msg.get_type(), header.get_type(), stamp.get_type());
        let kind = if stamp.is_instance_of::<PyInt>() {
            Kind::Int
        } else {
            let Some(kind) = [Kind::SecNanosec, Kind::Nanoseconds, Kind::SecsNsecs]
                .into_iter()
                .find(|k| read(&stamp, *k).is_ok_and(|v| v.is_some()))
            else {
                return Ok(None);
            };
            kind
        };
        Ok(Some(Plan {
            slots: [rosidl(&m), rosidl(&h), rosidl(&s)],
            msg: m.unbind(),
            header: h.unbind(),
            stamp: s.unbind(),
            kind,
        }))
    }

    /// The stamp of `msg` if it is of the planned types; `None` otherwise.
    pub fn read(&self, msg: &Bound<'_, PyAny>) -> PyResult<Option<Stamp>> {
        let py = msg.py();
        if !same_type(msg, &self.msg) {
            return Ok(None);
        }
        let header = if self.slots[0] {
            msg.getattr(intern!(py, "_header"))?
        } else {
            msg.getattr(intern!(py, "header"))?
        };
        if !same_type(&header, &self.header) {
            return Ok(None);
        }
        let stamp = if self.slots[1] {
            header.getattr(intern!(py, "_stamp"))?
        } else {
            header.getattr(intern!(py, "stamp"))?
        };
        if !same_type(&stamp, &self.stamp) {
            return Ok(None);
        }
        let ns = match (self.kind, self.slots[2]) {
            (Kind::Int, _) => Some(stamp.extract::<i64>()?),
            (Kind::SecNanosec, true) => {
                let sec: i64 = stamp.getattr(intern!(py, "_sec"))?.extract()?;
                let nsec: i64 = stamp.getattr(intern!(py, "_nanosec"))?.extract()?;
                sec.checked_mul(1_000_000_000)
                    .and_then(|s| s.checked_add(nsec))
            }
            (kind, _) => read(&stamp, kind)?,
        };
        Ok(ns.map(Stamp::from_nanos))
    }
}

/// Whether `obj` is exactly of type `ty` (no reference counting).
fn same_type(obj: &Bound<'_, PyAny>, ty: &Py<PyType>) -> bool {
    std::ptr::eq(obj.get_type_ptr(), ty.as_ptr().cast())
}
