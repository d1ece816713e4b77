//! The ROS 2 nodes of the package `stamp_sync`, and what the typed
//! synchronizing nodes share ([`SyncNode`]): their parameters (typed keys,
//! [`SyncParams`]), topics synchronized by the public stream helper
//! ([`stamp_sync_r2r::subscribe_synced_with`]) on the node's ROS clock,
//! run-time policy changes, the stall watch and `/diagnostics`, and their
//! stdout lines (`set <ns>,<ns>,... [extra]`, `stale <channel> <ms>`,
//! `stats ...`), which the integration tests read.
//!
//! Each node is a `[[bin]]` in `src/bin/`; the ROS package installs every
//! one (`CMakeLists.txt`).

use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration as StdDuration, Instant};

use futures::{FutureExt, StreamExt};
use r2r::QosProfile;
use stamp_sync::driver::stream::{MessagesOf, PartialOf, QueuesOf, SetOf};
use stamp_sync::driver::{Messages, StampGetters};
use stamp_sync::policy::{AnyPolicy, CloneStore, PolicyConfig};
use stamp_sync::{ConfigError, Diagnostics, DropOutClock, DropReason, Duration, Options, Stamp};
use stamp_sync_r2r::diagnostics::DiagnosticsPublisher;
use stamp_sync_r2r::params::{Changes, Key, ParamError, Params, QosKeys, health};
use stamp_sync_r2r::runtime::{Runtime, StartError};
use stamp_sync_r2r::{
    HasHeader, StallWatch, SyncTopics, Synced, qos_report, subscribe_synced_with,
};

/// The parameters of the typed synchronizing nodes, each declared once.
pub mod keys {
    use super::*;

    /// `qos` (`sensor_data`) and `depth` (100) of the inputs.
    pub const INPUT_QOS: QosKeys = QosKeys::new(
        "sensor_data",
        100,
        "input QoS: sensor_data (matches any publisher), best_effort or reliable",
    );
    /// `stale_after`: report an input silent this long while the others
    /// flow (0 = off).
    pub const STALE_AFTER: Key<Option<Duration>> = Key::seconds_or_off(
        "stale_after",
        0.0,
        "report an input silent this many seconds",
    )
    .start_up();
    /// `drop_out_after`: an input this long behind (see `drop_out_clock`)
    /// leaves the sets until it is back; the others go on without it (0 = off).
    pub const DROP_OUT_AFTER: Key<Option<Duration>> = Key::seconds_or_off(
        "drop_out_after",
        0.0,
        "seconds an input may lag before sets go on without it (0 = off)",
    );
    /// `drop_out_clock`: `arrival` (nothing received for `drop_out_after`)
    /// or `stamp` (its stamps that far behind the newest).
    pub const DROP_OUT_CLOCK: Key<String> = Key::text(
        "drop_out_clock",
        "arrival",
        &["arrival", "stamp"],
        "what drop_out_after measures: arrival (time since its last message) or stamp",
    );
    /// `stamp_offset`: per input `CH=DUR` (e.g. `0=-2s`), added to its
    /// stamps before matching: a host whose clock runs off, a sensor's
    /// known latency.
    pub const STAMP_OFFSET: Key<Vec<String>> = Key::texts(
        "stamp_offset",
        &[],
        0,
        9,
        "per input CH=DUR (e.g. 0=-2s): added to that input's stamps before matching",
    )
    .start_up();
    /// `stats_period`: seconds between `stats` lines on stdout (0 = none).
    pub const STATS_PERIOD: Key<Option<Duration>> = Key::seconds_or_off(
        "stats_period",
        0.0,
        "seconds between `stats` lines on stdout",
    );
    /// `print_sets`: print `set <ns>,...` per set on stdout.
    pub const PRINT_SETS: Key<bool> =
        Key::flag("print_sets", true, "print `set <ns>,...` per set on stdout");
    /// `max_sets`: exit after this many sets (0 = never).
    pub const MAX_SETS: Key<i64> =
        Key::int("max_sets", 0, 0, "exit after this many sets (0 = never)");
}

