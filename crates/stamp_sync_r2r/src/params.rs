//! Node parameters through r2r's parameter handling: declared with a type,
//! a default and a description, visible and settable through the standard
//! parameter services (`ros2 param list/get/set`), and checked on every
//! change, the whole set at once, so an invalid value is refused with a
//! reason and the node keeps its old values.
//!
//! ```no_run
//! use stamp_sync_r2r::params::{Params, Value};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = r2r::Node::create(r2r::Context::create()?, "my_sync", "")?;
//! let params = Params::new()
//!     .int("depth", 10, "subscription history depth")
//!     .with_policy("approximate")
//!     .check(|p| match p.get_int("depth") {
//!         Some(d) if d < 1 => Err(format!("depth must be at least 1, got {d}")),
//!         _ => Ok(()),
//!     });
//! let (params, handler, mut changes) = params.declare(&mut node)?;
//! let config = params.lock().map_err(|_| "poisoned")?.policy()?;
//! # let _ = (handler, changes, config);
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};

use ::r2r::{Node, ParameterValue, RosParams};
use futures::{Future, Stream};
use indexmap::IndexMap;

use stamp_sync::policy::{ConfigError, Param, PolicyConfig, PolicyKind, PolicyParams};
use stamp_sync::time::Duration;

/// A parameter's value, as a node reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// `int64`.
    Int(i64),
    /// `double` (an integer given on the command line is accepted).
    Double(f64),
    /// `string`.
    Str(String),
    /// `string[]`.
    StrArray(Vec<String>),
    /// `double[]` (integers accepted).
    DoubleArray(Vec<f64>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::StrArray(_) => "string array",
            Value::DoubleArray(_) => "double array",
        }
    }

    fn to_ros(&self) -> ParameterValue {
        match self {
            Value::Bool(b) => ParameterValue::Bool(*b),
            Value::Int(i) => ParameterValue::Integer(*i),
            Value::Double(d) => ParameterValue::Double(*d),
            Value::Str(s) => ParameterValue::String(s.clone()),
            Value::StrArray(v) => ParameterValue::StringArray(v.clone()),
            Value::DoubleArray(v) => ParameterValue::DoubleArray(v.clone()),
        }
    }

    /// `v` as a value of the same type as `self`, if it is one (integers
    /// stand for doubles).
    fn coerce(&self, v: &ParameterValue) -> Option<Value> {
        Some(match (self, v) {
            (Value::Bool(_), ParameterValue::Bool(b)) => Value::Bool(*b),
            (Value::Int(_), ParameterValue::Integer(i)) => Value::Int(*i),
            (Value::Double(_), ParameterValue::Double(d)) => Value::Double(*d),
            (Value::Double(_), ParameterValue::Integer(i)) => Value::Double(*i as f64),
            (Value::Str(_), ParameterValue::String(s)) => Value::Str(s.clone()),
            (Value::StrArray(_), ParameterValue::StringArray(v)) => Value::StrArray(v.clone()),
            (Value::DoubleArray(_), ParameterValue::DoubleArray(v)) => {
                Value::DoubleArray(v.clone())
            }
            (Value::DoubleArray(_), ParameterValue::IntegerArray(v)) => {
                Value::DoubleArray(v.iter().map(|&i| i as f64).collect())
            }
            // `[]` on the command line has no element type.
            (Value::StrArray(_) | Value::DoubleArray(_), ParameterValue::NotSet) => return None,
            _ => return None,
        })
    }
}

/// One declared parameter.
#[derive(Clone, Debug)]
struct Decl {
    value: Value,
    description: &'static str,
    /// Set once, at start-up (from the command line or a launch file).
    read_only: bool,
}

type Check = Arc<dyn Fn(&Params) -> Result<(), String> + Send + Sync>;

