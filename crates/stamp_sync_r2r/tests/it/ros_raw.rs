//! The raw transport (`stamp_sync_r2r::raw`): type support found at run
//! time, serialized messages taken and published byte for byte, with real
//! processes (rclpy peers, and this binary run again as a child for what
//! needs its own environment or its own process).
//!
//! The overlay (`stamp_sync_test_msgs`, built by `scripts/ros-setup.sh` into
//! `build/ros-overlay/install`) is never on the prefix path this crate is
//! compiled with: the tests source it for the processes they start
//! (`STAMP_SYNC_ROS_OVERLAY`, exported by `scripts/with-ros`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use r2r::{QosProfile, WrappedTypesupport};
use ros_common::{Proc, WAIT, domain, overlay, with_overlay};
use stamp_sync::Stamp;
use stamp_sync_r2r::raw::{
    RawContext, RawError, RawNode, RawSubscription, SerializedMsg, Source, TypeSupportError,
    TypeSupportLoader,
};

const CHILD: &str = "STAMP_SYNC_RAW_CHILD";
const CHILD_ARGS: &str = "STAMP_SYNC_RAW_ARGS";
const IMAGE: &str = "sensor_msgs/msg/Image";
const TICK: &str = "stamp_sync_test_msgs/msg/Tick";
const PLAIN: &str = "stamp_sync_test_msgs/msg/Plain";

fn qos() -> QosProfile {
    QosProfile::default().keep_last(100)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A valid serialized `sensor_msgs/Image` (stamp 7 s + k µs), from r2r.
fn image_bytes(k: u32) -> Vec<u8> {
    let mut img = r2r::sensor_msgs::msg::Image {
        height: 2,
        width: 3,
        encoding: "mono8".into(),
        step: 3,
        data: vec![1, 2, 3, 4, 5, u8::try_from(k % 256).unwrap()],
        ..Default::default()
    };
    img.header.stamp.sec = 7;
    img.header.stamp.nanosec = 1000 * k;
    img.header.frame_id = format!("cam{k}");
    img.to_serialized_bytes().unwrap()
}

/// `got` is `sent` as a Fast DDS reader returns it: the same bytes, and
/// between processes zeros up to a multiple of 4 (the RTPS sample payload
/// is 4-byte aligned; within one process the payload is handed over as is).
fn assert_same_payload(got: &[u8], sent: &[u8], what: &str) {
    let padded = sent.len().next_multiple_of(4);
    assert!(
        got.len() == sent.len() || got.len() == padded,
        "{what}: {} bytes for {}",
        got.len(),
        sent.len()
    );
    assert_eq!(&got[..sent.len()], sent, "{what}");
    assert!(got[sent.len()..].iter().all(|&b| b == 0), "{what}: padding");
}

/// Polls `done` until it holds, pausing in bounded waits; panics after WAIT.
fn wait_until(what: &str, node: &RawNode, mut done: impl FnMut() -> bool) {
    let mut pause = node.waiter().unwrap();
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        pause.wait(&[], Some(Duration::from_millis(10))).unwrap();
    }
}

/// Takes `n` messages, waiting (bounded) for each.
fn take_n(node: &RawNode, sub: &mut RawSubscription, n: usize) -> Vec<SerializedMsg> {
    let mut waiter = node.waiter().unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while got.len() < n {
        assert!(Instant::now() < deadline, "{} of {n} messages", got.len());
        waiter
            .wait(&[sub], Some(Duration::from_millis(100)))
            .unwrap();
        while let Some(m) = sub.take().unwrap() {
            got.push(m);
        }
    }
    got
}

fn env_prefixes() -> Vec<PathBuf> {
    let path = std::env::var_os("AMENT_PREFIX_PATH").expect("run under scripts/with-ros");
    std::env::split_paths(&path).collect()
}

fn python_peer(d: u32, args: &[&str], overlay: bool) -> Proc {
    let py = std::env::var("STAMP_SYNC_ROS_PYTHON").expect("run under scripts/with-ros");
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(stamp_sync_testkit::repo().join("tests/ros_raw_peer.py"))
        .args(args);
    if overlay {
        with_overlay(&mut cmd);
    }
    Proc::command(&format!("ros_raw_peer.py {}", args[0]), cmd, d)
}

