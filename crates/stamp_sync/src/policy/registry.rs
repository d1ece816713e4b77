//! The one place that knows every policy: its name, the settings it
//! takes, how to build it, and how to run code over it with static dispatch.
//!
//! The CLI, traces, the benchmark, the bag report and plot, the ROS nodes,
//! the fuzz targets and the tests all go through this file. A new policy is
//! its own file in `src/policy/` plus one variant in each enum here; every
//! `match` below is exhaustive, so the compiler lists what is left to fill
//! in. The enums are deliberately not `#[non_exhaustive]`: code that
//! matches on them, ours and yours, is told about a new policy by the
//! compiler instead of falling through a wildcard.
//!
//! ```
//! use stamp_sync::policy::{PolicyConfig, PolicyKind, PolicyParams};
//! use stamp_sync::Duration;
//! let params = PolicyParams {
//!     queue_size: Some(5),
//!     epsilon: Some(Duration::from_millis(3)),
//!     ..PolicyParams::default()
//! };
//! let config = PolicyConfig::from_params("epsilon".parse()?, &params)?;
//! assert_eq!(config.kind(), PolicyKind::Epsilon);
//! assert_eq!(config.queue_size(), Some(5));
//! // A setting the policy does not take is an error, not ignored.
//! let bad = PolicyParams { max_interval: Some(Duration::ZERO), ..params };
//! assert!(PolicyConfig::from_params(PolicyKind::Epsilon, &bad).is_err());
//! # Ok::<(), stamp_sync::ConfigError>(())
//! ```

use core::fmt;
use core::str::FromStr;

use super::{
    ApproximateEpsilonTime, ApproximateTime, Arrival, CloneStore, ConfigError, ExactTime,
    LatestTime, Output, Policy, SearchState, SlopTime, Store,
};
use crate::time::Duration;

/// Which policy, by the name the CLI and the ROS nodes' `policy`
/// parameter use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// [`ExactTime`]: sets of identical stamps.
    Exact,
    /// [`ApproximateTime`]: the tightest sets, as C++ message_filters finds them.
    Approximate,
    /// [`ApproximateEpsilonTime`]: greedy sets within an epsilon.
    Epsilon,
    /// [`LatestTime`]: zero-order hold at the fastest channel's rate.
    Latest,
    /// [`SlopTime`]: Python's ApproximateTimeSynchronizer, sets spanning
    /// less than a slop.
    Slop,
}

/// One setting of one or more policies, by the name the ROS nodes'
/// parameters use (the CLI flag is the same with `-`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Param {
    /// Messages (or, for ExactTime, distinct stamps) held per channel.
    QueueSize,
    /// ApproximateTime's preference for newer sets.
    AgePenalty,
    /// ApproximateTime's widest set.
    MaxInterval,
    /// ApproximateTime's per-channel inter-message lower bound.
    LowerBound,
    /// ApproximateEpsilonTime's tolerance.
    Epsilon,
    /// SlopTime's bound on a set's span.
    Slop,
}

impl Param {
    /// Every setting.
    pub const ALL: [Param; 6] = [
        Param::QueueSize,
        Param::AgePenalty,
        Param::MaxInterval,
        Param::LowerBound,
        Param::Epsilon,
        Param::Slop,
    ];

