//! Every driver has every option, with the same answers: for random traces
//! (messages with arrival times, and timer polls), random `Options` and
//! random policies from the registry (plain, or with a latched channel),
//! `Synchronizer` (with and without a drop callback), `SharedSynchronizer`,
//! `DynSynchronizer` and `SyncStream` (inputs handed out in trace order,
//! its arrival clock the trace's) give the same sets, drops (channel,
//! reason, message), stale reports, partial sets and counters.
#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::stream::Stream;
use proptest::prelude::*;
use stamp_sync::driver::Messages;
use stamp_sync::driver::dynamic::VecQueues;
use stamp_sync::policy::{AnyPolicy, PolicyConfig};
use stamp_sync::{
    DropReason, Duration, DynSynchronizer, Event, Latched, Options, Policy, SharedSynchronizer,
    Stamp, Stamped, Stats, Synchronizer,
};

#[derive(Clone, Debug, PartialEq)]
struct Msg {
    stamp: Stamp,
    id: u32,
}
impl Stamped for Msg {
    fn stamp(&self) -> Stamp {
        self.stamp
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// A message on a channel, stamped, received `advance` ms after the
    /// previous step.
    Msg {
        channel: usize,
        stamp_ms: i64,
        advance: i64,
    },
    /// A timer: `poll(now)` `advance` ms after the previous step.
    Poll { advance: i64 },
}

#[derive(Clone, Debug)]
struct Case {
    channels: usize,
    config: PolicyConfig,
    latched: Option<usize>,
    options: Options,
    steps: Vec<Step>,
}

/// What a driver handed out, by kind, in order.
#[derive(Clone, Debug, Default, PartialEq)]
struct Record {
    sets: Vec<Vec<u32>>,
    drops: Vec<(usize, DropReason, u32, Stamp)>,
    stale: Vec<(usize, Duration, Stamp)>,
    partial: Vec<Vec<Option<u32>>>,
    stats: Stats,
}

fn configs() -> impl Strategy<Value = PolicyConfig> {
    prop_oneof![
        (1usize..5)
            .prop_map(|q| PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: q })),
        (1usize..5, proptest::option::of(0i64..40)).prop_map(|(q, m)| {
            PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
                queue_size: q,
                age_penalty: 0.1,
                max_interval: m.map(Duration::from_millis),
                lower_bounds: Vec::new(),
                deadline: None,
            })
        }),
        (1usize..5, 0i64..20).prop_map(|(q, e)| PolicyConfig::Epsilon(
            stamp_sync::policy::EpsilonConfig {
                queue_size: q,
                epsilon: Some(Duration::from_millis(e)),
                deadline: None,
            }
        )),
        Just(PolicyConfig::Latest(stamp_sync::policy::LatestConfig)),
        (1usize..5, 0i64..40).prop_map(|(q, s)| PolicyConfig::Slop(
            stamp_sync::policy::SlopConfig {
                queue_size: q,
                slop: Some(Duration::from_millis(s))
            }
        )),
    ]
}

fn options(channels: usize) -> impl Strategy<Value = Options> {
    (
        proptest::option::of(50i64..1000),
        proptest::option::of((0..channels, -30i64..30)),
        any::<bool>(),
        proptest::option::of(20i64..300),
        any::<bool>(),
    )
        .prop_map(|(jump, offset, arrival, stale, partial)| {
            let mut o = Options::new().arrival_stamps(arrival).partial_sets(partial);
            if let Some(j) = jump {
                o = o.reset_on_jump_back(Duration::from_millis(j));
            }
            if let Some((c, d)) = offset {
                o = o.stamp_offset(c, Duration::from_millis(d));
            }
            if let Some(s) = stale {
                o = o.stale_after(Duration::from_millis(s));
            }
            o
        })
}

fn cases() -> impl Strategy<Value = Case> {
    (2usize..4).prop_flat_map(|channels| {
        let step = prop_oneof![
            8 => (0..channels, 0i64..1500, 0i64..25).prop_map(|(channel, stamp_ms, advance)| Step::Msg { channel, stamp_ms, advance }),
            1 => (0i64..400).prop_map(|advance| Step::Poll { advance }),
        ];
        (
            configs(),
            proptest::option::of(0..channels),
            options(channels),
            prop::collection::vec(step, 0..120),
        )
            .prop_map(move |(config, latched, options, steps)| Case {
                channels,
                config,
                // Two channels with one latched: one free channel.
                latched,
                options,
                steps,
            })
    })
}

