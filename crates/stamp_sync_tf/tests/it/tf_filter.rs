//! TfFilter (pure core) and TfFilterStream: release on the completing
//! transform, every failure reason, bounds, accounting, composition with a
//! synchronizer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use approx::assert_abs_diff_eq;
use futures::executor::block_on;
use futures::{StreamExt, stream};
use stamp_sync::{ApproximateTime, Duration, Stamp, Synchronizer};
use stamp_sync_tf::{
    FailureReason, FramedSet, Quaternion, TfEvent, TfFilter, TfFilterStream, TfInput, TimeoutClock,
    Transform, Vector3,
};

type Msg = FramedSet<u32>;

fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

fn at(x: f64) -> Transform {
    Transform::new(Vector3::new(x, 0.0, 0.0), Quaternion::IDENTITY)
}

fn msg(t: i64, frame: &str, id: u32) -> Msg {
    FramedSet::new(ms(t), frame, id)
}

fn collect(events: impl Iterator<Item = TfEvent<Msg>>) -> Vec<TfEvent<Msg>> {
    events.collect()
}

fn released(ev: &[TfEvent<Msg>]) -> Vec<u32> {
    ev.iter()
        .filter_map(|e| match e {
            TfEvent::Released(r) => Some(r.msg.set),
            TfEvent::Failed(_) => None,
        })
        .collect()
}

fn failed(ev: &[TfEvent<Msg>]) -> Vec<(u32, FailureReason)> {
    ev.iter()
        .filter_map(|e| match e {
            TfEvent::Failed(f) => Some((f.msg.set, f.reason)),
            TfEvent::Released(_) => None,
        })
        .collect()
}

#[test]
fn releases_when_the_completing_transform_arrives_with_all_targets() {
    let mut f = TfFilter::builder()
        .target("map")
        .target("odom")
        .build::<Msg>()
        .unwrap();
    f.set_static_transform("base", "laser", Stamp::ZERO, &at(0.5))
        .unwrap();
    f.set_transform("map", "odom", ms(0), &at(100.0)).unwrap();
    f.set_transform("map", "odom", ms(100), &at(100.0)).unwrap();
    f.set_transform("odom", "base", ms(0), &at(0.0)).unwrap();
    let ev = collect(f.add(msg(50, "laser", 1), Stamp::ZERO));
    assert!(ev.is_empty(), "odom -> base has no data at 50 ms yet");
    assert!(collect(f.poll(Stamp::ZERO)).is_empty());
    assert_eq!(f.pending(), 1);
    f.set_transform("odom", "base", ms(100), &at(10.0)).unwrap();
    let ev = collect(f.poll(Stamp::ZERO));
    assert_eq!(released(&ev), vec![1]);
    let TfEvent::Released(r) = &ev[0] else {
        unreachable!()
    };
    // Target order: map, then odom.
    assert_abs_diff_eq!(
        r.transforms[0].transform.translation.x,
        105.5,
        epsilon = 1e-9
    );
    assert_abs_diff_eq!(r.transforms[1].transform.translation.x, 5.5, epsilon = 1e-9);
    assert_eq!(r.transforms[0].stamp, ms(50));
    // Ready at once: released by add itself.
    let ev = collect(f.add(msg(60, "/laser", 2), Stamp::ZERO));
    assert_eq!(released(&ev), vec![2]);
    let st = f.stats();
    assert_eq!((st.received, st.released, st.failed_total()), (2, 2, 0));
}

#[test]
fn empty_frame_id_fails_at_once() {
    let mut f = TfFilter::builder().target("map").build::<Msg>().unwrap();
    let ev = collect(f.add(msg(1, "", 7), Stamp::ZERO));
    assert_eq!(failed(&ev), vec![(7, FailureReason::EmptyFrameId)]);
    assert_eq!(f.stats().failed(FailureReason::EmptyFrameId), 1);
}

