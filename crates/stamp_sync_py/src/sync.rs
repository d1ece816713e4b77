//! The filter graph: `SimpleFilter`, the base of every filter (rclpy's
//! `registerCallback` and `signalMessage`); `Core`, the synchronizer of
//! Python messages; and `Input`, the callable that feeds it one input, fed
//! by a filter without a Python call. The policy step runs in Rust; the sets
//! and the drops are delivered after it, with the core released, so a
//! callback may feed the same core again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit, intern};
use smallvec::SmallVec;
use stamp_sync::Event;
use stamp_sync::driver::DynSynchronizer;
use stamp_sync::policy::{AnyPolicy, DropReason};
use stamp_sync::time::Stamp;

use crate::policy::{config_of, value_error};
use crate::stamp::{Plan, header_stamp, type_name};

/// A Python message held by the synchronizer.
struct Msg(Py<PyAny>);

impl Clone for Msg {
    fn clone(&self) -> Self {
        // Only called inside a step, which holds the GIL.
        Python::attach(|py| Msg(self.0.clone_ref(py)))
    }
}

/// What one step delivers, in order.
enum Out {
    Set(Py<PyTuple>),
    Drop(usize, i64, &'static str),
}

/// The synchronizer of `n` inputs under `policy`; sets go to
/// `target.signalMessage(*set)`, drops to the `on_drop` callbacks.
/// `clock()` (int nanoseconds) stamps headerless messages when the policy
/// allows them.
#[pyclass(module = "stamp_sync._native", frozen)]
pub struct Core {
    /// Locked for a step only, never while Python code runs.
    sync: Mutex<DynSynchronizer<Msg, AnyPolicy>>,
    allow_headerless: bool,
    clock: Option<Py<PyAny>>,
    target: Py<PyAny>,
    on_drop: Mutex<Vec<Py<PyAny>>>,
    /// `on_drop` is not empty (read without its lock).
    has_drop_callbacks: AtomicBool,
    /// The target is a `SimpleFilter` whose `signalMessage` is not
    /// overridden: sets go to it without a Python call.
    direct: bool,
    /// Per input, headerless messages refused (not allowed).
    headerless: Vec<AtomicU64>,
    warned: AtomicBool,
}

#[pymethods]
impl Core {
    #[new]
    #[pyo3(signature = (n, policy, target, clock=None))]
    fn new(
        n: i64,
        policy: &Bound<'_, PyAny>,
        target: Py<PyAny>,
        clock: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let n = crate::policy::count("the number of inputs", n)?;
        let (config, allow_headerless) = config_of(policy)?;
        let policy = config.build().map_err(value_error)?;
        let sync = DynSynchronizer::new(n, policy).map_err(value_error)?;
        let direct = Python::attach(|py| -> PyResult<bool> {
            let base = py
                .get_type::<SimpleFilter>()
                .getattr(intern!(py, "signalMessage"))?;
            let own = target
                .bind(py)
                .get_type()
                .getattr(intern!(py, "signalMessage"));
            Ok(own.is_ok_and(|m| m.is(&base)))
        })?;
        Ok(Core {
            direct,
            sync: Mutex::new(sync),
            allow_headerless,
            clock,
            target,
            on_drop: Mutex::new(Vec::new()),
            has_drop_callbacks: AtomicBool::new(false),
            headerless: (0..n).map(|_| AtomicU64::new(0)).collect(),
            warned: AtomicBool::new(false),
        })
    }

    /// The callable that feeds input `channel`: `input(msg, *args)`.
    fn input(slf: Bound<'_, Self>, channel: i64) -> PyResult<Input> {
        let channel = crate::policy::count("input", channel)?;
        let n = slf.get().inputs()?;
        if channel >= n {
            return Err(PyIndexError::new_err(format!(
                "input {channel}: the synchronizer has {n} inputs"
            )));
        }
        Ok(Input {
            core: slf.unbind(),
            channel,
            plan: OnceLock::new(),
        })
    }

    /// Feeds `msg` on input `channel`, then delivers what it caused.
    fn add(slf: &Bound<'_, Self>, channel: i64, msg: Bound<'_, PyAny>) -> PyResult<()> {
        feed(slf, crate::policy::count("input", channel)?, msg)
    }

