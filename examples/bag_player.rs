//! Plays a bag's messages live: every message of the chosen topics is
//! published as its recorded bytes (raw CDR) through r2r's untyped
//! publisher, in recorded (log-time) order and at recorded pace, optionally
//! sped up. A stand-in for `ros2 bag play`, for the bag → live tests.
//!
//! Parameters: `bag` (a rosbag2 `.mcap`/`.db3` file or bag directory;
//! required), `topics` (comma-separated; required), `speed` (1.0: recorded
//! pace; 10.0: ten times faster), `duration` (seconds of the recording to
//! play from its first message of those topics; 0 = all), `qos`, `depth`,
//! `wait_subscribers`, `wait_timeout`, `start_on_stdin`, `linger` (as for
//! `camera_publisher`).
//!
//! Each topic is published under its recorded name and type (remap with
//! `-r`); the type must have type support in this ROS 2 environment (with
//! the wheels of `scripts/ros-setup.sh`: std_msgs, sensor_msgs,
//! geometry_msgs). Prints `pub <topic index> <header stamp ns>` per
//! message and `published <topic>=<n> ...` at the end, on stdout.
//!
//! ```text
//! cargo run --example bag_player --features r2r,bag -- --ros-args \
//!   -p bag:=tests/data/bags/ros2/sick_db3 -p topics:=/sick_lms_1xx/scan,/cloud
//! ```
mod common;

use std::error::Error;
use std::io::Write as _;
use std::time::{Duration, Instant};

use common::{param_bool, param_f64, param_i64, param_str, qos_param};
use stamp_sync::bag::{Bag, Encoding};

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = r2r::Context::create()?;
    let mut node = r2r::Node::create(ctx, "bag_player", "")?;
    let path = param_str(&node, "bag", "")?;
    let topics = param_str(&node, "topics", "")?;
    let speed = param_f64(&node, "speed", 1.0)?;
    let duration = param_f64(&node, "duration", 0.0)?;
    let wait_subscribers = param_i64(&node, "wait_subscribers", 0)?.max(0) as usize;
    let wait_timeout = param_f64(&node, "wait_timeout", 30.0)?;
    let start_on_stdin = param_bool(&node, "start_on_stdin", false)?;
    let linger = param_bool(&node, "linger", false)?;
    let qos = qos_param(&node)?;
    if path.is_empty() || topics.is_empty() {
        return Err("set -p bag:=PATH and -p topics:=/a,/b".into());
    }
    if !(speed > 0.0 && speed.is_finite()) {
        return Err(format!("speed must be > 0, got {speed}").into());
    }

    let bag = Bag::open(&path)?;
    let names: Vec<&str> = topics.split(',').map(str::trim).collect();
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
        let publisher = node
            .create_publisher_untyped(name, &info.type_name, qos.clone())
            .map_err(|e| format!("cannot publish {name} as {}: {e}", info.type_name))?;
        ids.push(id);
        pubs.push(publisher);
    }
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
            n += p.get_inter_process_subscription_count()?;
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
        node.spin_once(Duration::from_millis(10));
    }
    if start_on_stdin {
        let mut go = String::new();
        std::io::stdin().read_line(&mut go)?;
    }
    eprintln!(
        "bag_player: playing {} messages of {} topics at {speed}x",
        messages.len(),
        names.len()
    );

    let mut published = vec![0u64; names.len()];
    let mut out = std::io::stdout().lock();
    let t0 = Instant::now();
    let l0 = messages
        .first()
        .map_or(0, |p| p.message.log_time.as_nanos());
    for p in &messages {
        // Recorded pace: the message's offset in the recording, scaled.
        let offset = (p.message.log_time.as_nanos() - l0).max(0) as f64 / speed;
        let due = t0 + Duration::from_nanos(offset as u64);
        loop {
            node.spin_once(Duration::ZERO);
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(5)));
        }
        let Some(k) = ids.iter().position(|&id| id == p.message.topic) else {
            continue;
        };
        pubs[k].publish_raw(&p.data)?;
        published[k] += 1;
        let stamp = p.message.header_stamp.map_or(-1, |s| s.as_nanos());
        let _ = writeln!(out, "pub {k} {stamp}");
    }
    let mut line = String::from("published");
    for (t, n) in names.iter().zip(&published) {
        line.push_str(&format!(" {t}={n}"));
    }
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    eprintln!("bag_player: done in {:.2} s", t0.elapsed().as_secs_f64());
    if linger {
        loop {
            node.spin_once(Duration::from_millis(100));
        }
    }
    Ok(())
}