#[test]
fn timeout_in_stamp_time_names_the_reason() {
    let mut f = TfFilter::builder()
        .target("map")
        .timeout(Duration::from_millis(100))
        .build::<Msg>()
        .unwrap();
    f.set_transform("map", "odom", ms(0), &at(0.0)).unwrap();
    f.set_transform("elsewhere", "cam", ms(0), &at(0.0))
        .unwrap();
    // Waits for data at 10 ms; unknown frame; no path to map.
    assert!(collect(f.add(msg(10, "odom", 1), Stamp::ZERO)).is_empty());
    assert!(collect(f.add(msg(10, "ghost", 2), Stamp::ZERO)).is_empty());
    assert!(collect(f.add(msg(10, "cam", 3), Stamp::ZERO)).is_empty());
    // Stamp time reaches 110 ms: not yet more than 100 ms after 10 ms.
    f.set_transform("elsewhere", "cam", ms(110), &at(0.0))
        .unwrap();
    assert!(collect(f.poll(Stamp::ZERO)).is_empty());
    f.set_transform("elsewhere", "cam", ms(111), &at(0.0))
        .unwrap();
    let mut got = failed(&collect(f.poll(Stamp::ZERO)));
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got,
        vec![
            (1, FailureReason::Timeout),
            (2, FailureReason::UnknownFrame),
            (3, FailureReason::NoPath)
        ]
    );
    assert_eq!(f.pending(), 0);
}

#[test]
fn timeout_in_arrival_time_uses_the_callers_clock() {
    let mut f = TfFilter::builder()
        .target("map")
        .timeout(Duration::from_millis(100))
        .timeout_clock(TimeoutClock::ArrivalTime)
        .build::<Msg>()
        .unwrap();
    f.set_transform("map", "odom", ms(0), &at(0.0)).unwrap();
    assert!(collect(f.add(msg(10, "odom", 1), ms(1000))).is_empty());
    // Stamps far ahead do not matter on this clock.
    f.set_transform("map", "odom", ms(5), &at(0.0)).unwrap();
    assert!(collect(f.poll(ms(1100))).is_empty());
    assert_eq!(
        failed(&collect(f.poll(ms(1101)))),
        vec![(1, FailureReason::Timeout)]
    );
}

#[test]
fn expired_when_its_data_can_no_longer_arrive() {
    let mut f = TfFilter::builder()
        .target("map")
        .cache_time(Duration::from_secs(1))
        .timeout(Duration::from_secs(100))
        .build::<Msg>()
        .unwrap();
    f.set_transform("map", "odom", ms(1500), &at(0.0)).unwrap();
    f.set_transform("map", "odom", ms(2000), &at(0.0)).unwrap();
    // Before the first sample but within the cache time of the newest:
    // a late sample may still come.
    assert!(collect(f.add(msg(1200, "odom", 1), Stamp::ZERO)).is_empty());
    // More than the cache time before the newest: can never be inserted.
    let ev = collect(f.add(msg(999, "odom", 2), Stamp::ZERO));
    assert_eq!(failed(&ev), vec![(2, FailureReason::Expired)]);
    // The link moves on: message 1 expires too.
    f.set_transform("map", "odom", ms(2201), &at(0.0)).unwrap();
    assert_eq!(
        failed(&collect(f.poll(Stamp::ZERO))),
        vec![(1, FailureReason::Expired)]
    );
}

#[test]
fn queue_full_drops_the_oldest() {
    let mut f = TfFilter::builder()
        .target("map")
        .queue_size(2)
        .build::<Msg>()
        .unwrap();
    f.set_transform("map", "odom", ms(0), &at(0.0)).unwrap();
    for id in 1..=2 {
        assert!(collect(f.add(msg(i64::from(id), "odom", id), Stamp::ZERO)).is_empty());
    }
    let ev = collect(f.add(msg(3, "odom", 3), Stamp::ZERO));
    assert_eq!(failed(&ev), vec![(1, FailureReason::QueueFull)]);
    assert_eq!(f.pending(), 2);
    // A full queue first releases what became ready.
    f.set_transform("map", "odom", ms(10), &at(0.0)).unwrap();
    let ev = collect(f.add(msg(20, "odom", 4), Stamp::ZERO));
    assert_eq!(released(&ev), vec![2, 3]);
    assert!(failed(&ev).is_empty());
}

#[test]
fn tolerance_waits_for_data_past_the_stamp() {
    let mut f = TfFilter::builder()
        .target("map")
        .tolerance(Duration::from_millis(20))
        .build::<Msg>()
        .unwrap();
    f.set_transform("map", "odom", ms(0), &at(0.0)).unwrap();
    f.set_transform("map", "odom", ms(10), &at(1.0)).unwrap();
    assert!(collect(f.add(msg(5, "odom", 1), Stamp::ZERO)).is_empty());
    f.set_transform("map", "odom", ms(20), &at(2.0)).unwrap();
    assert!(
        collect(f.poll(Stamp::ZERO)).is_empty(),
        "needs data at 25 ms"
    );
    f.set_transform("map", "odom", ms(30), &at(3.0)).unwrap();
    let ev = collect(f.poll(Stamp::ZERO));
    let TfEvent::Released(r) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_abs_diff_eq!(
        r.transforms[0].transform.translation.x,
        0.5,
        epsilon = 1e-12
    );
}

