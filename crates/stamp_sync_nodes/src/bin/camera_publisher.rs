//! Stands in for camera drivers. Each tick publishes
//! * camera 1: `camera1/image`, `camera1/depth` and `camera1/camera_info`,
//!   all with the identical stamp;
//! * camera 2: `camera2/image` and `camera2/camera_info` with the stamp
//!   jittered by up to ±`jitter_ms` (deterministic from `seed`).
//!
//! With `imu_rate` (Hz, 0 = off) it also publishes `imu/data`
//! (`sensor_msgs/Imu`, stamped on camera 1's clock) at that rate.
//!
//! Parameters: `rate` (Hz, 30), `count` (ticks, 0 = forever), `jitter_ms`
//! (3.0), `seed` (1), `start_sec` (stamp of tick 0; default: now),
//! `first_index` (0), `width`/`height` (64×48), `qos` (`reliable` or
//! `sensor_data`), `depth` (100), `durability` (`volatile` or
//! `transient_local`: late subscribers get the last `depth` ticks), `wait_subscribers` (before the first tick,
//! wait until the publishers have this many subscriptions in total, up to
//! `wait_timeout` s), `start_on_stdin` (then also wait for a line on stdin),
//! `linger` (keep spinning after `count`).
//!
//! Faults, for the reliability tests and the soak:
//! * `pause_topic` (e.g. `camera1/depth`), `pause_at` (tick), `pause_secs`:
//!   that topic publishes nothing for `pause_secs` × `rate` ticks from
//!   tick `pause_at` on (a dying channel that comes back);
//! * `burst_at` (tick), `burst_secs`, `burst_factor` (10), `burst_topic`:
//!   for `burst_secs` the ticks come `burst_factor` times faster (stamps
//!   and wall clock). With `burst_topic` set, only that topic floods; the
//!   others keep their nominal rate (every `burst_factor`-th tick).
//!
//! `count` counts every tick, burst ticks included.
//!
//! Prints `pub <index> <camera1 stamp ns> <camera2 stamp ns>` per tick, and
//! at the end `published <topic>=<n> ...` (messages per topic) on stdout.
//!
//! ```text
//! ros2 run stamp_sync camera_publisher --ros-args -p rate:=30.0
//! ```
//!
//! Its parameters are declared (`ros2 param list /camera_publisher`); they
//! are read at start-up.

use std::error::Error;
use std::io::Write as _;
use std::time::{Duration as StdDuration, Instant, SystemTime};

use stamp_sync::Duration;

use r2r::sensor_msgs::msg::{CameraInfo, Image, Imu};
use r2r::std_msgs::msg::Header;
use stamp_sync::Stamp;
use stamp_sync::policy::settings::Min;
use stamp_sync_r2r::params::{Key, Params, QosKeys};
use stamp_sync_r2r::runtime::Runtime;

fn header(stamp: Stamp, frame: &str) -> Result<Header, Box<dyn Error>> {
    Ok(Header {
        stamp: stamp_sync_r2r::time_of_stamp(stamp)?,
        frame_id: frame.to_string(),
    })
}

fn image(h: Header, w: u32, ht: u32, encoding: &str, bpp: u32) -> Image {
    Image {
        header: h,
        height: ht,
        width: w,
        encoding: encoding.to_string(),
        is_bigendian: 0,
        step: w * bpp,
        data: vec![0; (w * ht * bpp) as usize],
    }
}