/// This test binary again, running `raw_child` in role `role`.
fn rust_child(role: &str, d: u32, args: &[&str], overlay: bool) -> Proc {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "ros_raw::raw_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, role)
    .env(CHILD_ARGS, args.join(" "));
    if overlay {
        with_overlay(&mut cmd);
    }
    Proc::command(role, cmd, d)
}

// ---------------------------------------------------------------- loading

#[test]
fn handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<SerializedMsg>();
    send_sync::<stamp_sync_r2r::raw::RawPublisher>();
    send_sync::<RawSubscription>();
    send_sync::<RawNode>();
    send_sync::<RawContext>();
    send_sync::<stamp_sync_r2r::raw::Wake>();
    send_sync::<TypeSupportLoader>();
    send::<stamp_sync_r2r::raw::Waiter>();
}

#[test]
fn compiled_and_library_type_support_are_one_handle() {
    let compiled = TypeSupportLoader::from_env().load(IMAGE).unwrap();
    assert_eq!(compiled.source(), &Source::Compiled);
    let loaded = TypeSupportLoader::from_env()
        .use_compiled(false)
        .load(IMAGE)
        .unwrap();
    let Source::Library(path) = loaded.source() else {
        panic!("{loaded:?}")
    };
    assert!(
        path.ends_with("lib/libsensor_msgs__rosidl_typesupport_c.so"),
        "{}",
        path.display()
    );
    assert!(loaded.same_handle(&compiled));
    // A type r2r did not generate (nav_msgs is not in IDL_PACKAGE_FILTER).
    assert!(r2r::WrappedNativeMsgUntyped::new_from("nav_msgs/msg/Odometry").is_err());
    let odom = TypeSupportLoader::from_env()
        .load("nav_msgs/msg/Odometry")
        .unwrap();
    assert!(matches!(odom.source(), Source::Library(_)), "{odom:?}");
    assert!(!odom.same_handle(&compiled));
}

#[test]
fn missing_symbol_names_it() {
    let e = TypeSupportLoader::from_env()
        .load("std_msgs/msg/NoSuchType")
        .unwrap_err();
    let TypeSupportError::MissingSymbol { symbol, path, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        symbol,
        "rosidl_typesupport_c__get_message_type_support_handle__std_msgs__msg__NoSuchType"
    );
    assert!(path.ends_with("libstd_msgs__rosidl_typesupport_c.so"));
    assert!(e.to_string().contains("has no symbol"), "{e}");
}

#[test]
fn package_not_installed_names_package_and_prefixes() {
    let e = TypeSupportLoader::from_env().load(TICK).unwrap_err();
    let TypeSupportError::PackageNotInstalled {
        package, prefixes, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(package, "stamp_sync_test_msgs");
    assert_eq!(prefixes, &env_prefixes());
    let text = e.to_string();
    for p in env_prefixes() {
        assert!(text.contains(&p.display().to_string()), "{text}");
    }
}

/// A prefix whose ament index lists `ghost_msgs`.
fn ghost_prefix() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("share/ament_index/resource_index/packages");
    std::fs::create_dir_all(&index).unwrap();
    std::fs::write(index.join("ghost_msgs"), "").unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    dir
}

#[test]
fn absent_library_and_unloadable_library_are_errors() {
    let prefix = ghost_prefix();
    let loader = TypeSupportLoader::new([prefix.path().to_path_buf()]);
    let e = loader.load("ghost_msgs/msg/Boo").unwrap_err();
    let TypeSupportError::LibraryMissing { path, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        path,
        &prefix
            .path()
            .join("lib/libghost_msgs__rosidl_typesupport_c.so")
    );
    // Not a shared object: the loader's own message comes through.
    std::fs::write(path, b"not an ELF file").unwrap();
    let e = loader.load("ghost_msgs/msg/Boo").unwrap_err();
    let TypeSupportError::LibraryLoad { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        message.contains("libghost_msgs__rosidl_typesupport_c.so"),
        "{message}"
    );
    assert!(
        message.contains("invalid ELF header") || message.contains("file too short"),
        "{message}"
    );
}

#[test]
fn library_whose_dependencies_are_not_on_the_library_path_gives_the_loader_message() {
    // The overlay's prefix, but not its lib/ on this process's
    // LD_LIBRARY_PATH: its type support library needs its generator library.
    let mut prefixes = vec![overlay()];
    prefixes.extend(env_prefixes());
    let e = TypeSupportLoader::new(prefixes).load(TICK).unwrap_err();
    let TypeSupportError::LibraryLoad { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        message.contains(
            "libstamp_sync_test_msgs__rosidl_generator_c.so: cannot open shared object file"
        ),
        "{message}"
    );
}

