//! Across machines: the nodes and `watch` on test hosts (network
//! namespaces, `stamp_sync_testkit::net`) joined by an emulated link with
//! delay, jitter, loss and a partition, and a host whose clock runs ahead.
//! Needs root; without namespaces the tests fail with the reason, unless
//! `STAMP_SYNC_REQUIRE_NETNS=0`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stamp_sync_testkit::net::{self, Link, Net};
use stamp_sync_testkit::ros as ros_common;

use ros_common::{NodeStats, Proc, count_of, domain, node, published_counts};

/// The hosts, or `None` (test skipped) when they cannot be made and
/// `STAMP_SYNC_REQUIRE_NETNS=0`.
fn hosts(names: &[&str]) -> Option<Net> {
    if let Err(why) = net::available() {
        if std::env::var("STAMP_SYNC_REQUIRE_NETNS").as_deref() == Ok("0") {
            eprintln!("skipped: no test hosts ({why})");
            return None;
        }
        panic!(
            "cannot make test hosts: {why} (run as root, or STAMP_SYNC_REQUIRE_NETNS=0 to skip)"
        );
    }
    Some(Net::new(names).unwrap_or_else(|e| panic!("test hosts: {e}")))
}

/// Installed node `name` on `host` with ROS arguments `args`.
fn on(net: &Net, host: &str, d: u32, name: &str, args: &[&str]) -> Proc {
    let mut cmd = net.command(host, node(name));
    cmd.arg("--ros-args").args(args);
    Proc::command(&format!("{name}@{host}"), cmd, d)
}

/// `image_info_sync` on `host` for camera 1, with `stats` lines every 0.5 s.
fn image_info_sync(net: &Net, host: &str, d: u32) -> Proc {
    let remap = [
        "-r",
        "image:=/camera1/image",
        "-r",
        "camera_info:=/camera1/camera_info",
    ];
    let mut args = remap.to_vec();
    args.extend(["-p", "stats_period:=0.5"]);
    on(net, host, d, "image_info_sync", &args)
}

/// `stamp-sync watch ARGS` on `host`.
fn watch_on(net: &Net, host: &str, d: u32, args: &[&str]) -> Proc {
    let mut cmd = net.command(host, node("stamp-sync"));
    cmd.arg("watch").args(args);
    Proc::command(&format!("watch@{host}"), cmd, d)
}

/// `-p` before each parameter.
fn params<'a>(ps: &[&'a str]) -> Vec<&'a str> {
    ps.iter().flat_map(|p| ["-p", p]).collect()
}

/// The last `stats` line seen.
fn last_stats(p: &Proc) -> NodeStats {
    let line = p
        .seen
        .iter()
        .rev()
        .find(|l| l.starts_with("stats "))
        .expect("a stats line");
    NodeStats::parse(line)
}

/// Whether watch's `problem` line names `topic` exactly.
fn names(line: &str, topic: &str) -> bool {
    line.split([' ', ',', ':', '(', ')']).any(|w| w == topic)
}

