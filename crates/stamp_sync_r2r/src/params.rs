//! Node parameters, typed: each parameter is a [`Key`] declared once, with
//! its name, type, default, range and help; a node reads it with
//! [`Params::get`] as a Rust value (`bool`, `i64`, `Duration`,
//! `Option<Duration>`, `String`, `Vec<String>`), never restating the
//! default. Declared through r2r's parameter handling, so every parameter
//! is visible and settable through the standard services (`ros2 param
//! list/get/set/describe`); every value, at start-up and on every change,
//! is checked against its key's range and the node's checks of the whole
//! set, so an invalid value is refused with a typed reason
//! ([`ParamError`]) and the node keeps its old values.
//!
//! The policy parameters come from the policies' own settings tables
//! ([`stamp_sync::policy::all_settings`]): `policy`, `queue_size`,
//! `age_penalty`, `max_interval`, `lower_bounds`, `epsilon`, `slop`, with
//! the same names, defaults and ranges as the `stamp-sync` flags (durations
//! in seconds; 0 = off where a setting can be off).
//!
//! r2r 0.9.7's `describe_parameters` answers with the description only
//! (no range fields), so each description carries the type, default and
//! range in its text; the ranges are enforced here on every change.
//!
//! ```no_run
//! use stamp_sync::Duration;
//! use stamp_sync_r2r::params::{Key, Params};
//! const DEPTH: Key<i64> = Key::int("depth", 10, 1, "subscription history depth").start_up();
//! const STALE: Key<Option<Duration>> = Key::seconds_or_off("stale_after", 0.0, "report a silent input");
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = r2r::Node::create(r2r::Context::create()?, "my_sync", "")?;
//! let params = Params::new().with(&DEPTH).with(&STALE).with_policy("approximate");
//! let (params, handler, mut changes) = params.declare(&mut node)?;
//! let p = params.lock().map_err(|_| "poisoned")?;
//! let depth: i64 = p.get(&DEPTH);
//! let config = p.policy()?;
//! # let _ = (handler, changes, config, depth);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use ::r2r::{Node, ParameterValue, RosParams};
use futures::{Future, Stream};
use indexmap::IndexMap;

use stamp_sync::policy::settings::{self, Min, Unit};
use stamp_sync::policy::{ConfigError, PolicyConfig, PolicyKind, Settings, Value as Setting};
use stamp_sync::time::Duration;

/// A parameter's value, as the node holds it.
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
    /// Not set: a required setting no one gave yet.
    NotSet,
}

impl Value {
    fn to_ros(&self) -> ParameterValue {
        match self {
            Value::Bool(b) => ParameterValue::Bool(*b),
            Value::Int(i) => ParameterValue::Integer(*i),
            Value::Double(d) => ParameterValue::Double(*d),
            Value::Str(s) => ParameterValue::String(s.clone()),
            Value::StrArray(v) => ParameterValue::StringArray(v.clone()),
            Value::DoubleArray(v) => ParameterValue::DoubleArray(v.clone()),
            Value::NotSet => ParameterValue::NotSet,
        }
    }
}

/// The type of a parameter, with its default and range.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `bool`.
    Bool {
        /// Default.
        default: bool,
    },
    /// `int64` of at least `min`.
    Int {
        /// Default.
        default: i64,
        /// The least value.
        min: i64,
    },
    /// `double` in a range; `seconds`: a duration in seconds, and with
    /// `zero_off` 0 means off.
    Double {
        /// Default (`None`: not set until given).
        default: Option<f64>,
        /// The range.
        min: Min,
        /// In seconds.
        seconds: bool,
        /// 0 means off.
        zero_off: bool,
    },
    /// `string`, one of `choices` (empty: any).
    Str {
        /// Default.
        default: &'static str,
        /// The values allowed (empty: any).
        choices: &'static [&'static str],
    },
    /// `string[]` of `len.0` to `len.1` entries.
    StrArray {
        /// Default.
        default: &'static [&'static str],
        /// Fewest and most entries.
        len: (usize, usize),
    },
    /// `double[]` of seconds, each in the range, 0 = none.
    Seconds {
        /// The range of each entry.
        min: Min,
    },
}

impl Kind {
    fn default_value(&self) -> Value {
        match self {
            Kind::Bool { default } => Value::Bool(*default),
            Kind::Int { default, .. } => Value::Int(*default),
            Kind::Double { default, .. } => default.map_or(Value::NotSet, Value::Double),
            Kind::Str { default, .. } => Value::Str(default.to_string()),
            Kind::StrArray { default, .. } => {
                Value::StrArray(default.iter().map(|s| s.to_string()).collect())
            }
            Kind::Seconds { .. } => Value::DoubleArray(Vec::new()),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Kind::Bool { .. } => "bool",
            Kind::Int { .. } => "integer",
            Kind::Double { .. } => "double",
            Kind::Str { .. } => "string",
            Kind::StrArray { .. } => "string array",
            Kind::Seconds { .. } => "double array",
        }
    }

