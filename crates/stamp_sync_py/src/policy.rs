//! The policies as Python classes: each holds a checked [`PolicyConfig`].

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use stamp_sync::policy::{PolicyConfig, PolicyKind, Settings, Value};

use crate::stamp::{seconds, seconds_truncated};

/// A count from Python: a `ValueError` (not an `OverflowError`) when negative.
pub fn count(what: &str, v: i64) -> PyResult<usize> {
    usize::try_from(v)
        .map_err(|_| PyValueError::new_err(format!("{what} {v}: must not be negative")))
}

/// A configured policy, checked when it is made.
fn build(kind: PolicyKind, queue_size: i64, more: Settings) -> PyResult<PolicyConfig> {
    let queue_size = count("queue_size", queue_size)?;
    let given = more.with("queue_size", Value::Count(queue_size));
    let config = PolicyConfig::from_settings(kind, &given).map_err(value_error)?;
    // Building checks the values against each other, as a synchronizer would.
    config.build().map_err(value_error)?;
    Ok(config)
}

/// A library error as a Python `ValueError`.
pub fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

macro_rules! policy_class {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "stamp_sync._native", frozen)]
        pub struct $name {
            pub(crate) config: PolicyConfig,
        }
    };
}

/// The methods of a policy class: its constructor, then `__repr__` and
/// `queue_size`, in one `#[pymethods]` block.
macro_rules! policy_methods {
    (impl $name:ident { $($new:tt)* }) => {
        #[pymethods]
        impl $name {
            $($new)*

            fn __repr__(&self) -> String {
                format!("<stamp_sync.{}: {}>", stringify!($name), self.config)
            }

            /// The queue size (0 for LatestTime, which keeps the newest only).
            #[getter]
            fn queue_size(&self) -> usize {
                self.config.queue_size().unwrap_or(0)
            }
        }
    };
}

policy_class!(
    ApproximateTime,
    "C++ message_filters' ApproximateTime: the set of smallest spread, emitted once a later message on every input proves it. `ApproximateTime(queue_size, max_interval=None, age_penalty=0.1, lower_bounds=None)`; durations in seconds, `lower_bounds` one per input (0 = none)."
);
policy_class!(
    ExactTime,
    "C++ message_filters' ExactTime: sets of equal stamps. `ExactTime(queue_size)`."
);
policy_class!(
    ApproximateEpsilonTime,
    "C++ message_filters' ApproximateEpsilonTime: sets within `epsilon` seconds of the oldest. `ApproximateEpsilonTime(queue_size, epsilon)`."
);
policy_class!(
    LatestTime,
    "C++ message_filters' LatestTime: the newest message of each input, at the rate of the fastest. `LatestTime()`."
);

policy_methods! {
impl ApproximateTime {
    #[new]
    #[pyo3(signature = (queue_size, max_interval=None, age_penalty=0.1, lower_bounds=None))]
    fn new(
        queue_size: i64,
        max_interval: Option<f64>,
        age_penalty: f64,
        lower_bounds: Option<Vec<f64>>,
    ) -> PyResult<Self> {
        let mut s = Settings::new().with("age_penalty", Value::Number(age_penalty));
        if let Some(m) = max_interval {
            s.set("max_interval", Value::Duration(seconds("max_interval", m)?));
        }
        if let Some(b) = lower_bounds {
            let mut per = Vec::new();
            for (ch, v) in b.into_iter().enumerate() {
                if v != 0.0 {
                    per.push((ch, seconds("lower_bounds", v)?));
                }
            }
            s.set("lower_bounds", Value::PerChannel(per));
        }
        Ok(ApproximateTime {
            config: build(PolicyKind::Approximate, queue_size, s)?,
        })
    }
}
}

policy_methods! {
impl ExactTime {
    #[new]
    fn new(queue_size: i64) -> PyResult<Self> {
        Ok(ExactTime {
            config: build(PolicyKind::Exact, queue_size, Settings::new())?,
        })
    }
}
}

policy_methods! {
impl ApproximateEpsilonTime {
    #[new]
    fn new(queue_size: i64, epsilon: f64) -> PyResult<Self> {
        let s = Settings::new().with("epsilon", Value::Duration(seconds("epsilon", epsilon)?));
        Ok(ApproximateEpsilonTime {
            config: build(PolicyKind::Epsilon, queue_size, s)?,
        })
    }
}
}

policy_methods! {
impl LatestTime {
    #[new]
    fn new() -> PyResult<Self> {
        Ok(LatestTime {
            config: PolicyKind::Latest.defaults(),
        })
    }
}
}

/// Python message_filters' ApproximateTimeSynchronizer (rclpy, rospy), set
/// for set: `Slop(queue_size, slop, allow_headerless=False)`; `slop` in
/// seconds. With `allow_headerless`, a message without a header is stamped
/// with the clock's time on arrival.
#[pyclass(module = "stamp_sync._native", frozen)]
pub struct Slop {
    pub(crate) config: PolicyConfig,
    pub(crate) allow_headerless: bool,
}

#[pymethods]
impl Slop {
    #[new]
    #[pyo3(signature = (queue_size, slop, allow_headerless=false))]
    fn new(queue_size: i64, slop: f64, allow_headerless: bool) -> PyResult<Self> {
        let slop = seconds_truncated("slop", slop)?;
        let s = Settings::new().with("slop", Value::Duration(slop));
        Ok(Slop {
            config: build(PolicyKind::Slop, queue_size, s)?,
            allow_headerless,
        })
    }
    fn __repr__(&self) -> String {
        format!(
            "<stamp_sync.Slop: {}, allow_headerless {}>",
            self.config,
            if self.allow_headerless {
                "True"
            } else {
                "False"
            }
        )
    }
    /// The queue size.
    #[getter]
    fn queue_size(&self) -> usize {
        self.config.queue_size().unwrap_or(0)
    }
    /// Whether headerless messages are stamped on arrival.
    #[getter]
    fn allow_headerless(&self) -> bool {
        self.allow_headerless
    }
}

/// The config of a policy object, and whether it allows headerless
/// messages.
pub fn config_of(policy: &Bound<'_, PyAny>) -> PyResult<(PolicyConfig, bool)> {
    if let Ok(p) = policy.cast::<ApproximateTime>() {
        return Ok((p.get().config.clone(), false));
    }
    if let Ok(p) = policy.cast::<ExactTime>() {
        return Ok((p.get().config.clone(), false));
    }
    if let Ok(p) = policy.cast::<ApproximateEpsilonTime>() {
        return Ok((p.get().config.clone(), false));
    }
    if let Ok(p) = policy.cast::<LatestTime>() {
        return Ok((p.get().config.clone(), false));
    }
    if let Ok(p) = policy.cast::<Slop>() {
        return Ok((p.get().config.clone(), p.get().allow_headerless));
    }
    Err(PyTypeError::new_err(format!(
        "policy: expected stamp_sync.ApproximateTime, ExactTime, ApproximateEpsilonTime, LatestTime or Slop, got {}",
        crate::stamp::type_name(policy)
    )))
}
