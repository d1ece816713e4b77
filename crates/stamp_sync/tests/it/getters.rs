//! Per-channel stamp getters: headerless types, a custom field, a named
//! getter type from `stamp_getter!`, on every driver; and the default
//! getters give the same answers as the `Stamped` impls.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use futures::{StreamExt, stream};
use stamp_sync::stream::SyncStream;
use stamp_sync::{
    ApproximateTime, DynSynchronizer, ExactTime, HeaderStamp, SharedSynchronizer, Stamp, StampOf,
    Stamped, Synchronizer,
};

/// No header, no `Stamped` impl: the stamp is a field in microseconds.
#[derive(Clone, Debug, PartialEq)]
struct Odom {
    t_us: i64,
    x: f64,
}

/// A stamp in a custom place, and a misleading `Stamped` impl the getter
/// must win over.
#[derive(Clone, Debug, PartialEq)]
struct Tagged {
    meta: Meta,
    seq: u32,
}
#[derive(Clone, Debug, PartialEq, Default)]
struct Meta {
    stamp: Time,
}
#[derive(Clone, Debug, PartialEq, Default)]
struct Time {
    sec: i32,
    nanosec: u32,
}
impl Stamped for Tagged {
    fn stamp(&self) -> Stamp {
        Stamp::from_nanos(i64::from(self.seq)) // not what we synchronize on
    }
}

stamp_sync::stamp_getter!(
    /// `meta.stamp` of a [`Tagged`].
    TaggedStamp: Tagged => meta.stamp
);

fn odom(ms: i64) -> Odom {
    Odom {
        t_us: ms * 1_000,
        x: ms as f64,
    }
}
fn tagged(ms: i64, seq: u32) -> Tagged {
    Tagged {
        meta: Meta {
            stamp: Time {
                sec: (ms / 1000) as i32,
                nanosec: ((ms % 1000) * 1_000_000) as u32,
            },
        },
        seq,
    }
}
fn ms(t: i64) -> Stamp {
    Stamp::from_nanos(t * 1_000_000)
}

#[test]
fn a_closure_and_a_named_getter_stamp_their_channels() {
    let sets: Arc<Mutex<Vec<(i64, u32)>>> = Arc::default();
    let sink = sets.clone();
    let mut sync = Synchronizer::<(Odom, Tagged), _>::builder(ExactTime::new(5).unwrap())
        .stamp_with((|o: &Odom| Stamp::from_nanos(o.t_us * 1_000), TaggedStamp))
        .on_set(move |(o, t)| sink.lock().unwrap().push((o.t_us, t.seq)))
        .build()
        .unwrap();
    // seq would pair 1500 ns with... nothing: only the getters match.
    sync.add::<0>(odom(1500));
    assert_eq!(sync.add::<1>(tagged(1500, 7)), 1);
    sync.add::<1>(tagged(2000, 1500));
    assert_eq!(sync.add::<0>(odom(2000)), 1);
    assert_eq!(
        sets.lock().unwrap().as_slice(),
        [(1_500_000, 7), (2_000_000, 1500)]
    );
    assert_eq!(sync.stats().channels[1].last_stamp, Some(ms(2000)));
    assert_eq!(TaggedStamp.stamp_of(&tagged(3, 0)), ms(3));
}

#[test]
fn the_default_getters_are_the_stamped_impls() {
    // HeaderStamp on every channel, explicitly, is the default.
    let mut a = Synchronizer::<(Stamp, Tagged), _>::new(ApproximateTime::new(3).unwrap()).unwrap();
    let mut b = Synchronizer::<(Stamp, Tagged), _>::builder(ApproximateTime::new(3).unwrap())
        .stamp_with((HeaderStamp, HeaderStamp))
        .build()
        .unwrap();
    for k in 0..50u32 {
        let (x, y) = (Stamp::from_nanos(i64::from(k) * 10), tagged(0, k * 10 + 3));
        let mut ea: Vec<_> = a.push::<0>(x).collect();
        ea.extend(a.push::<1>(y.clone()));
        let mut eb: Vec<_> = b.push::<0>(x).collect();
        eb.extend(b.push::<1>(y));
        assert_eq!(ea, eb);
    }
    assert!(a.stats().sets > 10);
}

#[test]
fn shared_stream_and_dyn_drivers_take_getters() {
    let getters = (|o: &Odom| Stamp::from_nanos(o.t_us * 1_000), TaggedStamp);

    let n = Arc::new(Mutex::new(0));
    let seen = n.clone();
    let shared = SharedSynchronizer::<(Odom, Tagged), _>::builder(ExactTime::new(5).unwrap())
        .stamp_with(getters)
        .on_set(move |_| *seen.lock().unwrap() += 1)
        .build()
        .unwrap();
    shared.add::<0>(odom(10));
    assert_eq!(shared.add::<1>(tagged(10, 99)), 1);
    assert_eq!(*n.lock().unwrap(), 1);

    let a = stream::iter([odom(1), odom(2), odom(3)]);
    let b = stream::iter([tagged(1, 0), tagged(2, 0), tagged(3, 0), tagged(4, 0)]);
    let sets: Vec<(Odom, Tagged)> = block_on(
        SyncStream::builder((a, b), ExactTime::new(5).unwrap())
            .stamp_with(getters)
            .build()
            .unwrap()
            .collect(),
    );
    let got: Vec<(f64, i32, u32)> = sets
        .iter()
        .map(|(o, t)| (o.x, t.meta.stamp.sec, t.meta.stamp.nanosec))
        .collect();
    assert_eq!(
        got,
        [
            (1.0, 0, 1_000_000),
            (2.0, 0, 2_000_000),
            (3.0, 0, 3_000_000)
        ]
    );

    let mut dynamic = DynSynchronizer::builder(3, ExactTime::new(5).unwrap())
        .stamp_with(|o: &Odom| Stamp::from_nanos(o.t_us * 1_000))
        .build()
        .unwrap();
    let mut count = 0;
    for ch in 0..3 {
        count += dynamic
            .push(ch, odom(4))
            .unwrap()
            .filter_map(|e| e.into_set())
            .count();
    }
    assert_eq!(count, 1);
}

/// Generic code written against `Stamped` messages (before stamp getters)
/// still compiles: the default getter is `HeaderStamp` on every channel.
fn add_generic<T, P>(
    sync: &mut Synchronizer<T, P>,
    msg: <T as stamp_sync::driver::Channel<0>>::Msg,
) -> usize
where
    T: stamp_sync::driver::Messages + stamp_sync::driver::Channel<0>,
    P: stamp_sync::Policy<T::Queues>,
    <T as stamp_sync::driver::Channel<0>>::Msg: Stamped,
{
    sync.add::<0>(msg)
}

#[test]
fn generic_code_over_stamped_messages_still_compiles() {
    let mut sync = Synchronizer::<(Stamp, Stamp), _>::new(ExactTime::new(2).unwrap()).unwrap();
    assert_eq!(add_generic(&mut sync, ms(1)), 0);
    assert_eq!(sync.add::<1>(ms(1)), 1);
}
