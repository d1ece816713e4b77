//! Measures what `sync_relay` adds: subscribes (raw, reliable) to two image
//! topics and to their relayed copies, on one clock in one process. A
//! subscriber that synchronizes the pair itself has it when the second
//! image arrives; the relay's consumer has it when the second relayed image
//! arrives. The added latency of a set is the difference. Run by
//! `scripts/relay-latency.sh`.
//!
//! ```text
//! relay_latency SECONDS TOPIC_A TOPIC_B [SUFFIX]
//! ```
//! Prints `added n= p50_us= p99_us= max_us=` (per set), `spread n= p50_us=
//! p99_us=` (second direct image minus first, for scale) and `received
//! direct= relayed=`.
use std::collections::HashMap;
use std::error::Error;
use std::time::{Duration, Instant};

use r2r::QosProfile;
use stamp_sync_r2r::raw::RawNode;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: relay_latency SECONDS TOPIC_A TOPIC_B [SUFFIX]".into());
    }
    let secs: f64 = args[1].parse()?;
    let suffix = args.get(4).map_or("/synced", String::as_str);
    let ty = "sensor_msgs/msg/Image";
    let node = RawNode::create("relay_latency", "")?;
    let qos = QosProfile::default().keep_last(10);
    let topics = [
        args[2].clone(),
        args[3].clone(),
        format!("{}{suffix}", args[2]),
        format!("{}{suffix}", args[3]),
    ];
    let mut subs = Vec::new();
    for t in &topics {
        subs.push(node.subscribe(t, ty, qos.clone())?);
    }
    let mut waiter = node.waiter()?;
    // (input, stamp) -> arrival, direct and relayed.
    let mut direct: HashMap<(usize, i64), Instant> = HashMap::new();
    let mut relayed: HashMap<(usize, i64), Instant> = HashMap::new();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        {
            let refs: Vec<_> = subs.iter().collect();
            waiter.wait(&refs, Some(Duration::from_millis(50)))?;
        }
        for (k, sub) in subs.iter_mut().enumerate() {
            while let Some(m) = sub.take()? {
                let at = Instant::now();
                let stamp = m.header_stamp()?.as_nanos();
                let map = if k < 2 { &mut direct } else { &mut relayed };
                map.insert((k % 2, stamp), at);
            }
        }
    }
    // Per set (stamp): when its second image arrived, each way.
    let mut added: Vec<u64> = Vec::new();
    let mut spread: Vec<u64> = Vec::new();
    let stamps: std::collections::BTreeSet<i64> = relayed.keys().map(|k| k.1).collect();
    for s in stamps {
        let both = |m: &HashMap<(usize, i64), Instant>| -> Option<Instant> {
            Some((*m.get(&(0, s))?).max(*m.get(&(1, s))?))
        };
        if let (Some(d), Some(r)) = (both(&direct), both(&relayed)) {
            added.push(r.saturating_duration_since(d).as_micros() as u64);
            let (a, b) = (direct[&(0, s)], direct[&(1, s)]);
            spread.push(a.max(b).duration_since(a.min(b)).as_micros() as u64);
        }
    }
    added.sort_unstable();
    let pct = |v: &[u64], q: f64| {
        v.get(((v.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "added n={} p50_us={} p99_us={} max_us={}",
        added.len(),
        pct(&added, 0.5),
        pct(&added, 0.99),
        added.last().copied().unwrap_or(0)
    );
    spread.sort_unstable();
    println!(
        "spread n={} p50_us={} p99_us={}",
        spread.len(),
        pct(&spread, 0.5),
        pct(&spread, 0.99)
    );
    println!("received direct={} relayed={}", direct.len(), relayed.len());
    Ok(())
}
