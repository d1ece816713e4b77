//! A policy's settings, each described once: name, unit, default, range,
//! help, and whether it can change on a live policy. Each policy's file
//! owns its config type ([`Configure`]) and its table
//! ([`Configure::SETTINGS`]); the registry, the `stamp-sync` flags, the ROS
//! node parameters, traces, the benchmark and the reports all read the
//! tables, so a new setting is written in its policy's file only.
//!
//! ```
//! use stamp_sync::policy::{PolicyConfig, PolicyKind, Settings, Value};
//! use stamp_sync::Duration;
//! let mut given = Settings::new();
//! given.set("queue_size", Value::Count(5));
//! given.set("epsilon", Value::Duration(Duration::from_millis(3)));
//! let config = PolicyConfig::from_settings(PolicyKind::Epsilon, &given)?;
//! assert_eq!(config.to_string(), "ApproximateEpsilonTime, queue size 5, epsilon 3ms");
//! // A setting the policy does not take is an error, not ignored.
//! given.set("max_interval", Value::Duration(Duration::ZERO));
//! assert!(PolicyConfig::from_settings(PolicyKind::Epsilon, &given).is_err());
//! # Ok::<(), stamp_sync::ConfigError>(())
//! ```

use core::fmt;

use super::ConfigError;
use crate::time::Duration;

/// What a setting holds, and so how it is written: on the command line
/// and as a ROS parameter.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A count (`--queue-size 10`; a ROS integer).
    Count,
    /// A plain number (`--age-penalty 0.1`; a ROS double).
    Number,
    /// A duration (`--max-interval 20ms`; a ROS double in seconds).
    Duration,
    /// A duration per channel (`--lower-bounds 1=4ms`, repeatable, the
    /// channel a number or a topic; a ROS double array in seconds, one per
    /// input, 0 = none).
    PerChannel,
}

impl Unit {
    /// How a value of this unit is written on the command line.
    pub const fn value_name(self) -> &'static str {
        match self {
            Unit::Count => "Q",
            Unit::Number => "X",
            Unit::Duration => "DUR",
            Unit::PerChannel => "CH=DUR",
        }
    }
}

/// One setting's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A count.
    Count(usize),
    /// A number.
    Number(f64),
    /// A duration.
    Duration(Duration),
    /// Durations by channel.
    PerChannel(Vec<(usize, Duration)>),
}

impl Value {
    /// The unit of this value.
    pub fn unit(&self) -> Unit {
        match self {
            Value::Count(_) => Unit::Count,
            Value::Number(_) => Unit::Number,
            Value::Duration(_) => Unit::Duration,
            Value::PerChannel(_) => Unit::PerChannel,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Count(n) => write!(f, "{n}"),
            Value::Number(x) => write!(f, "{x}"),
            Value::Duration(d) => write!(f, "{d}"),
            Value::PerChannel(v) => {
                let parts: Vec<String> = v.iter().map(|(c, d)| format!("{c}={d}")).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// What a setting is when it is not given.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Default {
    /// This count.
    Count(usize),
    /// This number.
    Number(f64),
    /// This duration.
    Duration(Duration),
    /// Off: no value (an unbounded max interval, no lower bounds). On a
    /// ROS node, 0 means off.
    Off,
    /// None: the policy cannot do without it.
    Required,
}

impl Default {
    /// The value it stands for, if any.
    pub fn value(self) -> Option<Value> {
        match self {
            Default::Count(n) => Some(Value::Count(n)),
            Default::Number(x) => Some(Value::Number(x)),
            Default::Duration(d) => Some(Value::Duration(d)),
            Default::Off | Default::Required => None,
        }
    }
}

/// The least value a setting takes (its range is `[min, ∞)` or `(min, ∞)`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Min {
    /// At least this (in the setting's unit; seconds for durations).
    AtLeast(f64),
    /// More than this.
    Above(f64),
}

impl Min {
    /// Whether `x` is in the range (NaN never is).
    pub fn admits(self, x: f64) -> bool {
        match self {
            Min::AtLeast(m) => x >= m,
            Min::Above(m) => x > m,
        }
    }
}

impl fmt::Display for Min {
    /// `[0, inf)` or `(0, inf)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Min::AtLeast(m) => write!(f, "[{m}, inf)"),
            Min::Above(m) => write!(f, "({m}, inf)"),
        }
    }
}