/// A node's declared parameters: see the [module docs](self).
#[derive(Clone, Default)]
pub struct Params {
    decls: IndexMap<String, Decl>,
    checks: Vec<Check>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.decls.iter().map(|(k, d)| (k, &d.value)))
            .finish()
    }
}

/// Why parameters could not be declared or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A value given at start-up is refused (wrong type or invalid).
    #[error("parameter {name}: {reason}")]
    Invalid {
        /// The parameter.
        name: String,
        /// Why.
        reason: String,
    },
    /// The parameters together do not make a valid policy.
    #[error(transparent)]
    Policy(#[from] ConfigError),
    /// r2r refused to set up the parameter services.
    #[error("parameter services: {0}")]
    Ros(#[from] ::r2r::Error),
}

/// The parameter services' future, to spawn on the node's executor.
pub type Handler = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
/// Accepted changes, `(name, value)`, after the node's values were updated.
pub type Changes = std::pin::Pin<Box<dyn Stream<Item = (String, ParameterValue)> + Send>>;

impl Params {
    /// No parameters (`use_sim_time` is always declared).
    pub fn new() -> Self {
        Params::default().bool(
            "use_sim_time",
            false,
            "follow /clock instead of the system clock (set at start-up)",
        )
    }

    fn decl(mut self, name: &str, value: Value, description: &'static str) -> Self {
        self.decls.insert(
            name.to_string(),
            Decl {
                value,
                description,
                read_only: false,
            },
        );
        self
    }

    /// Declares a `bool` parameter.
    pub fn bool(self, name: &str, default: bool, description: &'static str) -> Self {
        self.decl(name, Value::Bool(default), description)
    }
    /// Declares an `int64` parameter.
    pub fn int(self, name: &str, default: i64, description: &'static str) -> Self {
        self.decl(name, Value::Int(default), description)
    }
    /// Declares a `double` parameter.
    pub fn double(self, name: &str, default: f64, description: &'static str) -> Self {
        self.decl(name, Value::Double(default), description)
    }
    /// Declares a `string` parameter.
    pub fn string(self, name: &str, default: &str, description: &'static str) -> Self {
        self.decl(name, Value::Str(default.to_string()), description)
    }
    /// Declares a `string[]` parameter.
    pub fn strings(self, name: &str, default: &[&str], description: &'static str) -> Self {
        let v = default.iter().map(|s| s.to_string()).collect();
        self.decl(name, Value::StrArray(v), description)
    }
    /// Declares a `double[]` parameter.
    pub fn doubles(self, name: &str, default: &[f64], description: &'static str) -> Self {
        self.decl(name, Value::DoubleArray(default.to_vec()), description)
    }
    /// Marks `name` as set at start-up only: a later change is refused.
    pub fn read_only(mut self, name: &str) -> Self {
        if let Some(d) = self.decls.get_mut(name) {
            d.read_only = true;
        }
        self
    }
    /// Adds a check of the whole set, run at start-up and on every change.
    pub fn check(
        mut self,
        f: impl Fn(&Params) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(f));
        self
    }

    /// Declares `qos` (`sensor_data` | `best_effort` | `reliable`, default
    /// `default`) and `depth` (history depth, default `depth`, at least 1),
    /// both read-only; [`qos_profile`](Self::qos_profile) makes the profile.
    pub fn qos(self, default: &str, depth: i64, description: &'static str) -> Self {
        self.string("qos", default, description)
            .int("depth", depth, "history depth")
            .read_only("qos")
            .read_only("depth")
            .check(|p| {
                match p.get_str("qos") {
                    Some("sensor_data" | "best_effort" | "reliable") => {}
                    other => {
                        return Err(format!(
                            "qos must be sensor_data, best_effort or reliable, got {other:?}"
                        ));
                    }
                }
                match p.get_int("depth") {
                    Some(d) if d < 1 => Err(format!("depth must be at least 1, got {d}")),
                    _ => Ok(()),
                }
            })
    }

    /// Declares the health parameters every synchronizing node shares:
    /// `stall_after` (5 s without a set before a warning on rosout, 0 =
    /// never) and `diagnostics_period` (1 s between `/diagnostics`, 0 =
    /// none); both must not be negative.
    pub fn health(self) -> Self {
        self.double(
            "stall_after",
            5.0,
            "seconds without a set before a warning (0 = never)",
        )
        .diagnostics_period()
        .non_negative(&["stall_after"], false)
    }

    /// Declares `diagnostics_period` (1 s between `/diagnostics`, 0 =
    /// none, not negative).
    pub fn diagnostics_period(self) -> Self {
        self.double(
            "diagnostics_period",
            1.0,
            "seconds between /diagnostics (0 = none)",
        )
        .non_negative(&["diagnostics_period"], false)
    }

    /// The QoS the `qos` and `depth` parameters name: `reliable` is
    /// reliable, volatile, keep last `depth`; the others are
    /// `sensor_data` (best effort) with that depth.
    pub fn qos_profile(&self) -> ::r2r::QosProfile {
        let depth = self.get_int("depth").unwrap_or(10).max(1);
        let depth = usize::try_from(depth).unwrap_or(usize::MAX);
        match self.get_str("qos") {
            Some("reliable") => ::r2r::QosProfile::default().keep_last(depth),
            _ => ::r2r::QosProfile::sensor_data().keep_last(depth),
        }
    }

    /// Adds a check that each of the `double` parameters `names` is a
    /// finite number, at least 0 (`strict`: greater than 0).
    pub fn non_negative(self, names: &'static [&'static str], strict: bool) -> Self {
        self.check(move |p| {
            for &name in names {
                let Some(v) = p.get_double(name) else {
                    continue;
                };
                let ok = v.is_finite() && if strict { v > 0.0 } else { v >= 0.0 };
                if !ok {
                    let bound = if strict { "> 0" } else { ">= 0" };
                    return Err(format!("{name} must be a finite number {bound}, got {v}"));
                }
            }
            Ok(())
        })
    }

    /// Declares `policy` (default `policy`) and one parameter per policy
    /// setting of the registry ([`Param::ALL`]): `queue_size` (10),
    /// `age_penalty` (0.1), `max_interval` (seconds, 0 = unbounded),
    /// `lower_bounds` (seconds per input, empty = none), `epsilon` and
    /// `slop` (seconds). Together they must make a valid policy
    /// ([`policy`](Self::policy)); settings a policy does not take are
    /// ignored.
    pub fn with_policy(mut self, policy: &str) -> Self {
        self = self.string(
            "policy",
            policy,
            "exact | approximate | epsilon | latest | slop",
        );
        for p in Param::ALL {
            self = match p {
                Param::QueueSize => self.int(p.name(), 10, "messages (exact: stamps) per input"),
                Param::AgePenalty => self.double(p.name(), 0.1, "ApproximateTime age penalty"),
                Param::MaxInterval => self.double(
                    p.name(),
                    0.0,
                    "ApproximateTime widest set, seconds (0 = unbounded)",
                ),
                Param::LowerBound => self.doubles(
                    "lower_bounds",
                    &[],
                    "ApproximateTime inter-message lower bound per input, seconds",
                ),
                Param::Epsilon => {
                    self.double(p.name(), 0.0, "ApproximateEpsilonTime tolerance, seconds")
                }
                Param::Slop => self.double(p.name(), 0.1, "SlopTime (Python) slop, seconds"),
                _ => self,
            };
        }
        self.check(|p| p.policy().map(drop).map_err(|e| e.to_string()))
    }

    /// The value of `name`, if declared.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.decls.get(name).map(|d| &d.value)
    }
    /// A `bool` parameter.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// An `int64` parameter.
    pub fn get_int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// A `double` parameter.
    pub fn get_double(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }
    /// A `string` parameter.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// A `string[]` parameter.
    pub fn get_strs(&self, name: &str) -> Option<&[String]> {
        match self.get(name)? {
            Value::StrArray(v) => Some(v),
            _ => None,
        }
    }
    /// A `double[]` parameter.
    pub fn get_doubles(&self, name: &str) -> Option<&[f64]> {
        match self.get(name)? {
            Value::DoubleArray(v) => Some(v),
            _ => None,
        }
    }

    /// The policy the policy parameters describe (see
    /// [`with_policy`](Self::with_policy)).
    pub fn policy(&self) -> Result<PolicyConfig, ConfigError> {
        let kind: PolicyKind = self.get_str("policy").unwrap_or("approximate").parse()?;
        let secs = |name: &'static str| self.get_double(name).map(|s| seconds(name, s)).transpose();
        let mut params = PolicyParams::default();
        for p in Param::ALL {
            if !kind.accepts(p) {
                continue;
            }
            match p {
                Param::QueueSize => {
                    let q = self.get_int(p.name()).unwrap_or(10);
                    params.queue_size = Some(usize::try_from(q).unwrap_or(0));
                }
                Param::AgePenalty => params.age_penalty = self.get_double(p.name()),
                Param::MaxInterval => {
                    params.max_interval = secs(p.name())?.filter(|d| *d != Duration::ZERO);
                }
                Param::LowerBound => {
                    if let Some(Value::DoubleArray(v)) = self.get("lower_bounds") {
                        for (ch, &s) in v.iter().enumerate() {
                            let d = seconds("lower_bounds", s)?;
                            if d != Duration::ZERO {
                                params.lower_bounds.push((ch, d));
                            }
                        }
                    }
                }
                Param::Epsilon => params.epsilon = secs(p.name())?,
                Param::Slop => params.slop = secs(p.name())?,
                _ => {}
            }
        }
        PolicyConfig::from_params(kind, &params)
    }

    /// Checks the whole set.
    fn validate(&self) -> Result<(), String> {
        self.checks.iter().try_for_each(|c| c(self))
    }

    /// Applies start-up values (`-p name:=value`, launch files) from the
    /// node, checks the set, and starts r2r's parameter services over it.
    /// Returns the shared values, the services' future (spawn it) and the
    /// stream of accepted changes.
    pub fn declare(
        mut self,
        node: &mut Node,
    ) -> Result<(Arc<Mutex<Params>>, Handler, Changes), ParamError> {
        // Start-up values, type-checked here so the error names them.
        let given: Vec<(String, ParameterValue)> = node
            .params
            .lock()
            .map_err(|_| ParamError::Invalid {
                name: String::new(),
                reason: "parameter table poisoned".into(),
            })?
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        for (name, v) in &given {
            if let Some(d) = self.decls.get_mut(name) {
                d.value = d.value.coerce(v).ok_or_else(|| ParamError::Invalid {
                    name: name.clone(),
                    reason: format!("expected a {}, got {v:?}", d.value.type_name()),
                })?;
            }
        }
        self.validate().map_err(|reason| ParamError::Invalid {
            name: "(start-up values)".into(),
            reason,
        })?;
        let shared = Arc::new(Mutex::new(self));
        let dynamic: Arc<Mutex<dyn RosParams + Send>> =
            Arc::new(Mutex::new(Shared(shared.clone())));
        let (handler, changes) = node.make_derived_parameter_handler(dynamic)?;
        Ok((shared, Box::pin(handler), Box::pin(changes)))
    }
}

