//! The one place that lists every policy: its config type and policy type,
//! one line each in the `registry!` invocation at the end. Everything else
//! about a policy (its name, settings, defaults, ranges, help, building,
//! reading back, run-time changes) is in the policy's own file, behind
//! [`Configure`]. The CLI, traces, the benchmark, the bag report and plot,
//! the ROS nodes, the fuzz targets and the tests all go through
//! [`PolicyKind`], [`PolicyConfig`] and [`AnyPolicy`].
//!
//! The enums are deliberately not `#[non_exhaustive]`: code that matches on
//! them, ours and yours, is told about a new policy by the compiler instead
//! of falling through a wildcard.
//!
//! ```
//! use stamp_sync::policy::{PolicyConfig, PolicyKind, Settings, Value};
//! use stamp_sync::Duration;
//! let given = Settings::new()
//!     .with("queue_size", Value::Count(5))
//!     .with("epsilon", Value::Duration(Duration::from_millis(3)));
//! let config = PolicyConfig::from_settings("epsilon".parse()?, &given)?;
//! assert_eq!(config.kind(), PolicyKind::Epsilon);
//! assert_eq!(config.queue_size(), Some(5));
//! let mut policy = config.build()?; // an AnyPolicy
//! assert_eq!(policy.config(), config);
//! # Ok::<(), stamp_sync::ConfigError>(())
//! ```

use core::fmt;
use core::str::FromStr;

use super::approximate::ApproximateConfig;
use super::epsilon::EpsilonConfig;
use super::exact::ExactConfig;
use super::latest::LatestConfig;
use super::settings::{Configure, Setting, Settings, Value};
use super::slop::SlopConfig;
use super::{
    ApproximateEpsilonTime, ApproximateTime, Arrival, CloneStore, ConfigError, ExactTime,
    LatestTime, Output, Policy, SearchState, SlopTime, Store,
};

/// Code to run over whichever policy an [`AnyPolicy`] holds, compiled once
/// per policy (static dispatch): `visit` receives the concrete policy.
pub trait Visit<S: Store> {
    /// What the code returns.
    type Output;
    /// Runs over `policy`.
    fn visit<P: Policy<S>>(self, policy: P) -> Self::Output;
}