/// One setting of a policy, described once.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Setting {
    /// The ROS parameter name, e.g. `max_interval`; the command-line flag
    /// is the same with dashes, `--max-interval`.
    pub name: &'static str,
    /// For people, e.g. `max interval`.
    pub label: &'static str,
    /// What it holds.
    pub unit: Unit,
    /// What it is when not given.
    pub default: Default,
    /// Its range.
    pub min: Min,
    /// One line of help.
    pub help: &'static str,
    /// Whether a live policy takes a new value through its run-time
    /// setters; otherwise (the queue size, which sizes the queues) the
    /// policy must be replaced.
    pub live: bool,
}

impl Setting {
    /// The command-line flag, e.g. `--max-interval`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    /// Checks `v` against the unit and range; the error names the setting.
    pub fn check(&self, v: &Value) -> Result<(), ConfigError> {
        if v.unit() != self.unit {
            return Err(ConfigError::WrongUnit {
                setting: self.name,
                unit: self.unit,
            });
        }
        let bad = |shown: String| ConfigError::OutOfRange {
            setting: self.name,
            value: shown,
            range: self.min,
        };
        match v {
            Value::Count(n) if !self.min.admits(*n as f64) => Err(bad(n.to_string())),
            Value::Number(x) if !self.min.admits(*x) => Err(bad(x.to_string())),
            Value::Duration(d) if !self.min.admits(d.as_secs_f64()) => Err(bad(d.to_string())),
            Value::PerChannel(v) => match v.iter().find(|(_, d)| !self.min.admits(d.as_secs_f64()))
            {
                Some((c, d)) => Err(bad(format!("{c}={d}"))),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// The help line with the unit, the default and the range, as the
    /// flags and the ROS parameter descriptions show it.
    pub fn describe(&self) -> String {
        let default = match self.default {
            Default::Off => "off".to_string(),
            Default::Required => "required".to_string(),
            d => d.value().map(|v| v.to_string()).unwrap_or_default(),
        };
        format!("{} [default: {default}; range {}]", self.help, self.min)
    }
}

/// Every setting given, by name: what a command line, a node's parameters
/// or a file says. [`PolicyConfig::from_settings`](super::PolicyConfig::from_settings)
/// checks it against one policy.
#[derive(Clone, Debug, PartialEq, core::default::Default)]
pub struct Settings {
    values: Vec<(&'static str, Value)>,
}

impl Settings {
    /// Nothing given.
    pub fn new() -> Self {
        Settings::default()
    }
    /// Gives `name` the value `v` (replacing an earlier one). `name` must
    /// be a setting of some policy to be of use: see
    /// [`PolicyConfig::from_settings`](super::PolicyConfig::from_settings).
    pub fn set(&mut self, name: &'static str, v: Value) -> &mut Self {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, v));
        self
    }
    /// `self` with `name` set to `v`.
    pub fn with(mut self, name: &'static str, v: Value) -> Self {
        self.set(name, v);
        self
    }
    /// The value given to `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    /// Every setting given, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.values.iter().map(|(n, v)| (*n, v))
    }
    /// Nothing given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A policy's config type: its settings, described once in
/// [`SETTINGS`](Self::SETTINGS), as a plain value that builds the policy
/// and reads it back. Implemented in each policy's file.
pub trait Configure: Clone + fmt::Debug + PartialEq {
    /// The policy it configures.
    type Policy;
    /// The policy's name on the command line and in the ROS `policy`
    /// parameter, e.g. `approximate`.
    const NAME: &'static str;
    /// The policy's name for people, e.g. `ApproximateTime`.
    const TITLE: &'static str;
    /// Its settings.
    const SETTINGS: &'static [Setting];
    /// Every setting zero or off: what [`defaults`] fills from the table.
    fn blank() -> Self;
    /// The value of setting `name` (`None`: off, or no such setting).
    fn get(&self, name: &str) -> Option<Value>;
    /// Sets `name` to `v` (`None`: its default). The value is checked
    /// against the setting's unit and range; whether the settings work
    /// together is [`build`](Self::build)'s to say.
    fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError>;
    /// Checks the settings and makes the policy.
    fn build(&self) -> Result<Self::Policy, ConfigError>;
    /// The settings of a live policy.
    fn of(policy: &Self::Policy) -> Self;
    /// Gives a live policy these settings through its run-time setters.
    /// Only [`live`](Setting::live) settings may differ from the policy's:
    /// checked first, nothing changes on error.
    fn apply(&self, policy: &mut Self::Policy) -> Result<(), ConfigError>;
}

/// The setting `name` of config `C`.
pub fn setting_of<C: Configure>(name: &str) -> Option<&'static Setting> {
    C::SETTINGS.iter().find(|s| s.name == name)
}

/// The default config of `C`, from its table.
pub fn defaults<C: Configure>() -> C {
    let mut c = C::blank();
    for s in C::SETTINGS {
        // The table's defaults are in range: a failure is a bug of the table.
        let _ = c.set(s.name, s.default.value());
    }
    c
}

/// Formats `config` for people: `TITLE, label value, ...` (an off setting
/// is left out; per-channel values one by one).
pub fn display<C: Configure>(config: &C, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(C::TITLE)?;
    for s in C::SETTINGS {
        match config.get(s.name) {
            None => {}
            Some(Value::PerChannel(v)) => {
                for (ch, d) in v {
                    write!(f, ", {} {d} on channel {ch}", s.label)?;
                }
            }
            Some(v) => write!(f, ", {} {v}", s.label)?,
        }
    }
    Ok(())
}

/// Checks `v` against `C`'s setting `name` and hands it over typed: the
/// common start of every `Configure::set`.
pub fn checked<C: Configure>(name: &str, v: Option<Value>) -> Result<Option<Value>, ConfigError> {
    let Some(s) = setting_of::<C>(name) else {
        return Err(ConfigError::UnknownSetting(name.to_string()));
    };
    match v {
        Some(v) => s.check(&v).map(|()| Some(v)),
        None => Ok(s.default.value()),
    }
}

/// Fails with [`ConfigError::NotLive`] if a setting that is not
/// [`live`](Setting::live) differs between `want` and `have`: what every
/// [`Configure::apply`] checks first.
pub fn check_live<C: Configure>(want: &C, have: &C) -> Result<(), ConfigError> {
    let show = |v: Option<Value>| v.map_or_else(|| "off".to_string(), |v| v.to_string());
    for s in C::SETTINGS.iter().filter(|s| !s.live) {
        let (w, h) = (want.get(s.name), have.get(s.name));
        if w != h {
            return Err(ConfigError::NotLive {
                param: s.name,
                policy: C::NAME,
                from: show(h),
                to: show(w),
            });
        }
    }
    Ok(())
}

/// The queue size row most policies share.
pub const QUEUE_SIZE: Setting = Setting {
    name: "queue_size",
    label: "queue size",
    unit: Unit::Count,
    default: Default::Count(10),
    min: Min::AtLeast(1.0),
    help: "messages held per channel (exact: distinct stamps; slop: distinct stamps per channel)",
    live: false,
};

/// The value of `v` as a count (`None` stays `None`).
pub fn count(v: Option<Value>) -> Option<usize> {
    match v {
        Some(Value::Count(n)) => Some(n),
        _ => None,
    }
}
/// The value of `v` as a number.
pub fn number(v: Option<Value>) -> Option<f64> {
    match v {
        Some(Value::Number(x)) => Some(x),
        _ => None,
    }
}
/// The value of `v` as a duration.
pub fn duration(v: Option<Value>) -> Option<Duration> {
    match v {
        Some(Value::Duration(d)) => Some(d),
        _ => None,
    }
}
/// The value of `v` as durations by channel (none: empty).
pub fn per_channel(v: Option<Value>) -> Vec<(usize, Duration)> {
    match v {
        Some(Value::PerChannel(p)) => p,
        _ => Vec::new(),
    }
}
