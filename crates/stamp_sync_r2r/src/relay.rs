//! A synchronizing relay for any header-bearing message type: raw
//! subscriptions in (types found on the graph, never deserialized), a
//! policy from the registry in the middle, and every member of every
//! matched set republished, byte for byte, on its own output topic.
//!
//! The data path runs on one thread of its own ([`Relay::start`]) over the
//! raw transport: a message is taken into a buffer it owns, its stamp is
//! read from the CDR bytes ([`stamp_sync_wire::stamp`], as bag replay reads it)
//! and the same buffer is published. All members of a set are published
//! before any member of the next. Messages that arrive while the thread is
//! busy are fed to the policy in the order rmw received them.
//!
//! The r2r node of the process keeps parameters, logging and the clock;
//! policy changes reach the thread through [`Relay::set_policy`].

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use ::r2r::QosProfile;

use super::inputs::{Inputs, Taken, TopicType, topic_type};
use super::raw::{RawError, RawNode, RawPublisher, SerializedMsg, Wake};
use stamp_sync::DropOutClock;
use stamp_sync::driver::follow::FollowSynchronizer;
use stamp_sync::driver::{Diagnostics, DynSynchronizer, Event, Options};
use stamp_sync::policy::{AnyPolicy, ConfigError, FollowConfig, FollowSet, PolicyConfig};
use stamp_sync::time::{Duration, Stamp};

/// What to relay.
#[derive(Clone, Debug)]
pub struct RelaySpec {
    /// The input topics, fully qualified, in channel order (2 to 9).
    pub topics: Vec<String>,
    /// One output topic per input.
    pub outputs: Vec<String>,
    /// The inputs' QoS.
    pub qos: QosProfile,
    /// The outputs' QoS.
    pub output_qos: QosProfile,
    /// The policy.
    pub policy: PolicyConfig,
    /// Driver options around it.
    pub options: Options,
    /// Instead of `policy`: the follower policy, the driver on `topics[0]`
    /// and the followers on the others, in order (`driver` 0). Each set is
    /// republished as the driver message, then its followers' messages.
    pub follow: Option<FollowConfig>,
    /// How long to wait for every input to appear on the graph.
    pub wait_for_topics: StdDuration,
}

/// Why the relay could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A relay needs 2 to 9 inputs, one output each.
    #[error(
        "a relay needs 2 to 9 input topics with one output each, got {inputs} inputs and {outputs} outputs"
    )]
    Topics {
        /// Inputs given.
        inputs: usize,
        /// Outputs given.
        outputs: usize,
    },
    /// An input never appeared on the graph.
    #[error(
        "topic {topic} did not appear on the graph within {waited_s:.1} s (is anything publishing it?)"
    )]
    NotFound {
        /// The topic.
        topic: String,
        /// Seconds waited.
        waited_s: f64,
    },
    /// Publishers of an input disagree on its type.
    #[error("topic {topic} has publishers of several types: {}", types.join(", "))]
    AmbiguousType {
        /// The topic.
        topic: String,
        /// The types seen.
        types: Vec<String>,
    },
    /// An input's type has no `std_msgs/Header` first field (`no_header`).
    #[error(
        "no_header: topic {topic} is {type_name}, whose first field is not a std_msgs/Header: there is no stamp to synchronize on"
    )]
    NoHeader {
        /// The topic.
        topic: String,
        /// Its type.
        type_name: String,
    },
    /// The policy settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The raw transport (type support, rcl).
    #[error(transparent)]
    Raw(#[from] RawError),
    /// The relay thread stopped unexpectedly.
    #[error("the relay thread stopped: {0}")]
    Thread(String),
}

impl From<super::raw::TypeSupportError> for RelayError {
    fn from(e: super::raw::TypeSupportError) -> Self {
        RelayError::Raw(RawError::TypeSupport(e))
    }
}

