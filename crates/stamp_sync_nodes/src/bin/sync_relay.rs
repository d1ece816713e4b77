//! `sync_relay`: synchronizes any 2 to 9 header-bearing topics and
//! republishes every member of every matched set, byte for byte, on
//! `<topic><output_suffix>`, so any node (Python, C++) can consume
//! synchronized topics.
//!
//! ```text
//! ros2 run stamp_sync sync_relay --ros-args \
//!   -p topics:="[/camera/image, /camera/camera_info]" -p policy:=exact
//! ```
//!
//! Parameters (set at run time with `ros2 param set`, except the first
//! five, which are read at start-up):
//! * `topics` (string[], 2 to 9), `qos` (`sensor_data` | `reliable`;
//!   default `sensor_data`, which matches every publisher), `depth` (100),
//!   `output_suffix` (`/synced`), `wait_for_topics` (seconds, 10);
//! * `policy` (`exact` | `approximate` | `epsilon` | `latest` | `slop`;
//!   `approximate`), `queue_size` (10), `max_interval` (seconds, 0 =
//!   unbounded), `age_penalty` (0.1), `lower_bounds` (seconds per input),
//!   `epsilon`, `slop`, `deadline` (seconds). A change takes effect with
//!   the next message; one that keeps `policy` and `queue_size` drops
//!   nothing, a new `policy` or `queue_size` drops what was queued (reason
//!   `reset`, counted).
//! * `driver` (a topic) and `follow` (`TOPIC=MODE` per follower, or
//!   `'TOPIC:MODE'` quoted for rcl's YAML, MODE one of
//!   `ranged`, `before`, `closest`, `bracket`; start-up), instead of
//!   `topics`: the follower policy (docs/followers.md), holding up to
//!   `depth` messages per input, `max_wait` (seconds, 0 = wait). Each set is
//!   republished as the driver message, then its followers' messages, and
//!   printed as `follow <driver ns>,<ns;ns;...>,...`.
//! * `drop_out_after` (seconds, 0 = off) and `drop_out_clock` (`arrival` |
//!   `stamp`; `arrival`): an input that long behind leaves the sets until
//!   it is back, and the relay republishes the members the sets have.
//! * `stall_after` (seconds without a set before warning, 5; 0 = never),
//!   `diagnostics_period` (seconds, 1; 0 = no `/diagnostics`),
//!   `summary_period` (seconds between drop summaries on rosout, 10),
//!   `print_sets` (print `set <ns>,<ns>,...` per set on stdout, and
//!   `partial <ns>,,<ns>` per set with members missing).
//!
//! A line `stats` on stdin prints the counters (`stats t_ms= sets= ...`, as
//! the other nodes print them, then `lost=N,..`: per input, what the
//! middleware lost on the way, `-` where it reports nothing); `quit`
//! prints them and exits.
//!
//! Every clock it reads follows `/clock` under `use_sim_time:=true`.
//! A topic that never appears, or whose type has no `std_msgs/Header`
//! first field, is an error on rosout and the node exits with status 1.

use std::error::Error;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration as StdDuration;

use futures::StreamExt;
use futures::task::LocalSpawnExt;
use r2r::QosProfile;
use stamp_sync::Duration;
use stamp_sync_r2r::StallWatch;
use stamp_sync_r2r::diagnostics::DiagnosticsPublisher;
use stamp_sync_r2r::params::{Key, ParamError, Params, QosKeys, health};
use stamp_sync_r2r::raw::RawNode;
use stamp_sync_r2r::relay::{Relay, RelaySpec, RelayedSet};
use stamp_sync_r2r::resolve_topic;
use stamp_sync_r2r::runtime::Runtime;

const NAME: &str = "sync_relay";