/// What the typed synchronizing nodes read from their parameters, once
/// per change: see [`keys`] and [`health`].
#[derive(Clone, Debug)]
pub struct SyncParams {
    /// The policy with its settings.
    pub policy: PolicyConfig,
    /// The inputs' QoS.
    pub qos: QosProfile,
    /// The `qos` parameter's name of it.
    pub qos_name: String,
    /// Stale-input reports (start-up only).
    pub stale_after: Option<Duration>,
    /// Drop-out: the timeout and its clock.
    pub drop_out: (Option<Duration>, DropOutClock),
    /// Per input, an offset added to its stamps (start-up only).
    pub stamp_offsets: Vec<(usize, Duration)>,
    /// Silence before a stall warning on rosout.
    pub stall_after: Option<Duration>,
    /// Period of `/diagnostics`.
    pub diagnostics_period: Option<Duration>,
    /// Period of `stats` lines.
    pub stats_period: Option<Duration>,
    /// Print each set.
    pub print_sets: bool,
    /// Exit after this many sets.
    pub max_sets: Option<u64>,
}

impl SyncParams {
    /// Declares the parameters, `policy` defaulting to `policy`.
    pub fn declare(policy: &'static str) -> Params {
        keys::INPUT_QOS
            .declare(Params::new())
            .with_policy(policy)
            .with(&keys::STALE_AFTER)
            .with(&keys::DROP_OUT_AFTER)
            .with(&keys::DROP_OUT_CLOCK)
            .with(&keys::STAMP_OFFSET)
            .with(&health::STALL_AFTER)
            .with(&health::DIAGNOSTICS_PERIOD)
            .with(&keys::STATS_PERIOD)
            .with(&keys::PRINT_SETS)
            .with(&keys::MAX_SETS)
    }

    /// Reads them.
    pub fn read(p: &Params) -> Result<Self, ParamError> {
        Ok(SyncParams {
            policy: p.policy()?,
            qos: keys::INPUT_QOS.profile(p),
            qos_name: keys::INPUT_QOS.name(p),
            stale_after: p.get(&keys::STALE_AFTER),
            drop_out: drop_out(p),
            stamp_offsets: stamp_offsets(&p.get(&keys::STAMP_OFFSET))?,
            stall_after: p.get(&health::STALL_AFTER),
            diagnostics_period: p.get(&health::DIAGNOSTICS_PERIOD),
            stats_period: p.get(&keys::STATS_PERIOD),
            print_sets: p.get(&keys::PRINT_SETS),
            max_sets: u64::try_from(p.get(&keys::MAX_SETS))
                .ok()
                .filter(|&n| n > 0),
        })
    }
}

/// The `stamp_offset` entries, `CH=DUR` each (`0=-2s`, `1=30ms`).
pub fn stamp_offsets(entries: &[String]) -> Result<Vec<(usize, Duration)>, ParamError> {
    entries
        .iter()
        .map(|e| {
            let bad = |why: String| {
                ParamError::Conflict(format!(
                    "parameter stamp_offset: {e:?}: {why} (expected CH=DUR, e.g. 0=-2s)"
                ))
            };
            let (ch, d) = e.split_once('=').ok_or_else(|| bad("no '='".into()))?;
            let ch: usize = ch
                .trim()
                .parse()
                .map_err(|_| bad(format!("{ch:?} is not an input number")))?;
            let d: Duration = d.trim().parse().map_err(|err| bad(format!("{err}")))?;
            Ok((ch, d))
        })
        .collect()
}

/// The drop-out parameters (`drop_out_after`, `drop_out_clock`).
pub fn drop_out(p: &Params) -> (Option<Duration>, DropOutClock) {
    let clock = p
        .get(&keys::DROP_OUT_CLOCK)
        .parse()
        .unwrap_or(DropOutClock::Arrival);
    (p.get(&keys::DROP_OUT_AFTER), clock)
}

/// Prints `partial <ns>,,<ns>`: a set with members missing (an empty
/// field for each), made while an input is out (`drop_out_after`).
pub fn print_partial(stamps: &[Option<Stamp>]) {
    let fields: Vec<String> = stamps
        .iter()
        .map(|s| s.map_or(String::new(), |s| s.as_nanos().to_string()))
        .collect();
    say(&format!("partial {}", fields.join(",")));
}

/// Prints `line` on stdout and flushes.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe just ends the output; the node keeps running.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints `set <ns>,<ns>,... <extra>`.
pub fn print_set(stamps: &[Stamp], extra: &str) {
    let mut line = String::from("set ");
    for (i, s) in stamps.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(line, "{}", s.as_nanos());
    }
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(extra);
    }
    say(&line);
}