    /// `v` as a value of this kind, if it is one (integers stand for
    /// doubles), range unchecked.
    fn coerce(&self, v: &ParameterValue) -> Option<Value> {
        Some(match (self, v) {
            (Kind::Bool { .. }, ParameterValue::Bool(b)) => Value::Bool(*b),
            (Kind::Int { .. }, ParameterValue::Integer(i)) => Value::Int(*i),
            (Kind::Double { .. }, ParameterValue::Double(d)) => Value::Double(*d),
            (Kind::Double { .. }, ParameterValue::Integer(i)) => Value::Double(*i as f64),
            (Kind::Str { .. }, ParameterValue::String(s)) => Value::Str(s.clone()),
            (Kind::StrArray { .. }, ParameterValue::StringArray(v)) => Value::StrArray(v.clone()),
            (Kind::Seconds { .. }, ParameterValue::DoubleArray(v)) => Value::DoubleArray(v.clone()),
            (Kind::Seconds { .. }, ParameterValue::IntegerArray(v)) => {
                Value::DoubleArray(v.iter().map(|&i| i as f64).collect())
            }
            // `[]` on the command line has no element type.
            (Kind::StrArray { .. }, ParameterValue::NotSet) => Value::StrArray(Vec::new()),
            (Kind::Seconds { .. }, ParameterValue::NotSet) => Value::DoubleArray(Vec::new()),
            _ => return None,
        })
    }