/// `s` seconds of parameter `name` as a [`Duration`]; NaN and infinities
/// are refused.
fn seconds(name: &'static str, s: f64) -> Result<Duration, ConfigError> {
    if !s.is_finite() || s.abs() > 9.0e9 {
        return Err(ConfigError::NotFinite {
            what: name,
            value: s,
        });
    }
    Ok(Duration::from_nanos((s * 1e9).round() as i64))
}

/// The handle r2r's services hold: every change goes through the checks.
struct Shared(Arc<Mutex<Params>>);

fn conv(name: &str, msg: impl Into<String>) -> ::r2r::Error {
    ::r2r::Error::ParameterValueConv {
        name: name.to_string(),
        msg: msg.into(),
    }
}

impl RosParams for Shared {
    fn register_parameters(
        &mut self,
        prefix: &str,
        _param: Option<::r2r::Parameter>,
        params: &mut IndexMap<String, ::r2r::Parameter>,
    ) -> ::r2r::Result<()> {
        let me = self.0.lock().map_err(|_| conv(prefix, "poisoned"))?;
        for (name, d) in &me.decls {
            let mut p = ::r2r::Parameter::new(d.value.to_ros());
            p.description = d.description;
            params.insert(format!("{prefix}{name}"), p);
        }
        Ok(())
    }

