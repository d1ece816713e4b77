//! Driver behaviour: typed channels, callbacks outside the state, re-entrancy,
//! drop accounting, auto traits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration as StdDuration;

use stamp_sync::driver::AnyMsg;
use stamp_sync::{
    ApproximateTime, DropReason, ExactTime, SharedSynchronizer, Stamp, Stamped, Synchronizer,
};

#[derive(Debug, Clone, PartialEq)]
struct Image {
    t: i64,
    data: Vec<u8>,
}
#[derive(Debug, Clone, PartialEq)]
struct Info {
    t: i64,
}
impl Stamped for Image {
    fn stamp(&self) -> Stamp {
        Stamp::from_nanos(self.t)
    }
}
impl Stamped for Info {
    fn stamp(&self) -> Stamp {
        Stamp::from_nanos(self.t)
    }
}

/// The stamp in nanoseconds of a dropped image or camera info.
fn stamp_ns(m: &AnyMsg<Image, Info>) -> i64 {
    match m {
        AnyMsg::Ch0(i) => i.t,
        AnyMsg::Ch1(i) => i.t,
        _ => unreachable!(),
    }
}

#[test]
fn heterogeneous_pair_by_value() {
    let got: Arc<Mutex<Vec<(Image, Info)>>> = Arc::default();
    let sink = got.clone();
    let mut sync = Synchronizer::<(Image, Info), _>::builder(ExactTime::new(5).unwrap())
        .on_set(move |pair| sink.lock().unwrap().push(pair))
        .build()
        .unwrap();
    assert_eq!(
        sync.add::<0>(Image {
            t: 1,
            data: vec![7]
        }),
        0
    );
    assert_eq!(sync.add::<1>(Info { t: 1 }), 1);
    assert_eq!(
        got.lock().unwrap().as_slice(),
        &[(
            Image {
                t: 1,
                data: vec![7]
            },
            Info { t: 1 }
        )]
    );
    assert_eq!(sync.stats().sets, 1);
    assert_eq!(sync.stats().channels[1].emitted, 1);
}

#[test]
fn nine_channels_end_to_end() {
    type S = Stamp;
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let mut sync =
        Synchronizer::<(S, S, S, S, S, S, S, S, S), _>::builder(ApproximateTime::new(3).unwrap())
            .on_set(move |set| {
                assert_eq!(set.0, set.8);
                c.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
    for t in [10, 20] {
        let s = Stamp::from_nanos(t);
        sync.add::<0>(s);
        sync.add::<1>(s);
        sync.add::<2>(s);
        sync.add::<3>(s);
        sync.add::<4>(s);
        sync.add::<5>(s);
        sync.add::<6>(s);
        sync.add::<7>(s);
        sync.add::<8>(s);
    }
    // Identical stamps on every channel publish at once (scenario D3).
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn drop_callback_gets_every_dropped_message_with_reason() {
    let drops: Arc<Mutex<Vec<(usize, DropReason, i64)>>> = Arc::default();
    let sink = drops.clone();
    let mut sync = Synchronizer::<(Image, Info), _>::builder(ApproximateTime::new(2).unwrap())
        .on_drop(move |d| {
            let t = stamp_ns(&d.message);
            sink.lock().unwrap().push((d.channel, d.reason, t));
        })
        .build()
        .unwrap();
    for t in 0..5 {
        sync.add::<0>(Image { t, data: vec![] });
    }
    // Queue 2 on channel 0: 0, 1, 2 overflowed in turn.
    assert_eq!(
        drops.lock().unwrap().as_slice(),
        &[
            (0, DropReason::QueueOverflow, 0),
            (0, DropReason::QueueOverflow, 1),
            (0, DropReason::QueueOverflow, 2)
        ]
    );
    assert_eq!(
        sync.stats().channels[0].dropped_for(DropReason::QueueOverflow),
        3
    );
    assert_eq!(sync.queued(0), 2);
}

#[test]
fn dropped_and_emitted_messages_are_freed() {
    let probe = Arc::new(7i64);
    let mut sync =
        Synchronizer::<((Stamp, Arc<i64>), (Stamp, Arc<i64>)), _>::new(ExactTime::new(1).unwrap())
            .unwrap();
    let t = Stamp::from_nanos;
    // Evicted by overflow (queue 1 distinct stamp), then a matched pair.
    let ev: Vec<_> = sync.push::<0>((t(1), probe.clone())).collect();
    assert!(ev.is_empty());
    assert_eq!(Arc::strong_count(&probe), 2);
    let ev: Vec<_> = sync.push::<0>((t(2), probe.clone())).collect();
    assert_eq!(ev.len(), 1);
    drop(ev);
    assert_eq!(
        Arc::strong_count(&probe),
        2,
        "evicted message must be handed back and freed"
    );
    let ev: Vec<_> = sync.push::<1>((t(2), probe.clone())).collect();
    assert_eq!(ev.len(), 1);
    drop(ev);
    assert_eq!(
        Arc::strong_count(&probe),
        1,
        "emitted set must not be retained"
    );
    sync.push::<1>((t(9), probe.clone())).for_each(drop);
    drop(sync);
    assert_eq!(
        Arc::strong_count(&probe),
        1,
        "queued messages are freed with the synchronizer"
    );
}

/// Upstream runs callbacks under the policy mutex, so a callback that adds
/// to the same synchronizer deadlocks (ros2/message_filters#65).
#[test]
fn callback_may_reenter_shared_synchronizer_regression_mf_65() {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        type Handle = SharedSynchronizer<(Stamp, Stamp), ExactTime>;
        let slot: Arc<Mutex<Option<Handle>>> = Arc::default();
        let handle = slot.clone();
        let sets = Arc::new(AtomicUsize::new(0));
        let seen = sets.clone();
        let sync = SharedSynchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(10).unwrap())
            .on_set(move |(a, _)| {
                seen.fetch_add(1, Ordering::SeqCst);
                // Re-enter: complete the next set from inside the callback.
                if a.as_nanos() < 3 {
                    let s = handle.lock().unwrap().clone().unwrap();
                    let next = Stamp::from_nanos(a.as_nanos() + 1);
                    s.add::<0>(next);
                    s.add::<1>(next);
                }
            })
            .build()
            .unwrap();
        *slot.lock().unwrap() = Some(sync.clone());
        sync.add::<0>(Stamp::from_nanos(0));
        sync.add::<1>(Stamp::from_nanos(0));
        done_tx.send(sets.load(Ordering::SeqCst)).unwrap();
    });
    let sets = done_rx
        .recv_timeout(StdDuration::from_secs(10))
        .expect("re-entrant add deadlocked");
    assert_eq!(sets, 4);
}

