//! `bag_player`: plays a rosbag2 bag's messages live, like `ros2 bag play
//! --clock`: every message of the chosen topics is published as its
//! recorded bytes (raw CDR, any type installed, found at run time), in
//! recorded (log-time) order at recorded pace times `speed`, and `/clock`
//! follows the bag's log time, so nodes with `use_sim_time:=true` run on
//! bag time.
//!
//! Parameters (read at start-up): `bag` (a rosbag2 `.mcap`/`.db3` file or
//! bag directory; required), `topics` (string[]; required), `speed` (1.0),
//! `duration` (seconds of the recording to play from its first message of
//! those topics; 0 = all), `clock` (publish `/clock`, true), `clock_rate`
//! (Hz of `/clock` between messages, 100), `qos` (`reliable` |
//! `sensor_data`), `depth`, `durability`, `wait_subscribers` (before playing, wait for this
//! many subscriptions in total, up to `wait_timeout` s), `start_on_stdin`,
//! `linger`.
//!
//! Prints `pub <topic index> <header stamp ns>` per message and
//! `published <topic>=<n> ...` at the end, on stdout.
//!
//! ```text
//! ros2 run stamp_sync bag_player --ros-args \
//!   -p bag:=tests/data/bags/ros2/sick_db3 -p topics:="[/sick_lms_1xx/scan, /cloud]"
//! ```

use std::error::Error;
use std::io::Write as _;
use std::time::{Duration, Instant};

use r2r::QosProfile;
use r2r::rosgraph_msgs::msg::Clock;
use stamp_sync::Stamp;
use stamp_sync::policy::settings::Min;
use stamp_sync_bag::{Bag, Encoding};
use stamp_sync_r2r::params::{Key, ParamError, Params, QosKeys};
use stamp_sync_r2r::raw::RawNode;
use stamp_sync_r2r::runtime::Runtime;

const BAG: Key<String> =
    Key::text("bag", "", &[], "a rosbag2 .mcap/.db3 file or bag directory").start_up();
const TOPICS: Key<Vec<String>> = Key::texts("topics", &[], 1, 64, "the topics to play").start_up();
const SPEED: Key<f64> = Key::number(
    "speed",
    1.0,
    Min::Above(0.0),
    "playback speed (2.0 = twice the recorded pace)",
);
const DURATION: Key<f64> = Key::number(
    "duration",
    0.0,
    Min::AtLeast(0.0),
    "seconds of the recording to play (0 = all)",
);
const CLOCK: Key<bool> = Key::flag("clock", true, "publish /clock from the bag's log time");
const CLOCK_RATE: Key<f64> = Key::number(
    "clock_rate",
    100.0,
    Min::Above(0.0),
    "/clock messages per second between bag messages",
);
const OUTPUT_QOS: QosKeys = QosKeys::new(
    "reliable",
    100,
    "publisher QoS: reliable, sensor_data or best_effort",
);
const WAIT_SUBSCRIBERS: Key<i64> = Key::int(
    "wait_subscribers",
    0,
    0,
    "before playing, wait for this many subscriptions",
);
const WAIT_TIMEOUT: Key<f64> = Key::number(
    "wait_timeout",
    30.0,
    Min::AtLeast(0.0),
    "seconds to wait for them",
);
const START_ON_STDIN: Key<bool> = Key::flag(
    "start_on_stdin",
    false,
    "then also wait for a line on stdin",
);
const LINGER: Key<bool> = Key::flag("linger", false, "keep spinning after the last message");

fn params() -> Params {
    OUTPUT_QOS
        .declare(Params::new())
        .with(&BAG)
        .with(&TOPICS)
        .with(&SPEED)
        .with(&DURATION)
        .with(&CLOCK)
        .with(&CLOCK_RATE)
        .with(&WAIT_SUBSCRIBERS)
        .with(&WAIT_TIMEOUT)
        .with(&START_ON_STDIN)
        .with(&LINGER)
        .check(|p| {
            if p.get(&BAG).is_empty() {
                return Err(ParamError::Conflict(
                    "bag is empty: set -p bag:=PATH".into(),
                ));
            }
            Ok(())
        })
}

