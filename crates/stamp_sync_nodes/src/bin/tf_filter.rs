//! `tf_filter`: holds images (or image + camera_info sets) until their
//! transforms to the target frames exist, then prints them with those
//! transforms; prints every failure with its reason. `tf2_ros::MessageFilter`
//! with a bounded wait, reasons, and the transforms handed over.
//!
//! Topics (remap with `--ros-args -r image:=/camera1/image`): `image`,
//! `camera_info` (with `sync_camera_info`), `/tf`, `/tf_static`.
//! Parameters: `target_frames` (`["map"]`), `timeout` (s, 1.0, on the ROS
//! clock: sim time under `use_sim_time`), `queue_size` (100),
//! `sync_camera_info` (false: filter images alone; true: ExactTime over
//! image and camera_info, then filter each set at the image's stamp and
//! frame), `qos` (`sensor_data` or `reliable`), `depth` (100),
//! `diagnostics_period` (s, 1; 0 = none): `/diagnostics` with one status
//! for `image` (received, released, pending, failed by reason; WARN when
//! messages failed in the period, ERROR with no or incompatible publishers).
//!
//! Prints on stdout, one line per message or set:
//! ```text
//! released <stamp_ns> <frame> <target>=<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>... waited_ns=<n> tf_to_release_ns=<n>|- release_wall_ns=<n>
//! failed <stamp_ns> <frame> <reason> waited_ns=<n>
//! ```
//! `waited_ns`: ROS time from arrival to release or failure.
//! `tf_to_release_ns`: wall time from the arrival of the last transform
//! before the release to the release (`-` when the message did not wait).
//! Prints `ready` once subscribed.
//!
//! ```text
//! ros2 run stamp_sync tf_filter --ros-args -p target_frames:="[map]" -p timeout:=0.5
//! ```

use std::error::Error;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use futures::StreamExt;
use futures::task::LocalSpawnExt;
use r2r::sensor_msgs::msg::{CameraInfo, Image};
use stamp_sync::{Duration, ExactTime, Stamp};
use stamp_sync_r2r::HasHeader;
use stamp_sync_r2r::diagnostics::DiagnosticsPublisher;
use stamp_sync_r2r::params::{Key, Params, QosKeys, health};
use stamp_sync_r2r::runtime::Runtime;
use stamp_sync_r2r::tf::{subscribe_transforms, tf_filtered_with};
use stamp_sync_r2r::{subscribe, subscribe_synced};
use stamp_sync_tf::{FramedSet, TfEvent, TfFilter, TfFilterStats, TimeoutClock};

/// What is held: the image, its camera_info if synchronized, and when it
/// arrived (ROS clock, wall clock).
struct Arrived {
    _image: Image,
    _info: Option<CameraInfo>,
    at: Stamp,
    wall: Instant,
}

const TARGET_FRAMES: Key<Vec<String>> =
    Key::texts("target_frames", &["map"], 1, 64, "frames to transform into").start_up();
const TIMEOUT: Key<Duration> =
    Key::seconds("timeout", 1.0, "longest wait for transforms (ROS clock)").start_up();
const QUEUE_SIZE: Key<i64> = Key::int("queue_size", 100, 1, "most messages held").start_up();
const SYNC_CAMERA_INFO: Key<bool> = Key::flag(
    "sync_camera_info",
    false,
    "filter ExactTime image + camera_info sets",
)
.start_up();
const INPUT_QOS: QosKeys = QosKeys::new(
    "sensor_data",
    100,
    "subscription QoS: sensor_data, best_effort or reliable",
);

fn params() -> Params {
    INPUT_QOS
        .declare(Params::new())
        .with(&TARGET_FRAMES)
        .with(&TIMEOUT)
        .with(&QUEUE_SIZE)
        .with(&SYNC_CAMERA_INFO)
        .with(&health::DIAGNOSTICS_PERIOD)
}

