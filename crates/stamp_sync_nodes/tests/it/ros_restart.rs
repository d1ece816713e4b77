//! The publisher is killed and restarted mid-run; the sync node, never
//! restarted, resumes emitting sets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::ros as ros_common;

use ros_common::{Proc, domain, pub_line, set_stamps};

fn publisher(d: u32, first_index: i64) -> Proc {
    let first = format!("first_index:={first_index}");
    Proc::node(
        "camera_publisher",
        d,
        &[
            "-p",
            "wait_subscribers:=2",
            "-p",
            "rate:=100.0",
            "-p",
            "start_sec:=1000",
            "-p",
            &first,
        ],
    )
}

#[test]
fn sync_node_resumes_after_publisher_restart() {
    let d = domain();
    let mut sync = Proc::node(
        "image_info_sync",
        d,
        &[
            "-p",
            "qos:=reliable",
            "-r",
            "image:=/camera1/image",
            "-r",
            "camera_info:=/camera1/camera_info",
        ],
    );

    let mut first = publisher(d, 0);
    let before: Vec<i64> = sync
        .take("set ", 20)
        .iter()
        .map(|l| set_stamps(l)[0])
        .collect();
    first.kill();

    // The second run stamps from index 10_000 on: its sets are recognisable.
    let mut second = publisher(d, 10_000);
    let first_new = second.take("pub ", 1)[0].clone();
    let start = pub_line(&first_new).1;
    let after = sync.wait_for("a set from the restarted publisher", |l| {
        l.starts_with("set ") && set_stamps(l)[0] >= start
    });
    let mut resumed = vec![set_stamps(&after)[0]];
    for l in sync.take("set ", 19) {
        resumed.push(set_stamps(&l)[0]);
    }
    assert!(sync.running(), "the sync node must not have exited");
    // Sets before the kill were consecutive ticks of run 1.
    assert!(
        before.windows(2).all(|w| w[1] - w[0] == 10_000_000),
        "{before:?}"
    );
    // After the restart: consecutive ticks of run 2, every one paired.
    assert!(
        resumed.windows(2).all(|w| w[1] - w[0] == 10_000_000),
        "{resumed:?}"
    );
    assert!(resumed.iter().all(|&s| s >= start));
    eprintln!(
        "run 1: {} sets before the kill; run 2 resumed at stamp {start}",
        before.len()
    );
}