    /// Calls `cb(channel, stamp_ns, reason)` for every dropped message.
    fn on_drop(&self, cb: Py<PyAny>) -> PyResult<()> {
        lock(&self.on_drop)?.push(cb);
        self.has_drop_callbacks.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The number of inputs.
    #[getter]
    fn inputs(&self) -> PyResult<usize> {
        Ok(lock(&self.sync)?.channels())
    }

    /// Whether a headerless message is stamped on arrival (else it is a
    /// `TypeError`).
    #[getter]
    fn allow_headerless(&self) -> bool {
        self.allow_headerless
    }

    /// Messages queued on input `channel`.
    fn queued(&self, channel: i64) -> PyResult<usize> {
        let channel = crate::policy::count("input", channel)?;
        let sync = lock(&self.sync)?;
        if channel >= sync.channels() {
            return Err(PyIndexError::new_err(format!(
                "input {channel}: no such input"
            )));
        }
        Ok(sync.queued(channel))
    }

    /// Drops everything queued (reason `reset`; counted, not delivered).
    fn reset(&self) -> PyResult<()> {
        lock(&self.sync)?.reset();
        Ok(())
    }

    /// The counters, as a dict: `sets`, `received`, `emitted`, `dropped`,
    /// `queued` and, per input, the same with `dropped` by reason.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let sync = lock(&self.sync)?;
        let s = sync.stats();
        let d = PyDict::new(py);
        d.set_item("sets", s.sets)?;
        d.set_item("partial_sets", s.partial_sets)?;
        d.set_item("resets", s.resets)?;
        d.set_item("received", s.received_total())?;
        let headerless: Vec<u64> = self
            .headerless
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect();
        d.set_item("headerless", headerless.iter().sum::<u64>())?;
        d.set_item("dropped", s.dropped_total())?;
        let inputs = PyList::empty(py);
        let mut emitted = 0;
        let mut queued = 0;
        for (ch, c) in s.channels.iter().enumerate() {
            let i = PyDict::new(py);
            i.set_item("received", c.received)?;
            i.set_item("emitted", c.emitted)?;
            i.set_item("dropped", c.dropped_total())?;
            let q = sync.queued(ch);
            i.set_item("queued", q)?;
            let by = PyDict::new(py);
            for r in DropReason::ALL {
                let n = c.dropped_for(r);
                if n > 0 {
                    by.set_item(r.as_str(), n)?;
                }
            }
            i.set_item("dropped_by_reason", by)?;
            i.set_item("headerless", headerless.get(ch).copied().unwrap_or(0))?;
            inputs.append(i)?;
            emitted += c.emitted;
            queued += q;
        }
        d.set_item("emitted", emitted)?;
        d.set_item("queued", queued)?;
        d.set_item("inputs", inputs)?;
        Ok(d)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.target)?;
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        if let Ok(cbs) = self.on_drop.try_lock() {
            for cb in cbs.iter() {
                visit.call(cb)?;
            }
        }
        Ok(())
    }
}