#[test]
fn every_message_is_released_failed_or_pending() {
    // xorshift-driven random operations.
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut f = TfFilter::builder()
        .target("map")
        .target("base")
        .queue_size(5)
        .timeout(Duration::from_millis(300))
        .cache_time(Duration::from_millis(500))
        .build::<Msg>()
        .unwrap();
    let frames = ["base", "laser", "cam", "", "ghost", "odom"];
    let (mut rel, mut fail) = (0u64, 0u64);
    let mut count = |ev: Vec<TfEvent<Msg>>| {
        for e in ev {
            match e {
                TfEvent::Released(_) => rel += 1,
                TfEvent::Failed(_) => fail += 1,
            }
        }
    };
    f.set_static_transform("base", "laser", Stamp::ZERO, &at(0.1))
        .unwrap();
    for step in 0..5000i64 {
        let t = step * 2;
        match next(4) {
            0 => {
                let _ = f.set_transform("map", "odom", ms(t - next(50) as i64), &at(0.0));
            }
            1 => {
                let _ = f.set_transform("odom", "base", ms(t - next(80) as i64), &at(1.0));
            }
            2 => {
                let frame = frames[next(frames.len() as u64) as usize];
                count(collect(
                    f.add(msg(t - next(200) as i64, frame, 0), Stamp::ZERO),
                ));
            }
            _ => count(collect(f.poll(Stamp::ZERO))),
        }
        let st = f.stats();
        assert_eq!(
            st.received,
            st.released + st.failed_total() + f.pending() as u64
        );
        assert!(f.pending() <= 5);
    }
    let st = *f.stats();
    assert_eq!((rel, fail), (st.released, st.failed_total()));
    assert!(st.released > 100 && st.failed_total() > 100, "{st:?}");
    for r in [
        FailureReason::EmptyFrameId,
        FailureReason::UnknownFrame,
        FailureReason::Timeout,
    ] {
        assert!(st.failed(r) > 0, "{r:?}: {st:?}");
    }
}

#[test]
fn holds_a_synchronizer_set_until_its_transform_exists() {
    // ApproximateTime pairs (image, scan); each set is anchored at the
    // image's stamp in the camera frame and released with camera -> map.
    let sets = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sets);
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::builder(ApproximateTime::new(5).unwrap())
        .on_set(move |(img, scan)| {
            sink.lock()
                .unwrap()
                .push(FramedSet::new(img, "camera", (img, scan)))
        })
        .build()
        .unwrap();
    let mut f = TfFilter::builder().target("map").build().unwrap();
    f.set_static_transform("base", "camera", Stamp::ZERO, &at(0.2))
        .unwrap();
    f.set_transform("map", "base", ms(0), &at(0.0)).unwrap();
    let mut out = Vec::new();
    for k in 0..10 {
        sync.add::<0>(ms(k * 100 + 50));
        sync.add::<1>(ms(k * 100 + 53));
        let ready: Vec<_> = sets.lock().unwrap().drain(..).collect();
        for set in ready {
            out.extend(f.add(set, Stamp::ZERO));
        }
    }
    assert!(out.is_empty(), "no map -> base data after 0 ms yet");
    let held = f.pending();
    assert!(held >= 8, "{held}");
    f.set_transform("map", "base", ms(1000), &at(10.0)).unwrap();
    out.extend(f.poll(Stamp::ZERO));
    assert_eq!(out.len(), held);
    for e in &out {
        let TfEvent::Released(r) = e else {
            panic!("{e:?}")
        };
        let (img, _scan) = r.msg.set;
        let want = img.as_nanos() as f64 / 1e8 + 0.2; // 10 m per second
        assert_abs_diff_eq!(
            r.transforms[0].transform.translation.x,
            want,
            epsilon = 1e-9
        );
    }
}

fn tf_input(ns: i64, x: f64) -> TfInput {
    TfInput {
        is_static: false,
        stamp: ms(ns),
        parent: "map".into(),
        child: "odom".into(),
        transform: at(x),
    }
}