#[test]
fn header_detection_reads_the_definition() {
    let loader = TypeSupportLoader::from_env();
    for (ty, header) in [
        (IMAGE, true),
        ("std_msgs/msg/String", false),
        ("std_msgs/msg/Header", false),
        ("geometry_msgs/msg/PoseStamped", true),
        ("nav_msgs/msg/Odometry", true),
        ("diagnostic_msgs/msg/DiagnosticArray", true),
        ("tf2_msgs/msg/TFMessage", false),
        ("rosgraph_msgs/msg/Clock", false),
    ] {
        assert_eq!(loader.has_header(ty).unwrap(), header, "{ty}");
    }
    let e = loader.has_header("std_msgs/msg/NoSuchType").unwrap_err();
    assert!(matches!(e, TypeSupportError::Definition { .. }), "{e:?}");
}

#[test]
fn bad_names_are_errors() {
    let node = RawNode::new(
        &RawContext::with_domain(domain() as usize).unwrap(),
        "names",
        "",
    )
    .unwrap();
    let e = node
        .subscribe("/a", "sensor_msgs/Image/x/y", qos())
        .unwrap_err();
    assert!(
        matches!(
            e,
            RawError::TypeSupport(TypeSupportError::BadTypeName { .. })
        ),
        "{e:?}"
    );
    let e = node.subscribe("/a\0b", IMAGE, qos()).unwrap_err();
    assert!(matches!(e, RawError::Nul { what: "topic", .. }), "{e:?}");
    let e = node.publisher("/not a topic", IMAGE, qos()).unwrap_err();
    let RawError::Rcl { op, what, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*op, "rcl_publisher_init");
    assert!(what.contains("/not a topic"), "{e}");
    assert!(
        RawNode::new(
            &RawContext::with_domain(domain() as usize).unwrap(),
            "bad name!",
            ""
        )
        .is_err()
    );
}

// ---------------------------------------------------------------- transport

#[test]
fn raw_round_trip_between_two_contexts_is_byte_exact() {
    let d = domain() as usize;
    let pub_node = RawNode::new(&RawContext::with_domain(d).unwrap(), "raw_pub", "").unwrap();
    let sub_node = RawNode::new(&RawContext::with_domain(d).unwrap(), "raw_sub", "").unwrap();
    let mut sub = sub_node.subscribe("/raw/image", IMAGE, qos()).unwrap();
    let publ = pub_node.publisher("/raw/image", IMAGE, qos()).unwrap();
    wait_until("discovery", &sub_node, || {
        publ.subscription_count().unwrap() > 0 && sub.publisher_count().unwrap() > 0
    });
    let sent: Vec<Vec<u8>> = (0..20).map(image_bytes).collect();
    for (k, bytes) in sent.iter().enumerate() {
        if k % 2 == 0 {
            publ.publish_bytes(bytes).unwrap();
        } else {
            publ.publish(&SerializedMsg::from_bytes(bytes).unwrap())
                .unwrap();
        }
    }
    let got = take_n(&sub_node, &mut sub, sent.len());
    for (k, (m, bytes)) in got.iter().zip(&sent).enumerate() {
        assert_same_payload(m.as_bytes(), bytes, &format!("message {k}"));
        let k = u32::try_from(k).unwrap();
        assert_eq!(m.header_stamp().unwrap(), Stamp::from_ros(7, 1000 * k));
        assert!(m.info().received_timestamp >= m.info().source_timestamp);
    }
    // Forwarding a taken message publishes its own buffer, unchanged.
    let mut echo = sub_node.subscribe("/raw/echo", IMAGE, qos()).unwrap();
    let fwd = pub_node.publisher("/raw/echo", IMAGE, qos()).unwrap();
    wait_until("echo discovery", &sub_node, || {
        fwd.subscription_count().unwrap() > 0
    });
    let clone = got[3].clone();
    fwd.publish(&clone).unwrap();
    let back = take_n(&sub_node, &mut echo, 1);
    assert_same_payload(back[0].as_bytes(), &sent[3], "forwarded");
    assert_eq!(
        back[0].as_bytes(),
        got[3].as_bytes(),
        "forwarding is idempotent"
    );
    // The graph shows both ends with their type and node (node names come
    // with the participants' discovery info, which may lag).
    let topics = sub_node.topic_names_and_types().unwrap();
    assert!(
        topics.contains(&("/raw/image".to_string(), vec![IMAGE.to_string()])),
        "{topics:?}"
    );
    let named = |infos: Vec<stamp_sync_r2r::raw::EndpointInfo>, name: &str| {
        infos.len() == 1 && infos[0].node_name == name && infos[0].topic_type == IMAGE
    };
    wait_until("the publisher's node name", &sub_node, || {
        named(sub_node.publishers_info("/raw/image").unwrap(), "raw_pub")
    });
    wait_until("the subscription's node name", &sub_node, || {
        named(
            sub_node.subscriptions_info("/raw/image").unwrap(),
            "raw_sub",
        )
    });
    // Depth is not part of discovery; reliability is.
    let pubs = sub_node.publishers_info("/raw/image").unwrap();
    assert_eq!(
        pubs[0].qos.reliability,
        r2r::qos::ReliabilityPolicy::Reliable
    );
    // Taken messages outlive their subscription, node and context.
    drop((sub, echo, fwd, publ, sub_node, pub_node));
    for (k, (m, bytes)) in got.iter().zip(&sent).enumerate() {
        assert_same_payload(m.as_bytes(), bytes, &format!("kept message {k}"));
    }
}

