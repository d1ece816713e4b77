//! Shared by the example nodes: ROS parameters with defaults, the `set `
//! output line, and the spin loop.
#![allow(dead_code)]

use std::error::Error;
use std::io::Write as _;
use std::time::Duration;

use futures::executor::LocalPool;
use stamp_sync::Stamp;

/// A ROS parameter (`--ros-args -p name:=value`), or `default` if unset.
pub fn param_f64(node: &r2r::Node, name: &str, default: f64) -> Result<f64, Box<dyn Error>> {
    // Integers given as `-p rate:=30` are accepted too.
    if let Ok(Some(v)) = node.get_parameter::<Option<i64>>(name) {
        return Ok(v as f64);
    }
    Ok(node.get_parameter::<Option<f64>>(name)?.unwrap_or(default))
}

/// An integer ROS parameter, or `default`.
pub fn param_i64(node: &r2r::Node, name: &str, default: i64) -> Result<i64, Box<dyn Error>> {
    Ok(node.get_parameter::<Option<i64>>(name)?.unwrap_or(default))
}

/// A boolean ROS parameter, or `default`.
pub fn param_bool(node: &r2r::Node, name: &str, default: bool) -> Result<bool, Box<dyn Error>> {
    Ok(node.get_parameter::<Option<bool>>(name)?.unwrap_or(default))
}

/// A string ROS parameter, or `default`.
pub fn param_str(node: &r2r::Node, name: &str, default: &str) -> Result<String, Box<dyn Error>> {
    Ok(node
        .get_parameter::<Option<String>>(name)?
        .unwrap_or_else(|| default.to_string()))
}

/// The subscription QoS named by the `qos` parameter: `sensor_data` (best
/// effort, matches every publisher) or `reliable` (keep last `depth`).
pub fn qos_param(node: &r2r::Node) -> Result<r2r::QosProfile, Box<dyn Error>> {
    let depth = param_i64(node, "depth", 100)?.max(1) as usize;
    match param_str(node, "qos", "reliable")?.as_str() {
        "sensor_data" | "best_effort" => Ok(r2r::QosProfile::sensor_data().keep_last(depth)),
        "reliable" => Ok(r2r::QosProfile::default().keep_last(depth)),
        other => Err(format!("qos must be sensor_data or reliable, not {other:?}").into()),
    }
}

/// Prints `set <ns>,<ns>,... <extra>` and flushes.
pub fn print_set(stamps: &[Stamp], extra: &str) {
    let mut line = String::from("set ");
    for (i, s) in stamps.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&s.as_nanos().to_string());
    }
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(extra);
    }
    let mut out = std::io::stdout().lock();
    // A closed pipe just ends the output; the node keeps running.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints `line` on stdout and flushes.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe just ends the output; the node keeps running.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Spins `node` and runs the tasks of `pool` until `done()` says so.
pub fn spin(node: &mut r2r::Node, pool: &mut LocalPool, done: impl Fn() -> bool) {
    while !done() {
        node.spin_once(Duration::from_millis(5));
        pool.run_until_stalled();
    }
}

/// Prints `<node>: matched` on stderr once every topic has a publisher
/// whose QoS matches (the subscriber's side of discovery); `done`
/// remembers it.
pub fn report_matched(node: &r2r::Node, topics: &[(&str, &r2r::QosProfile)], done: &mut bool) {
    if *done {
        return;
    }
    let all = topics
        .iter()
        .all(|(t, q)| stamp_sync::r2r::qos_report(node, t, q).is_ok_and(|r| r.ok()));
    if all {
        *done = true;
        eprintln!("{}: matched", node.name().unwrap_or_default());
    }
}