#[test]
fn shared_handle_across_threads() {
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let sync = SharedSynchronizer::<(Stamp, Stamp), _>::builder(ExactTime::new(2000).unwrap())
        .on_set(move |(a, b)| {
            assert_eq!(a, b);
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let s0 = sync.clone();
    let s1 = sync.clone();
    let t0 = std::thread::spawn(move || {
        (0..1000).for_each(|t| {
            s0.add::<0>(Stamp::from_nanos(t));
        })
    });
    let t1 = std::thread::spawn(move || {
        (0..1000).for_each(|t| {
            s1.add::<1>(Stamp::from_nanos(t));
        })
    });
    t0.join().unwrap();
    t1.join().unwrap();
    let stats = sync.stats();
    assert_eq!(stats.received_total(), 2000);
    let emitted = n.load(Ordering::SeqCst) as u64;
    assert_eq!(stats.sets, emitted);
    // Every message is in a set, dropped (older than a set that overtook it) or queued.
    let dropped = stats.dropped_total();
    let queued = (sync.queued(0) + sync.queued(1)) as u64;
    assert_eq!(2 * emitted + dropped + queued, 2000);
    assert!(emitted > 0);
}

#[test]
fn auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Send + Sync>() {}
    send::<Synchronizer<(Image, Info), ApproximateTime>>();
    send::<Synchronizer<(Image, Info), ExactTime>>();
    sync::<SharedSynchronizer<(Image, Info), ApproximateTime>>();
    send::<stamp_sync::DynSynchronizer<Image, ApproximateTime>>();
}

#[test]
fn config_errors_are_typed() {
    use stamp_sync::ConfigError;
    assert_eq!(
        ApproximateTime::new(0).unwrap_err(),
        ConfigError::ZeroQueueSize
    );
    assert_eq!(ExactTime::new(0).unwrap_err(), ConfigError::ZeroQueueSize);
    let p = ApproximateTime::builder()
        .lower_bound(2, stamp_sync::Duration::from_millis(1))
        .build()
        .unwrap();
    assert_eq!(
        Synchronizer::<(Image, Info), _>::new(p).unwrap_err(),
        ConfigError::NoSuchChannel {
            channel: 2,
            channels: 2
        }
    );
    assert!(matches!(
        ApproximateTime::builder().age_penalty(-1.0).build(),
        Err(ConfigError::BadAgePenalty(_))
    ));
    assert!(matches!(
        ApproximateTime::builder()
            .max_interval(stamp_sync::Duration::from_nanos(-1))
            .build(),
        Err(ConfigError::NegativeDuration { .. })
    ));
    assert_eq!(
        stamp_sync::DynSynchronizer::<Stamp, _>::new(1, ExactTime::new(1).unwrap()).unwrap_err(),
        ConfigError::TooFewChannels(1)
    );
}

/// A drop callback on nine channels: `AnyMsg::channel()` names the channel
/// the dropped message came from, the same as `Dropped::channel`.
#[test]
fn dropped_messages_name_their_channel_on_all_nine() {
    type S = Stamp;
    let drops: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let sink = drops.clone();
    let mut sync =
        Synchronizer::<(S, S, S, S, S, S, S, S, S), _>::builder(ApproximateTime::new(1).unwrap())
            .on_drop(move |d| sink.lock().unwrap().push((d.channel, d.message.channel())))
            .build()
            .unwrap();
    // Queue 1: the second message on a channel overflows the first; no set
    // can form before the ninth channel has a message.
    let (a, b) = (Stamp::from_nanos(10), Stamp::from_nanos(20));
    sync.add::<0>(a);
    sync.add::<0>(b);
    sync.add::<1>(a);
    sync.add::<1>(b);
    sync.add::<2>(a);
    sync.add::<2>(b);
    sync.add::<3>(a);
    sync.add::<3>(b);
    sync.add::<4>(a);
    sync.add::<4>(b);
    sync.add::<5>(a);
    sync.add::<5>(b);
    sync.add::<6>(a);
    sync.add::<6>(b);
    sync.add::<7>(a);
    sync.add::<7>(b);
    sync.add::<8>(a);
    sync.add::<8>(b);
    let want: Vec<(usize, usize)> = (0..9).map(|k| (k, k)).collect();
    assert_eq!(*drops.lock().unwrap(), want);
}

/// The shared handle's own methods: what each add returns, `queued`,
/// `reset` (drops handed to the callback and counted), and `{:?}`.
#[test]
fn shared_handle_adds_queues_and_resets() {
    let drops: Arc<Mutex<Vec<(usize, DropReason, i64)>>> = Arc::default();
    let sink = drops.clone();
    let sync = SharedSynchronizer::<(Image, Info), _>::builder(ExactTime::new(5).unwrap())
        .on_drop(move |d| {
            let t = stamp_ns(&d.message);
            sink.lock().unwrap().push((d.channel, d.reason, t));
        })
        .build()
        .unwrap();
    let image = |t| Image { t, data: vec![] };
    let s = Stamp::from_nanos;
    // An explicit stamp wins over the message's own.
    assert_eq!(sync.add_stamped::<0>(image(1), s(7), s(7)), 0);
    assert_eq!(sync.add_stamped::<1>(Info { t: 2 }, s(7), s(7)), 1);
    assert_eq!(sync.add::<0>(image(8)), 0);
    assert_eq!(sync.add::<0>(image(9)), 0);
    assert_eq!((sync.queued(0), sync.queued(1)), (2, 0));
    sync.reset();
    assert_eq!((sync.queued(0), sync.queued(1)), (0, 0));
    assert_eq!(
        *drops.lock().unwrap(),
        [(0, DropReason::Reset, 8), (0, DropReason::Reset, 9)]
    );
    let stats = sync.stats();
    assert_eq!(stats.sets, 1);
    assert_eq!(stats.channels[0].dropped_for(DropReason::Reset), 2);
    assert_eq!(
        format!("{sync:?}"),
        "SharedSynchronizer { channels: 2, .. }"
    );
}

/// `{:?}` of a synchronizer shows its channels and counters.
#[test]
fn synchronizer_debug_shows_channels_and_counters() {
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(ExactTime::new(2).unwrap()).unwrap();
    sync.add::<0>(Stamp::from_nanos(1));
    sync.add::<1>(Stamp::from_nanos(1));
    let text = format!("{sync:?}");
    assert!(
        text.starts_with("Synchronizer { channels: 2, stats: "),
        "{text}"
    );
    assert!(text.contains("sets: 1"), "{text}");
    assert!(text.ends_with(", .. }"), "{text}");
}