/// What the data thread and its owner share.
#[derive(Debug, Default)]
struct Shared {
    stop: bool,
    /// A policy change not yet applied.
    pending: Option<AnyPolicy>,
    /// A drop-out change not yet applied.
    pending_drop_out: Option<(Option<Duration>, DropOutClock)>,
    /// The counters, refreshed by the data thread.
    diagnostics: Option<Diagnostics>,
    /// Messages whose stamp could not be read, per input.
    unreadable: Vec<u64>,
    /// The middleware's lost totals per input (`None`: not reported).
    lost: Vec<Option<u64>>,
}

/// A running relay; see the [module docs](self). Stops when dropped.
pub struct Relay {
    types: Vec<String>,
    shared: Arc<Mutex<Shared>>,
    wake: Wake,
    thread: Option<JoinHandle<Result<(), RelayError>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

/// The type of every topic in `topics`, waiting up to `wait` for all of
/// them to appear on `node`'s graph.
pub fn discover_types(
    node: &RawNode,
    topics: &[String],
    wait: StdDuration,
) -> Result<Vec<String>, RelayError> {
    let start = Instant::now();
    loop {
        let graph = node.topic_names_and_types()?;
        let mut found = Vec::with_capacity(topics.len());
        let mut missing = None;
        for t in topics {
            match topic_type(&graph, t) {
                TopicType::One(ty) => found.push(ty),
                TopicType::Several(types) => {
                    return Err(RelayError::AmbiguousType {
                        topic: t.clone(),
                        types,
                    });
                }
                TopicType::Missing => {
                    missing = Some(t.clone());
                    break;
                }
            }
        }
        match missing {
            None => return Ok(found),
            Some(topic) if start.elapsed() >= wait => {
                return Err(RelayError::NotFound {
                    topic,
                    waited_s: start.elapsed().as_secs_f64(),
                });
            }
            // Discovery has no event on this API: look again shortly.
            Some(_) => std::thread::sleep(StdDuration::from_millis(50)),
        }
    }
}

/// A set the relay published, as [`OnSet`] sees it.
#[derive(Debug)]
pub enum RelayedSet<'a> {
    /// Members in input order; `None` for a member a set made while an
    /// input is out does not have.
    Members(&'a [Option<&'a SerializedMsg>]),
    /// A follower set ([`RelaySpec::follow`]).
    Follow(&'a FollowSet<SerializedMsg>),
}