    /// The parameter name, e.g. `queue_size`.
    pub const fn name(self) -> &'static str {
        match self {
            Param::QueueSize => "queue_size",
            Param::AgePenalty => "age_penalty",
            Param::MaxInterval => "max_interval",
            Param::LowerBound => "lower_bound",
            Param::Epsilon => "epsilon",
            Param::Slop => "slop",
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PolicyKind {
    /// Every policy.
    pub const ALL: [PolicyKind; 5] = [
        PolicyKind::Exact,
        PolicyKind::Approximate,
        PolicyKind::Epsilon,
        PolicyKind::Latest,
        PolicyKind::Slop,
    ];

    /// The short name: `exact`, `approximate`, `epsilon`, `latest`, `slop`.
    pub const fn name(self) -> &'static str {
        match self {
            PolicyKind::Exact => "exact",
            PolicyKind::Approximate => "approximate",
            PolicyKind::Epsilon => "epsilon",
            PolicyKind::Latest => "latest",
            PolicyKind::Slop => "slop",
        }
    }

    /// Whether this policy takes setting `p`.
    pub const fn accepts(self, p: Param) -> bool {
        match self {
            PolicyKind::Exact => matches!(p, Param::QueueSize),
            PolicyKind::Approximate => matches!(
                p,
                Param::QueueSize | Param::AgePenalty | Param::MaxInterval | Param::LowerBound
            ),
            PolicyKind::Epsilon => matches!(p, Param::QueueSize | Param::Epsilon),
            PolicyKind::Latest => false,
            PolicyKind::Slop => matches!(p, Param::QueueSize | Param::Slop),
        }
    }

    /// Whether this policy cannot do without setting `p`.
    pub const fn requires(self, p: Param) -> bool {
        matches!(
            (self, p),
            (PolicyKind::Epsilon, Param::Epsilon) | (PolicyKind::Slop, Param::Slop)
        )
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
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ConfigError::UnknownPolicy(s.to_string()))
    }
}

/// Every setting of every policy, each optional: what a command line, a
/// node's parameters or a file gives. [`PolicyConfig::from_params`]
/// checks it against one policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyParams {
    /// [`Param::QueueSize`] (default 10).
    pub queue_size: Option<usize>,
    /// [`Param::AgePenalty`] (default 0.1).
    pub age_penalty: Option<f64>,
    /// [`Param::MaxInterval`] (default unlimited).
    pub max_interval: Option<Duration>,
    /// [`Param::LowerBound`], by channel (default none).
    pub lower_bounds: Vec<(usize, Duration)>,
    /// [`Param::Epsilon`] (no default).
    pub epsilon: Option<Duration>,
    /// [`Param::Slop`] (no default).
    pub slop: Option<Duration>,
}

impl PolicyParams {
    /// Whether setting `p` is given.
    pub fn has(&self, p: Param) -> bool {
        match p {
            Param::QueueSize => self.queue_size.is_some(),
            Param::AgePenalty => self.age_penalty.is_some(),
            Param::MaxInterval => self.max_interval.is_some(),
            Param::LowerBound => !self.lower_bounds.is_empty(),
            Param::Epsilon => self.epsilon.is_some(),
            Param::Slop => self.slop.is_some(),
        }
    }
}

/// Default queue size of every policy that has one.
pub const DEFAULT_QUEUE_SIZE: usize = 10;
/// Default ApproximateTime age penalty (upstream's).
pub const DEFAULT_AGE_PENALTY: f64 = 0.1;

/// Which policy to run, with its settings: a plain description, cheap to
/// copy and compare. [`build`](Self::build) checks it and makes the
/// policy.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyConfig {
    /// [`ExactTime`].
    Exact {
        /// Distinct stamps held.
        queue_size: usize,
    },
    /// [`ApproximateTime`].
    Approximate {
        /// Messages per channel.
        queue_size: usize,
        /// Age penalty (upstream default 0.1).
        age_penalty: f64,
        /// Max interval, `None` = unlimited.
        max_interval: Option<Duration>,
        /// Inter-message lower bounds by channel.
        lower_bounds: Vec<(usize, Duration)>,
    },
    /// [`ApproximateEpsilonTime`].
    Epsilon {
        /// Messages per channel.
        queue_size: usize,
        /// Tolerance.
        epsilon: Duration,
    },
    /// [`LatestTime`] with upstream's rate settings.
    Latest,
    /// [`SlopTime`].
    Slop {
        /// Distinct stamps per channel.
        queue_size: usize,
        /// Sets span strictly less than this.
        slop: Duration,
    },
}

impl PolicyConfig {
    /// ApproximateTime with upstream defaults and `queue_size`.
    pub fn approximate(queue_size: usize) -> Self {
        PolicyConfig::Approximate {
            queue_size,
            age_penalty: DEFAULT_AGE_PENALTY,
            max_interval: None,
            lower_bounds: Vec::new(),
        }
    }