    fn get_parameter(&mut self, name: &str) -> ::r2r::Result<ParameterValue> {
        let me = self.0.lock().map_err(|_| conv(name, "poisoned"))?;
        me.get(name)
            .map(Value::to_ros)
            .ok_or_else(|| ::r2r::Error::InvalidParameterName {
                name: name.to_string(),
            })
    }

    fn set_parameter(&mut self, name: &str, value: &ParameterValue) -> ::r2r::Result<()> {
        let mut me = self.0.lock().map_err(|_| conv(name, "poisoned"))?;
        let candidate = me.candidate(name, value)?;
        *me = candidate;
        Ok(())
    }

    fn check_parameter(&self, name: &str, value: &ParameterValue) -> ::r2r::Result<()> {
        let me = self.0.lock().map_err(|_| conv(name, "poisoned"))?;
        me.candidate(name, value).map(drop)
    }
}

impl Params {
    /// The set with `name` changed to `value`, if that is accepted.
    fn candidate(&self, name: &str, value: &ParameterValue) -> ::r2r::Result<Params> {
        let Some(d) = self.decls.get(name) else {
            return Err(::r2r::Error::InvalidParameterName {
                name: name.to_string(),
            });
        };
        if d.read_only {
            return Err(conv(name, "can only be set at start-up"));
        }
        let v = d
            .value
            .coerce(value)
            .ok_or_else(|| conv(name, format!("expected a {}", d.value.type_name())))?;
        let mut c = self.clone();
        if let Some(d) = c.decls.get_mut(name) {
            d.value = v;
        }
        c.validate().map_err(|reason| conv(name, reason))?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params::new()
            .with_policy("approximate")
            .read_only("use_sim_time")
    }

