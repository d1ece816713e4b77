//! What the typed synchronizing nodes share: their parameters, typed
//! subscriptions feeding one `Synchronizer` on the node's ROS clock,
//! run-time policy changes, the stall watch and `/diagnostics`, and their
//! stdout lines (`set <ns>,<ns>,... [extra]`, `stale <channel> <ms>`,
//! `stats ...`), which the integration tests read.

use std::cell::RefCell;
use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration as StdDuration, Instant};

use futures::StreamExt;
use futures::task::LocalSpawnExt;
use r2r::{QosProfile, WrappedTypesupport};
use stamp_sync::policy::AnyPolicy;
use stamp_sync::{
    Channel, CloneStore, Diagnostics, DropReason, Duration, Messages, Options, Stamp, Synchronizer,
};
use stamp_sync_r2r::diagnostics::DiagnosticsPublisher;
use stamp_sync_r2r::params::{Changes, Params};
use stamp_sync_r2r::runtime::Runtime;
use stamp_sync_r2r::{HasHeader, RosHeader, StallWatch, qos_report};

/// The parameters every synchronizing node takes, with `policy` defaulting
/// to `policy`.
pub fn sync_params(policy: &str) -> Params {
    Params::new()
        .qos(
            "sensor_data",
            100,
            "input QoS: sensor_data (matches any publisher) or reliable",
        )
        .with_policy(policy)
        .double(
            "stale_after",
            0.0,
            "report an input silent this many seconds (0 = off)",
        )
        .health()
        .double(
            "stats_period",
            0.0,
            "seconds between `stats` lines on stdout (0 = none)",
        )
        .bool("print_sets", true, "print `set <ns>,...` per set on stdout")
        .int("max_sets", 0, "exit after this many sets (0 = never)")
        .read_only("stale_after")
        .read_only("use_sim_time")
        .non_negative(&["stale_after", "stats_period"], false)
        .check(|p| match p.get_int("max_sets") {
            Some(n) if n < 0 => Err("max_sets must not be negative".into()),
            _ => Ok(()),
        })
}