    /// Policy `kind` with `params`: a setting the policy does not take is
    /// [`ConfigError::NotForPolicy`], a missing required one
    /// [`ConfigError::MissingParam`], and the values are checked as
    /// [`build`](Self::build) checks them.
    pub fn from_params(kind: PolicyKind, params: &PolicyParams) -> Result<Self, ConfigError> {
        for p in Param::ALL {
            if params.has(p) && !kind.accepts(p) {
                return Err(ConfigError::NotForPolicy {
                    param: p.name(),
                    policy: kind.name(),
                });
            }
            if kind.requires(p) && !params.has(p) {
                return Err(ConfigError::MissingParam {
                    param: p.name(),
                    policy: kind.name(),
                });
            }
        }
        let queue_size = params.queue_size.unwrap_or(DEFAULT_QUEUE_SIZE);
        let config = match kind {
            PolicyKind::Exact => PolicyConfig::Exact { queue_size },
            PolicyKind::Approximate => PolicyConfig::Approximate {
                queue_size,
                age_penalty: params.age_penalty.unwrap_or(DEFAULT_AGE_PENALTY),
                max_interval: params.max_interval,
                lower_bounds: params.lower_bounds.clone(),
            },
            PolicyKind::Epsilon => PolicyConfig::Epsilon {
                queue_size,
                epsilon: params.epsilon.unwrap_or(Duration::ZERO),
            },
            PolicyKind::Latest => PolicyConfig::Latest,
            PolicyKind::Slop => PolicyConfig::Slop {
                queue_size,
                slop: params.slop.unwrap_or(Duration::ZERO),
            },
        };
        config.build()?;
        Ok(config)
    }

    /// The policy this describes.
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicyConfig::Exact { .. } => PolicyKind::Exact,
            PolicyConfig::Approximate { .. } => PolicyKind::Approximate,
            PolicyConfig::Epsilon { .. } => PolicyKind::Epsilon,
            PolicyConfig::Latest => PolicyKind::Latest,
            PolicyConfig::Slop { .. } => PolicyKind::Slop,
        }
    }

    /// Its queue size, if the policy has one.
    pub fn queue_size(&self) -> Option<usize> {
        match self {
            PolicyConfig::Exact { queue_size }
            | PolicyConfig::Approximate { queue_size, .. }
            | PolicyConfig::Epsilon { queue_size, .. }
            | PolicyConfig::Slop { queue_size, .. } => Some(*queue_size),
            PolicyConfig::Latest => None,
        }
    }

    /// The same settings with queue size `q` (unchanged if the policy has
    /// none).
    pub fn with_queue_size(&self, q: usize) -> Self {
        let mut c = self.clone();
        match &mut c {
            PolicyConfig::Exact { queue_size }
            | PolicyConfig::Approximate { queue_size, .. }
            | PolicyConfig::Epsilon { queue_size, .. }
            | PolicyConfig::Slop { queue_size, .. } => *queue_size = q,
            PolicyConfig::Latest => {}
        }
        c
    }

    /// The settings as the policy's parameters (the inverse of
    /// [`from_params`](Self::from_params) for the settings given).
    pub fn params(&self) -> PolicyParams {
        match self {
            PolicyConfig::Exact { queue_size } => PolicyParams {
                queue_size: Some(*queue_size),
                ..PolicyParams::default()
            },
            PolicyConfig::Approximate {
                queue_size,
                age_penalty,
                max_interval,
                lower_bounds,
            } => PolicyParams {
                queue_size: Some(*queue_size),
                age_penalty: Some(*age_penalty),
                max_interval: *max_interval,
                lower_bounds: lower_bounds.clone(),
                ..PolicyParams::default()
            },
            PolicyConfig::Epsilon {
                queue_size,
                epsilon,
            } => PolicyParams {
                queue_size: Some(*queue_size),
                epsilon: Some(*epsilon),
                ..PolicyParams::default()
            },
            PolicyConfig::Latest => PolicyParams::default(),
            PolicyConfig::Slop { queue_size, slop } => PolicyParams {
                queue_size: Some(*queue_size),
                slop: Some(*slop),
                ..PolicyParams::default()
            },
        }
    }

    /// Checks the settings and makes the policy.
    pub fn build(&self) -> Result<AnyPolicy, ConfigError> {
        Ok(match self {
            PolicyConfig::Exact { queue_size } => AnyPolicy::Exact(ExactTime::new(*queue_size)?),
            PolicyConfig::Approximate {
                queue_size,
                age_penalty,
                max_interval,
                lower_bounds,
            } => {
                let mut b = ApproximateTime::builder()
                    .queue_size(*queue_size)
                    .age_penalty(*age_penalty);
                if let Some(d) = max_interval {
                    b = b.max_interval(*d);
                }
                for &(ch, d) in lower_bounds {
                    b = b.lower_bound(ch, d);
                }
                AnyPolicy::Approximate(b.build()?)
            }
            PolicyConfig::Epsilon {
                queue_size,
                epsilon,
            } => AnyPolicy::Epsilon(ApproximateEpsilonTime::new(*queue_size, *epsilon)?),
            PolicyConfig::Latest => AnyPolicy::Latest(LatestTime::new()),
            PolicyConfig::Slop { queue_size, slop } => {
                AnyPolicy::Slop(SlopTime::new(*queue_size, *slop)?)
            }
        })
    }
}