impl Core {
    /// The stamp of `msg`: its header's, or the clock's for a headerless
    /// message when allowed. `None` for a headerless message otherwise: as
    /// rclpy does, it is logged (once) and left out, and it is counted.
    fn stamp(
        &self,
        py: Python<'_>,
        channel: usize,
        msg: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Stamp>> {
        if let Some(s) = header_stamp(msg)? {
            return Ok(Some(s));
        }
        if !self.allow_headerless {
            if let Some(h) = self.headerless.get(channel) {
                h.fetch_add(1, Ordering::Relaxed);
            }
            if !self.warned.swap(true, Ordering::Relaxed) {
                let text = format!(
                    "input {channel}: a {} has no header.stamp and is left out (counted as headerless in stats()); allow_headerless=True stamps such messages on arrival",
                    type_name(msg)
                );
                py.import("logging")?
                    .call_method1("getLogger", ("stamp_sync.message_filters",))?
                    .call_method1("warning", (text,))?;
            }
            return Ok(None);
        }
        let ns: i64 = match &self.clock {
            Some(c) => c.call0(py)?.extract(py)?,
            None => {
                return Err(PyTypeError::new_err(
                    "a headerless message, and the synchronizer has no clock",
                ));
            }
        };
        Ok(Some(Stamp::from_nanos(ns)))
    }
}

/// One step on `core`, then the deliveries, with `core` unlocked. Every
/// delivery is made; the first exception a callback raised is raised after.
fn feed(core: &Bound<'_, Core>, channel: usize, msg: Bound<'_, PyAny>) -> PyResult<()> {
    feed_stamped(core, channel, msg, None)
}

/// [`feed`], with the stamp when already read.
fn feed_stamped(
    core: &Bound<'_, Core>,
    channel: usize,
    msg: Bound<'_, PyAny>,
    stamp: Option<Stamp>,
) -> PyResult<()> {
    let py = core.py();
    let c = core.get();
    // Python code (a stamp's properties, the clock) runs before the lock.
    if channel >= c.headerless.len() {
        return Err(PyIndexError::new_err(format!(
            "input {channel}: the synchronizer has {} inputs",
            c.headerless.len()
        )));
    }
    let stamp = match stamp {
        Some(s) => s,
        None => match c.stamp(py, channel, &msg)? {
            Some(s) => s,
            None => return Ok(()),
        },
    };
    let mut out: SmallVec<[Out; 4]> = SmallVec::new();
    let on_drop: SmallVec<[Py<PyAny>; 1]> = if c.has_drop_callbacks.load(Ordering::Relaxed) {
        lock(&c.on_drop)?
            .iter()
            .map(|cb| cb.clone_ref(py))
            .collect()
    } else {
        SmallVec::new()
    };
    // Dropped messages are released after the lock: freeing one may run
    // Python code (`__del__`), which may feed this synchronizer.
    let mut released: SmallVec<[Msg; 2]> = SmallVec::new();
    {
        let mut sync = lock(&c.sync)?;
        let events = sync
            .push_stamped(channel, Msg(msg.unbind()), stamp, stamp)
            .map_err(|e| PyIndexError::new_err(e.to_string()))?;
        for e in events {
            match e {
                Event::Set(set) => {
                    out.push(Out::Set(
                        PyTuple::new(py, set.into_iter().map(|m| m.0))?.unbind(),
                    ));
                }
                Event::Drop(d) => {
                    if !on_drop.is_empty() {
                        out.push(Out::Drop(d.channel, d.stamp.as_nanos(), d.reason.as_str()));
                    }
                    released.push(d.message);
                }
                _ => {}
            }
        }
    }
    drop(released);
    let mut first: Option<PyErr> = None;
    for o in out {
        let r = match o {
            Out::Set(set) => match (&c.direct, c.target.bind(py).cast::<SimpleFilter>()) {
                (true, Ok(f)) => signal(f.get(), set.bind(py)),
                _ => c
                    .target
                    .call_method1(py, intern!(py, "signalMessage"), set.bind(py))
                    .map(drop),
            },
            Out::Drop(ch, ns, reason) => on_drop
                .iter()
                .try_for_each(|cb| cb.call1(py, (ch, ns, reason)).map(drop)),
        };
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// The lock, or a `RuntimeError` if a panic poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> PyResult<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| PyRuntimeError::new_err("the synchronizer failed in an earlier step"))
}

/// Feeds one input of a [`Core`]: register it as a filter's callback.
#[pyclass(module = "stamp_sync._native", frozen)]
pub struct Input {
    core: Py<Core>,
    channel: usize,
    /// How this input's messages are read, from the first one.
    plan: OnceLock<Plan>,
}

impl Input {
    /// Feeds `msg` to the core.
    pub(crate) fn feed(&self, py: Python<'_>, msg: Bound<'_, PyAny>) -> PyResult<()> {
        let planned = match self.plan.get() {
            Some(plan) => plan.read(&msg)?,
            None => {
                if let Some(plan) = Plan::of(&msg)? {
                    let _ = self.plan.set(plan);
                }
                None
            }
        };
        feed_stamped(self.core.bind(py), self.channel, msg, planned)
    }
}

#[pymethods]
impl Input {
    /// `input(msg, *args)`: feeds `msg` (the arguments a filter passes
    /// after the message are ignored).
    #[pyo3(signature = (msg, *_args))]
    fn __call__(
        &self,
        py: Python<'_>,
        msg: Bound<'_, PyAny>,
        _args: &Bound<'_, PyTuple>,
    ) -> PyResult<()> {
        feed(self.core.bind(py), self.channel, msg)
    }

    /// The input's index.
    #[getter]
    fn channel(&self) -> usize {
        self.channel
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.core)
    }
}

/// One registered callback and its extra arguments.
struct Callback {
    cb: Py<PyAny>,
    args: Py<PyTuple>,
    /// `cb` is an [`Input`] and `args` is empty: fed without a Python call.
    input: Option<Py<Input>>,
}

impl Callback {
    fn clone_ref(&self, py: Python<'_>) -> Callback {
        Callback {
            cb: self.cb.clone_ref(py),
            args: self.args.clone_ref(py),
            input: self.input.as_ref().map(|i| i.clone_ref(py)),
        }
    }
}

/// A filter: `signalMessage(*msg)` passes its output to every callback
/// registered with `registerCallback(cb, *args)`, as `cb(*msg, *args)`,
/// in the order they were registered. Subclass it for your own filters.
#[pyclass(module = "stamp_sync._native", subclass, frozen)]
pub struct SimpleFilter {
    /// Copied on write: a signal takes the list without copying it, and a
    /// callback that registers another changes the next signal's list.
    callbacks: Mutex<Arc<[Callback]>>,
}

#[pymethods]
impl SimpleFilter {
    /// Subclasses take their own arguments: they are not this class's.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        SimpleFilter {
            callbacks: Mutex::new(Arc::new([])),
        }
    }

    /// Calls `cb(*msg, *args)` for each output; returns the connection id.
    #[pyo3(signature = (cb, *args))]
    #[allow(non_snake_case)]
    fn registerCallback(&self, cb: Bound<'_, PyAny>, args: Bound<'_, PyTuple>) -> PyResult<usize> {
        let py = cb.py();
        let input = match cb.cast::<Input>() {
            Ok(i) if args.is_empty() => Some(i.clone().unbind()),
            _ => None,
        };
        let added = Callback {
            cb: cb.unbind(),
            args: args.unbind(),
            input,
        };
        let mut cbs = lock(&self.callbacks)?;
        let all: Arc<[Callback]> = cbs
            .iter()
            .map(|c| c.clone_ref(py))
            .chain(std::iter::once(added))
            .collect();
        *cbs = all;
        Ok(cbs.len() - 1)
    }

    /// Passes `msg` to the callbacks.
    #[pyo3(signature = (*msg))]
    #[allow(non_snake_case)]
    fn signalMessage(&self, msg: &Bound<'_, PyTuple>) -> PyResult<()> {
        signal(self, msg)
    }

    /// The callbacks, as rclpy keeps them: `{id: (cb, args)}` (a copy).
    #[getter]
    fn callbacks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (i, c) in lock(&self.callbacks)?.iter().enumerate() {
            d.set_item(i, (c.cb.clone_ref(py), c.args.clone_ref(py)))?;
        }
        Ok(d)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Held only briefly and never across Python code; if it is held
        // now, the collector skips these references this time.
        if let Ok(cbs) = self.callbacks.try_lock() {
            for c in cbs.iter() {
                visit.call(&c.cb)?;
                visit.call(&c.args)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let cleared: Arc<[Callback]> = Arc::new([]);
        // The old list is released after the lock: releasing runs Python.
        let _old = match self.callbacks.lock() {
            Ok(mut cbs) => std::mem::replace(&mut *cbs, cleared),
            Err(_) => return,
        };
    }
}

/// `filter.signalMessage(*msg)`; an `Input` callback without extra
/// arguments is fed directly. Every callback is called; the first exception
/// is raised after.
pub fn signal(filter: &SimpleFilter, msg: &Bound<'_, PyTuple>) -> PyResult<()> {
    let py = msg.py();
    let cbs = Arc::clone(&*lock(&filter.callbacks)?);
    let mut first: Option<PyErr> = None;
    for c in cbs.iter() {
        let r = match &c.input {
            Some(input) if msg.len() == 1 => {
                input.get().feed(py, msg.get_borrowed_item(0)?.to_owned())
            }
            _ => {
                let args = c.args.bind(py);
                if args.is_empty() {
                    c.cb.bind(py).call1(msg).map(drop)
                } else {
                    let all = msg.as_sequence().concat(args.as_sequence())?;
                    c.cb.bind(py).call1(all.to_tuple()?).map(drop)
                }
            }
        };
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}