/// The steps with absolute arrival times: `(step, now, id)`.
fn timeline(c: &Case) -> Vec<(Step, Stamp, u32)> {
    let mut now = 0;
    c.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            now += match s {
                Step::Msg { advance, .. } | Step::Poll { advance } => *advance,
            };
            (s.clone(), Stamp::from_nanos(now * 1_000_000), i as u32)
        })
        .collect()
}

fn msg(stamp_ms: i64, id: u32) -> Msg {
    Msg {
        stamp: Stamp::from_nanos(stamp_ms * 1_000_000),
        id,
    }
}

// ---- the stream's inputs: handed out strictly in trace order ----------------

#[derive(Default)]
struct Script {
    /// `Some(channel, msg, now)` per message step, `None` per poll step.
    steps: Vec<Option<(usize, Msg, i64)>>,
    cursor: AtomicUsize,
    /// Steps before this one have arrived: the test releases one message
    /// at a time, as messages arrive live.
    released: AtomicUsize,
    clock: AtomicI64,
}

/// Input `channel`: ready only when the next step is a released message of
/// its own.
struct Turn {
    channel: usize,
    script: Arc<Script>,
}

impl Stream for Turn {
    type Item = Msg;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Msg>> {
        let at = self.script.cursor.load(Ordering::SeqCst);
        if at >= self.script.released.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        match self.script.steps.get(at) {
            Some(Some((ch, m, now))) if *ch == self.channel => {
                self.script.clock.store(*now, Ordering::SeqCst);
                self.script.cursor.store(at + 1, Ordering::SeqCst);
                Poll::Ready(Some(m.clone()))
            }
            // The test drives the stream by hand and polls again.
            _ => Poll::Pending,
        }
    }
}

fn script(c: &Case) -> Arc<Script> {
    Arc::new(Script {
        steps: timeline(c)
            .into_iter()
            .map(|(s, now, id)| match s {
                Step::Msg {
                    channel, stamp_ms, ..
                } => Some((channel, msg(stamp_ms, id), now.as_nanos())),
                Step::Poll { .. } => None,
            })
            .collect(),
        ..Script::default()
    })
}

// ---- the typed drivers, per arity ------------------------------------------