/// The `stats` line, `t_ms` after the start: sets, stale reports, each
/// input's counts by name and drops by reason, e.g.
/// `stats t_ms=1000 sets=149 partial=0 stale=0 ch0=received:150,emitted:149,dropped:0,queued:1 drops=-`.
pub fn stats_line(d: &Diagnostics, t_ms: u128) -> String {
    let mut line = format!(
        "stats t_ms={t_ms} sets={} partial={} stale={}",
        d.sets, d.partial_sets, d.stale
    );
    for (i, c) in d.channels.iter().enumerate() {
        let _ = write!(
            line,
            " ch{i}=received:{},emitted:{},dropped:{},queued:{}",
            c.received,
            c.emitted,
            c.dropped_total(),
            c.queued
        );
    }
    line.push_str(" drops=");
    let mut first = true;
    for r in DropReason::ALL {
        let n: u64 = d.channels.iter().map(|c| c.dropped_for(r)).sum();
        if n > 0 {
            if !first {
                line.push(',');
            }
            first = false;
            let _ = write!(line, "{r}:{n}");
        }
    }
    if first {
        line.push('-');
    }
    line
}

/// [`stats_line`] with ` lost=N,..` appended: per input, what the
/// middleware reports lost on the way (`-` where it reports nothing).
pub fn stats_line_with_lost(d: &Diagnostics, t_ms: u128, lost: &[Option<u64>]) -> String {
    let mut line = stats_line(d, t_ms);
    if !lost.is_empty() {
        let cells: Vec<String> = lost
            .iter()
            .map(|l| l.map_or("-".to_string(), |n| n.to_string()))
            .collect();
        let _ = write!(line, " lost={}", cells.join(","));
    }
    line
}

/// Lines arriving on stdin (`stats`, `quit`), read on a thread of their own.
pub fn stdin_commands() -> mpsc::Receiver<String> {
    let (tx, commands) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    commands
}

/// When the last message left its subscription stream, in ns since the
/// node started: a set callback subtracts it from its own time to measure
/// the set-completion latency.
#[derive(Clone, Debug)]
pub struct LeftStream {
    base: Instant,
    at: Arc<AtomicU64>,
}