    /// Checks `v` against the range; the error names `name`.
    fn check(&self, name: &'static str, v: &Value) -> Result<(), ParamError> {
        let out = |value: String, range: String| ParamError::OutOfRange { name, value, range };
        let seconds_ok = |min: &Min, x: f64| x.is_finite() && x.abs() <= 9.0e9 && min.admits(x);
        match (self, v) {
            (Kind::Int { min, .. }, Value::Int(i)) if i < min => {
                Err(out(i.to_string(), format!("[{min}, inf)")))
            }
            (Kind::Double { min, zero_off, .. }, Value::Double(x)) => {
                let off = *zero_off && *x == 0.0;
                if off || seconds_ok(min, *x) {
                    Ok(())
                } else {
                    Err(out(x.to_string(), min.to_string()))
                }
            }
            (Kind::Str { choices, .. }, Value::Str(s))
                if !choices.is_empty() && !choices.contains(&s.as_str()) =>
            {
                Err(ParamError::NotOneOf {
                    name,
                    value: s.clone(),
                    choices,
                })
            }
            (Kind::StrArray { len, .. }, Value::StrArray(v))
                if v.len() < len.0 || v.len() > len.1 =>
            {
                Err(ParamError::Length {
                    name,
                    len: v.len(),
                    min: len.0,
                    max: len.1,
                })
            }
            (Kind::Seconds { min }, Value::DoubleArray(v)) => {
                match v.iter().find(|&&x| !(x == 0.0 || seconds_ok(min, x))) {
                    Some(x) => Err(out(x.to_string(), min.to_string())),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// The type, default and range for the description.
    fn describe(&self) -> String {
        match self {
            Kind::Bool { default } => format!("bool, default {default}"),
            Kind::Int { default, min } => format!("integer, default {default}, range [{min}, inf)"),
            Kind::Double {
                default,
                min,
                seconds,
                zero_off,
            } => {
                let unit = if *seconds { " seconds" } else { "" };
                let d = default.map_or_else(|| "not set (required)".to_string(), |d| d.to_string());
                let off = if *zero_off { ", 0 = off" } else { "" };
                format!("double{unit}, default {d}, range {min}{off}")
            }
            Kind::Str {
                default,
                choices: [],
            } => {
                format!("string, default {default:?}")
            }
            Kind::Str { default, choices } => {
                format!(
                    "string, default {default:?}, one of {}",
                    choices.join(" | ")
                )
            }
            Kind::StrArray { default, len } => {
                format!(
                    "string array, default {default:?}, {} to {} entries",
                    len.0, len.1
                )
            }
            Kind::Seconds { min } => format!("double array, seconds, each in {min}, 0 = none"),
        }
    }
}

/// Whether a parameter may change while the node runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// At start-up only (from the command line or a launch file).
    StartUp,
    /// At start-up and at run time (`ros2 param set`).
    Live,
}

/// One parameter, declared once: name, type, default, range and help. `T`
/// is what [`Params::get`] reads it as.
#[derive(Clone, Debug)]
pub struct Key<T> {
    /// The parameter name.
    pub name: &'static str,
    /// Its type, default and range.
    pub kind: Kind,
    /// One line of help.
    pub help: &'static str,
    /// Whether it may change at run time.
    pub change: Change,
    read: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    const fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Key {
            name,
            kind,
            help,
            change: Change::Live,
            read: PhantomData,
        }
    }
    /// Set at start-up only: a later change is refused.
    pub const fn start_up(mut self) -> Self {
        self.change = Change::StartUp;
        self
    }
}

impl Key<bool> {
    /// A `bool`.
    pub const fn flag(name: &'static str, default: bool, help: &'static str) -> Self {
        Key::new(name, Kind::Bool { default }, help)
    }
}

impl Key<i64> {
    /// An `int64` of at least `min`.
    pub const fn int(name: &'static str, default: i64, min: i64, help: &'static str) -> Self {
        Key::new(name, Kind::Int { default, min }, help)
    }
}

impl Key<f64> {
    /// A `double` in the range `min`.
    pub const fn number(name: &'static str, default: f64, min: Min, help: &'static str) -> Self {
        Key::new(
            name,
            Kind::Double {
                default: Some(default),
                min,
                seconds: false,
                zero_off: false,
            },
            help,
        )
    }
}

impl Key<Duration> {
    /// A duration, a `double` of seconds >= 0.
    pub const fn seconds(name: &'static str, default: f64, help: &'static str) -> Self {
        Key::new(
            name,
            Kind::Double {
                default: Some(default),
                min: Min::AtLeast(0.0),
                seconds: true,
                zero_off: false,
            },
            help,
        )
    }
    /// A duration of more than 0 s.
    pub const fn positive_seconds(name: &'static str, default: f64, help: &'static str) -> Self {
        Key::new(
            name,
            Kind::Double {
                default: Some(default),
                min: Min::Above(0.0),
                seconds: true,
                zero_off: false,
            },
            help,
        )
    }
}

impl Key<Option<Duration>> {
    /// A duration where 0 means off (`None`), a `double` of seconds >= 0.
    pub const fn seconds_or_off(name: &'static str, default: f64, help: &'static str) -> Self {
        Key::new(
            name,
            Kind::Double {
                default: Some(default),
                min: Min::AtLeast(0.0),
                seconds: true,
                zero_off: true,
            },
            help,
        )
    }
}

impl Key<String> {
    /// A `string`, one of `choices` (empty: any).
    pub const fn text(
        name: &'static str,
        default: &'static str,
        choices: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        Key::new(name, Kind::Str { default, choices }, help)
    }
}

impl Key<Vec<String>> {
    /// A `string[]` of `min` to `max` entries.
    pub const fn texts(
        name: &'static str,
        default: &'static [&'static str],
        min: usize,
        max: usize,
        help: &'static str,
    ) -> Self {
        Key::new(
            name,
            Kind::StrArray {
                default,
                len: (min, max),
            },
            help,
        )
    }
}

/// What a key reads a value as.
pub trait FromValue: Sized {
    /// `v` (of `kind`), or the kind's default if `v` is of another type.
    fn from_value(v: &Value, kind: &Kind) -> Self;
}

impl FromValue for bool {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        match (v, kind) {
            (Value::Bool(b), _) => *b,
            (_, Kind::Bool { default }) => *default,
            _ => false,
        }
    }
}

impl FromValue for i64 {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        match (v, kind) {
            (Value::Int(i), _) => *i,
            (_, Kind::Int { default, .. }) => *default,
            _ => 0,
        }
    }
}

fn double_of(v: &Value, kind: &Kind) -> f64 {
    match (v, kind) {
        (Value::Double(x), _) => *x,
        (_, Kind::Double { default, .. }) => default.unwrap_or(0.0),
        _ => 0.0,
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        double_of(v, kind)
    }
}

impl FromValue for Duration {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        // The range check refused what has no Duration.
        Duration::from_secs_f64(double_of(v, kind)).unwrap_or(Duration::ZERO)
    }
}

impl FromValue for Option<Duration> {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        Some(Duration::from_value(v, kind)).filter(|d| *d != Duration::ZERO)
    }
}

impl FromValue for String {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        match (v, kind) {
            (Value::Str(s), _) => s.clone(),
            (_, Kind::Str { default, .. }) => default.to_string(),
            _ => String::new(),
        }
    }
}