/// `s` seconds.
pub fn seconds(s: f64) -> Duration {
    Duration::from_nanos((s * 1e9) as i64)
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

/// The `stats` line: counters per input (received / emitted / dropped /
/// queued) and drops by reason, `t_ms` after the start.
pub fn stats_line(d: &Diagnostics, t_ms: u128) -> String {
    let mut line = format!("stats t_ms={t_ms} sets={} stale={}", d.sets, d.stale);
    for (i, c) in d.channels.iter().enumerate() {
        let _ = write!(
            line,
            " ch{i}={}/{}/{}/{}",
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

/// The synchronizer a node's `setup` finishes (its callbacks).
pub type NodeBuilder<T> =
    stamp_sync::Builder<stamp_sync::driver::builder::ForSynchronizer<T>, AnyPolicy, RosHeader>;

/// A typed synchronizing node: see the [module docs](self).
pub struct SyncNode<T: Messages>
where
    T::Queues: CloneStore,
{
    /// The node, its executor, clock and parameters.
    pub rt: Runtime,
    /// The synchronizer every input feeds.
    pub sync: Rc<RefCell<Synchronizer<T, AnyPolicy, RosHeader>>>,
    changes: Changes,
    topics: Vec<(String, QosProfile)>,
    stall: StallWatch,
    diagnostics: Option<DiagnosticsPublisher>,
    next_diag: Stamp,
    next_stats: Stamp,
    matched: bool,
    last_sets: u64,
    started: Instant,
    commands: mpsc::Receiver<String>,
    /// When the last message left its stream.
    pub left: LeftStream,
}

impl<T: Messages + 'static> SyncNode<T>
where
    T::Queues: CloneStore,
{
    /// Starts node `name` with `params` (from [`sync_params`] plus the
    /// node's own) over a synchronizer that `setup` finishes (callbacks).
    pub fn start(
        name: &str,
        params: Params,
        setup: impl FnOnce(
            &mut Runtime,
            &LeftStream,
            NodeBuilder<T>,
        ) -> Result<NodeBuilder<T>, Box<dyn Error>>,
    ) -> Result<Self, Box<dyn Error>> {
        let (mut rt, changes) = Runtime::start(name, params)?;
        let p = rt.params();
        let mut options = Options::new();
        if let Some(s) = p.get_double("stale_after").filter(|s| *s > 0.0) {
            options = options.stale_after(seconds(s));
        }
        let config = p.policy()?;
        log::info!(
            "{config}, input QoS {}",
            p.get_str("qos").unwrap_or("sensor_data")
        );
        let sync = Synchronizer::builder(config.build()?)
            .options(options)
            .stamp_with(RosHeader)
            .on_stale(|s| {
                say(&format!(
                    "stale {} {}",
                    s.channel,
                    s.silent_for.as_nanos() / 1_000_000
                ))
            });
        let left = LeftStream::new();
        let sync = Rc::new(RefCell::new(setup(&mut rt, &left, sync)?.build()?));
        let commands = stdin_commands();
        let now = rt.clock.now();
        Ok(SyncNode {
            stall: StallWatch::new(
                std::iter::empty(),
                seconds(p.get_double("stall_after").unwrap_or(5.0)),
            ),
            rt,
            sync,
            changes,
            topics: Vec::new(),
            diagnostics: None,
            next_diag: now,
            next_stats: now,
            matched: false,
            last_sets: 0,
            started: Instant::now(),
            commands,
            left,
        })
    }

    /// Subscribes to `topic` as channel `I`; each message is added on the
    /// node's ROS clock.
    pub fn input<const I: usize>(&mut self, topic: &str) -> Result<(), Box<dyn Error>>
    where
        T: Channel<I>,
        <T as Channel<I>>::Msg: WrappedTypesupport + HasHeader + Send + 'static,
    {
        let qos = self.rt.params().qos_profile();
        let stream = stamp_sync_r2r::subscribe::<<T as Channel<I>>::Msg>(
            &mut self.rt.node,
            topic,
            qos.clone(),
        )?;
        let (sync, clock, left) = (self.sync.clone(), self.rt.clock.clone(), self.left.clone());
        self.rt
            .pool
            .spawner()
            .spawn_local(stream.for_each(move |m| {
                left.mark();
                sync.borrow_mut().add_at::<I>(m, clock.now());
                futures::future::ready(())
            }))?;
        self.topics.push((topic.to_string(), qos));
        Ok(())
    }

    /// Starts the stall watch and `/diagnostics` once every input is added.
    pub fn watch(&mut self) -> Result<(), Box<dyn Error>> {
        let p = self.rt.params();
        let topics: Vec<&str> = self.topics.iter().map(|(t, _)| t.as_str()).collect();
        let qos = p.qos_profile();
        self.stall = StallWatch::new(
            self.topics.iter().map(|(t, q)| (t.as_str(), q)),
            seconds(p.get_double("stall_after").unwrap_or(5.0)),
        );
        if p.get_double("diagnostics_period").unwrap_or(1.0) > 0.0 {
            self.diagnostics = Some(DiagnosticsPublisher::new(&mut self.rt.node, &topics, &qos)?);
        }
        Ok(())
    }

    /// Spins until `max_sets` sets (if set) or a `quit` line on stdin.
    pub fn run(mut self) -> Result<(), Box<dyn Error>> {
        loop {
            self.report_matched();
            self.rt.spin_once(StdDuration::from_millis(5));
            let now = self.rt.clock.now();
            let p = self.rt.params();
            // Accepted parameter changes.
            let mut changed = false;
            while let Some(Some(_)) = futures::FutureExt::now_or_never(self.changes.next()) {
                changed = true;
            }
            if changed {
                match p.policy() {
                    Ok(config) => match switch_policy(&mut self.sync.borrow_mut(), &config) {
                        Ok(()) => log::info!("policy now {config}"),
                        Err(e) => log::error!("cannot switch policy: {e}"),
                    },
                    Err(e) => log::error!("cannot switch policy: {e}"),
                }
            }
            self.sync.borrow_mut().poll(now);
            let d = self.sync.borrow().diagnostics();
            if d.sets != self.last_sets {
                self.last_sets = d.sets;
                self.stall.delivered(now);
            }
            if p.get_double("stall_after").is_some_and(|s| s > 0.0) {
                if let Some(reports) = self.stall.check(&self.rt.node, now) {
                    for r in reports {
                        eprintln!("{}: stalled: {r}", self.rt.logger());
                    }
                }
            }
            let period = p.get_double("diagnostics_period").unwrap_or(1.0);
            if let (true, Some(diag)) = (now >= self.next_diag, &mut self.diagnostics) {
                self.next_diag = now.saturating_add(seconds(period));
                if let Err(e) = diag.publish(&self.rt.node, now, &d) {
                    log::warn!("cannot publish /diagnostics: {e}");
                }
            }
            let stats = p.get_double("stats_period").unwrap_or(0.0);
            let mut report = stats > 0.0 && now >= self.next_stats;
            if report {
                self.next_stats = now.saturating_add(seconds(stats));
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
            let max = p.get_int("max_sets").unwrap_or(0);
            if quit || (max > 0 && d.sets >= max as u64) {
                return Ok(());
            }
        }
    }

    /// Prints `<node>: matched` on stderr once every input has a publisher
    /// whose QoS matches (the subscriber's side of discovery).
    fn report_matched(&mut self) {
        if self.matched {
            return;
        }
        let all = self
            .topics
            .iter()
            .all(|(t, q)| qos_report(&self.rt.node, t, q).is_ok_and(|r| r.ok()));
        if all && !self.topics.is_empty() {
            self.matched = true;
            eprintln!("{}: matched", self.rt.logger());
        }
    }
}

/// Switches `sync` to `config`: the same kind and queue size through the
/// policy's run-time setters (nothing dropped); otherwise a new policy
/// (everything queued dropped as `reset`).
fn switch_policy<T: Messages>(
    sync: &mut Synchronizer<T, AnyPolicy, RosHeader>,
    config: &stamp_sync::policy::PolicyConfig,
) -> Result<(), stamp_sync::ConfigError>
where
    T::Queues: CloneStore,
{
    let live = sync.policy_mut();
    if live.kind() == config.kind() && live.apply(&config.params()).is_ok() {
        return Ok(());
    }
    sync.replace_policy(config.build()?)
}