#[test]
fn waiter_wakes_from_another_thread_and_times_out() {
    let node = RawNode::new(
        &RawContext::with_domain(domain() as usize).unwrap(),
        "waker",
        "",
    )
    .unwrap();
    let sub = node.subscribe("/raw/quiet", IMAGE, qos()).unwrap();
    let mut waiter = node.waiter().unwrap();
    let t0 = Instant::now();
    let r = waiter
        .wait(&[&sub], Some(Duration::from_millis(50)))
        .unwrap();
    assert!(
        r.timed_out && !r.woken && r.subscriptions.is_empty(),
        "{r:?}"
    );
    assert!(t0.elapsed() >= Duration::from_millis(50));

    let wake = waiter.wake_handle();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        wake.wake().unwrap();
    });
    tx.send(()).unwrap();
    let t0 = Instant::now();
    let r = waiter.wait(&[&sub], Some(WAIT)).unwrap();
    assert!(r.woken && !r.timed_out, "{r:?}");
    assert!(t0.elapsed() < WAIT / 2);
    t.join().unwrap();
    // The wake-up was consumed.
    let r = waiter
        .wait(&[&sub], Some(Duration::from_millis(10)))
        .unwrap();
    assert!(r.timed_out && !r.woken, "{r:?}");
}

#[test]
fn waiter_rejects_a_subscription_of_another_context() {
    let d = domain() as usize;
    let a = RawNode::new(&RawContext::with_domain(d).unwrap(), "a", "").unwrap();
    let b = RawNode::new(&RawContext::with_domain(d).unwrap(), "b", "").unwrap();
    let sub = b.subscribe("/raw/x", IMAGE, qos()).unwrap();
    let e = a
        .waiter()
        .unwrap()
        .wait(&[&sub], Some(Duration::ZERO))
        .unwrap_err();
    assert!(matches!(e, RawError::ForeignSubscription { .. }), "{e:?}");
}

#[test]
fn rclpy_serialized_bytes_arrive_unchanged() {
    let d = domain();
    let node = RawNode::new(
        &RawContext::with_domain(d as usize).unwrap(),
        "raw_from_py",
        "",
    )
    .unwrap();
    let mut sub = node.subscribe("/py/raw_image", IMAGE, qos()).unwrap();
    let mut py = python_peer(d, &["pub", IMAGE, "/py/raw_image", "10"], false);
    let sent: Vec<Vec<u8>> = py
        .take("bytes ", 10)
        .iter()
        .map(|l| unhex(l.split(' ').nth(2).unwrap()))
        .collect();
    py.wait_for("`matched`", |l| l == "matched");
    wait_until("the rclpy publisher", &node, || {
        sub.publisher_count().unwrap() > 0
    });
    py.send("go");
    let got = take_n(&node, &mut sub, sent.len());
    for (k, (m, bytes)) in got.iter().zip(&sent).enumerate() {
        assert_same_payload(m.as_bytes(), bytes, &format!("message {k}"));
        let k = u32::try_from(k).unwrap();
        assert_eq!(
            m.header_stamp().unwrap(),
            Stamp::from_ros(100 + i32::try_from(k).unwrap(), 1000 * k)
        );
    }
}