impl FromValue for Vec<String> {
    fn from_value(v: &Value, kind: &Kind) -> Self {
        match (v, kind) {
            (Value::StrArray(s), _) => s.clone(),
            (_, Kind::StrArray { default, .. }) => default.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

/// One declared parameter.
#[derive(Clone, Debug)]
struct Decl {
    kind: Kind,
    value: Value,
    /// The help with the type, default and range, for `describe_parameters`.
    description: &'static str,
    change: Change,
}

type Check = Arc<dyn Fn(&Params) -> Result<(), ParamError> + Send + Sync>;

/// A node's declared parameters: see the [module docs](self).
#[derive(Clone, Default)]
pub struct Params {
    decls: IndexMap<&'static str, Decl>,
    checks: Vec<Check>,
    /// The `policy` parameter and the settings are declared.
    policy: bool,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.decls.iter().map(|(k, d)| (k, &d.value)))
            .finish()
    }
}

/// Why parameters could not be declared, read or changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A value of another type than the parameter's.
    #[error("parameter {name} takes {} {expected}, got {got}", article(expected))]
    WrongType {
        /// The parameter.
        name: String,
        /// Its type.
        expected: &'static str,
        /// What was given, e.g. `"ten" (a string)`.
        got: String,
    },
    /// A value outside the parameter's range.
    #[error("parameter {name} must be in {range}, got {value}")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: String,
        /// Its range.
        range: String,
    },
    /// A string that is not one of the parameter's choices.
    #[error("parameter {name} must be one of {}, got {value:?}", choices.join(", "))]
    NotOneOf {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: String,
        /// The choices.
        choices: &'static [&'static str],
    },
    /// A list with too few or too many entries.
    #[error("parameter {name} needs {min} to {max} entries, got {len}")]
    Length {
        /// The parameter.
        name: &'static str,
        /// Entries given.
        len: usize,
        /// Fewest.
        min: usize,
        /// Most.
        max: usize,
    },
    /// A change of a parameter that is set at start-up only.
    #[error("parameter {0} can only be set at start-up (-p {0}:=... or a launch file)")]
    StartUpOnly(String),
    /// A parameter the node does not declare.
    #[error("the node has no parameter {0}")]
    Unknown(String),
    /// The parameters together do not make a valid policy.
    #[error("{0}")]
    Policy(#[from] ConfigError),
    /// The parameters do not fit together (a node's own check).
    #[error("{0}")]
    Conflict(String),
    /// r2r refused to set up the parameter services.
    #[error("parameter services: {0}")]
    Ros(String),
}

/// "a" or "an" before a type name.
fn article(type_name: &str) -> &'static str {
    if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// A value as a user gave it, with its type: `"ten" (a string)`.
fn as_given(v: &ParameterValue) -> String {
    let (value, type_name) = match v {
        ParameterValue::NotSet => return "no value".into(),
        ParameterValue::Bool(b) => (b.to_string(), "bool"),
        ParameterValue::Integer(i) => (i.to_string(), "integer"),
        ParameterValue::Double(d) => (d.to_string(), "double"),
        ParameterValue::String(s) => (format!("{s:?}"), "string"),
        ParameterValue::ByteArray(b) => (format!("{b:?}"), "byte array"),
        ParameterValue::BoolArray(b) => (format!("{b:?}"), "bool array"),
        ParameterValue::IntegerArray(i) => (format!("{i:?}"), "integer array"),
        ParameterValue::DoubleArray(d) => (format!("{d:?}"), "double array"),
        ParameterValue::StringArray(s) => (format!("{s:?}"), "string array"),
    };
    format!("{value} ({} {type_name})", article(type_name))
}

/// The parameter services' future, to spawn on the node's executor.
pub type Handler = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
/// Accepted changes, `(name, value)`, after the node's values were updated.
pub type Changes = std::pin::Pin<Box<dyn Stream<Item = (String, ParameterValue)> + Send>>;

/// `use_sim_time`, which every node declares.
pub const USE_SIM_TIME: Key<bool> = Key::flag(
    "use_sim_time",
    false,
    "follow /clock instead of the system clock",
)
.start_up();

impl Params {
    /// `use_sim_time` only.
    pub fn new() -> Self {
        Params::default().with(&USE_SIM_TIME)
    }

    /// Declares `key` (with its default).
    pub fn with<T>(mut self, key: &Key<T>) -> Self {
        self.declare_kind(key.name, key.kind.clone(), key.help, key.change);
        self
    }

    fn declare_kind(&mut self, name: &'static str, kind: Kind, help: &str, change: Change) {
        let when = match change {
            Change::StartUp => "; set at start-up",
            Change::Live => "",
        };
        let description: &'static str =
            Box::leak(format!("{help} ({}{when})", kind.describe()).into_boxed_str());
        self.decls.insert(
            name,
            Decl {
                value: kind.default_value(),
                kind,
                description,
                change,
            },
        );
    }