const TOPICS: Key<Vec<String>> = Key::texts(
    "topics",
    &[],
    0,
    9,
    "2 to 9 header-bearing input topics (empty with `driver` and `follow`)",
)
.start_up();
const INPUT_QOS: QosKeys = QosKeys::new(
    "sensor_data",
    100,
    "input QoS: sensor_data (matches any publisher), best_effort or reliable",
);
const OUTPUT_SUFFIX: Key<String> = Key::text(
    "output_suffix",
    "/synced",
    &[],
    "each output is <topic><output_suffix>",
)
.start_up();
const WAIT_FOR_TOPICS: Key<Duration> = Key::seconds(
    "wait_for_topics",
    10.0,
    "seconds to wait for the inputs to appear",
)
.start_up();
const DRIVER: Key<String> = Key::text(
    "driver",
    "",
    &[],
    "the follower policy's driver topic (then `follow` lists the followers and `topics` stays empty)",
)
.start_up();
const FOLLOW: Key<Vec<String>> = Key::texts(
    "follow",
    &[],
    0,
    8,
    "with `driver`: TOPIC=MODE (or 'TOPIC:MODE') per follower, MODE one of ranged, before, closest, bracket",
)
.start_up();
const MAX_WAIT: Key<Option<Duration>> = Key::seconds_or_off(
    "max_wait",
    0.0,
    "with `driver`: a driver message goes out once the newest stamp is this many seconds past it",
)
.start_up();
const SUMMARY_PERIOD: Key<Option<Duration>> = Key::seconds_or_off(
    "summary_period",
    10.0,
    "seconds between drop summaries on rosout",
);
const PRINT_SETS: Key<bool> = Key::flag(
    "print_sets",
    false,
    "print `set <ns>,...` per set on stdout",
);

fn params() -> Params {
    INPUT_QOS
        .declare(Params::new())
        .with(&TOPICS)
        .with(&DRIVER)
        .with(&FOLLOW)
        .with(&MAX_WAIT)
        .with(&OUTPUT_SUFFIX)
        .with(&WAIT_FOR_TOPICS)
        .with_policy("approximate")
        .with(&health::STALL_AFTER)
        .with(&health::DIAGNOSTICS_PERIOD)
        .with(&stamp_sync_nodes::keys::DROP_OUT_AFTER)
        .with(&stamp_sync_nodes::keys::DROP_OUT_CLOCK)
        .with(&SUMMARY_PERIOD)
        .with(&PRINT_SETS)
        .check(|p| {
            let (driver, follow) = (p.get(&DRIVER), p.get(&FOLLOW));
            if driver.is_empty() != follow.is_empty() {
                return Err(ParamError::Conflict(
                    "the follower policy needs both `driver` and `follow`".into(),
                ));
            }
            let n = p.get(&TOPICS).len();
            if driver.is_empty() && n < 2 {
                return Err(ParamError::Conflict(format!(
                    "parameter topics needs 2 to 9 entries, got {n} (or give `driver` and `follow`)"
                )));
            }
            if !driver.is_empty() && n > 0 {
                return Err(ParamError::Conflict(
                    "with `driver` and `follow`, leave `topics` empty: the inputs are the driver and its followers".into(),
                ));
            }
            if let Some(bad) = follow.iter().find(|f| follower(f).is_none()) {
                return Err(ParamError::Conflict(format!(
                    "follow entry {bad:?}: expected TOPIC=MODE, MODE one of ranged, before, closest, bracket"
                )));
            }
            let topics = p.get(&TOPICS);
            match topics
                .iter()
                .enumerate()
                .find(|(i, t)| topics[..*i].contains(t))
            {
                Some((_, t)) => Err(ParamError::Conflict(format!(
                    "topics lists {t} twice: each input needs a topic of its own"
                ))),
                None => Ok(()),
            }
        })
}

/// `TOPIC:MODE` or `TOPIC=MODE` (rcl's YAML wants `:` quoted in a list:
/// `"['/imu:ranged']"`), split at the last separator.
fn follower(entry: &str) -> Option<(&str, stamp_sync::policy::Mode)> {
    let (topic, mode) = entry.rsplit_once([':', '='])?;
    Some((topic, mode.parse().ok()?))
}

