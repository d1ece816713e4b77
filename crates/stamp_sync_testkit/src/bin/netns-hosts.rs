//! Test hosts by hand (see `stamp_sync_testkit::net`): makes the hosts
//! named on the command line, prints each one's namespace and address, and
//! runs the link until stdin ends, reading commands from it:
//!
//! ```text
//! set HOST delay=20ms jitter=5ms loss=0.02   # the link's impairment
//! down HOST | up HOST                         # a partition
//! counts                                      # frames per link
//! ```
//!
//! Run a process in a host with `ip netns exec NAMESPACE CMD`, with
//! `ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET FASTDDS_BUILTIN_TRANSPORTS=UDPv4`.
//! Everything is torn down when stdin ends.

use std::io::BufRead;
use std::process::ExitCode;

use stamp_sync::Duration;
use stamp_sync_testkit::net::{Link, Net};

fn std_duration(d: Duration) -> Result<std::time::Duration, String> {
    u64::try_from(d.as_nanos())
        .map(std::time::Duration::from_nanos)
        .map_err(|_| format!("{d}: must not be negative"))
}

fn set(link: &mut Link, words: &[&str]) -> Result<(), String> {
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or(format!("{w:?}: expected KEY=VALUE"))?;
        match k {
            "delay" => link.delay = std_duration(v.parse().map_err(|e| format!("{w}: {e}"))?)?,
            "jitter" => link.jitter = std_duration(v.parse().map_err(|e| format!("{w}: {e}"))?)?,
            "loss" => {
                let p: f64 = v.parse().map_err(|e| format!("{w}: {e}"))?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!("{w}: a probability from 0 to 1"));
                }
                link.loss = p;
            }
            _ => return Err(format!("{k:?}: expected delay, jitter or loss")),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() || names.iter().any(|n| n.starts_with('-')) {
        eprintln!(
            "usage: netns-hosts HOST... (commands on stdin: set HOST delay=.. jitter=.. loss=..; down HOST; up HOST; counts)"
        );
        return ExitCode::from(2);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let net = match Net::new(&refs) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("netns-hosts: {e}");
            return ExitCode::FAILURE;
        }
    };
    for n in &names {
        println!("host {n} {} {}", net.namespace(n), net.address(n));
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let known = |h: &str| names.iter().any(|n| n == h);
        let r = match words.as_slice() {
            [] => Ok(()),
            ["counts"] => {
                for n in &names {
                    println!("counts {n} {:?}", net.counts(n));
                }
                Ok(())
            }
            ["down" | "up", h] if known(h) => {
                net.set_up(h, words[0] == "up");
                Ok(())
            }
            ["set", h, rest @ ..] if known(h) => {
                let mut link = net.link(h);
                set(&mut link, rest).map(|()| net.set(h, link))
            }
            _ => Err(format!("{line:?}: unknown command or host")),
        };
        match r {
            Ok(()) => println!("ok"),
            Err(e) => println!("error {e}"),
        }
    }
    ExitCode::SUCCESS
}