    /// Adds a check of the whole set, run at start-up and on every change.
    pub fn check(
        mut self,
        f: impl Fn(&Params) -> Result<(), ParamError> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(f));
        self
    }

    /// Declares `policy` (default `default`) and one parameter per policy
    /// setting of the registry ([`stamp_sync::policy::all_settings`]), as
    /// the setting's table says: a count is an integer, a number a double,
    /// a duration a double of seconds (0 = off where the setting can be
    /// off; not set where it is required), durations per channel a double
    /// array of seconds, one per input (0 = none). Together they must make
    /// a valid policy ([`policy`](Self::policy)); settings of other
    /// policies are ignored.
    pub fn with_policy(mut self, default: &'static str) -> Self {
        self = self.with(&Key::text(
            "policy",
            default,
            PolicyKind::NAMES,
            "the synchronization policy",
        ));
        for s in stamp_sync::policy::all_settings() {
            let kind = match (s.unit, s.default) {
                (Unit::Count, d) => Kind::Int {
                    default: match d {
                        settings::Default::Count(n) => n as i64,
                        _ => 0,
                    },
                    min: match s.min {
                        Min::AtLeast(m) => m as i64,
                        Min::Above(m) => m as i64 + 1,
                    },
                },
                (Unit::Number | Unit::Duration, d) => Kind::Double {
                    default: match d {
                        settings::Default::Number(x) => Some(x),
                        settings::Default::Duration(d) => Some(d.as_secs_f64()),
                        settings::Default::Off => Some(0.0),
                        _ => None,
                    },
                    min: s.min,
                    seconds: s.unit == Unit::Duration,
                    zero_off: d == settings::Default::Off,
                },
                (Unit::PerChannel, _) => Kind::Seconds { min: s.min },
            };
            self.declare_kind(s.name, kind, s.help, Change::Live);
        }
        self.policy = true;
        self
    }

    /// The value of `key`: its declared value, or its default if the node
    /// does not declare it.
    pub fn get<T: FromValue>(&self, key: &Key<T>) -> T {
        match self.decls.get(key.name) {
            Some(d) => T::from_value(&d.value, &d.kind),
            None => T::from_value(&key.kind.default_value(), &key.kind),
        }
    }

    /// Every declared parameter's name and description (type, default,
    /// range and help), in declaration order.
    pub fn describe(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.decls.iter().map(|(&n, d)| (n, d.description))
    }

    /// The raw value of `name`, if declared.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.decls.get(name).map(|d| &d.value)
    }

    /// The policy the policy parameters describe (see
    /// [`with_policy`](Self::with_policy)).
    pub fn policy(&self) -> Result<PolicyConfig, ParamError> {
        let kind: PolicyKind = match self.value("policy") {
            Some(Value::Str(s)) => s.parse()?,
            _ => PolicyKind::Approximate,
        };
        let mut given = Settings::new();
        for s in kind.settings() {
            let v = match (s.unit, self.value(s.name)) {
                (Unit::Count, Some(Value::Int(i))) => {
                    Some(Setting::Count(usize::try_from(*i).unwrap_or(0)))
                }
                (Unit::Number, Some(Value::Double(x))) => Some(Setting::Number(*x)),
                (Unit::Duration, Some(Value::Double(x))) => {
                    let off = s.default == settings::Default::Off && *x == 0.0;
                    match Duration::from_secs_f64(*x) {
                        _ if off => None,
                        Some(d) => Some(Setting::Duration(d)),
                        None => {
                            return Err(ConfigError::NotFinite {
                                what: s.name,
                                value: *x,
                            }
                            .into());
                        }
                    }
                }
                (Unit::PerChannel, Some(Value::DoubleArray(v))) => {
                    let per: Vec<_> = v
                        .iter()
                        .enumerate()
                        .filter(|&(_, &x)| x != 0.0)
                        .map(|(ch, &x)| (ch, Duration::from_secs_f64(x).unwrap_or(Duration::ZERO)))
                        .collect();
                    (!per.is_empty()).then_some(Setting::PerChannel(per))
                }
                _ => None,
            };
            if let Some(v) = v {
                given.set(s.name, v);
            }
        }
        Ok(PolicyConfig::from_settings(kind, &given)?)
    }

    /// Checks the whole set: every value's range, the policy, the node's
    /// checks.
    fn validate(&self) -> Result<(), ParamError> {
        for (&name, d) in &self.decls {
            d.kind.check(name, &d.value)?;
        }
        if self.policy {
            self.policy()?;
        }
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
        let given: Vec<(String, ParameterValue)> = node
            .params
            .lock()
            .map_err(|_| ParamError::Ros("parameter table poisoned".into()))?
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        for (name, v) in &given {
            if let Some(d) = self.decls.get_mut(name.as_str()) {
                d.value = d.kind.coerce(v).ok_or_else(|| ParamError::WrongType {
                    name: name.clone(),
                    expected: d.kind.type_name(),
                    got: as_given(v),
                })?;
            }
        }
        self.validate()?;
        let shared = Arc::new(Mutex::new(self));
        let dynamic: Arc<Mutex<dyn RosParams + Send>> =
            Arc::new(Mutex::new(Shared(shared.clone())));
        let (handler, changes) = node
            .make_derived_parameter_handler(dynamic)
            .map_err(|e| ParamError::Ros(e.to_string()))?;
        Ok((shared, Box::pin(handler), Box::pin(changes)))
    }

    /// The set with `name` changed to `value`, if that is accepted.
    pub fn candidate(&self, name: &str, value: &ParameterValue) -> Result<Params, ParamError> {
        let Some(d) = self.decls.get(name) else {
            return Err(ParamError::Unknown(name.to_string()));
        };
        if d.change == Change::StartUp {
            return Err(ParamError::StartUpOnly(name.to_string()));
        }
        let v = d.kind.coerce(value).ok_or_else(|| ParamError::WrongType {
            name: name.to_string(),
            expected: d.kind.type_name(),
            got: as_given(value),
        })?;
        let mut c = self.clone();
        if let Some(d) = c.decls.get_mut(name) {
            d.value = v;
        }
        c.validate()?;
        Ok(c)
    }
}