fn main() -> ExitCode {
    stamp_sync_nodes::exit_code(NAME, run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let (mut rt, mut changes) = Runtime::start(NAME, params())?;
    let p = rt.params();
    let fail = |e: &dyn std::fmt::Display| log::error!("{e}");
    let qos = INPUT_QOS.profile(&p);
    let depth = usize::try_from(p.get(&INPUT_QOS.depth)).unwrap_or(100);
    let driver = p.get(&DRIVER);
    let follow = p.get(&FOLLOW);
    let mut follow_config = None;
    let listed: Vec<String> = if driver.is_empty() {
        p.get(&TOPICS)
    } else {
        let mut config = stamp_sync::policy::FollowConfig::new(0)
            .queue_size(usize::try_from(p.get(&INPUT_QOS.depth)).unwrap_or(100));
        if let Some(w) = p.get(&MAX_WAIT) {
            config = config.max_wait(w);
        }
        let mut listed = vec![driver.clone()];
        for (k, f) in follow.iter().enumerate() {
            if let Some((topic, mode)) = follower(f) {
                config = config.follow(k + 1, mode);
                listed.push(topic.to_string());
            }
        }
        follow_config = Some(config);
        listed
    };
    let topics: Vec<String> = listed.iter().map(|t| resolve_topic(&rt.node, t)).collect();
    let suffix = p.get(&OUTPUT_SUFFIX);
    let outputs: Vec<String> = topics.iter().map(|t| format!("{t}{suffix}")).collect();
    let policy = p.policy()?;
    let mut drop_out = stamp_sync_nodes::drop_out(&p);
    let print_sets = p.get(&PRINT_SETS);
    let wait =
        StdDuration::from_nanos(u64::try_from(p.get(&WAIT_FOR_TOPICS).as_nanos()).unwrap_or(0));
    let how = match &follow_config {
        Some(c) => {
            let modes: Vec<String> = (c.follow.iter())
                .map(|(k, m)| format!("{} {m}", topics[*k]))
                .collect();
            format!(
                "the follower policy (driver {}, {})",
                topics[0],
                modes.join(", ")
            )
        }
        None => policy.to_string(),
    };
    log::info!(
        "relaying {} -> {} with {how}, input QoS {}",
        topics.join(", "),
        outputs.join(", "),
        p.get(&INPUT_QOS.qos)
    );

    let raw = RawNode::create(&format!("{NAME}_transport"), "").inspect_err(|e| fail(e))?;
    let clock = rt.clock.clone();
    let on_set = print_sets.then(|| {
        Box::new(|set: RelayedSet<'_>| {
            let stamp = |m: &stamp_sync_r2r::raw::SerializedMsg| {
                m.header_stamp().map_or(-1, |s| s.as_nanos()).to_string()
            };
            let (kind, fields) = match set {
                RelayedSet::Members(members) => {
                    let fields: Vec<String> = members
                        .iter()
                        .map(|m| m.map_or(String::new(), stamp))
                        .collect();
                    let whole = members.iter().all(Option::is_some);
                    (if whole { "set" } else { "partial" }, fields)
                }
                // The driver's stamp, then per follower its stamps joined by `;`.
                RelayedSet::Follow(f) => {
                    let mut fields = vec![stamp(&f.driver)];
                    for (_, part) in &f.followers {
                        let s: Vec<String> = part.messages().into_iter().map(stamp).collect();
                        fields.push(s.join(";"));
                    }
                    ("follow", fields)
                }
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{kind} {}", fields.join(","));
            let _ = out.flush();
        }) as stamp_sync_r2r::relay::OnSet
    });
    let spec = RelaySpec {
        topics: topics.clone(),
        outputs,
        qos: qos.clone(),
        output_qos: QosProfile::default().keep_last(depth),
        policy,
        follow: follow_config,
        options: match drop_out {
            (Some(d), clock) => stamp_sync::Options::new()
                .drop_out_after(d)
                .drop_out_clock(clock),
            (None, _) => stamp_sync::Options::default(),
        },
        wait_for_topics: wait,
    };
    let relay = Relay::start(raw, spec, move || clock.now(), on_set).inspect_err(|e| fail(e))?;
    log::info!(
        "types: {}",
        topics
            .iter()
            .zip(relay.types())
            .map(|(t, ty)| format!("{t} {ty}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Accepted parameter changes go to the relay.
    let (tx, rx) = mpsc::channel::<()>();
    rt.pool.spawner().spawn_local(async move {
        while changes.next().await.is_some() {
            let _ = tx.send(());
        }
    })?;

    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let mut diagnostics = DiagnosticsPublisher::new(&mut rt.node, &topic_refs, &qos)?;
    let mut stall = StallWatch::new(
        topic_refs.iter().map(|t| (*t, &qos)),
        p.get(&health::STALL_AFTER).unwrap_or(Duration::MAX),
    );
    let mut last_sets = 0u64;
    let mut next_diag = rt.clock.now();
    let mut next_summary = rt.clock.now();
    let mut summarized = relay.diagnostics();
    let mut lost_summarized = relay.lost();
    let commands = stamp_sync_nodes::stdin_commands();
    let started = std::time::Instant::now();
    loop {
        rt.spin_once(StdDuration::from_millis(20));
        if !relay.is_running() {
            return relay.stop().map_err(|e| {
                fail(&e);
                e.into()
            });
        }
        let now = rt.clock.now();
        let p = rt.params();
        if rx.try_iter().count() > 0 {
            match p.policy() {
                Ok(config) => match relay.set_policy(&config) {
                    Ok(()) => log::info!("policy now {config}"),
                    Err(e) => log::error!("cannot switch policy: {e}"),
                },
                Err(e) => log::error!("cannot switch policy: {e}"),
            }
            let now_drop_out = stamp_sync_nodes::drop_out(&p);
            if now_drop_out != drop_out {
                drop_out = now_drop_out;
                match relay.set_drop_out(drop_out.0, drop_out.1) {
                    Ok(()) => log::info!(
                        "drop_out_after now {} ({} clock)",
                        drop_out.0.map_or("off".to_string(), |d| d.to_string()),
                        drop_out.1.as_str()
                    ),
                    Err(e) => log::error!("cannot set drop_out_after: {e}"),
                }
            }
        }
        let Some(d) = relay.diagnostics() else {
            continue;
        };
        let mut quit = false;
        while let Ok(c) = commands.try_recv() {
            match c.trim() {
                "stats" => stamp_sync_nodes::say(&stamp_sync_nodes::stats_line_with_lost(
                    &d,
                    started.elapsed().as_millis(),
                    &relay.lost(),
                )),
                "quit" => quit = true,
                other => eprintln!("{NAME}: unknown command {other:?}"),
            }
        }
        if quit {
            stamp_sync_nodes::say(&stamp_sync_nodes::stats_line_with_lost(
                &d,
                started.elapsed().as_millis(),
                &relay.lost(),
            ));
            return relay.stop().map_err(Into::into);
        }
        if d.sets != last_sets {
            last_sets = d.sets;
            stall.delivered(now);
        }
        if p.get(&health::STALL_AFTER).is_some() {
            stall.check(&rt.node, now);
        }
        if let Some(period) = p.get(&health::DIAGNOSTICS_PERIOD) {
            if now >= next_diag {
                next_diag = now.saturating_add(period);
                diagnostics.set_lost(&relay.lost());
                if let Err(e) = diagnostics.publish(&rt.node, now, &d) {
                    log::warn!("cannot publish /diagnostics: {e}");
                }
            }
        }
        if let Some(every) = p.get(&SUMMARY_PERIOD) {
            if now >= next_summary {
                next_summary = now.saturating_add(every);
                let lost = relay.lost();
                summarize(summarized.as_ref(), &d, &topics, (&lost_summarized, &lost));
                summarized = Some(d);
                lost_summarized = lost;
            }
        }
    }
}

/// Drops since the last summary, per input and reason, and messages the
/// middleware lost on the way (`lost`: the totals then and now), on rosout.
fn summarize(
    before: Option<&stamp_sync::Diagnostics>,
    now: &stamp_sync::Diagnostics,
    topics: &[String],
    lost: (&[Option<u64>], &[Option<u64>]),
) {
    let mut parts = Vec::new();
    for (ch, c) in now.channels.iter().enumerate() {
        for r in stamp_sync::DropReason::ALL {
            let was = before
                .and_then(|b| b.channels.get(ch))
                .map_or(0, |b| b.dropped_for(r));
            let n = c.dropped_for(r).saturating_sub(was);
            if n > 0 {
                let topic = topics.get(ch).map_or("?", String::as_str);
                parts.push(format!("{topic} {r} {n}"));
            }
        }
    }
    let mut lost_parts = Vec::new();
    for (ch, total) in lost.1.iter().enumerate() {
        let was = lost.0.get(ch).copied().flatten().unwrap_or(0);
        let n = total.unwrap_or(0).saturating_sub(was);
        if n > 0 {
            let topic = topics.get(ch).map_or("?", String::as_str);
            lost_parts.push(format!("{topic} {n}"));
        }
    }
    let sets = now.sets - before.map_or(0, |b| b.sets);
    match (parts.is_empty(), lost_parts.is_empty()) {
        (true, true) => {}
        (false, true) => log::info!("{sets} sets; dropped: {}", parts.join(", ")),
        (true, false) => log::info!("{sets} sets; lost on the way: {}", lost_parts.join(", ")),
        (false, false) => log::info!(
            "{sets} sets; dropped: {}; lost on the way: {}",
            parts.join(", "),
            lost_parts.join(", ")
        ),
    }
}