impl fmt::Display for PolicyConfig {
    /// For people, e.g. `ApproximateTime, queue size 10, age penalty 0.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyConfig::Exact { queue_size } => write!(f, "ExactTime, queue size {queue_size}"),
            PolicyConfig::Approximate {
                queue_size,
                age_penalty,
                max_interval,
                lower_bounds,
            } => {
                write!(
                    f,
                    "ApproximateTime, queue size {queue_size}, age penalty {age_penalty}"
                )?;
                if let Some(m) = max_interval {
                    write!(f, ", max interval {m}")?;
                }
                for (ch, d) in lower_bounds {
                    write!(f, ", lower bound {d} on channel {ch}")?;
                }
                Ok(())
            }
            PolicyConfig::Epsilon {
                queue_size,
                epsilon,
            } => write!(
                f,
                "ApproximateEpsilonTime, queue size {queue_size}, epsilon {epsilon}"
            ),
            PolicyConfig::Latest => f.write_str("LatestTime"),
            PolicyConfig::Slop { queue_size, slop } => write!(
                f,
                "SlopTime (Python ApproximateTimeSynchronizer), queue size {queue_size}, slop {slop}"
            ),
        }
    }
}

/// Code to run over whichever policy an [`AnyPolicy`] holds, compiled once
/// per policy (static dispatch): `visit` receives the concrete policy.
pub trait Visit<S: Store> {
    /// What the code returns.
    type Output;
    /// Runs over `policy`.
    fn visit<P: Policy<S>>(self, policy: P) -> Self::Output;
}

/// A built policy, any of the registered ones.
///
/// Use [`visit`](Self::visit) to run code over the concrete policy (the
/// hot path stays statically dispatched), or use it as a [`Policy`]
/// itself where the choice is made at run time, e.g. a ROS node whose
/// `policy` parameter may change.
#[derive(Clone, Debug)]
pub enum AnyPolicy {
    /// [`ExactTime`].
    Exact(ExactTime),
    /// [`ApproximateTime`].
    Approximate(ApproximateTime),
    /// [`ApproximateEpsilonTime`].
    Epsilon(ApproximateEpsilonTime),
    /// [`LatestTime`].
    Latest(LatestTime),
    /// [`SlopTime`].
    Slop(SlopTime),
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            AnyPolicy::Exact($p) => $e,
            AnyPolicy::Approximate($p) => $e,
            AnyPolicy::Epsilon($p) => $e,
            AnyPolicy::Latest($p) => $e,
            AnyPolicy::Slop($p) => $e,
        }
    };
}

impl AnyPolicy {
    /// Which policy this is.
    pub fn kind(&self) -> PolicyKind {
        match self {
            AnyPolicy::Exact(_) => PolicyKind::Exact,
            AnyPolicy::Approximate(_) => PolicyKind::Approximate,
            AnyPolicy::Epsilon(_) => PolicyKind::Epsilon,
            AnyPolicy::Latest(_) => PolicyKind::Latest,
            AnyPolicy::Slop(_) => PolicyKind::Slop,
        }
    }

    /// Runs `v` over the concrete policy.
    pub fn visit<S: CloneStore, V: Visit<S>>(self, v: V) -> V::Output {
        each!(self, p => v.visit(p))
    }