#[test]
fn raw_bytes_reach_an_rclpy_subscriber_unchanged() {
    let d = domain();
    let node = RawNode::new(
        &RawContext::with_domain(d as usize).unwrap(),
        "raw_to_py",
        "",
    )
    .unwrap();
    let publ = node.publisher("/py/raw_in", IMAGE, qos()).unwrap();
    let mut py = python_peer(d, &["sub", IMAGE, "/py/raw_in", "5"], false);
    py.wait_for("`ready`", |l| l == "ready");
    wait_until("the rclpy subscription", &node, || {
        publ.subscription_count().unwrap() > 0
    });
    let sent: Vec<Vec<u8>> = (0..5).map(image_bytes).collect();
    for b in &sent {
        publ.publish_bytes(b).unwrap();
    }
    let got: Vec<Vec<u8>> = py
        .take("got ", 5)
        .iter()
        .map(|l| unhex(l.strip_prefix("got ").unwrap()))
        .collect();
    for (k, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert_same_payload(g, s, &format!("message {k}"));
    }
    assert!(py.wait_exit(), "{}", py.stderr());
}

// ---------------------------------------------------------------- overlay

/// rclpy publishes `ty` from the overlay; a Rust child with the overlay
/// sourced takes it; returns (sent bytes, child's `msg` lines, type line).
fn overlay_round_trip(d: u32, ty: &str, topic: &str) -> (Vec<String>, Vec<String>, String) {
    let n = 5;
    let mut child = rust_child("echo", d, &[ty, topic, &n.to_string()], true);
    let type_line = child.wait_for("`type` or `error`", |l| {
        l.starts_with("type ") || l.starts_with("error ")
    });
    assert!(
        type_line.starts_with("type "),
        "{type_line}\n{}",
        child.stderr()
    );
    let mut py = python_peer(d, &["pub", ty, topic, &n.to_string()], true);
    let sent: Vec<String> = py
        .take("bytes ", n)
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap().to_string())
        .collect();
    py.wait_for("`matched`", |l| l == "matched");
    child.wait_for("`matched`", |l| l == "matched");
    py.send("go");
    let got = child.take("msg ", n);
    assert!(child.wait_exit(), "{}", child.stderr());
    (sent, got, type_line)
}

#[test]
fn overlay_types_work_when_the_overlay_is_sourced_at_run_time() {
    let d = domain();
    let (sent, got, type_line) = overlay_round_trip(d, TICK, "/overlay/tick");
    assert!(
        type_line.contains("Library(") && type_line.ends_with("header=true"),
        "{type_line}"
    );
    for (k, (hex_sent, line)) in sent.iter().zip(&got).enumerate() {
        let mut f = line.split(' ').skip(1);
        let got = unhex(f.next().unwrap());
        assert_same_payload(&got, &unhex(hex_sent), &format!("message {k}"));
        let stamp = Stamp::from_ros(
            100 + i32::try_from(k).unwrap(),
            1000 * u32::try_from(k).unwrap(),
        );
        assert_eq!(
            f.next(),
            Some(stamp.as_nanos().to_string().as_str()),
            "message {k}"
        );
    }
    let (sent, got, type_line) = overlay_round_trip(d, PLAIN, "/overlay/plain");
    assert!(type_line.ends_with("header=false"), "{type_line}");
    for (k, (hex_sent, line)) in sent.iter().zip(&got).enumerate() {
        let mut f = line.split(' ').skip(1);
        let got = unhex(f.next().unwrap());
        assert_same_payload(&got, &unhex(hex_sent), &format!("message {k}"));
        assert_eq!(f.next(), Some("-"));
    }
}

#[test]
fn overlay_types_without_the_overlay_are_a_clear_error() {
    let d = domain();
    let mut child = rust_child("echo", d, &[TICK, "/overlay/tick", "1"], false);
    let line = child.wait_for("`error`", |l| {
        l.starts_with("error ") || l.starts_with("type ")
    });
    assert!(
        line.contains("package \"stamp_sync_test_msgs\" is not installed"),
        "{line}"
    );
    for p in env_prefixes() {
        assert!(line.contains(&p.display().to_string()), "{line}");
    }
    assert!(!line.contains(&overlay().display().to_string()), "{line}");
    assert!(child.wait_exit(), "{}", child.stderr());
}

