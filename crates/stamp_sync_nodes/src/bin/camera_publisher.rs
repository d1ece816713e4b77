//! Stands in for camera drivers. Each tick publishes
//! * camera 1: `camera1/image`, `camera1/depth` and `camera1/camera_info`,
//!   all with the identical stamp;
//! * camera 2: `camera2/image` and `camera2/camera_info` with the stamp
//!   jittered by up to ±`jitter_ms` (deterministic from `seed`).
//!
//! Parameters: `rate` (Hz, 30), `count` (ticks, 0 = forever), `jitter_ms`
//! (3.0), `seed` (1), `start_sec` (stamp of tick 0; default: now),
//! `first_index` (0), `width`/`height` (64×48), `qos` (`reliable` or
//! `sensor_data`), `depth` (100), `wait_subscribers` (before the first tick,
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
use std::time::{Duration, Instant, SystemTime};

use r2r::sensor_msgs::msg::{CameraInfo, Image};
use r2r::std_msgs::msg::Header;
use stamp_sync::Stamp;
use stamp_sync_r2r::params::Params;
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

fn params(now_sec: i64) -> Params {
    Params::new()
        .double("rate", 30.0, "ticks per second")
        .int("count", 0, "ticks to publish (0 = forever)")
        .double("jitter_ms", 3.0, "camera 2 stamp jitter, +- ms")
        .int("seed", 1, "jitter seed")
        .int(
            "start_sec",
            now_sec,
            "stamp of tick 0, seconds (default: now)",
        )
        .int("first_index", 0, "index of the first tick")
        .int("width", 64, "image width")
        .int("height", 48, "image height")
        .qos(
            "reliable",
            100,
            "publisher QoS: reliable or sensor_data (best effort)",
        )
        .int(
            "wait_subscribers",
            0,
            "before the first tick, wait for this many subscriptions",
        )
        .double("wait_timeout", 30.0, "seconds to wait for them")
        .bool(
            "start_on_stdin",
            false,
            "then also wait for a line on stdin",
        )
        .bool("linger", false, "keep spinning after count ticks")
        .string("pause_topic", "", "a topic that pauses")
        .int("pause_at", 0, "tick where it pauses")
        .double("pause_secs", 0.0, "for how long")
        .int("burst_at", 0, "tick where a burst starts")
        .double("burst_secs", 0.0, "for how long")
        .int("burst_factor", 10, "how much faster")
        .string("burst_topic", "", "the only topic that floods (empty: all)")
        .bool(
            "color",
            false,
            "images in rgb8 (3 bytes a pixel) instead of mono8",
        )
        .strings("only", &[], "publish only these topics (empty: all five)")
        .non_negative(&["rate"], true)
        .non_negative(&["wait_timeout", "pause_secs", "burst_secs"], false)
}

fn main() -> Result<(), Box<dyn Error>> {
    let now_sec = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_secs() as i64;
    let (mut rt, _changes) = Runtime::start("camera_publisher", params(now_sec))?;
    let p = rt.params();
    let int = |n: &str| p.get_int(n).unwrap_or(0);
    let dbl = |n: &str| p.get_double(n).unwrap_or(0.0);
    let text = |n: &str| p.get_str(n).unwrap_or("").to_string();
    let rate = dbl("rate");
    let count = int("count");
    let jitter_ms = dbl("jitter_ms");
    let seed = int("seed");
    let start_sec = int("start_sec");
    let first_index = int("first_index");
    let width = int("width").clamp(1, 4096) as u32;
    let height = int("height").clamp(1, 4096) as u32;
    let wait_subscribers = int("wait_subscribers").max(0) as usize;
    let wait_timeout = dbl("wait_timeout");
    let linger = p.get_bool("linger").unwrap_or(false);
    let start_on_stdin = p.get_bool("start_on_stdin").unwrap_or(false);
    let qos = p.qos_profile();
    let pause_topic = text("pause_topic");
    let pause_at = int("pause_at");
    let pause_secs = dbl("pause_secs");
    let burst_at = int("burst_at");
    let burst_secs = dbl("burst_secs");
    let burst_factor = int("burst_factor").max(1);
    let burst_topic = text("burst_topic");
    let (encoding, bpp) = if p.get_bool("color").unwrap_or(false) {
        ("rgb8", 3)
    } else {
        ("mono8", 1)
    };
    let only: Vec<String> = p.get_strs("only").unwrap_or_default().to_vec();
    let Runtime { node, pool, .. } = &mut rt;
    // Spins the node and runs its futures (the parameter services).
    let mut spin = |node: &mut r2r::Node, d: Duration| {
        node.spin_once(d);
        pool.run_until_stalled();
    };

    let img1 = node.create_publisher::<Image>("camera1/image", qos.clone())?;
    let depth1 = node.create_publisher::<Image>("camera1/depth", qos.clone())?;
    let info1 = node.create_publisher::<CameraInfo>("camera1/camera_info", qos.clone())?;
    let img2 = node.create_publisher::<Image>("camera2/image", qos.clone())?;
    let info2 = node.create_publisher::<CameraInfo>("camera2/camera_info", qos)?;

    // Discovery: wait for the subscriptions, bounded.
    let deadline = Instant::now() + Duration::from_secs_f64(wait_timeout);
    loop {
        let n = img1.get_inter_process_subscription_count()?
            + depth1.get_inter_process_subscription_count()?
            + info1.get_inter_process_subscription_count()?
            + img2.get_inter_process_subscription_count()?
            + info2.get_inter_process_subscription_count()?;
        if n >= wait_subscribers {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {n} of {wait_subscribers} subscriptions after {wait_timeout} s"
            )
            .into());
        }
        spin(node, Duration::from_millis(10));
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
        next += Duration::from_nanos(tick_ns as u64);
        loop {
            spin(node, Duration::ZERO);
            let now = Instant::now();
            if now >= next {
                break;
            }
            std::thread::sleep((next - now).min(Duration::from_millis(5)));
        }
    }
    let mut line = String::from("published");
    for (t, n) in topics.iter().zip(published) {
        line.push_str(&format!(" {t}={n}"));
    }
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    eprintln!("camera_publisher: published {k} ticks");
    if linger {
        // Keep serving late (reliable) readers until killed.
        loop {
            spin(node, Duration::from_millis(100));
        }
    }
    Ok(())
}