/// The handle r2r's services hold: every change goes through the checks.
struct Shared(Arc<Mutex<Params>>);

fn conv(name: &str, msg: impl Into<String>) -> ::r2r::Error {
    ::r2r::Error::ParameterValueConv {
        name: name.to_string(),
        msg: msg.into(),
    }
}

fn to_ros_error(name: &str, e: ParamError) -> ::r2r::Error {
    match e {
        ParamError::Unknown(_) => ::r2r::Error::InvalidParameterName {
            name: name.to_string(),
        },
        other => conv(name, other.to_string()),
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
        me.value(name)
            .map(Value::to_ros)
            .ok_or_else(|| ::r2r::Error::InvalidParameterName {
                name: name.to_string(),
            })
    }

    fn set_parameter(&mut self, name: &str, value: &ParameterValue) -> ::r2r::Result<()> {
        let mut me = self.0.lock().map_err(|_| conv(name, "poisoned"))?;
        let candidate = me
            .candidate(name, value)
            .map_err(|e| to_ros_error(name, e))?;
        *me = candidate;
        Ok(())
    }

    fn check_parameter(&self, name: &str, value: &ParameterValue) -> ::r2r::Result<()> {
        let me = self.0.lock().map_err(|_| conv(name, "poisoned"))?;
        me.candidate(name, value)
            .map(drop)
            .map_err(|e| to_ros_error(name, e))
    }
}

/// The QoS of a node's inputs or outputs, as three parameters set at
/// start-up: `qos` (`sensor_data` | `best_effort` | `reliable`), `depth`
/// (the history depth) and `durability` (`volatile` | `transient_local`).
/// Each node gives its own `qos` and `depth` defaults; `durability` is
/// `volatile`, which matches every publisher.
///
/// A volatile subscription gets nothing published before discovery matched
/// it. With `qos:=reliable durability:=transient_local` on the publisher
/// and on the subscriber, the subscriber gets the publisher's last `depth`
/// messages on matching: a node started with its publishers loses none.
#[derive(Clone, Debug)]
pub struct QosKeys {
    /// `qos`.
    pub qos: Key<String>,
    /// `depth`.
    pub depth: Key<i64>,
    /// `durability`.
    pub durability: Key<String>,
}

/// The names `qos` takes.
pub const QOS_NAMES: &[&str] = &["sensor_data", "best_effort", "reliable"];

/// The names `durability` takes.
pub const DURABILITY_NAMES: &[&str] = &["volatile", "transient_local"];

impl QosKeys {
    /// `qos` defaulting to `qos`, `depth` to `depth`, `durability` to
    /// `volatile`.
    pub const fn new(qos: &'static str, depth: i64, help: &'static str) -> Self {
        QosKeys {
            qos: Key::text("qos", qos, QOS_NAMES, help).start_up(),
            depth: Key::int("depth", depth, 1, "history depth").start_up(),
            durability: Key::text(
                "durability",
                "volatile",
                DURABILITY_NAMES,
                "transient_local keeps (publisher) or asks for (subscriber) the last depth messages for late joiners; with qos reliable on both sides nothing published before discovery is lost",
            )
            .start_up(),
        }
    }

    /// Declares all three.
    pub fn declare(&self, p: Params) -> Params {
        p.with(&self.qos).with(&self.depth).with(&self.durability)
    }