fn now_sec() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn sets_keep_coming_over_a_delayed_lossy_link_and_every_message_is_counted() {
    let Some(net) = hosts(&["a", "b"]) else {
        return;
    };
    let d = domain();
    let link = Link {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss: 0.02,
        up: true,
    };
    net.set("a", link);
    let sync_start = Instant::now();
    let mut sync = image_info_sync(&net, "b", d);
    // Until SIGINT: it counts what the middleware reports lost.
    let mut w = watch_on(
        &net,
        "b",
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/camera1/camera_info",
            "--policy",
            "approximate",
        ],
    );
    // Small images: a message is one frame, so frame loss is message loss.
    let ticks = 300;
    let mut publ = on(
        &net,
        "a",
        d,
        "camera_publisher",
        &params(&[
            "rate:=30.0",
            &format!("count:={ticks}"),
            "width:=16",
            "height:=12",
            "qos:=sensor_data",
            "wait_subscribers:=4",
            "wait_timeout:=30.0",
            "linger:=true",
        ]),
    );
    let published = publ.wait_for("published", |l| l.starts_with("published"));
    let counts = published_counts(&published);
    // Stats from 1 s after the last tick: nothing is still on the wire.
    let after_ms = sync_start.elapsed().as_millis() as u64 + 1000;
    sync.wait_for("stats after the last tick", |l| {
        l.starts_with("stats ") && NodeStats::parse(l).t_ms >= after_ms
    });
    let s = last_stats(&sync);
    let sets = sync.seen[..]
        .iter()
        .filter(|l| l.starts_with("set "))
        .count();
    let sent = [
        count_of(&counts, "camera1/image"),
        count_of(&counts, "camera1/camera_info"),
    ];
    let received = s.received();
    let lost: Vec<u64> = sent.iter().zip(&received).map(|(p, r)| p - r).collect();
    let frames = net.counts("a");
    eprintln!(
        "delay 20 ms ± 5 ms, loss 2 %: published {sent:?}, received {received:?} (lost {lost:?}), \
         {sets} sets over {ticks} ticks, drops {:?}; hub: {frames:?}",
        s.drops
    );
    assert!(
        s.unbalanced().is_empty(),
        "received != in sets + dropped + queued: {s:?}"
    );
    assert_eq!(s.sets as usize, sets, "{s:?}");
    // Sets keep coming: every tick whose image and info both arrived.
    assert!(
        sets as u64 >= ticks * 9 / 10,
        "{sets} sets of {ticks} ticks"
    );
    // Lost on the link, close to the loss applied (2 %, each message one frame).
    for (topic, l) in ["image", "camera_info"].iter().zip(&lost) {
        assert!(*l <= ticks / 10, "{topic}: {l} of {ticks} lost");
    }
    assert!(
        lost.iter().sum::<u64>() > 0,
        "a 2 % loss lost nothing: {lost:?}"
    );
    assert!(frames.lost > 0, "{frames:?}");
    // watch on B: the middleware's lost counts, per topic, and the problem.
    interrupt(&w);
    assert!(w.wait_exit(), "watch failed: {}", w.stderr());
    let problem = w
        .seen
        .iter()
        .find(|l| l.starts_with("problem message_lost"))
        .unwrap_or_else(|| panic!("no message_lost: {:?}", w.seen));
    let watch_lost: Vec<(u64, u64)> = ["/camera1/image", "/camera1/camera_info"]
        .iter()
        .map(|t| summary_received_lost(&w.seen, t))
        .collect();
    eprintln!("watch on B: (received, lost) {watch_lost:?}; {problem}");
    for (topic, (r, l)) in ["image", "camera_info"].iter().zip(&watch_lost) {
        // Lost + received is what was published (the DDS sequence numbers).
        assert!(*l <= ticks / 10, "{topic}: watch lost {l}");
        assert!(
            (ticks - ticks / 20..=ticks).contains(&(r + l)),
            "{topic}: received {r} + lost {l} is not the {ticks} published"
        );
    }
    assert!(
        watch_lost.iter().map(|(_, l)| l).sum::<u64>() > 0,
        "{watch_lost:?}"
    );
}

/// SIGINT to `p` (`ip netns exec` execs the program: the same pid).
fn interrupt(p: &Proc) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &p.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot interrupt {}", p.name);
}