macro_rules! typed_runs {
    ($name:ident, ($($T:ident $i:tt),+)) => {
        mod $name {
            use super::*;
            type T = ($($T,)+);
            type Q = <T as Messages>::Queues;

            fn partial(p: <T as Messages>::PartialSet) -> Vec<Option<u32>> {
                vec![$(p.$i.map(|m: Msg| m.id)),+]
            }

            pub fn synchronizer<P: Policy<Q>>(c: &Case, policy: P, drop_callback: bool) -> Record {
                let rec: Arc<Mutex<Record>> = Arc::default();
                let (r1, r2, r3, r4) = (rec.clone(), rec.clone(), rec.clone(), rec.clone());
                let mut builder = Synchronizer::<T, P>::builder(policy).options(c.options.clone())
                    .on_set(move |s| r1.lock().unwrap().sets.push(vec![$(s.$i.id),+]))
                    .on_stale(move |s| r2.lock().unwrap().stale.push((s.channel, s.silent_for, s.at)))
                    .on_partial(move |p| r3.lock().unwrap().partial.push(partial(p)));
                if drop_callback {
                    builder = builder.on_drop(move |d| {
                        let id = match d.message { $(stamp_sync::driver::AnyMsg::$T(m) => m.id,)+ _ => u32::MAX };
                        r4.lock().unwrap().drops.push((d.channel, d.reason, id, d.stamp));
                    });
                }
                let mut sync = builder.build().unwrap();
                for (step, now, id) in timeline(c) {
                    match step {
                        Step::Msg { channel, stamp_ms, .. } => {
                            match channel {
                                $($i => { sync.add_at::<$i>(msg(stamp_ms, id), now); })+
                                _ => unreachable!(),
                            }
                        }
                        Step::Poll { .. } => { sync.poll(now); }
                    }
                }
                let mut r = rec.lock().unwrap().clone();
                r.stats = sync.stats().clone();
                r
            }

            pub fn shared<P: Policy<Q> + Send + 'static>(c: &Case, policy: P) -> Record {
                let rec: Arc<Mutex<Record>> = Arc::default();
                let (r1, r2, r3, r4) = (rec.clone(), rec.clone(), rec.clone(), rec.clone());
                let sync = SharedSynchronizer::<T, P>::builder(policy)
                    .options(c.options.clone())
                    .on_set(move |s| r1.lock().unwrap().sets.push(vec![$(s.$i.id),+]))
                    .on_stale(move |s| r2.lock().unwrap().stale.push((s.channel, s.silent_for, s.at)))
                    .on_partial(move |p| r3.lock().unwrap().partial.push(partial(p)))
                    .on_drop(move |d| {
                        let id = match d.message { $(stamp_sync::driver::AnyMsg::$T(m) => m.id,)+ _ => u32::MAX };
                        r4.lock().unwrap().drops.push((d.channel, d.reason, id, d.stamp));
                    })
                    .build()
                    .unwrap();
                for (step, now, id) in timeline(c) {
                    match step {
                        Step::Msg { channel, stamp_ms, .. } => {
                            match channel {
                                $($i => { sync.add_at::<$i>(msg(stamp_ms, id), now); })+
                                _ => unreachable!(),
                            }
                        }
                        Step::Poll { .. } => { sync.poll(now); }
                    }
                }
                let mut r = rec.lock().unwrap().clone();
                r.stats = sync.stats();
                r
            }

            pub fn stream<P: Policy<Q>>(c: &Case, policy: P) -> Record {
                let rec: Arc<Mutex<Record>> = Arc::default();
                let (r2, r3, r4) = (rec.clone(), rec.clone(), rec.clone());
                let script = script(c);
                let clock = script.clone();
                let inputs = ($(Turn { channel: $i, script: { let _ = stringify!($T); script.clone() } },)+);
                let mut s = stamp_sync::stream::SyncStream::builder(inputs, policy)
                    .options(c.options.clone())
                    .clock(move || Stamp::from_nanos(clock.clock.load(Ordering::SeqCst)))
                    .on_stale(move |s| r2.lock().unwrap().stale.push((s.channel, s.silent_for, s.at)))
                    .on_partial(move |p| r3.lock().unwrap().partial.push(partial(p)))
                    .on_drop(move |d| {
                        let id = match d.message { $(stamp_sync::driver::AnyMsg::$T(m) => m.id,)+ _ => u32::MAX };
                        r4.lock().unwrap().drops.push((d.channel, d.reason, id, d.stamp));
                    })
                    .build()
                    .unwrap();
                let waker = futures::task::noop_waker();
                let mut cx = Context::from_waker(&waker);
                let times: Vec<Stamp> = timeline(c).into_iter().map(|(_, now, _)| now).collect();
                let mut sets = Vec::new();
                for _ in 0..100_000 {
                    match Pin::new(&mut s).poll_next(&mut cx) {
                        Poll::Ready(Some(set)) => sets.push(vec![$(set.$i.id),+]),
                        Poll::Ready(None) => break,
                        Poll::Pending => {
                            let at = script.cursor.load(Ordering::SeqCst);
                            match script.steps.get(at) {
                                None => break,
                                Some(None) => {
                                    s.poll(times[at]);
                                    script.cursor.store(at + 1, Ordering::SeqCst);
                                    script.released.store(at + 1, Ordering::SeqCst);
                                }
                                // The next message arrives.
                                Some(Some(_)) => script.released.store(at + 1, Ordering::SeqCst),
                            }
                        }
                    }
                }
                assert_eq!(script.cursor.load(Ordering::SeqCst), script.steps.len(), "every step taken");
                let mut r = rec.lock().unwrap().clone();
                r.sets = sets;
                r.stats = s.stats().clone();
                r
            }
        }
    };
}

typed_runs!(two, (Ch0 0, Ch1 1));
typed_runs!(three, (Ch0 0, Ch1 1, Ch2 2));