macro_rules! registry {
    ($($Kind:ident => $Config:ident, $Policy:ident;)+) => {
        /// Which policy, by the name the CLI and the ROS nodes' `policy`
        /// parameter use ([`Configure::NAME`]).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum PolicyKind {
            $(
                #[doc = concat!("[`", stringify!($Policy), "`].")]
                $Kind,
            )+
        }

        impl PolicyKind {
            /// Every policy.
            pub const ALL: &'static [PolicyKind] = &[$(PolicyKind::$Kind),+];
            /// Every policy's name, in the order of [`ALL`](Self::ALL).
            pub const NAMES: &'static [&'static str] = &[$(<$Config as Configure>::NAME),+];

            /// The short name, e.g. `approximate`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(PolicyKind::$Kind => <$Config as Configure>::NAME,)+
                }
            }

            /// The name for people, e.g. `ApproximateTime`.
            pub const fn title(self) -> &'static str {
                match self {
                    $(PolicyKind::$Kind => <$Config as Configure>::TITLE,)+
                }
            }

            /// The settings this policy takes.
            pub const fn settings(self) -> &'static [Setting] {
                match self {
                    $(PolicyKind::$Kind => <$Config as Configure>::SETTINGS,)+
                }
            }

            /// Its default config.
            pub fn defaults(self) -> PolicyConfig {
                match self {
                    $(PolicyKind::$Kind => PolicyConfig::$Kind($Config::default()),)+
                }
            }
        }

        /// Which policy to run, with its settings: a plain description,
        /// cheap to copy and compare; [`build`](Self::build) checks it and
        /// makes the policy.
        #[derive(Clone, Debug, PartialEq)]
        pub enum PolicyConfig {
            $(
                #[doc = concat!("[`", stringify!($Policy), "`] and its settings.")]
                $Kind($Config),
            )+
        }

        impl PolicyConfig {
            /// The policy this describes.
            pub fn kind(&self) -> PolicyKind {
                match self {
                    $(PolicyConfig::$Kind(_) => PolicyKind::$Kind,)+
                }
            }

            /// The value of setting `name` (`None`: off, or not one of this
            /// policy's).
            pub fn get(&self, name: &str) -> Option<Value> {
                match self {
                    $(PolicyConfig::$Kind(c) => c.get(name),)+
                }
            }

            /// Sets `name` to `v` (`None`: its default); see
            /// [`Configure::set`]. A setting of another policy is
            /// [`ConfigError::NotForPolicy`].
            pub fn set(&mut self, name: &str, v: Option<Value>) -> Result<(), ConfigError> {
                let kind = self.kind();
                let Some(s) = kind.settings().iter().find(|s| s.name == name) else {
                    return Err(not_for(name, kind));
                };
                match self {
                    $(PolicyConfig::$Kind(c) => c.set(s.name, v),)+
                }
            }

            /// Checks the settings and makes the policy.
            pub fn build(&self) -> Result<AnyPolicy, ConfigError> {
                Ok(match self {
                    $(PolicyConfig::$Kind(c) => AnyPolicy::$Kind(c.build()?),)+
                })
            }
        }

        impl fmt::Display for PolicyConfig {
            /// For people, e.g. `ApproximateTime, queue size 10, age penalty 0.1`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(PolicyConfig::$Kind(c) => super::settings::display(c, f),)+
                }
            }
        }

        /// A built policy, any of the registered ones.
        ///
        /// Use [`visit`](Self::visit) to run code over the concrete policy
        /// (the hot path stays statically dispatched), or use it as a
        /// [`Policy`] itself where the choice is made at run time, e.g. a ROS
        /// node whose `policy` parameter may change.
        #[derive(Clone, Debug)]
        pub enum AnyPolicy {
            $(
                #[doc = concat!("[`", stringify!($Policy), "`].")]
                $Kind($Policy),
            )+
        }

        macro_rules! each {
            ($self:expr, $p:ident => $e:expr) => {
                match $self {
                    $(AnyPolicy::$Kind($p) => $e,)+
                }
            };
        }

        impl AnyPolicy {
            /// Which policy this is.
            pub fn kind(&self) -> PolicyKind {
                match self {
                    $(AnyPolicy::$Kind(_) => PolicyKind::$Kind,)+
                }
            }

            /// Its current settings, as a description
            /// ([`PolicyConfig::build`] makes a fresh policy with them).
            pub fn config(&self) -> PolicyConfig {
                match self {
                    $(AnyPolicy::$Kind(p) => PolicyConfig::$Kind($Config::of(p)),)+
                }
            }

            /// Changes a live policy's settings to `config`'s through its
            /// run-time setters (see each setter for what happens to queued
            /// messages): no reset, nothing dropped at once. Only the
            /// settings that are [`live`](Setting::live) may change: another
            /// policy or another queue size is [`ConfigError::NotLive`];
            /// replace the policy for those
            /// (`replace_policy` on the drivers). Checked first: on error
            /// nothing changes.
            pub fn apply(&mut self, config: &PolicyConfig) -> Result<(), ConfigError> {
                match (self, config) {
                    $((AnyPolicy::$Kind(p), PolicyConfig::$Kind(c)) => c.apply(p),)+
                    (p, c) => Err(ConfigError::NotLive {
                        param: "policy",
                        policy: p.kind().name(),
                        from: p.kind().name().to_string(),
                        to: c.kind().name().to_string(),
                    }),
                }
            }
        }
    };
}

registry! {
    Exact => ExactConfig, ExactTime;
    Approximate => ApproximateConfig, ApproximateTime;
    Epsilon => EpsilonConfig, ApproximateEpsilonTime;
    Latest => LatestConfig, LatestTime;
    Slop => SlopConfig, SlopTime;
}

fn not_for(name: &str, kind: PolicyKind) -> ConfigError {
    match all_settings().find(|s| s.name == name) {
        Some(s) => ConfigError::NotForPolicy {
            param: s.name,
            policy: kind.name(),
        },
        None => ConfigError::UnknownSetting(name.to_string()),
    }
}

/// Every setting of every policy, once by name, in registry order: what
/// the command line has flags for and a node declares parameters for.
pub fn all_settings() -> impl Iterator<Item = &'static Setting> {
    let mut seen: Vec<&'static str> = Vec::new();
    PolicyKind::ALL
        .iter()
        .flat_map(|k| k.settings())
        .filter(move |s| {
            let new = !seen.contains(&s.name);
            seen.push(s.name);
            new
        })
}

impl PolicyKind {
    /// Whether this policy takes setting `name`.
    pub fn accepts(self, name: &str) -> bool {
        self.settings().iter().any(|s| s.name == name)
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PolicyKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        PolicyKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| ConfigError::UnknownPolicy(s.to_string()))
    }
}