fn to_time(s: Stamp) -> r2r::builtin_interfaces::msg::Time {
    let (sec, nanosec) = s.to_ros().unwrap_or((0, 0));
    r2r::builtin_interfaces::msg::Time { sec, nanosec }
}

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code("bag_player", run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let (mut rt, _changes) = Runtime::start("bag_player", params())?;
    let p = rt.params();
    let path = p.get(&BAG);
    let names: Vec<String> = p.get(&TOPICS);
    let speed = p.get(&SPEED);
    let duration = p.get(&DURATION);
    let clock_on = p.get(&CLOCK);
    let clock_period = Duration::from_secs_f64(1.0 / p.get(&CLOCK_RATE));
    let wait_subscribers = usize::try_from(p.get(&WAIT_SUBSCRIBERS)).unwrap_or(0);
    let wait_timeout = p.get(&WAIT_TIMEOUT);
    let start_on_stdin = p.get(&START_ON_STDIN);
    let linger = p.get(&LINGER);
    let qos = OUTPUT_QOS.profile(&p);

    let bag = Bag::open(&path)?;
    let raw = RawNode::create("bag_player_transport", "")?;
    let mut ids = Vec::with_capacity(names.len());
    let mut pubs = Vec::with_capacity(names.len());
    for name in &names {
        let id = bag.topic_index(name)?;
        let info = &bag.topics()[id];
        if info.encoding != Encoding::Cdr {
            return Err(format!(
                "{name} is {:?}, not CDR: only ROS 2 bags play live",
                info.encoding_name
            )
            .into());
        }
        let topic = stamp_sync_r2r::resolve_topic(&rt.node, name);
        let publisher = raw
            .publisher(&topic, &info.type_name, qos.clone())
            .map_err(|e| format!("cannot publish {name} as {}: {e}", info.type_name))?;
        ids.push(id);
        pubs.push(publisher);
    }
    let clock_pub = rt
        .node
        .create_publisher::<Clock>("/clock", QosProfile::default())?;
    let mut messages = bag.read_payloads(&ids)?;
    if let (Some(first), true) = (messages.first(), duration > 0.0) {
        let end = first.message.log_time.as_nanos() + (duration * 1e9) as i64;
        messages.retain(|p| p.message.log_time.as_nanos() < end);
    }

    // Discovery: wait for the subscriptions, bounded.
    let deadline = Instant::now() + Duration::from_secs_f64(wait_timeout);
    loop {
        let mut n = 0;
        for p in &pubs {
            n += p.subscription_count()?;
        }
        if n >= wait_subscribers {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {n} of {wait_subscribers} subscriptions after {wait_timeout} s"
            )
            .into());
        }
        rt.spin_once(Duration::from_millis(10));
    }
    if start_on_stdin {
        let mut go = String::new();
        std::io::stdin().read_line(&mut go)?;
    }
    log::info!(
        "playing {} messages of {} topics at {speed}x{}",
        messages.len(),
        names.len(),
        if clock_on { ", publishing /clock" } else { "" }
    );

    let mut published = vec![0u64; names.len()];
    let mut out = std::io::stdout().lock();
    let t0 = Instant::now();
    let l0 = messages
        .first()
        .map_or(0, |p| p.message.log_time.as_nanos());
    // Bag time now: the first log time plus the scaled wall time elapsed.
    let bag_now =
        |t0: Instant| Stamp::from_nanos(l0 + (t0.elapsed().as_secs_f64() * speed * 1e9) as i64);
    let mut next_clock = Instant::now();
    for m in &messages {
        let offset = (m.message.log_time.as_nanos() - l0).max(0) as f64 / speed;
        let due = t0 + Duration::from_nanos(offset as u64);
        loop {
            let now = Instant::now();
            if clock_on && now >= next_clock {
                next_clock = now + clock_period;
                let t = bag_now(t0).min(m.message.log_time);
                clock_pub.publish(&Clock { clock: to_time(t) })?;
            }
            rt.spin_once(Duration::ZERO);
            if now >= due {
                break;
            }
            let wake = due.min(if clock_on { next_clock } else { due });
            std::thread::sleep(
                wake.saturating_duration_since(now)
                    .min(Duration::from_millis(5)),
            );
        }
        let Some(k) = ids.iter().position(|&id| id == m.message.topic) else {
            continue;
        };
        if clock_on {
            clock_pub.publish(&Clock {
                clock: to_time(m.message.log_time),
            })?;
        }
        pubs[k].publish_bytes(&m.data)?;
        published[k] += 1;
        let stamp = m.message.header_stamp.map_or(-1, |s| s.as_nanos());
        let _ = writeln!(out, "pub {k} {stamp}");
    }
    let mut line = String::from("published");
    for (t, n) in names.iter().zip(&published) {
        line.push_str(&format!(" {t}={n}"));
    }
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    log::info!("done in {:.2} s", t0.elapsed().as_secs_f64());
    if linger {
        loop {
            rt.spin_once(Duration::from_millis(100));
        }
    }
    Ok(())
}