/// `received` and `lost` of `topic`'s row in watch's summary table.
fn summary_received_lost(lines: &[String], topic: &str) -> (u64, u64) {
    let head = lines
        .iter()
        .rposition(|l| l.starts_with("topic ") && l.contains(" lost "))
        .unwrap_or_else(|| panic!("no summary table: {lines:?}"));
    let row = lines[head..]
        .iter()
        .find(|l| l.split_whitespace().next() == Some(topic))
        .unwrap_or_else(|| panic!("no row for {topic}: {lines:?}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    let n = |i: usize| -> u64 {
        cells[i]
            .parse()
            .unwrap_or_else(|_| panic!("cell {i} of {row:?}"))
    };
    (n(3), n(4))
}

#[test]
fn a_partition_shows_as_stale_and_the_sets_resume_by_themselves() {
    let Some(net) = hosts(&["a", "b"]) else {
        return;
    };
    let d = domain();
    let cam = params(&["rate:=30.0", "width:=16", "height:=12", "qos:=sensor_data"]);
    let mut remote = on(&net, "a", d, "camera_publisher", &cam);
    // A local camera on host B, under its own namespace.
    let mut local_args = vec!["-r", "__ns:=/b"];
    local_args.extend(&cam);
    let mut local = on(&net, "b", d, "camera_publisher", &local_args);
    let mut sync = image_info_sync(&net, "b", d);
    // B's own camera with A's image, A's leaving the sets while it is out.
    let mut relay = on(
        &net,
        "b",
        d,
        "sync_relay",
        &params(&[
            "topics:=[/b/camera1/image, /b/camera1/camera_info, /camera1/image]",
            "drop_out_after:=0.2",
            "print_sets:=true",
            "wait_for_topics:=30.0",
        ]),
    );
    let mut w = watch_on(
        &net,
        "b",
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/b/camera1/image",
            "--policy",
            "approximate",
            "--seconds",
            "14",
        ],
    );
    sync.wait_for("a set over the link", |l| l.starts_with("set "));
    // Let watch see both topics flow, then cut the link for 3 s.
    std::thread::sleep(Duration::from_secs(3));
    let cut = Instant::now();
    net.set_up("a", false);
    let stale = w.wait_for("stale", |l| {
        l.starts_with("problem stale") && names(l, "/camera1/image")
    });
    let detected = cut.elapsed();
    assert!(
        !names(&stale, "/b/camera1/image"),
        "the local topic is not stale: {stale}"
    );
    std::thread::sleep(Duration::from_secs(3).saturating_sub(cut.elapsed()));
    net.set_up("a", true);
    let back = Instant::now();
    // The first set stamped after the partition began.
    let cut_ns =
        (SystemTime::now().duration_since(UNIX_EPOCH).unwrap() - cut.elapsed()).as_nanos() as i64;
    sync.wait_for("a set after the partition", |l| {
        l.strip_prefix("set ")
            .and_then(|r| r.split([',', ' ']).next())
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|s| s > cut_ns)
    });
    let resumed = back.elapsed();
    eprintln!(
        "partition 3 s: stale reported after {:.2} s ({stale}); \
         first set {:.2} s after the link came back; hub: {:?}",
        detected.as_secs_f64(),
        resumed.as_secs_f64(),
        net.counts("a")
    );
    assert!(
        resumed <= Duration::from_secs(3),
        "sets resumed {resumed:?} after link-up"
    );
    relay.wait_for("a full set after the partition", |l| {
        l.strip_prefix("set ")
            .and_then(|r| r.split(',').next())
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|s| s > cut_ns)
    });
    for p in [&mut remote, &mut local, &mut sync, &mut relay] {
        assert!(p.running(), "{} died: {}", p.name, p.stderr());
    }
    relay.send("quit");
    let relay_stats = NodeStats::parse(&relay.wait_for("stats", |l| l.starts_with("stats ")));
    assert!(relay.wait_exit(), "sync_relay failed: {}", relay.stderr());
    // During the partition the local members kept coming as sets without A's.
    let partial: Vec<&String> = relay
        .seen
        .iter()
        .filter(|l| l.starts_with("partial "))
        .collect();
    let local_only = partial
        .iter()
        .filter(|l| {
            let m: Vec<&str> = l["partial ".len()..].split(',').collect();
            m.len() == 3 && !m[0].is_empty() && !m[1].is_empty() && m[2].is_empty()
        })
        .count();
    eprintln!(
        "partition 3 s, sync_relay with drop_out_after 0.2 s: {local_only} sets of B's topics without A's ({} partial in all), {} sets; drops {:?}",
        relay_stats.partial, relay_stats.sets, relay_stats.drops
    );
    assert!(
        local_only >= 60,
        "{local_only} local sets in a 3 s partition at 30 Hz"
    );
    assert_eq!(
        relay_stats.partial as usize,
        partial.len(),
        "{relay_stats:?}"
    );
    assert!(relay_stats.unbalanced().is_empty(), "{relay_stats:?}");
    assert!(w.wait_exit(), "watch failed: {}", w.stderr());
    // Fast DDS's participant lease (20 s) outlasts a 3 s partition: the
    // graph keeps A's publisher, so watch says `stale`, not `no_publisher`.
    assert!(
        !w.seen.iter().any(|l| l.starts_with("problem no_publisher")),
        "{:?}",
        w.seen
    );
}