// `typed_runs!` names message types after the `AnyMsg` variants.
type Ch0 = Msg;
type Ch1 = Msg;
type Ch2 = Msg;

fn dynamic<P: Policy<VecQueues<Msg>>>(c: &Case, policy: P) -> Record {
    let mut sync = DynSynchronizer::builder(c.channels, policy)
        .options(c.options.clone())
        .build()
        .unwrap();
    let mut r = Record::default();
    for (step, now, id) in timeline(c) {
        let events: Vec<_> = match step {
            Step::Msg {
                channel, stamp_ms, ..
            } => {
                let m = msg(stamp_ms, id);
                let stamp = m.stamp;
                sync.push_stamped(channel, m, stamp, now).unwrap().collect()
            }
            Step::Poll { .. } => sync.poll_events(now).collect(),
        };
        for e in events {
            match e {
                Event::Set(s) => r.sets.push(s.iter().map(|m| m.id).collect()),
                Event::Drop(d) => r.drops.push((d.channel, d.reason, d.message.id, d.stamp)),
                Event::Stale(s) => r.stale.push((s.channel, s.silent_for, s.at)),
                Event::Partial(p) => r.partial.push(
                    p.members
                        .iter()
                        .map(|m| m.as_ref().map(|d| d.message.id))
                        .collect(),
                ),
                _ => {}
            }
        }
    }
    r.stats = sync.stats().clone();
    r
}

/// Every driver against `Synchronizer` with a drop callback.
fn agree<P>(c: &Case, policy: P) -> Result<(), TestCaseError>
where
    P: Policy<<(Msg, Msg) as Messages>::Queues>
        + Policy<<(Msg, Msg, Msg) as Messages>::Queues>
        + Policy<VecQueues<Msg>>
        + Clone
        + Send
        + 'static,
{
    let (reference, quiet, shared, stream) = match c.channels {
        2 => (
            two::synchronizer(c, policy.clone(), true),
            two::synchronizer(c, policy.clone(), false),
            two::shared(c, policy.clone()),
            two::stream(c, policy.clone()),
        ),
        _ => (
            three::synchronizer(c, policy.clone(), true),
            three::synchronizer(c, policy.clone(), false),
            three::shared(c, policy.clone()),
            three::stream(c, policy.clone()),
        ),
    };
    let dynamic = dynamic(c, policy);
    prop_assert_eq!(&shared, &reference, "SharedSynchronizer");
    prop_assert_eq!(&dynamic, &reference, "DynSynchronizer");
    prop_assert_eq!(&stream, &reference, "SyncStream");
    // Without a drop callback drops are only counted, with the same counts.
    prop_assert!(quiet.drops.is_empty());
    prop_assert_eq!(
        Record {
            drops: Vec::new(),
            ..reference
        },
        quiet,
        "Synchronizer without a drop callback"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_driver_gives_the_same_events(c in cases()) {
        let policy: AnyPolicy = c.config.build().unwrap();
        match c.latched {
            None => agree(&c, policy)?,
            Some(ch) => agree(&c, Latched::new(policy).channel(ch))?,
        }
    }
}

/// The cases above are not trivial: sets, drops, stale reports and
/// partial sets all happen.
#[test]
fn the_cases_exercise_every_kind_of_event() {
    let c = Case {
        channels: 3,
        config: PolicyConfig::approximate(3),
        latched: None,
        options: Options::new()
            .stale_after(Duration::from_millis(50))
            .partial_sets(true)
            .reset_on_jump_back(Duration::from_millis(200)),
        steps: (0..60)
            .map(|k| Step::Msg {
                channel: if (20..40).contains(&k) { k % 2 } else { k % 3 },
                stamp_ms: if k == 50 { 0 } else { 10 * k as i64 },
                advance: 10,
            })
            .chain([Step::Poll { advance: 500 }])
            .collect(),
    };
    let r = three::synchronizer(&c, c.config.build().unwrap(), true);
    assert!(
        !r.sets.is_empty() && !r.drops.is_empty() && !r.stale.is_empty() && !r.partial.is_empty(),
        "{r:?}"
    );
    assert_eq!(r.stats.resets, 1);
    assert_eq!(r, three::stream(&c, c.config.build().unwrap()));
}