    /// The profile they name: `reliable` is reliable, keep last `depth`;
    /// the others are `sensor_data` (best effort) with that depth; volatile
    /// unless `durability` is `transient_local`.
    pub fn profile(&self, p: &Params) -> ::r2r::QosProfile {
        let depth = usize::try_from(p.get(&self.depth).max(1)).unwrap_or(usize::MAX);
        let profile = match p.get(&self.qos).as_str() {
            "reliable" => ::r2r::QosProfile::default().keep_last(depth),
            _ => ::r2r::QosProfile::sensor_data().keep_last(depth),
        };
        match p.get(&self.durability).as_str() {
            "transient_local" => profile.transient_local(),
            _ => profile.volatile(),
        }
    }

    /// `qos`, with ` transient_local` when set: how the QoS is logged.
    pub fn name(&self, p: &Params) -> String {
        match p.get(&self.durability).as_str() {
            "transient_local" => format!("{} transient_local", p.get(&self.qos)),
            _ => p.get(&self.qos),
        }
    }
}

/// The health parameters every synchronizing node shares.
pub mod health {
    use super::Key;
    use stamp_sync::time::Duration;

    /// `stall_after`: seconds without a set before a warning on rosout
    /// (0 = never).
    pub const STALL_AFTER: Key<Option<Duration>> = Key::seconds_or_off(
        "stall_after",
        5.0,
        "seconds without a set before a warning on rosout",
    );
    /// `diagnostics_period`: seconds between `/diagnostics` (0 = none).
    pub const DIAGNOSTICS_PERIOD: Key<Option<Duration>> = Key::seconds_or_off(
        "diagnostics_period",
        1.0,
        "seconds between /diagnostics messages",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params::new().with_policy("approximate")
    }

    #[test]
    fn policy_params_make_the_policy() {
        let p = params();
        assert_eq!(p.policy().unwrap(), PolicyConfig::approximate(10));
        let p = p
            .candidate("policy", &ParameterValue::String("epsilon".into()))
            .unwrap_err();
        // Epsilon is required: switching needs it first.
        assert_eq!(
            p,
            ParamError::Policy(ConfigError::MissingParam {
                param: "epsilon",
                policy: "epsilon"
            })
        );
        let p = params()
            .candidate("epsilon", &ParameterValue::Double(0.005))
            .unwrap()
            .candidate("policy", &ParameterValue::String("epsilon".into()))
            .unwrap();
        assert_eq!(
            p.policy().unwrap().to_string(),
            "ApproximateEpsilonTime, queue size 10, epsilon 5ms"
        );
        // An integer stands for a double; 0 is off.
        let p = params()
            .candidate("max_interval", &ParameterValue::Integer(1))
            .unwrap();
        assert_eq!(
            p.policy().unwrap().get("max_interval"),
            Some(Setting::Duration(Duration::from_secs(1)))
        );
        let p = p
            .candidate("max_interval", &ParameterValue::Integer(0))
            .unwrap();
        assert_eq!(p.policy().unwrap().get("max_interval"), None);
        let p = p
            .candidate(
                "lower_bounds",
                &ParameterValue::DoubleArray(vec![0.0, 0.004]),
            )
            .unwrap();
        assert_eq!(
            p.policy().unwrap().get("lower_bounds"),
            Some(Setting::PerChannel(vec![(1, Duration::from_millis(4))]))
        );
    }