#[test]
fn a_host_clock_ahead_is_a_clock_mismatch_and_stamp_offset_compensates() {
    let Some(net) = hosts(&["a", "b", "c"]) else {
        return;
    };
    let d = domain();
    let cam = ["rate:=30.0", "width:=16", "height:=12", "qos:=sensor_data"];
    let mut a = on(&net, "a", d, "camera_publisher", &params(&cam));
    // Host C's clock runs 2 s ahead: its stamps do.
    let ahead = format!("start_sec:={}", now_sec() + 2);
    let mut c_args = vec!["-r", "__ns:=/c"];
    let mut c_params = cam.to_vec();
    c_params.push(&ahead);
    let c_params = params(&c_params);
    c_args.extend(&c_params);
    let mut c = on(&net, "c", d, "camera_publisher", &c_args);
    let mut w = watch_on(
        &net,
        "b",
        d,
        &[
            "--topic",
            "/camera1/image",
            "--topic",
            "/c/camera1/image",
            "--policy",
            "approximate",
            "--seconds",
            "8",
        ],
    );
    let started = Instant::now();
    let line = w.wait_for("clock_mismatch", |l| {
        l.starts_with("problem clock_mismatch")
    });
    eprintln!(
        "clock 2 s ahead: {line} after {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert!(names(&line, "/c/camera1/image"), "{line}");
    // With the offset, pairs within 50 ms form; without it none can.
    let stereo = |offset: Option<&str>| {
        let mut args = vec![
            "-r",
            "left:=/camera1/image",
            "-r",
            "right:=/c/camera1/image",
            "-p",
            "max_interval:=0.05",
            "-p",
            "stats_period:=0.5",
        ];
        if let Some(o) = offset {
            args.extend(["-p", o]);
        }
        on(&net, "b", d, "stereo_sync", &args)
    };
    let mut plain = stereo(None);
    let mut offset = stereo(Some("stamp_offset:=['1=-2s']"));
    let sets = offset.take("set ", 30);
    let skew_ms: Vec<i64> = sets
        .iter()
        .map(|l| l.rsplit_once("skew_us=").unwrap().1.parse::<i64>().unwrap() / 1000)
        .collect();
    eprintln!(
        "stamp_offset 1=-2s: 30 sets, raw skews {:?}..{:?} ms",
        skew_ms.first(),
        skew_ms.last()
    );
    assert!(
        skew_ms.iter().all(|s| (1950..=2050).contains(s)),
        "{skew_ms:?}"
    );
    // Once both inputs have delivered (C's may be discovered later).
    plain.wait_for("stats with both inputs", |l| {
        l.starts_with("stats ") && NodeStats::parse(l).received().iter().all(|&r| r > 0)
    });
    let s = last_stats(&plain);
    assert_eq!(s.sets, 0, "2 s apart, max_interval 50 ms: {s:?}");
    assert!(s.received().iter().all(|&r| r > 0), "{s:?}");
    for p in [&mut a, &mut c] {
        assert!(p.running(), "{} died: {}", p.name, p.stderr());
    }
    assert!(w.wait_exit(), "watch failed: {}", w.stderr());
}

/// `tests/ros_peer.py ARGS` (rclpy) on `host`.
fn peer_on(net: &Net, host: &str, d: u32, args: &[&str]) -> Proc {
    let py = std::env::var("STAMP_SYNC_ROS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = net.command(host, py);
    cmd.arg("-u")
        .arg(stamp_sync_testkit::repo().join("tests").join("ros_peer.py"))
        .args(args);
    Proc::command(&format!("ros_peer@{host}"), cmd, d)
}

/// `(channel, stamp, length, digests)` of a peer's `sent`/`got` lines.
fn peer_lines(p: &Proc, kind: &str) -> Vec<(usize, i64, usize, Vec<String>)> {
    p.seen
        .iter()
        .filter(|l| l.split(' ').next() == Some(kind))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].split(',').map(str::to_string).collect(),
            )
        })
        .collect()
}

