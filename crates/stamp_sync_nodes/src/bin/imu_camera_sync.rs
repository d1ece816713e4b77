//! `imu_camera_sync`: for each camera frame, every IMU sample since the
//! previous frame (the follower policy, `ranged`): what a visual-inertial
//! front end integrates between frames.
//!
//! Topics (remap, e.g. `-r image:=/camera1/image -r imu:=/imu/data`):
//! `image` (`sensor_msgs/Image`, the driver), `imu` (`sensor_msgs/Imu`).
//! Parameters: `qos` (`sensor_data`), `depth` (100), `durability`,
//! `queue_size` (100: frames waiting, and IMU samples held), `max_wait`
//! (seconds; a frame goes out once the newest stamp is that far past it,
//! even if the IMU has not passed it; 0 = wait), `print_sets` (true).
//!
//! Prints `frame <stamp ns> imu=<n> span_ms=<first..last of them, ms>` per
//! frame (`<name>: matched` on stderr once both inputs have publishers); a line `stats` on stdin prints the counters (`stats t_ms= sets=
//! ... ch0=received:..,emitted:..,dropped:..,queued:.. ch1=... drops=...`;
//! channel 0 the frames, 1 the IMU), `quit` prints them and exits.

use std::error::Error;
use std::time::{Duration as StdDuration, Instant};

use futures::{FutureExt, StreamExt};
use r2r::sensor_msgs::msg::{Image, Imu};
use stamp_sync::policy::{FollowConfig, Mode, SearchState};
use stamp_sync::{Diagnostics, Duration};
use stamp_sync_nodes::{keys, say, stats_line, stdin_commands};
use stamp_sync_r2r::HasHeader;
use stamp_sync_r2r::follow::subscribe_following;
use stamp_sync_r2r::params::{Key, Params};
use stamp_sync_r2r::runtime::Runtime;

const NAME: &str = "imu_camera_sync";

const QUEUE_SIZE: Key<i64> = Key::int(
    "queue_size",
    100,
    1,
    "frames waiting, and IMU samples held, at most",
)
.start_up();
const MAX_WAIT: Key<Option<Duration>> = Key::seconds_or_off(
    "max_wait",
    0.0,
    "a frame goes out once the newest stamp is this many seconds past it (0 = wait for the IMU)",
)
.start_up();
const PRINT_SETS: Key<bool> = Key::flag("print_sets", true, "print `frame ...` per frame");

fn params() -> Params {
    keys::INPUT_QOS
        .declare(Params::new())
        .with(&QUEUE_SIZE)
        .with(&MAX_WAIT)
        .with(&PRINT_SETS)
}

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code(NAME, run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let (mut rt, _changes) = Runtime::start(NAME, params())?;
    let p = rt.params();
    let qos = keys::INPUT_QOS.profile(&p);
    let mut config = FollowConfig::new(0)
        .follow(1, Mode::Ranged)
        .queue_size(usize::try_from(p.get(&QUEUE_SIZE)).unwrap_or(100));
    if let Some(w) = p.get(&MAX_WAIT) {
        config = config.max_wait(w);
    }
    let mut frames = subscribe_following::<Image, Imu>(
        &mut rt.node,
        ("image", qos.clone()),
        &[("imu", qos)],
        &config,
    )?;
    log::info!(
        "frames on image, IMU on imu (ranged), queue {}",
        config.queue_size
    );
    let print = p.get(&PRINT_SETS);
    let commands = stdin_commands();
    let started = Instant::now();
    let input_qos = keys::INPUT_QOS.profile(&p);
    let mut matched = false;
    loop {
        rt.spin_once(StdDuration::from_millis(5));
        // `<name>: matched` once both inputs have a matching publisher.
        if !matched
            && ["image", "imu"]
                .iter()
                .all(|t| stamp_sync_r2r::qos_report(&rt.node, t, &input_qos).is_ok_and(|r| r.ok()))
        {
            matched = true;
            eprintln!("{}: matched", rt.logger());
        }
        while let Some(Some(frame)) = frames.next().now_or_never() {
            if print {
                let imu = frame.ranged(0).unwrap_or_default();
                let span = match (imu.first(), imu.last()) {
                    (Some(a), Some(b)) => {
                        format!("{:.3}", b.stamp().since(a.stamp()).as_nanos() as f64 / 1e6)
                    }
                    _ => "-".to_string(),
                };
                say(&format!(
                    "frame {} imu={} span_ms={span}",
                    frame.driver.stamp().as_nanos(),
                    imu.len()
                ));
            }
        }
        let mut quit = false;
        let mut report = false;
        while let Ok(c) = commands.try_recv() {
            match c.trim() {
                "stats" => report = true,
                "quit" => quit = true,
                other => eprintln!("{NAME}: unknown command {other:?}"),
            }
        }
        if report || quit {
            let d = Diagnostics::new(frames.stats(), |c| frames.queued(c), SearchState::default());
            say(&stats_line(&d, started.elapsed().as_millis()));
        }
        if quit {
            return Ok(());
        }
    }
}