    #[test]
    fn invalid_changes_are_refused_with_a_typed_reason_and_change_nothing() {
        let p = params();
        let refused = |name: &str, v: ParameterValue| p.candidate(name, &v).unwrap_err();
        assert!(matches!(
            refused("age_penalty", ParameterValue::Double(-1.0)),
            ParamError::OutOfRange {
                name: "age_penalty",
                ..
            }
        ));
        assert!(matches!(
            refused("age_penalty", ParameterValue::Double(f64::NAN)),
            ParamError::OutOfRange {
                name: "age_penalty",
                ..
            }
        ));
        assert!(matches!(
            refused("queue_size", ParameterValue::Integer(0)),
            ParamError::OutOfRange {
                name: "queue_size",
                ..
            }
        ));
        assert!(matches!(
            refused("policy", ParameterValue::String("fastest".into())),
            ParamError::NotOneOf { name: "policy", .. }
        ));
        assert!(matches!(
            refused("max_interval", ParameterValue::Double(-0.5)),
            ParamError::OutOfRange {
                name: "max_interval",
                ..
            }
        ));
        let e = refused("queue_size", ParameterValue::String("ten".into()));
        assert!(
            matches!(
                e,
                ParamError::WrongType {
                    expected: "integer",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            r#"parameter queue_size takes an integer, got "ten" (a string)"#
        );
        let e = refused("policy", ParameterValue::Integer(3));
        assert_eq!(
            e.to_string(),
            "parameter policy takes a string, got 3 (an integer)"
        );
        assert_eq!(
            refused("use_sim_time", ParameterValue::Bool(true)),
            ParamError::StartUpOnly("use_sim_time".into())
        );
        assert_eq!(
            refused("nope", ParameterValue::Integer(1)),
            ParamError::Unknown("nope".into())
        );
        assert_eq!(p.policy().unwrap(), PolicyConfig::approximate(10));
    }

    #[test]
    fn keys_read_typed_values_and_defaults() {
        const A: Key<Option<Duration>> = Key::seconds_or_off("a", 0.0, "a");
        const B: Key<Duration> = Key::positive_seconds("b", 1.0, "b");
        const N: Key<i64> = Key::int("n", 3, 1, "n");
        const T: Key<Vec<String>> = Key::texts("t", &["x", "y"], 2, 9, "t");
        let p = Params::new().with(&A).with(&B).with(&N).with(&T);
        assert_eq!(p.get(&A), None);
        assert_eq!(p.get(&B), Duration::from_secs(1));
        assert_eq!(p.get(&N), 3);
        // Not declared: the key's default.
        const Q: Key<i64> = Key::int("q", 7, 0, "q");
        assert_eq!(p.get(&Q), 7);
        let c = p.candidate("a", &ParameterValue::Double(0.25)).unwrap();
        assert_eq!(c.get(&A), Some(Duration::from_millis(250)));
        assert!(matches!(
            p.candidate("b", &ParameterValue::Double(0.0)),
            Err(ParamError::OutOfRange { name: "b", .. })
        ));
        assert!(matches!(
            p.candidate("n", &ParameterValue::Integer(0)),
            Err(ParamError::OutOfRange { name: "n", .. })
        ));
        // Start-up values are checked as a whole (validate).
        let mut s = p.clone();
        s.decls.get_mut("t").unwrap().value = Value::StrArray(vec!["x".into()]);
        assert_eq!(
            s.validate(),
            Err(ParamError::Length {
                name: "t",
                len: 1,
                min: 2,
                max: 9
            })
        );
    }

    #[test]
    fn qos_keys_make_the_profile() {
        use ::r2r::qos::ReliabilityPolicy;
        let keys = QosKeys::new("sensor_data", 7, "input QoS");
        let p = keys.declare(Params::new());
        let q = keys.profile(&p);
        assert_eq!(q.reliability, ReliabilityPolicy::BestEffort);
        assert_eq!(q.depth, 7);
        let mut r = p.clone();
        r.decls.get_mut("qos").unwrap().value = Value::Str("reliable".into());
        assert_eq!(keys.profile(&r).reliability, ReliabilityPolicy::Reliable);
        r.decls.get_mut("qos").unwrap().value = Value::Str("fast".into());
        assert!(matches!(
            r.validate(),
            Err(ParamError::NotOneOf { name: "qos", .. })
        ));
        for name in ["qos", "depth", "durability"] {
            assert_eq!(
                p.candidate(name, &ParameterValue::Integer(3)).unwrap_err(),
                ParamError::StartUpOnly(name.into())
            );
        }
    }

    #[test]
    fn durability_is_volatile_unless_transient_local() {
        use ::r2r::qos::DurabilityPolicy;
        let keys = QosKeys::new("reliable", 5, "input QoS");
        let p = keys.declare(Params::new());
        assert_eq!(keys.profile(&p).durability, DurabilityPolicy::Volatile);
        assert_eq!(keys.name(&p), "reliable");
        let mut t = p.clone();
        t.decls.get_mut("durability").unwrap().value = Value::Str("transient_local".into());
        let q = keys.profile(&t);
        assert_eq!(q.durability, DurabilityPolicy::TransientLocal);
        assert_eq!((q.depth, q.reliability), (5, keys.profile(&p).reliability));
        assert_eq!(keys.name(&t), "reliable transient_local");
        t.decls.get_mut("durability").unwrap().value = Value::Str("forever".into());
        assert!(matches!(
            t.validate(),
            Err(ParamError::NotOneOf {
                name: "durability",
                ..
            })
        ));
    }

    #[test]
    fn descriptions_carry_type_default_and_range() {
        let p = params().with(&health::STALL_AFTER);
        let d = |n: &str| p.decls.get(n).unwrap().description;
        assert!(
            d("max_interval").contains("double seconds, default 0, range [0, inf), 0 = off"),
            "{}",
            d("max_interval")
        );
        assert!(
            d("queue_size").contains("integer, default 10, range [1, inf)"),
            "{}",
            d("queue_size")
        );
        assert!(d("slop").contains("not set (required)"), "{}", d("slop"));
        assert!(
            d("stall_after").contains("default 5"),
            "{}",
            d("stall_after")
        );
        assert!(
            d("use_sim_time").contains("set at start-up"),
            "{}",
            d("use_sim_time")
        );
    }
}