// ---------------------------------------------------------------- resources

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn status(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn many_entities_created_and_dropped_leave_nothing_behind() {
    let d = domain();
    let mut child = rust_child("churn", d, &[], false);
    let base = child.wait_for("`baseline`", |l| l.starts_with("baseline "));
    let after = child.wait_for("`entities`", |l| l.starts_with("entities "));
    let contexts = child.wait_for("`contexts`", |l| l.starts_with("contexts "));
    assert!(child.wait_exit(), "{}", child.stderr());
    let nums = |l: &str| -> Vec<u64> {
        l.split(' ')
            .skip(1)
            .map(|f| f.split_once('=').unwrap().1.parse().unwrap())
            .collect()
    };
    let (b, a, c) = (nums(&base), nums(&after), nums(&contexts));
    for l in child.seen.iter().filter(|l| l.contains("fds=")) {
        eprintln!("{l}");
    }
    // fds and threads exactly back; RSS within 4 MiB after 500 cycles.
    assert_eq!((a[0], a[1]), (b[0], b[1]), "{base} / {after}");
    assert_eq!((c[0], c[1]), (b[0], b[1]), "{base} / {contexts}");
    assert!(a[2] < b[2] + 4096, "{base} / {after}");
    assert!(c[2] < b[2] + 4096, "{base} / {contexts}");
}

fn churn() {
    let snapshot = || {
        format!(
            "fds={} threads={} rss_kb={}",
            fds(),
            status("Threads:"),
            status("VmRSS:")
        )
    };
    // What one raw context (a DDS participant) costs.
    println!("start {}", snapshot());
    let node = RawNode::create("churn", "").unwrap();
    println!("one_node {}", snapshot());
    let bytes = image_bytes(1);
    let cycle = |k: usize| {
        let topic = format!("/churn/t{}", k % 4);
        let mut sub = node.subscribe(&topic, IMAGE, qos()).unwrap();
        let publ = node.publisher(&topic, IMAGE, qos()).unwrap();
        publ.publish_bytes(&bytes).unwrap();
        let mut waiter = node.waiter().unwrap();
        waiter
            .wait(&[&sub], Some(Duration::from_millis(1)))
            .unwrap();
        while sub.take().unwrap().is_some() {}
    };
    let context_cycle = || {
        let n = RawNode::create("churn_ctx", "").unwrap();
        let _s = n.subscribe("/churn/ctx", IMAGE, qos()).unwrap();
        let _p = n.publisher("/churn/ctx", IMAGE, qos()).unwrap();
    };
    for k in 0..20 {
        cycle(k);
    }
    for _ in 0..2 {
        context_cycle();
    }
    println!("baseline {}", snapshot());
    for k in 0..500 {
        cycle(k);
    }
    println!("entities {}", snapshot());
    for _ in 0..10 {
        context_cycle();
    }
    println!("contexts {}", snapshot());
}

// ---------------------------------------------------------------- cost

/// Per-message cost of the dynamic path against r2r's compiled-in raw path
/// (docs/performance.md). Not part of the normal run:
/// `scripts/with-ros cargo test --release -p stamp_sync_r2r --test it ros_raw::raw_path_cost -- --ignored --nocapture`
#[test]
#[ignore = "a measurement: run by hand (docs/performance.md)"]
fn raw_path_cost() {
    // (label, image width x height x 3 bytes, rate Hz, messages)
    let loads = [
        ("1920x1080 rgb8", 1920, 1080, 30, 300),
        ("32x32 rgb8", 32, 32, 500, 3000),
    ];
    // STAMP_SYNC_COST_ONLY=1920 (or 32) runs one load.
    let only = std::env::var("STAMP_SYNC_COST_ONLY").unwrap_or_default();
    let loads = loads.into_iter().filter(|l| l.0.starts_with(only.as_str()));
    let d = domain();
    for (label, w, h, rate, n) in loads {
        for round in 0..2 {
            for path in ["r2r", "dynamic", "compiled"] {
                let mut sink = rust_child("sink", d, &[path, &n.to_string()], false);
                sink.wait_for("`subscribed`", |l| l == "subscribed");
                let dims = [
                    w.to_string(),
                    h.to_string(),
                    rate.to_string(),
                    n.to_string(),
                ];
                let mut blast = rust_child("blast", d, &dims.each_ref().map(String::as_str), false);
                blast.wait_for("`matched`", |l| l == "matched");
                sink.wait_for("`matched`", |l| l == "matched");
                blast.send("go");
                let stats = sink.wait_for("`stats`", |l| l.starts_with("stats "));
                println!("{label} round {round} {path:8} {stats}");
                assert!(sink.wait_exit(), "{}", sink.stderr());
            }
        }
    }
}

/// First-lookup cost of a type's support: r2r's table against the ament
/// index (stat, dlopen of an already loaded library, dlsym). Run by hand.
#[test]
#[ignore = "a measurement: run by hand (docs/performance.md)"]
fn type_support_lookup_cost() {
    for compiled in [true, false, true, false] {
        let n = 2000;
        let t0 = Instant::now();
        for _ in 0..n {
            let loader = TypeSupportLoader::from_env().use_compiled(compiled);
            std::hint::black_box(loader.load(IMAGE).unwrap());
        }
        let per = t0.elapsed() / n;
        println!("lookup compiled={compiled} {per:?} per fresh loader");
    }
}

fn now_ns() -> i64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(t.as_nanos()).unwrap()
}