    /// Its current settings, as a description ([`PolicyConfig::build`]
    /// makes a fresh policy with them).
    pub fn config(&self) -> PolicyConfig {
        match self {
            AnyPolicy::Exact(p) => PolicyConfig::Exact {
                queue_size: p.queue_size(),
            },
            AnyPolicy::Approximate(p) => PolicyConfig::Approximate {
                queue_size: p.queue_size(),
                age_penalty: p.age_penalty(),
                max_interval: p.max_interval(),
                lower_bounds: p.lower_bounds(),
            },
            AnyPolicy::Epsilon(p) => PolicyConfig::Epsilon {
                queue_size: p.queue_size(),
                epsilon: p.epsilon(),
            },
            AnyPolicy::Latest(_) => PolicyConfig::Latest,
            AnyPolicy::Slop(p) => PolicyConfig::Slop {
                queue_size: p.queue_size(),
                slop: p.slop(),
            },
        }
    }

    /// Changes a live policy's settings to `params` through its run-time
    /// setters (`set_age_penalty`, `set_max_interval`, `set_lower_bounds`,
    /// `set_epsilon`, `set_slop`; see each for what happens to queued
    /// messages): no reset, nothing dropped at once. `params` is read as
    /// [`PolicyConfig::from_params`] reads it for this policy's kind, so a
    /// setting left out goes back to its default, and a setting the policy
    /// does not take is [`ConfigError::NotForPolicy`]. The queue size sizes
    /// the queues and cannot change here ([`ConfigError::NotLive`]): replace
    /// the policy (`replace_policy` on the drivers) for that, or for another
    /// kind. Checked as a whole first: on error nothing changes.
    ///
    /// ```
    /// use stamp_sync::policy::{PolicyConfig, PolicyParams};
    /// use stamp_sync::Duration;
    /// let mut p = PolicyConfig::approximate(10).build()?;
    /// let params = PolicyParams {
    ///     max_interval: Some(Duration::from_millis(20)),
    ///     ..PolicyParams::default()
    /// };
    /// p.apply(&params)?;
    /// assert_eq!(p.config().params().max_interval, Some(Duration::from_millis(20)));
    /// let bigger = PolicyParams { queue_size: Some(20), ..params };
    /// assert!(p.apply(&bigger).is_err());
    /// # Ok::<(), stamp_sync::ConfigError>(())
    /// ```
    pub fn apply(&mut self, params: &PolicyParams) -> Result<(), ConfigError> {
        let kind = self.kind();
        let want = PolicyConfig::from_params(kind, params)?;
        let have = self.config().queue_size();
        if want.queue_size() != have {
            let show = |q: Option<usize>| q.map_or_else(|| "none".to_string(), |q| q.to_string());
            return Err(ConfigError::NotLive {
                param: Param::QueueSize.name(),
                policy: kind.name(),
                from: show(have),
                to: show(want.queue_size()),
            });
        }
        // `want` is of this policy's kind, so each `let` matches.
        match self {
            AnyPolicy::Approximate(p) => {
                let PolicyConfig::Approximate {
                    age_penalty,
                    max_interval,
                    lower_bounds,
                    ..
                } = want
                else {
                    return Ok(());
                };
                // The one setter that can still fail (a channel the bound
                // policy lacks) goes first.
                p.set_lower_bounds(&lower_bounds)?;
                p.set_age_penalty(age_penalty)?;
                p.set_max_interval(max_interval)
            }
            AnyPolicy::Epsilon(p) => match want {
                PolicyConfig::Epsilon { epsilon, .. } => p.set_epsilon(epsilon),
                _ => Ok(()),
            },
            AnyPolicy::Slop(p) => match want {
                PolicyConfig::Slop { slop, .. } => p.set_slop(slop),
                _ => Ok(()),
            },
            // No setting but the queue size.
            AnyPolicy::Exact(_) | AnyPolicy::Latest(_) => Ok(()),
        }
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in PolicyKind::ALL {
            assert_eq!(k.name().parse::<PolicyKind>(), Ok(k));
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(
            "slow".parse::<PolicyKind>(),
            Err(ConfigError::UnknownPolicy("slow".into()))
        );
    }
}