fn main() -> std::process::ExitCode {
    stamp_sync_nodes::exit_code("tf_filter", run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let (mut rt, _changes) = Runtime::start("tf_filter", params())?;
    let p = rt.params();
    let qos = INPUT_QOS.profile(&p);
    let diag_qos = qos.clone();
    let targets: Vec<String> = p.get(&TARGET_FRAMES);
    let mut builder = TfFilter::builder()
        .timeout(p.get(&TIMEOUT))
        .timeout_clock(TimeoutClock::ArrivalTime)
        .queue_size(usize::try_from(p.get(&QUEUE_SIZE)).unwrap_or(1));
    for t in &targets {
        builder = builder.target(t.clone());
    }
    let filter = builder.build::<FramedSet<Arrived>>()?;

    let clock = rt.clock.clone();
    let arrive = move |image: Image, info: Option<CameraInfo>| {
        FramedSet::new(
            image.stamp(),
            image.header.frame_id.clone(),
            Arrived {
                _image: image,
                _info: info,
                at: clock.now(),
                wall: Instant::now(),
            },
        )
    };
    let messages = if p.get(&SYNC_CAMERA_INFO) {
        subscribe_synced::<(Image, CameraInfo), _>(
            &mut rt.node,
            [("image", qos.clone()), ("camera_info", qos)],
            ExactTime::new(10)?,
        )?
        .map(move |(image, info)| arrive(image, Some(info)))
        .boxed()
    } else {
        subscribe::<Image>(&mut rt.node, "image", qos)?
            .map(move |image| arrive(image, None))
            .boxed()
    };
    // When the latest transform reached this node.
    let last_tf: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let seen = last_tf.clone();
    let transforms = subscribe_transforms(&mut rt.node)?.inspect(move |_| {
        if let Ok(mut t) = seen.lock() {
            *t = Some(Instant::now());
        }
    });
    let mut events = tf_filtered_with(&mut rt.node, messages, transforms, filter)?;
    // The filter's counters after each event, for /diagnostics.
    let stats: Arc<Mutex<TfFilterStats>> = Arc::default();
    let shared = stats.clone();
    let clock = rt.clock.clone();
    rt.pool.spawner().spawn_local(async move {
        while let Some(e) = events.next().await {
            if let Ok(mut s) = shared.lock() {
                *s = *events.tf_filter().stats();
            }
            let now = Instant::now();
            let line = match e {
                TfEvent::Released(r) => {
                    let a = &r.msg.set;
                    let tf_to_release = last_tf
                        .lock()
                        .ok()
                        .and_then(|t| *t)
                        .filter(|t| *t > a.wall)
                        .map_or_else(
                            || "-".to_string(),
                            |t| now.duration_since(t).as_nanos().to_string(),
                        );
                    let transforms: Vec<String> = r
                        .transforms
                        .iter()
                        .zip(&targets)
                        .map(|(t, target)| {
                            let (v, q) = (t.transform.translation, t.transform.rotation);
                            format!(
                                "{target}={:?},{:?},{:?},{:?},{:?},{:?},{:?}",
                                v.x, v.y, v.z, q.x, q.y, q.z, q.w
                            )
                        })
                        .collect();
                    let wall = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos());
                    format!(
                        "released {} {} {} waited_ns={} tf_to_release_ns={tf_to_release} release_wall_ns={wall}",
                        r.msg.stamp.as_nanos(),
                        r.msg.frame_id,
                        transforms.join(" "),
                        clock.now().since(a.at).as_nanos(),
                    )
                }
                TfEvent::Failed(f) => format!(
                    "failed {} {} {} waited_ns={}",
                    f.msg.stamp.as_nanos(),
                    f.msg.frame_id,
                    f.reason.as_str(),
                    clock.now().since(f.msg.set.at).as_nanos(),
                ),
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    })?;
    let mut diagnostics = DiagnosticsPublisher::new(&mut rt.node, &["image"], &diag_qos)?;
    let mut next_diag = rt.clock.now();
    println!("ready");
    loop {
        rt.spin_once(std::time::Duration::from_millis(100));
        let now = rt.clock.now();
        let period = rt.params().get(&health::DIAGNOSTICS_PERIOD);
        if let Some(period) = period.filter(|_| now >= next_diag) {
            next_diag = now.saturating_add(period);
            let snapshot = stats.lock().map(|s| *s).unwrap_or_default();
            if let Err(e) = diagnostics.publish_tf(&rt.node, now, &snapshot) {
                log::warn!("cannot publish /diagnostics: {e}");
            }
        }
    }
}