#[test]
fn sync_relay_on_one_host_relays_topics_of_two_others_byte_for_byte() {
    let Some(net) = hosts(&["a", "b", "c"]) else {
        return;
    };
    let d = domain();
    // C's link loses 3 %: the relay subscribes best effort (sensor_data)
    // and counts what the middleware lost.
    net.set(
        "a",
        Link {
            delay: Duration::from_millis(10),
            ..Link::default()
        },
    );
    net.set(
        "c",
        Link {
            delay: Duration::from_millis(10),
            loss: 0.03,
            ..Link::default()
        },
    );
    let count = 100u64;
    let n = count.to_string();
    let mut pa = peer_on(
        &net,
        "a",
        d,
        &[
            "publish",
            "--topic",
            "/a/image",
            "--kind",
            "image",
            "--channel",
            "0",
            "--count",
            &n,
        ],
    );
    let mut pc = peer_on(
        &net,
        "c",
        d,
        &[
            "publish",
            "--topic",
            "/c/camera_info",
            "--kind",
            "info",
            "--channel",
            "1",
            "--count",
            &n,
        ],
    );
    let mut relay = on(
        &net,
        "b",
        d,
        "sync_relay",
        &params(&[
            "topics:=[/a/image, /c/camera_info]",
            "policy:=exact",
            "wait_for_topics:=30.0",
        ]),
    );
    let mut sink = peer_on(
        &net,
        "b",
        d,
        &[
            "collect",
            "--topics",
            "/a/image/synced,/c/camera_info/synced",
            "--kinds",
            "image,info",
            "--count",
            &n,
            "--seconds",
            "15",
        ],
    );
    sink.wait_for("the relay's outputs", |l| l == "matched");
    for p in [&mut pa, &mut pc] {
        p.wait_for("the relay's subscription", |l| l == "subscribed");
    }
    for p in [&mut pa, &mut pc] {
        p.send("go");
    }
    for p in [&mut pa, &mut pc] {
        p.wait_for("the end", |l| l == "done");
    }
    sink.wait_for("the end", |l| l == "done");
    relay.send("quit");
    let stats = NodeStats::parse(&relay.wait_for("stats", |l| l.starts_with("stats ")));
    assert!(relay.wait_exit(), "sync_relay failed: {}", relay.stderr());
    let sent: std::collections::HashMap<(usize, i64), (usize, String)> =
        [peer_lines(&pa, "sent"), peer_lines(&pc, "sent")]
            .concat()
            .into_iter()
            .map(|(ch, ns, len, d)| ((ch, ns), (len, d[0].clone())))
            .collect();
    let got = peer_lines(&sink, "got");
    for (ch, ns, len, digests) in &got {
        let (sent_len, digest) = sent
            .get(&(*ch, *ns))
            .unwrap_or_else(|| panic!("got channel {ch} stamp {ns}, never sent"));
        assert!(
            *len >= *sent_len && len - sent_len < 4,
            "length {len} vs {sent_len}"
        );
        assert!(
            digests.contains(digest),
            "channel {ch} stamp {ns}: the bytes differ"
        );
    }
    let per = |ch: usize| {
        got.iter()
            .filter(|g| g.0 == ch)
            .map(|g| g.1)
            .collect::<Vec<_>>()
    };
    let (a, c) = (per(0), per(1));
    eprintln!(
        "sync_relay on B, A's image and C's camera_info (C's link 3 % loss): \
         {} sets relayed, {} and {} members back byte for byte; relay {stats:?}; hub C: {:?}",
        stats.sets,
        a.len(),
        c.len(),
        net.counts("c")
    );
    // Every set, both members, byte for byte; nothing else.
    assert_eq!(a, c, "the outputs carry the same sets");
    assert_eq!(a.len() as u64, stats.sets, "{stats:?}");
    assert!(stats.unbalanced().is_empty(), "{stats:?}");
    // What C's link lost, the relay's `lost` counts: received + lost = sent
    // (but for a loss at the very end, which no later message reveals).
    let [lost_a, lost_c] = stats.lost[..] else {
        panic!("no lost= in {stats:?}")
    };
    let received = stats.received();
    assert_eq!(lost_a, Some(0), "A's link loses nothing: {stats:?}");
    let lost_c = lost_c.expect("Fast DDS reports lost messages");
    assert!(
        (count - 2..=count).contains(&(received[1] + lost_c)),
        "{stats:?}"
    );
    assert!(lost_c > 0 && lost_c <= count / 10, "{stats:?}");
    assert_eq!(received[0], count, "{stats:?}");
    // Exact sets: every stamp of C's that arrived.
    assert_eq!(stats.sets, received[1], "{stats:?}");
}