    #[test]
    fn policy_params_make_the_policy() {
        let p = params();
        assert_eq!(p.policy().unwrap(), PolicyConfig::approximate(10));
        let p = p
            .candidate("policy", &ParameterValue::String("epsilon".into()))
            .unwrap()
            .candidate("epsilon", &ParameterValue::Double(0.005))
            .unwrap();
        assert_eq!(
            p.policy().unwrap(),
            PolicyConfig::Epsilon {
                queue_size: 10,
                epsilon: Duration::from_millis(5)
            }
        );
        // An integer stands for a double.
        let p = params()
            .candidate("max_interval", &ParameterValue::Integer(1))
            .unwrap();
        assert_eq!(
            p.policy().unwrap().params().max_interval,
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn invalid_changes_are_refused_with_a_reason_and_change_nothing() {
        let p = params();
        for (name, v, why) in [
            ("age_penalty", ParameterValue::Double(-1.0), "age penalty"),
            (
                "age_penalty",
                ParameterValue::Double(f64::NAN),
                "age penalty",
            ),
            ("queue_size", ParameterValue::Integer(0), "queue size"),
            (
                "policy",
                ParameterValue::String("fastest".into()),
                "unknown policy",
            ),
            ("max_interval", ParameterValue::Double(-0.5), "max interval"),
            (
                "queue_size",
                ParameterValue::String("ten".into()),
                "expected a integer",
            ),
            ("use_sim_time", ParameterValue::Bool(true), "start-up"),
        ] {
            let e = p.candidate(name, &v).unwrap_err().to_string();
            assert!(e.contains(why), "{name}: {e}");
        }
        assert!(matches!(
            p.candidate("nope", &ParameterValue::Integer(1)),
            Err(::r2r::Error::InvalidParameterName { .. })
        ));
        assert_eq!(p.policy().unwrap(), PolicyConfig::approximate(10));
    }

    /// Sets `name` to `v` as a start-up value would, and runs the checks.
    fn start_up(p: &Params, name: &str, v: Value) -> Result<Params, String> {
        let mut c = p.clone();
        if let Some(d) = c.decls.get_mut(name) {
            d.value = v;
        }
        c.validate().map(|()| c)
    }

    #[test]
    fn qos_parameters_are_checked_and_make_the_profile() {
        use ::r2r::qos::ReliabilityPolicy;
        let p = Params::new().qos("sensor_data", 7, "input QoS");
        let q = p.qos_profile();
        assert_eq!(q.reliability, ReliabilityPolicy::BestEffort);
        assert_eq!(q.depth, 7);
        let r = start_up(&p, "qos", Value::Str("reliable".into())).unwrap();
        assert_eq!(r.qos_profile().reliability, ReliabilityPolicy::Reliable);
        let b = start_up(&p, "qos", Value::Str("best_effort".into())).unwrap();
        assert_eq!(b.qos_profile().reliability, ReliabilityPolicy::BestEffort);
        let e = start_up(&p, "qos", Value::Str("fast".into())).unwrap_err();
        assert!(e.contains("qos must be") && e.contains("fast"), "{e}");
        let e = start_up(&p, "depth", Value::Int(0)).unwrap_err();
        assert!(e.contains("depth must be at least 1, got 0"), "{e}");
        assert!(start_up(&p, "depth", Value::Int(1)).is_ok());
        for name in ["qos", "depth"] {
            let e = p
                .candidate(name, &ParameterValue::Integer(3))
                .unwrap_err()
                .to_string();
            assert!(e.contains("start-up"), "{name}: {e}");
        }
    }

    #[test]
    fn non_negative_refuses_negative_nan_and_infinite_values() {
        let p = Params::new()
            .double("a", 0.0, "a")
            .double("b", 1.0, "b")
            .non_negative(&["a"], false)
            .non_negative(&["b"], true);
        assert!(p.validate().is_ok());
        for (name, v, bound) in [
            ("a", -0.5, ">= 0"),
            ("a", f64::NAN, ">= 0"),
            ("a", f64::INFINITY, ">= 0"),
            ("b", 0.0, "> 0"),
            ("b", -1.0, "> 0"),
            ("b", f64::INFINITY, "> 0"),
        ] {
            let e = start_up(&p, name, Value::Double(v)).unwrap_err();
            assert!(
                e.contains(&format!("{name} must be a finite number {bound}")),
                "{name}={v}: {e}"
            );
        }
        assert!(start_up(&p, "a", Value::Double(0.0)).is_ok());
        assert!(start_up(&p, "b", Value::Double(1e-9)).is_ok());
    }

    #[test]
    fn health_declares_stall_after_and_diagnostics_period() {
        let p = Params::new().health();
        assert!(p.validate().is_ok());
        assert_eq!(p.get_double("stall_after"), Some(5.0));
        assert_eq!(p.get_double("diagnostics_period"), Some(1.0));
        for name in ["stall_after", "diagnostics_period"] {
            let e = start_up(&p, name, Value::Double(-1.0)).unwrap_err();
            assert!(
                e.contains(&format!("{name} must be a finite number >= 0")),
                "{e}"
            );
            assert!(start_up(&p, name, Value::Double(0.0)).is_ok());
        }
    }
}