impl LeftStream {
    fn new() -> Self {
        LeftStream {
            base: Instant::now(),
            at: Arc::new(AtomicU64::new(0)),
        }
    }
    fn mark(&self) {
        self.at
            .store(self.base.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
    /// Nanoseconds since the last message left its stream.
    pub fn since(&self) -> u64 {
        (self.base.elapsed().as_nanos() as u64).saturating_sub(self.at.load(Ordering::Relaxed))
    }
}

/// The stamp getters of a node: each message's header stamp, and the
/// moment the stream takes it from its subscription ([`LeftStream`]).
#[derive(Clone, Debug)]
pub struct Marked(LeftStream);

macro_rules! marked_getters {
    ($($get:ident $M:ident),+) => {
        impl<T: Messages + ?Sized> StampGetters<T> for Marked
        where
            $(T::$M: HasHeader,)+
        {
            $(
                #[inline]
                fn $get(&self, msg: &T::$M) -> Stamp {
                    self.0.mark();
                    msg.stamp()
                }
            )+
        }
    };
}

marked_getters!(stamp_0 M0, stamp_1 M1, stamp_2 M2, stamp_3 M3, stamp_4 M4, stamp_5 M5,
    stamp_6 M6, stamp_7 M7, stamp_8 M8);

/// The set a node over topics `T` hands to its callback.
pub type SetOfTopics<T> = SetOf<<T as SyncTopics>::Streams>;

/// A set with members missing a node over topics `T` hands out: one
/// `Option` per topic.
pub type PartialOfTopics<T> = PartialOf<<T as SyncTopics>::Streams>;

/// A typed synchronizing node: see the [module docs](self).
pub struct SyncNode<T: SyncTopics>
where
    QueuesOf<T::Streams>: CloneStore,
{
    /// The node, its executor, clock and parameters.
    pub rt: Runtime,
    /// The synchronized topics.
    sets: Synced<T, AnyPolicy, Marked>,
    params: SyncParams,
    changes: Changes,
    topics: Vec<String>,
    stall: StallWatch,
    diagnostics: Option<DiagnosticsPublisher>,
    next_diag: Stamp,
    next_stats: Stamp,
    matched: bool,
    last_sets: u64,
    started: Instant,
    commands: mpsc::Receiver<String>,
    /// Sets with members missing, from the stream's callback.
    partials: mpsc::Receiver<PartialOfTopics<T>>,
    /// When the last message left its stream.
    pub left: LeftStream,
}

impl<T: SyncTopics> SyncNode<T>
where
    QueuesOf<T::Streams>: CloneStore,
    Marked: StampGetters<MessagesOf<T::Streams>>,
    T::Streams: 'static,
    PartialOfTopics<T>: Send + 'static,
{
    /// Starts node `name` with `params` ([`SyncParams::declare`] plus the
    /// node's own) and subscribes to `topics` (remappable names) with the
    /// input QoS, synchronized on the node's ROS clock.
    pub fn start(name: &str, params: Params, topics: &[&str]) -> Result<Self, Box<dyn Error>>
    where
        for<'a> T::Topics<'a>: TryFrom<Vec<(&'a str, QosProfile)>>,
    {
        let (mut rt, changes) = Runtime::start(name, params)?;
        let p = SyncParams::read(&rt.params())?;
        log::info!("{}, input QoS {}", p.policy, p.qos_name);
        let mut options = Options::new();
        if let Some(d) = p.stale_after {
            options = options.stale_after(d);
        }
        if let (Some(d), clock) = p.drop_out {
            options = options.drop_out_after(d).drop_out_clock(clock);
        }
        for &(ch, d) in &p.stamp_offsets {
            options = options.stamp_offset(ch, d);
        }
        let (partial_tx, partials) = mpsc::channel();
        let list: Vec<(&str, QosProfile)> = topics.iter().map(|t| (*t, p.qos.clone())).collect();
        let Ok(list) = T::Topics::try_from(list) else {
            return Err(format!("{name}: {} topics do not fit the inputs", topics.len()).into());
        };
        let left = LeftStream::new();
        let sets = subscribe_synced_with::<T, _>(&mut rt.node, list, p.policy.build()?)?
            .stamp_with(Marked(left.clone()))
            .options(options)
            .on_stale(|s| {
                say(&format!(
                    "stale {} {}",
                    s.channel,
                    s.silent_for.as_nanos() / 1_000_000
                ))
            })
            .on_partial(move |ps| {
                let _ = partial_tx.send(ps);
            })
            .build()?;
        let now = rt.clock.now();
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        let stall = StallWatch::new(
            topics.iter().map(|t| (t.as_str(), &p.qos)),
            p.stall_after.unwrap_or(Duration::MAX),
        );
        let diagnostics = match p.diagnostics_period {
            Some(_) => Some(DiagnosticsPublisher::new(&mut rt.node, &topics, &p.qos)?),
            None => None,
        };
        Ok(SyncNode {
            rt,
            sets,
            params: p,
            changes,
            topics,
            stall,
            diagnostics,
            next_diag: now,
            next_stats: now,
            matched: false,
            last_sets: 0,
            started: Instant::now(),
            commands: stdin_commands(),
            partials,
            left,
        })
    }

    /// The parameters as last read.
    pub fn params(&self) -> &SyncParams {
        &self.params
    }

    /// Spins, handing every set to `on_set`, until `max_sets` sets (if set)
    /// or a `quit` line on stdin. Sets with members missing are dropped
    /// unseen: see [`run_with_partial`](Self::run_with_partial).
    pub fn run(
        self,
        on_set: impl FnMut(&SyncParams, SetOfTopics<T>),
    ) -> Result<(), Box<dyn Error>> {
        self.run_with_partial(on_set, |_, _| {})
    }

    /// As [`run`](Self::run), also handing each set with members missing
    /// (made while an input is out, `drop_out_after`) to `on_partial`.
    pub fn run_with_partial(
        mut self,
        mut on_set: impl FnMut(&SyncParams, SetOfTopics<T>),
        mut on_partial: impl FnMut(&SyncParams, PartialOfTopics<T>),
    ) -> Result<(), Box<dyn Error>> {
        loop {
            self.report_matched();
            self.rt.spin_once(StdDuration::from_millis(5));
            while let Some(Some(set)) = self.sets.next().now_or_never() {
                while let Ok(ps) = self.partials.try_recv() {
                    on_partial(&self.params, ps);
                }
                on_set(&self.params, set);
            }
            let now = self.rt.clock.now();
            self.changed();
            self.sets.poll(now);
            while let Ok(ps) = self.partials.try_recv() {
                on_partial(&self.params, ps);
            }
            let d = self.sets.diagnostics();
            if d.sets != self.last_sets {
                self.last_sets = d.sets;
                self.stall.delivered(now);
            }
            if self.params.stall_after.is_some() {
                if let Some(reports) = self.stall.check(&self.rt.node, now) {
                    for r in reports {
                        eprintln!("{}: stalled: {r}", self.rt.logger());
                    }
                }
            }
            if let (Some(period), Some(diag)) =
                (self.params.diagnostics_period, &mut self.diagnostics)
            {
                if now >= self.next_diag {
                    self.next_diag = now.saturating_add(period);
                    if let Err(e) = diag.publish(&self.rt.node, now, &d) {
                        log::warn!("cannot publish /diagnostics: {e}");
                    }
                }
            }
            let mut report = false;
            if let Some(period) = self.params.stats_period {
                if now >= self.next_stats {
                    self.next_stats = now.saturating_add(period);
                    report = true;
                }
            }
            let mut quit = false;
            while let Ok(c) = self.commands.try_recv() {
                match c.trim() {
                    "stats" => report = true,
                    "quit" => quit = true,
                    other => eprintln!("{}: unknown command {other:?}", self.rt.logger()),
                }
            }
            if report || quit {
                say(&stats_line(&d, self.started.elapsed().as_millis()));
            }
            if quit || self.params.max_sets.is_some_and(|n| d.sets >= n) {
                return Ok(());
            }
        }
    }

    /// Reads the parameters again after accepted changes and switches the
    /// policy.
    fn changed(&mut self) {
        let mut changed = false;
        while let Some(Some(_)) = self.changes.next().now_or_never() {
            changed = true;
        }
        if !changed {
            return;
        }
        match SyncParams::read(&self.rt.params()) {
            Ok(p) => {
                match switch_policy::<T>(&mut self.sets, &p.policy) {
                    Ok(()) => log::info!("policy now {}", p.policy),
                    Err(e) => log::error!("cannot switch policy: {e}"),
                }
                if p.drop_out != self.params.drop_out {
                    let (after, clock) = p.drop_out;
                    match self.sets.set_drop_out_after(after, clock) {
                        Ok(()) => log::info!(
                            "drop_out_after now {} ({} clock)",
                            after.map_or("off".to_string(), |d| d.to_string()),
                            clock.as_str()
                        ),
                        Err(e) => log::error!("cannot set drop_out_after: {e}"),
                    }
                }
                self.params = p;
            }
            Err(e) => log::error!("cannot read the parameters: {e}"),
        }
    }

    /// Prints `<node>: matched` on stderr once every input has a publisher
    /// whose QoS matches (the subscriber's side of discovery).
    fn report_matched(&mut self) {
        if self.matched {
            return;
        }
        let qos = &self.params.qos;
        let all = self
            .topics
            .iter()
            .all(|t| qos_report(&self.rt.node, t, qos).is_ok_and(|r| r.ok()));
        if all && !self.topics.is_empty() {
            self.matched = true;
            eprintln!("{}: matched", self.rt.logger());
        }
    }
}

/// Switches the stream to `config`: the same kind and queue size through
/// the policy's run-time setters (nothing dropped); otherwise a new policy
/// (everything queued dropped as `reset`).
fn switch_policy<T: SyncTopics>(
    sets: &mut Synced<T, AnyPolicy, Marked>,
    config: &PolicyConfig,
) -> Result<(), ConfigError>
where
    QueuesOf<T::Streams>: CloneStore,
{
    if sets.with_policy(|live| live.apply(config)).is_ok() {
        return Ok(());
    }
    sets.replace_policy(config.build()?)
}

/// The exit status of a node refused by its parameters (a bad value, a
/// wrong type, topics that clash), as the CLI's bad input.
pub const EXIT_BAD_PARAMETER: u8 = 2;

/// The exit status of node `name` after `result`: on error one line on
/// stderr (`<name>: error: <what>`, the error's message, never a debug
/// dump) and status [`EXIT_BAD_PARAMETER`] for a parameter error, 1 for
/// any other. The error is on rosout already when the node was up.
pub fn exit_code(name: &str, result: Result<(), Box<dyn Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: {e}");
            let bad_parameter = e.downcast_ref::<ParamError>().is_some()
                || e.downcast_ref::<ConfigError>().is_some()
                || matches!(e.downcast_ref::<StartError>(), Some(StartError::Params(_)));
            if bad_parameter {
                std::process::ExitCode::from(EXIT_BAD_PARAMETER)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_offsets_read_channel_and_duration_and_say_what_is_wrong() {
        let got = stamp_offsets(&["1=-2s".into(), " 0 = 30ms".into()]).unwrap();
        assert_eq!(
            got,
            vec![(1, Duration::from_secs(-2)), (0, Duration::from_millis(30))]
        );
        for (bad, why) in [
            ("1:2s", "no '='"),
            ("x=2s", "not an input number"),
            ("1=soon", ""),
        ] {
            let e = stamp_offsets(&[bad.to_string()]).unwrap_err().to_string();
            assert!(
                e.contains(bad) && e.contains(why) && e.contains("CH=DUR"),
                "{e}"
            );
        }
    }
}