/// Minor page faults of this process so far.
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(7).unwrap().parse().unwrap()
}

/// CPU time of every thread of this process, in ns.
fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .map(|s| s.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Role `blast W H RATE N`: publishes N serialized W x H rgb8 images at
/// RATE Hz on /cost/image, the header stamp set to the wall clock just
/// before each publish.
fn blast(args: &[String]) {
    let [w, h, rate, n] = args else {
        panic!("blast W H RATE N")
    };
    let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
    let (rate, n): (u64, usize) = (rate.parse().unwrap(), n.parse().unwrap());
    let img = r2r::sensor_msgs::msg::Image {
        height: h,
        width: w,
        encoding: "rgb8".into(),
        step: 3 * w,
        data: vec![7; (3 * w * h) as usize],
        ..Default::default()
    };
    let mut bytes = img.to_serialized_bytes().unwrap();
    let node = RawNode::create("blast", "").unwrap();
    let publ = node
        .publisher("/cost/image", IMAGE, QosProfile::default().keep_last(5))
        .unwrap();
    wait_until("a subscription", &node, || {
        publ.subscription_count().unwrap() > 0
    });
    println!("matched");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now();
    for k in 0..n {
        let due = start + period * u32::try_from(k).unwrap();
        // Pacing a publisher at a fixed rate is the one sleep here.
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let t = now_ns();
        bytes[4..8].copy_from_slice(&i32::try_from(t / 1_000_000_000).unwrap().to_le_bytes());
        bytes[8..12].copy_from_slice(&u32::try_from(t % 1_000_000_000).unwrap().to_le_bytes());
        publ.publish_bytes(&bytes).unwrap();
    }
    // Linger so a reliable reader gets the last samples.
    let mut pause = node.waiter().unwrap();
    pause.wait(&[], Some(Duration::from_secs(2))).unwrap();
}

/// Role `sink PATH N`: takes N images from /cost/image through PATH
/// (`r2r`: r2r's `subscribe_raw`; `dynamic`: raw, type support from the
/// library; `compiled`: raw, r2r's table) and prints
/// `stats` with latency percentiles and CPU time per message.
fn sink(args: &[String]) {
    let [path, n] = args else {
        panic!("sink PATH N")
    };
    let n: usize = n.parse().unwrap();
    let qos = QosProfile::default().keep_last(5);
    let mut lat = Vec::with_capacity(n);
    let (mut cpu0, mut faults0) = (0, 0);
    let mut record = |bytes: &[u8], lat: &mut Vec<i64>| {
        let stamp = stamp_sync_wire::stamp::cdr_header_stamp(bytes).unwrap();
        if lat.is_empty() {
            cpu0 = process_cpu_ns();
            faults0 = minor_faults();
        }
        lat.push(now_ns() - stamp.as_nanos());
    };
    let deadline = Instant::now() + WAIT;
    // Until N messages, or 3 s without one once they flow (keep-last 5 may
    // drop samples under load).
    let mut progress = (0, Instant::now());
    let more = |lat: &[i64], n: usize, progress: &mut (usize, Instant)| {
        if lat.len() != progress.0 {
            *progress = (lat.len(), Instant::now());
        }
        let stalled = !lat.is_empty() && progress.1.elapsed() > Duration::from_secs(3);
        lat.len() < n && Instant::now() < deadline && !stalled
    };
    if path == "r2r" {
        use futures::{FutureExt, StreamExt};
        let ctx = r2r::Context::create().unwrap();
        let mut node = r2r::Node::create(ctx, "sink", "").unwrap();
        let mut sub = node.subscribe_raw("/cost/image", IMAGE, qos).unwrap();
        println!("subscribed");
        while node
            .get_publishers_info_by_topic("/cost/image", false)
            .unwrap()
            .is_empty()
        {
            node.spin_once(Duration::from_millis(10));
            assert!(Instant::now() < deadline);
        }
        println!("matched");
        while more(&lat, n, &mut progress) {
            node.spin_once(Duration::from_millis(100));
            while let Some(Some(bytes)) = sub.next().now_or_never() {
                record(&bytes, &mut lat);
            }
        }
    } else {
        let loader = TypeSupportLoader::from_env().use_compiled(path == "compiled");
        let ctx = RawContext::new().unwrap();
        let node = RawNode::with_loader(&ctx, "sink", "", loader).unwrap();
        let mut sub = node.subscribe("/cost/image", IMAGE, qos).unwrap();
        let want = if path == "compiled" {
            "Compiled"
        } else {
            "Library"
        };
        assert!(format!("{:?}", sub.type_support().source()).starts_with(want));
        println!("subscribed");
        wait_until("a publisher", &node, || sub.publisher_count().unwrap() > 0);
        println!("matched");
        let mut waiter = node.waiter().unwrap();
        while more(&lat, n, &mut progress) {
            waiter
                .wait(&[&sub], Some(Duration::from_millis(100)))
                .unwrap();
            while let Some(m) = sub.take().unwrap() {
                record(m.as_bytes(), &mut lat);
            }
        }
    }
    let cpu = process_cpu_ns() - cpu0;
    let faults = minor_faults() - faults0;
    let got = lat.len();
    lat.sort_unstable();
    let pct = |p: usize| {
        lat.get((got * p / 100).min(got.saturating_sub(1)))
            .copied()
            .unwrap_or(0)
            / 1000
    };
    println!(
        "stats n={got} p50_us={} p99_us={} max_us={} cpu_us_per_msg={} faults_per_msg={}",
        pct(50),
        pct(99),
        lat.last().copied().unwrap_or(0) / 1000,
        cpu / 1000 / u64::try_from(got.max(2) - 1).unwrap(),
        faults / u64::try_from(got.max(2) - 1).unwrap()
    );
}

/// Role `echo TYPE TOPIC N`: load TYPE (print `type ...` or `error ...`),
/// subscribe, print `matched` once a publisher is seen, then `msg <hex>
/// <stamp ns or ->` for N messages.
fn echo(args: &[String]) {
    let [ty, topic, n] = args else {
        panic!("echo TYPE TOPIC N, got {args:?}")
    };
    let n: usize = n.parse().unwrap();
    let node = RawNode::create("raw_echo", "").unwrap();
    let ts = match node.loader().load(ty) {
        Ok(ts) => ts,
        Err(e) => {
            println!("error {e}");
            return;
        }
    };
    let header = node.loader().has_header(ty).unwrap();
    println!("type {:?} header={header}", ts.source());
    let mut sub = node.subscribe_with(topic, &ts, qos()).unwrap();
    wait_until("a publisher", &node, || sub.publisher_count().unwrap() > 0);
    println!("matched");
    for m in take_n(&node, &mut sub, n) {
        let stamp = if header {
            m.header_stamp().unwrap().as_nanos().to_string()
        } else {
            "-".to_string()
        };
        println!("msg {} {stamp}", hex(m.as_bytes()));
    }
}

#[test]
#[ignore = "run by the other tests as a child process"]
fn raw_child() {
    let Ok(role) = std::env::var(CHILD) else {
        return;
    };
    let args: Vec<String> = std::env::var(CHILD_ARGS)
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    // libtest has printed `test raw_child ... ` without a newline.
    println!();
    match role.as_str() {
        "echo" => echo(&args),
        "churn" => churn(),
        "blast" => blast(&args),
        "sink" => sink(&args),
        other => panic!("unknown child role {other}"),
    }
}
