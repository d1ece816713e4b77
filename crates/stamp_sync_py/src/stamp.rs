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
    /// A ROS 2 message whose header and stamp are rosidl classes: the byte
    /// offsets of the slots `_header`, `_stamp`, `_sec` and `_nanosec` in
    /// their instances, read without an attribute lookup.
    offsets: Option<[usize; 4]>,
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
        let slots = [rosidl(&m), rosidl(&h), rosidl(&s)];
        let offsets = match (slots, kind) {
            ([true, true, true], Kind::SecNanosec) => (|| {
                Some([
                    slot_offset(msg, "_header")?,
                    slot_offset(&header, "_stamp")?,
                    slot_offset(&stamp, "_sec")?,
                    slot_offset(&stamp, "_nanosec")?,
                ])
            })(),
            _ => None,
        };
        Ok(Some(Plan {
            slots,
            offsets,
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
        if let Some([h, s, sec, nsec]) = self.offsets {
            return self.read_slots(msg, h, s, sec, nsec);
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

impl Plan {
    /// [`Plan::read`] by slot offsets; `msg` is of the planned type.
    fn read_slots(
        &self,
        msg: &Bound<'_, PyAny>,
        h: usize,
        s: usize,
        sec: usize,
        nsec: usize,
    ) -> PyResult<Option<Stamp>> {
        let py = msg.py();
        let Some(header) = slot(msg, h) else {
            // Unset: the attribute raises what Python raises.
            return msg.getattr(intern!(py, "_header")).map(|_| None);
        };
        if !same_type(&header, &self.header) {
            return Ok(None);
        }
        let Some(stamp) = slot(&header, s) else {
            return header.getattr(intern!(py, "_stamp")).map(|_| None);
        };
        if !same_type(&stamp, &self.stamp) {
            return Ok(None);
        }
        let (Some(sec), Some(nsec)) = (slot(&stamp, sec), slot(&stamp, nsec)) else {
            return read(&stamp, Kind::SecNanosec).map(|ns| ns.map(Stamp::from_nanos));
        };
        let (sec, nsec): (i64, i64) = (sec.extract()?, nsec.extract()?);
        Ok(sec
            .checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(nsec))
            .map(Stamp::from_nanos))
    }
}

const PTR: usize = std::mem::size_of::<*mut pyo3::ffi::PyObject>();

/// The byte offset of the `__slots__` member `name` in instances of
/// `obj`'s type, or `None` if the type is not laid out as CPython lays out
/// a class with `__slots__` and no `__dict__`: its own slots after its
/// base's fields, one pointer each, in sorted name order. Checked on
/// `obj`: every slot holds what its attribute returns.
fn slot_offset(obj: &Bound<'_, PyAny>, name: &str) -> Option<usize> {
    let ty = obj.get_type();
    let own = ty.getattr("__dict__").ok()?;
    let slots: Vec<String> = own.get_item("__slots__").ok()?.extract().ok()?;
    let mut sorted = slots.clone();
    sorted.sort();
    sorted.dedup();
    // `__dict__` and `__weakref__` are no member slots; `__x` is mangled.
    if sorted.len() != slots.len() || sorted.iter().any(|n| n.starts_with("__")) {
        return None;
    }
    let base: usize = ty
        .getattr("__base__")
        .ok()?
        .getattr("__basicsize__")
        .ok()?
        .extract()
        .ok()?;
    let size: usize = ty.getattr("__basicsize__").ok()?.extract().ok()?;
    if size != base + PTR * sorted.len() {
        return None;
    }
    let mut at = None;
    for (i, n) in sorted.iter().enumerate() {
        let off = base + PTR * i;
        let descriptor = own.get_item(n.as_str()).ok()?;
        if descriptor
            .get_type()
            .name()
            .ok()?
            .extract::<String>()
            .ok()?
            != "member_descriptor"
        {
            return None;
        }
        let held = slot(obj, off).map(|v| v.as_ptr());
        let got = obj.getattr(n.as_str()).ok().map(|v| v.as_ptr());
        if held != got {
            return None;
        }
        if n == name {
            at = Some(off);
        }
    }
    at
}

/// The object in the slot at byte offset `off` of `obj` (a new reference),
/// `None` if the slot is unset. `off` must come from [`slot_offset`] for
/// `obj`'s exact type.
fn slot<'py>(obj: &Bound<'py, PyAny>, off: usize) -> Option<Bound<'py, PyAny>> {
    // SAFETY: `slot_offset` checked that instances of this type hold an
    // object pointer at `off`, inside `__basicsize__`; the caller checked
    // that `obj` is of that type (types' layouts do not change). The GIL
    // is held, and the reference is taken before any Python code runs.
    unsafe {
        let p = *obj
            .as_ptr()
            .cast::<u8>()
            .add(off)
            .cast::<*mut pyo3::ffi::PyObject>();
        Bound::from_borrowed_ptr_or_opt(obj.py(), p)
    }
}

/// Whether `obj` is exactly of type `ty` (no reference counting).
fn same_type(obj: &Bound<'_, PyAny>, ty: &Py<PyType>) -> bool {
    std::ptr::eq(obj.get_type_ptr(), ty.as_ptr().cast())
}