impl PolicyConfig {
    /// Policy `kind` with `given` settings, the others at their defaults: a
    /// setting the policy does not take is [`ConfigError::NotForPolicy`], a
    /// missing required one [`ConfigError::MissingParam`], a value out of
    /// its range [`ConfigError::OutOfRange`], and the whole is checked as
    /// [`build`](Self::build) checks it.
    pub fn from_settings(kind: PolicyKind, given: &Settings) -> Result<Self, ConfigError> {
        let mut config = kind.defaults();
        for (name, v) in given.iter() {
            config.set(name, Some(v.clone()))?;
        }
        for s in kind.settings() {
            if s.default == super::settings::Default::Required && given.get(s.name).is_none() {
                return Err(ConfigError::MissingParam {
                    param: s.name,
                    policy: kind.name(),
                });
            }
        }
        config.build()?;
        Ok(config)
    }

    /// The settings that have a value (the inverse of
    /// [`from_settings`](Self::from_settings)).
    pub fn settings(&self) -> Settings {
        let mut out = Settings::new();
        for s in self.kind().settings() {
            if let Some(v) = self.get(s.name) {
                out.set(s.name, v);
            }
        }
        out
    }

    /// ApproximateTime with upstream defaults and `queue_size`.
    pub fn approximate(queue_size: usize) -> Self {
        PolicyConfig::Approximate(ApproximateConfig::default().queue_size(queue_size))
    }

    /// ExactTime with `queue_size`.
    pub fn exact(queue_size: usize) -> Self {
        PolicyConfig::Exact(ExactConfig { queue_size })
    }

    /// Its queue size, if the policy has one.
    pub fn queue_size(&self) -> Option<usize> {
        match self.get("queue_size") {
            Some(Value::Count(q)) => Some(q),
            _ => None,
        }
    }

    /// The same settings with queue size `q` (unchanged if the policy has
    /// none). Not checked: [`build`](Self::build) refuses 0.
    pub fn with_queue_size(&self, q: usize) -> Self {
        let mut c = self.clone();
        match &mut c {
            PolicyConfig::Exact(c) => c.queue_size = q,
            PolicyConfig::Approximate(c) => c.queue_size = q,
            PolicyConfig::Epsilon(c) => c.queue_size = q,
            PolicyConfig::Slop(c) => c.queue_size = q,
            PolicyConfig::Latest(_) => {}
        }
        c
    }
}

impl AnyPolicy {
    /// Runs `v` over the concrete policy.
    pub fn visit<S: CloneStore, V: Visit<S>>(self, v: V) -> V::Output {
        each!(self, p => v.visit(p))
    }
}

impl<S: CloneStore> Policy<S> for AnyPolicy {
    fn bind(&mut self, channels: usize) -> Result<(), ConfigError> {
        each!(self, p => Policy::<S>::bind(p, channels))
    }
    fn capacity(&self) -> usize {
        each!(self, p => Policy::<S>::capacity(p))
    }
    fn max_events_per_add(&self) -> usize {
        each!(self, p => Policy::<S>::max_events_per_add(p))
    }
    #[inline]
    fn add(&mut self, arrival: Arrival, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        each!(self, p => p.add(arrival, store, out))
    }
    fn queued(&self, channel: usize) -> usize {
        each!(self, p => Policy::<S>::queued(p, channel))
    }
    fn reset(&mut self, store: &mut S, out: &mut Output<S::Set, S::Message>) {
        each!(self, p => p.reset(store, out))
    }
    fn search(&self) -> SearchState {
        each!(self, p => Policy::<S>::search(p))
    }
    fn subset(&self, keep: &[usize]) -> Option<Box<dyn super::SubsetPolicy<S> + Send>> {
        each!(self, p => Policy::<S>::subset(p, keep))
    }
    fn set_deadline(&mut self, d: Option<crate::time::Duration>) -> Result<(), ConfigError> {
        each!(self, p => Policy::<S>::set_deadline(p, d))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip() {
        for &k in PolicyKind::ALL {
            assert_eq!(k.name().parse::<PolicyKind>(), Ok(k));
            assert_eq!(k.to_string(), k.name());
            assert_eq!(k.defaults().kind(), k);
        }
        assert_eq!(
            "slow".parse::<PolicyKind>(),
            Err(ConfigError::UnknownPolicy("slow".into()))
        );
    }
}