fn info(h: Header, w: u32, ht: u32) -> CameraInfo {
    let (fx, cx, cy) = (w as f64, w as f64 / 2.0, ht as f64 / 2.0);
    CameraInfo {
        header: h,
        height: ht,
        width: w,
        distortion_model: "plumb_bob".to_string(),
        d: vec![0.0; 5],
        k: vec![fx, 0.0, cx, 0.0, fx, cy, 0.0, 0.0, 1.0],
        r: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p: vec![fx, 0.0, cx, 0.0, 0.0, fx, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
        ..Default::default()
    }
}

/// A small deterministic generator (SplitMix64), so runs are repeatable.
struct Jitter(u64);
impl Jitter {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

const RATE: Key<f64> = Key::number("rate", 30.0, Min::Above(0.0), "ticks per second");
const COUNT: Key<i64> = Key::int("count", 0, 0, "ticks to publish (0 = forever)");
const IMU_RATE: Key<f64> = Key::number(
    "imu_rate",
    0.0,
    Min::AtLeast(0.0),
    "imu/data samples per second, on camera 1's clock (0 = none)",
);
const JITTER_MS: Key<f64> = Key::number(
    "jitter_ms",
    3.0,
    Min::AtLeast(0.0),
    "camera 2 stamp jitter, +- ms",
);
const SEED: Key<i64> = Key::int("seed", 1, i64::MIN, "jitter seed");
const FIRST_INDEX: Key<i64> = Key::int("first_index", 0, 0, "index of the first tick");
const WIDTH: Key<i64> = Key::int("width", 64, 1, "image width");
const HEIGHT: Key<i64> = Key::int("height", 48, 1, "image height");
const OUTPUT_QOS: QosKeys = QosKeys::new(
    "reliable",
    100,
    "publisher QoS: reliable, sensor_data or best_effort",
);
const WAIT_SUBSCRIBERS: Key<i64> = Key::int(
    "wait_subscribers",
    0,
    0,
    "before the first tick, wait for this many subscriptions",
);
const WAIT_TIMEOUT: Key<Duration> = Key::seconds("wait_timeout", 30.0, "seconds to wait for them");
const START_ON_STDIN: Key<bool> = Key::flag(
    "start_on_stdin",
    false,
    "then also wait for a line on stdin",
);
const LINGER: Key<bool> = Key::flag("linger", false, "keep spinning after count ticks");
const PAUSE_TOPIC: Key<String> = Key::text("pause_topic", "", &[], "a topic that pauses");
const PAUSE_AT: Key<i64> = Key::int("pause_at", 0, 0, "tick where it pauses");
const PAUSE_SECS: Key<f64> = Key::number("pause_secs", 0.0, Min::AtLeast(0.0), "for how long, s");
const BURST_AT: Key<i64> = Key::int("burst_at", 0, 0, "tick where a burst starts");
const BURST_SECS: Key<f64> = Key::number("burst_secs", 0.0, Min::AtLeast(0.0), "for how long, s");
const BURST_FACTOR: Key<i64> = Key::int("burst_factor", 10, 1, "how much faster");
const BURST_TOPIC: Key<String> = Key::text(
    "burst_topic",
    "",
    &[],
    "the only topic that floods (empty: all)",
);
const COLOR: Key<bool> = Key::flag(
    "color",
    false,
    "images in rgb8 (3 bytes a pixel) instead of mono8",
);
const ONLY: Key<Vec<String>> = Key::texts(
    "only",
    &[],
    0,
    5,
    "publish only these topics (empty: all five)",
);

/// `start_sec`: the stamp of tick 0, by default now.
fn start_sec(now_sec: i64) -> Key<i64> {
    Key::int(
        "start_sec",
        now_sec,
        i64::MIN,
        "stamp of tick 0, seconds (default: now)",
    )
}

fn params(now_sec: i64) -> Params {
    let p = Params::new()
        .with(&RATE)
        .with(&COUNT)
        .with(&IMU_RATE)
        .with(&JITTER_MS)
        .with(&SEED)
        .with(&start_sec(now_sec))
        .with(&FIRST_INDEX)
        .with(&WIDTH)
        .with(&HEIGHT);
    OUTPUT_QOS
        .declare(p)
        .with(&WAIT_SUBSCRIBERS)
        .with(&WAIT_TIMEOUT)
        .with(&START_ON_STDIN)
        .with(&LINGER)
        .with(&PAUSE_TOPIC)
        .with(&PAUSE_AT)
        .with(&PAUSE_SECS)
        .with(&BURST_AT)
        .with(&BURST_SECS)
        .with(&BURST_FACTOR)
        .with(&BURST_TOPIC)
        .with(&COLOR)
        .with(&ONLY)
}

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code("camera_publisher", run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let now_sec = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_secs() as i64;
    let (mut rt, _changes) = Runtime::start("camera_publisher", params(now_sec))?;
    let p = rt.params();
    let rate = p.get(&RATE);
    let count = p.get(&COUNT);
    let imu_rate = p.get(&IMU_RATE);
    let jitter_ms = p.get(&JITTER_MS);
    let seed = p.get(&SEED);
    let start_sec = p.get(&start_sec(now_sec));
    let first_index = p.get(&FIRST_INDEX);
    let width = p.get(&WIDTH).clamp(1, 4096) as u32;
    let height = p.get(&HEIGHT).clamp(1, 4096) as u32;
    let wait_subscribers = usize::try_from(p.get(&WAIT_SUBSCRIBERS)).unwrap_or(0);
    let wait_timeout = p.get(&WAIT_TIMEOUT).as_secs_f64();
    let linger = p.get(&LINGER);
    let start_on_stdin = p.get(&START_ON_STDIN);
    let qos = OUTPUT_QOS.profile(&p);
    let pause_topic = p.get(&PAUSE_TOPIC);
    let pause_at = p.get(&PAUSE_AT);
    let pause_secs = p.get(&PAUSE_SECS);
    let burst_at = p.get(&BURST_AT);
    let burst_secs = p.get(&BURST_SECS);
    let burst_factor = p.get(&BURST_FACTOR).max(1);
    let burst_topic = p.get(&BURST_TOPIC);
    let (encoding, bpp) = if p.get(&COLOR) {
        ("rgb8", 3)
    } else {
        ("mono8", 1)
    };
    let only: Vec<String> = p.get(&ONLY);
    let Runtime { node, pool, .. } = &mut rt;
    // Spins the node and runs its futures (the parameter services).
    let mut spin = |node: &mut r2r::Node, d: StdDuration| {
        node.spin_once(d);
        pool.run_until_stalled();
    };

    let img1 = node.create_publisher::<Image>("camera1/image", qos.clone())?;
    let depth1 = node.create_publisher::<Image>("camera1/depth", qos.clone())?;
    let info1 = node.create_publisher::<CameraInfo>("camera1/camera_info", qos.clone())?;
    let img2 = node.create_publisher::<Image>("camera2/image", qos.clone())?;
    let info2 = node.create_publisher::<CameraInfo>("camera2/camera_info", qos.clone())?;
    let imu = match imu_rate > 0.0 {
        true => Some(node.create_publisher::<Imu>("imu/data", qos)?),
        false => None,
    };

    // Discovery: wait for the subscriptions, bounded.
    let deadline = Instant::now() + StdDuration::from_secs_f64(wait_timeout);
    loop {
        let n = img1.get_inter_process_subscription_count()?
            + depth1.get_inter_process_subscription_count()?
            + info1.get_inter_process_subscription_count()?
            + img2.get_inter_process_subscription_count()?
            + info2.get_inter_process_subscription_count()?
            + imu
                .as_ref()
                .map_or(Ok(0), |p| p.get_inter_process_subscription_count())?;
        if n >= wait_subscribers {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {n} of {wait_subscribers} subscriptions after {wait_timeout} s"
            )
            .into());
        }
        spin(node, StdDuration::from_millis(10));
    }
    if start_on_stdin {
        // A supervisor (the integration tests) says when the subscribers
        // have matched this node's publishers from their side too.
        let mut go = String::new();
        std::io::stdin().read_line(&mut go)?;
    }
    log::info!("publishing at {rate} Hz");

    let period_ns = (1e9 / rate) as i64;
    let jitter_ns = (jitter_ms * 1e6) as i64;
    let pause_ticks = (pause_secs * rate).round() as i64;
    let burst_ticks = (burst_secs * rate).round() as i64 * burst_factor;
    let topics = [
        "camera1/image",
        "camera1/depth",
        "camera1/camera_info",
        "camera2/image",
        "camera2/camera_info",
    ];
    for t in [&pause_topic, &burst_topic].into_iter().chain(&only) {
        if !t.is_empty() && !topics.contains(&t.as_str()) {
            return Err(format!("unknown topic {t:?}; one of {topics:?}").into());
        }
    }
    let mut published = [0u64; 5];
    let mut jitter = Jitter(seed as u64);
    // Skip the jitter draws of the ticks before `first_index`.
    for _ in 0..first_index {
        jitter.next_unit();
    }
    // Stamps advance by the current tick period (shorter in a burst).
    let mut t_ns = start_sec * 1_000_000_000 + first_index * period_ns;
    let t0 = Instant::now();
    let mut next = t0;
    // IMU sample j: stamp t_ns(0) + j * imu_period, published at t0 + j * imu_period.
    let imu_period_ns = if imu_rate > 0.0 {
        (1e9 / imu_rate) as i64
    } else {
        0
    };
    let imu_start_ns = t_ns;
    let mut imu_j = 0i64;
    let mut imu_published = 0u64;
    let mut out = std::io::stdout().lock();
    let mut k = 0i64;
    while count == 0 || k < count {
        let index = first_index + k;
        let in_burst = burst_ticks > 0 && (burst_at..burst_at + burst_ticks).contains(&k);
        let paused = pause_ticks > 0 && (pause_at..pause_at + pause_ticks).contains(&k);
        // Does topic `t` publish on this tick?
        let on = |t: usize| {
            if !only.is_empty() && !only.iter().any(|o| o == topics[t]) {
                return false;
            }
            if paused && topics[t] == pause_topic {
                return false;
            }
            !in_burst
                || burst_topic.is_empty()
                || topics[t] == burst_topic
                || (k - burst_at) % burst_factor == 0
        };
        let s1 = Stamp::from_nanos(t_ns);
        let s2 = Stamp::from_nanos(s1.as_nanos() + (jitter.next_unit() * jitter_ns as f64) as i64);
        if on(0) {
            img1.publish(&image(header(s1, "camera1")?, width, height, encoding, bpp))?;
            published[0] += 1;
        }
        if on(1) {
            depth1.publish(&image(header(s1, "camera1")?, width, height, "32FC1", 4))?;
            published[1] += 1;
        }
        if on(2) {
            info1.publish(&info(header(s1, "camera1")?, width, height))?;
            published[2] += 1;
        }
        if on(3) {
            img2.publish(&image(header(s2, "camera2")?, width, height, encoding, bpp))?;
            published[3] += 1;
        }
        if on(4) {
            info2.publish(&info(header(s2, "camera2")?, width, height))?;
            published[4] += 1;
        }
        let _ = writeln!(out, "pub {index} {} {}", s1.as_nanos(), s2.as_nanos());
        let _ = out.flush();
        k += 1;
        let tick_ns = if in_burst {
            period_ns / burst_factor
        } else {
            period_ns
        };
        t_ns += tick_ns;
        // Pace the ticks on the wall clock (this is the camera's frame rate).
        next += StdDuration::from_nanos(tick_ns as u64);
        loop {
            spin(node, StdDuration::ZERO);
            let now = Instant::now();
            let mut wake = next;
            if let Some(imu) = &imu {
                let due = |j: i64| t0 + StdDuration::from_nanos((j * imu_period_ns) as u64);
                while due(imu_j) <= now {
                    let stamp = Stamp::from_nanos(imu_start_ns + imu_j * imu_period_ns);
                    imu.publish(&Imu {
                        header: header(stamp, "imu")?,
                        ..Imu::default()
                    })?;
                    imu_j += 1;
                    imu_published += 1;
                }
                wake = wake.min(due(imu_j));
            }
            if now >= next {
                break;
            }
            std::thread::sleep((wake - now).min(StdDuration::from_millis(5)));
        }
    }
    let mut line = String::from("published");
    for (t, n) in topics.iter().zip(published) {
        line.push_str(&format!(" {t}={n}"));
    }
    if imu.is_some() {
        line.push_str(&format!(" imu/data={imu_published}"));
    }
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    eprintln!("camera_publisher: published {k} ticks");
    if linger {
        // Keep serving late (reliable) readers until killed.
        loop {
            spin(node, StdDuration::from_millis(100));
        }
    }
    Ok(())
}