#[test]
fn stream_releases_and_fails_what_is_left_at_the_end() {
    let msgs = stream::iter(vec![msg(5, "odom", 1), msg(15, "odom", 2), msg(1, "", 3)]);
    let tfs = stream::iter(vec![tf_input(0, 0.0), tf_input(10, 1.0)]);
    let f = TfFilter::builder().target("map").build().unwrap();
    let s = TfFilterStream::new(msgs, tfs, f);
    let ev: Vec<TfEvent<Msg>> = block_on(s.collect());
    assert_eq!(released(&ev), vec![1]);
    let mut got = failed(&ev);
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got,
        vec![
            (2, FailureReason::Timeout),
            (3, FailureReason::EmptyFrameId)
        ]
    );
}

#[test]
fn stream_waits_for_late_transforms_and_is_fused() {
    let (tx, rx) = futures::channel::mpsc::unbounded::<TfInput>();
    let msgs = stream::iter(vec![msg(5, "odom", 1)]);
    let f = TfFilter::builder().target("map").build().unwrap();
    let mut s = TfFilterStream::new(msgs, rx, f);
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(
        s.poll_next_unpin(&mut cx).is_pending(),
        "message held, transforms open"
    );
    assert_eq!(s.tf_filter().pending(), 1);
    tx.unbounded_send(tf_input(0, 0.0)).unwrap();
    tx.unbounded_send(tf_input(10, 2.0)).unwrap();
    let std::task::Poll::Ready(Some(TfEvent::Released(r))) = s.poll_next_unpin(&mut cx) else {
        panic!("released after the transform")
    };
    assert_abs_diff_eq!(
        r.transforms[0].transform.translation.x,
        1.0,
        epsilon = 1e-12
    );
    // Messages ended, nothing held: the stream ends and stays ended.
    assert!(matches!(
        s.poll_next_unpin(&mut cx),
        std::task::Poll::Ready(None)
    ));
    assert!(futures::stream::FusedStream::is_terminated(&s));
    assert!(matches!(
        s.poll_next_unpin(&mut cx),
        std::task::Poll::Ready(None)
    ));
}

/// A held message times out on a timer tick while no input arrives: the
/// tick wakes the task (what the r2r adapter's wall timer is for), and
/// the stream goes on after the ticks end.
#[test]
fn stream_ticks_wake_it_to_check_timeouts_while_the_inputs_are_silent() {
    use futures::channel::mpsc;
    use futures::task::ArcWake;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::task::{Context, Poll};

    struct Count(AtomicUsize);
    impl ArcWake for Count {
        fn wake_by_ref(me: &Arc<Self>) {
            me.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (msgs_tx, msgs) = mpsc::unbounded::<Msg>();
    let (_tf_tx, tfs) = mpsc::unbounded::<TfInput>();
    let (ticks_tx, ticks) = mpsc::unbounded::<()>();
    let now = Arc::new(AtomicI64::new(0));
    let clock = now.clone();
    let filter = TfFilter::builder()
        .target("map")
        .timeout(Duration::from_millis(100))
        .timeout_clock(TimeoutClock::ArrivalTime)
        .build()
        .unwrap();
    let mut s = TfFilterStream::new(msgs, tfs, filter)
        .with_clock(move || Stamp::from_nanos(clock.load(Ordering::SeqCst)))
        .with_ticks(ticks);
    let wakes = Arc::new(Count(AtomicUsize::new(0)));
    let waker = futures::task::waker(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    msgs_tx.unbounded_send(msg(5, "cam", 1)).unwrap();
    assert!(s.poll_next_unpin(&mut cx).is_pending());
    assert_eq!(s.tf_filter().pending(), 1);
    let before = wakes.0.load(Ordering::SeqCst);
    // At exactly the timeout it is kept.
    now.store(ms(100).as_nanos(), Ordering::SeqCst);
    ticks_tx.unbounded_send(()).unwrap();
    assert_eq!(
        wakes.0.load(Ordering::SeqCst),
        before + 1,
        "a tick wakes the task"
    );
    assert!(s.poll_next_unpin(&mut cx).is_pending());
    assert_eq!(s.tf_filter().pending(), 1);
    // Past it, the next tick fails it.
    now.store(ms(101).as_nanos(), Ordering::SeqCst);
    ticks_tx.unbounded_send(()).unwrap();
    assert_eq!(wakes.0.load(Ordering::SeqCst), before + 2);
    let Poll::Ready(Some(TfEvent::Failed(f))) = s.poll_next_unpin(&mut cx) else {
        panic!("no timeout on the tick")
    };
    assert_eq!((f.msg.set, f.reason), (1, FailureReason::UnknownFrame));
    // The ticks ending does not end the stream.
    drop(ticks_tx);
    assert!(s.poll_next_unpin(&mut cx).is_pending());
}