/// Called with each set after it was published.
pub type OnSet = Box<dyn FnMut(RelayedSet<'_>) + Send>;

impl Relay {
    /// Finds the inputs' types, checks they have a header, subscribes,
    /// advertises the outputs and starts the data thread. `now` is the
    /// arrival clock (the node's ROS clock).
    pub fn start(
        node: RawNode,
        spec: RelaySpec,
        now: impl Fn() -> Stamp + Send + 'static,
        on_set: Option<OnSet>,
    ) -> Result<Relay, RelayError> {
        let n = spec.topics.len();
        if !(2..=9).contains(&n) || spec.outputs.len() != n {
            return Err(RelayError::Topics {
                inputs: n,
                outputs: spec.outputs.len(),
            });
        }
        let policy = spec.policy.build()?;
        let sync = DynSynchronizer::builder(n, policy)
            .options(spec.options.clone())
            .build()?;
        let follow = match &spec.follow {
            Some(c) => Some(FollowSynchronizer::new(n, c)?),
            None => None,
        };
        let types = discover_types(&node, &spec.topics, spec.wait_for_topics)?;
        let mut inputs = Inputs::new(n);
        let mut pubs = Vec::with_capacity(n);
        for (i, ((topic, output), ty)) in spec
            .topics
            .iter()
            .zip(&spec.outputs)
            .zip(&types)
            .enumerate()
        {
            if !node.loader().has_header(ty)? {
                return Err(RelayError::NoHeader {
                    topic: topic.clone(),
                    type_name: ty.clone(),
                });
            }
            let ts = node.loader().load(ty)?;
            inputs.set(i, node.subscribe_with(topic, &ts, spec.qos.clone())?);
            pubs.push(node.publisher_with(output, &ts, spec.output_qos.clone())?);
        }
        let waiter = node.waiter()?;
        let wake = waiter.wake_handle();
        let shared = Arc::new(Mutex::new(Shared {
            unreadable: vec![0; n],
            ..Shared::default()
        }));
        let data = DataPath {
            node,
            inputs,
            pubs,
            sync,
            follow,
            shared: shared.clone(),
            now: Box::new(now),
            on_set,
            batch: Vec::new(),
            next_lost: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("stamp_sync relay".into())
            .spawn(move || data.run(waiter))
            .map_err(|e| RelayError::Thread(e.to_string()))?;
        Ok(Relay {
            types,
            shared,
            wake,
            thread: Some(thread),
        })
    }

    /// The inputs' types, as found on the graph.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// Switches to `config`. The same kind with the same queue size is a
    /// change of live settings: it goes through the policy's run-time
    /// setters ([`AnyPolicy::apply`]) and nothing is dropped. Otherwise
    /// every message queued at the change is dropped
    /// ([`DropReason::Reset`](stamp_sync::DropReason::Reset), counted) and the
    /// new policy takes the next message. The counters carry on.
    pub fn set_policy(&self, config: &PolicyConfig) -> Result<(), RelayError> {
        let policy = config.build()?;
        self.lock().pending = Some(policy);
        self.wake.wake()?;
        Ok(())
    }

    /// Changes drop-out (`None`: off) from the next message on: see
    /// [`Options::drop_out_after`].
    pub fn set_drop_out(
        &self,
        after: Option<Duration>,
        clock: DropOutClock,
    ) -> Result<(), RelayError> {
        if let Some(value) = after.filter(|d| d.is_negative()) {
            return Err(ConfigError::NegativeDuration {
                what: "drop-out timeout",
                value,
            }
            .into());
        }
        self.lock().pending_drop_out = Some((after, clock));
        self.wake.wake()?;
        Ok(())
    }

    /// The counters: per input received, emitted, dropped by reason,
    /// queued; sets emitted.
    pub fn diagnostics(&self) -> Option<Diagnostics> {
        self.lock().diagnostics.clone()
    }

    /// Messages per input whose header stamp could not be read (too short,
    /// unknown encapsulation); they are not relayed.
    pub fn unreadable(&self) -> Vec<u64> {
        self.lock().unreadable.clone()
    }

    /// Messages per input the middleware reports lost on the way (see
    /// [`RawSubscription::lost`](super::raw::RawSubscription::lost)),
    /// refreshed every 100 ms; `None` where it reports nothing.
    pub fn lost(&self) -> Vec<Option<u64>> {
        self.lock().lost.clone()
    }

    /// True while the data thread runs.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the data thread and returns how it ended.
    pub fn stop(mut self) -> Result<(), RelayError> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), RelayError> {
        self.lock().stop = true;
        let _ = self.wake.wake();
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(RelayError::Thread("panicked".into()))),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// The data thread's state.
struct DataPath {
    /// Keeps the raw node (and its context) alive while the thread runs.
    #[allow(dead_code)]
    node: RawNode,
    inputs: Inputs,
    pubs: Vec<RawPublisher>,
    sync: DynSynchronizer<SerializedMsg, AnyPolicy>,
    /// The follower policy instead of `sync`, if the spec asks for it.
    follow: Option<FollowSynchronizer<SerializedMsg>>,
    shared: Arc<Mutex<Shared>>,
    now: Box<dyn Fn() -> Stamp + Send>,
    on_set: Option<OnSet>,
    /// Messages taken in one wake-up, sorted by rmw's reception time.
    batch: Vec<Taken>,
    /// When the lost totals are read next.
    next_lost: Instant,
}

/// How often the counters are handed to the owner while idle.
const REFRESH: StdDuration = StdDuration::from_millis(100);

impl DataPath {
    fn run(mut self, mut waiter: super::raw::Waiter) -> Result<(), RelayError> {
        loop {
            self.inputs.wait(&mut waiter, Some(REFRESH))?;
            let (stop, pending, drop_out) = {
                let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
                (s.stop, s.pending.take(), s.pending_drop_out.take())
            };
            if stop {
                return Ok(());
            }
            if let Some(policy) = pending {
                self.switch(policy)?;
            }
            if let Some((after, clock)) = drop_out {
                self.sync.set_drop_out_after(after, clock)?;
            }
            self.inputs.take_into(&mut self.batch)?;
            let batch = std::mem::take(&mut self.batch);
            for (_, ch, msg) in batch {
                self.feed(ch, msg)?;
            }
            let d = match &self.follow {
                Some(f) => Diagnostics::new(f.stats(), |c| f.queued(c), Default::default()),
                None => self.sync.diagnostics(),
            };
            let lost = if Instant::now() >= self.next_lost {
                self.next_lost = Instant::now() + REFRESH;
                Some(self.inputs.lost_all()?)
            } else {
                None
            };
            let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            s.diagnostics = Some(d);
            if let Some(lost) = lost {
                s.lost = lost;
            }
        }
    }

    /// Applies `policy`'s settings to the live policy if it can take them
    /// (same kind and queue size); otherwise drops everything queued
    /// (reason `Reset`) and continues with `policy`.
    fn switch(&mut self, policy: AnyPolicy) -> Result<(), RelayError> {
        let live = self.sync.policy_mut();
        if live.apply(&policy.config()).is_ok() {
            return Ok(());
        }
        self.sync.replace_policy(policy)?;
        Ok(())
    }

    fn feed(&mut self, ch: usize, msg: SerializedMsg) -> Result<(), RelayError> {
        let stamp = match msg.header_stamp() {
            Ok(s) => s,
            Err(e) => {
                let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(n) = s.unreadable.get_mut(ch) {
                    *n += 1;
                    if *n == 1 {
                        log::warn!(
                            "input {ch}: a message without a readable stamp ({e}); such messages are not relayed"
                        );
                    }
                }
                return Ok(());
            }
        };
        if let Some(f) = &mut self.follow {
            for e in f.push(ch, msg, stamp) {
                if let Event::Set(set) = e {
                    self.pubs[0].publish(&set.driver)?;
                    for (c, part) in &set.followers {
                        for m in part.messages() {
                            self.pubs[*c].publish(m)?;
                        }
                    }
                    if let Some(f) = &mut self.on_set {
                        f(RelayedSet::Follow(&set));
                    }
                }
            }
            return Ok(());
        }
        let received = (self.now)();
        let events = self
            .sync
            .push_stamped(ch, msg, stamp, received)
            .map_err(|e| RelayError::Thread(e.to_string()))?;
        for e in events {
            match e {
                Event::Set(set) => {
                    for (publisher, member) in self.pubs.iter().zip(set.iter()) {
                        publisher.publish(member)?;
                    }
                    if let Some(f) = &mut self.on_set {
                        let members: Vec<Option<&SerializedMsg>> = set.iter().map(Some).collect();
                        f(RelayedSet::Members(&members));
                    }
                }
                // A set made while an input is out: the members it has.
                Event::Partial(p) => {
                    for (publisher, member) in self.pubs.iter().zip(&p.members) {
                        if let Some(m) = member {
                            publisher.publish(&m.message)?;
                        }
                    }
                    if let Some(f) = &mut self.on_set {
                        let members: Vec<Option<&SerializedMsg>> = p
                            .members
                            .iter()
                            .map(|m| m.as_ref().map(|m| &m.message))
                            .collect();
                        f(RelayedSet::Members(&members));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
