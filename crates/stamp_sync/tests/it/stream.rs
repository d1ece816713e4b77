//! The synchronizing stream, driven by hand with a counting waker: no
//! runtime, no timing, every step deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::stream::{FusedStream, Stream};
use stamp_sync::driver::{Channel, Messages};
use stamp_sync::policy::{Arrival, Output};
use stamp_sync::stream::{SyncInputs, SyncStream};
use stamp_sync::trace::{PolicyConfig, Trace, replay};
use stamp_sync::{ApproximateTime, DropReason, ExactTime, Policy, Stamp, Synchronizer};

/// A waker that counts its wakes.
#[derive(Default)]
struct CountWaker(AtomicUsize);
impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Task {
    count: Arc<CountWaker>,
    waker: Waker,
}
impl Task {
    fn new() -> Self {
        let count = Arc::new(CountWaker::default());
        Task {
            waker: Waker::from(count.clone()),
            count,
        }
    }
    fn wakes(&self) -> usize {
        self.count.0.load(Ordering::SeqCst)
    }
    fn poll<St: Stream + Unpin>(&self, s: &mut St) -> Poll<Option<St::Item>> {
        Pin::new(s).poll_next(&mut Context::from_waker(&self.waker))
    }
    /// Polls until `Pending` or the end, collecting items. Bounded.
    fn drain<St: Stream + Unpin>(&self, s: &mut St) -> (Vec<St::Item>, bool) {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match self.poll(s) {
                Poll::Ready(Some(x)) => out.push(x),
                Poll::Ready(None) => return (out, true),
                Poll::Pending => return (out, false),
            }
        }
        panic!("stream never returned Pending or ended");
    }
}

#[derive(Default)]
struct ManualState {
    items: VecDeque<Stamp>,
    closed: bool,
    waker: Option<Waker>,
    polls: usize,
    taken: usize,
}

/// An input stream fed by the test. Records every poll in a shared log.
#[derive(Clone)]
struct Manual {
    id: usize,
    state: Rc<RefCell<ManualState>>,
    log: Rc<RefCell<Vec<usize>>>,
}

impl Manual {
    fn new(id: usize, log: &Rc<RefCell<Vec<usize>>>) -> Self {
        Manual {
            id,
            state: Rc::default(),
            log: log.clone(),
        }
    }
    fn send(&self, t: i64) {
        let mut s = self.state.borrow_mut();
        s.items.push_back(Stamp::from_nanos(t));
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }
    fn close(&self) {
        let mut s = self.state.borrow_mut();
        s.closed = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }
    fn polls(&self) -> usize {
        self.state.borrow().polls
    }
    fn taken(&self) -> usize {
        self.state.borrow().taken
    }
}

impl Stream for Manual {
    type Item = Stamp;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Stamp>> {
        self.log.borrow_mut().push(self.id);
        let mut s = self.state.borrow_mut();
        s.polls += 1;
        if let Some(t) = s.items.pop_front() {
            s.taken += 1;
            Poll::Ready(Some(t))
        } else if s.closed {
            Poll::Ready(None)
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

fn log() -> Rc<RefCell<Vec<usize>>> {
    Rc::default()
}

fn ns(sets: &[(Stamp, Stamp)]) -> Vec<(i64, i64)> {
    sets.iter()
        .map(|(a, b)| (a.as_nanos(), b.as_nanos()))
        .collect()
}

/// `(channel, stamp)` arrivals and the expected sets, per policy.
struct Case {
    name: &'static str,
    exact: bool,
    queue: usize,
    input: &'static [(usize, i64)],
    expected: &'static [(i64, i64)],
}

const CASES: &[Case] = &[
    Case {
        name: "approximate: last pair is never proven",
        exact: false,
        queue: 10,
        input: &[(0, 0), (1, 1), (0, 3), (1, 4), (0, 6), (1, 7)],
        expected: &[(0, 1), (3, 4)],
    },
    Case {
        name: "approximate: burst on one channel",
        exact: false,
        queue: 10,
        input: &[(0, 0), (0, 10), (0, 20), (1, 11), (1, 21), (0, 30), (1, 31)],
        expected: &[(10, 11), (20, 21)],
    },
    Case {
        name: "exact: every identical pair, interleaved",
        exact: true,
        queue: 10,
        input: &[(0, 1), (1, 2), (1, 1), (0, 2), (0, 3), (1, 5), (0, 5)],
        expected: &[(1, 1), (2, 2), (5, 5)],
    },
    Case {
        name: "exact: queue 1 evicts",
        exact: true,
        queue: 1,
        input: &[(0, 1), (0, 2), (1, 1), (1, 2)],
        expected: &[(2, 2)],
    },
];

fn config(c: &Case) -> PolicyConfig {
    if c.exact {
        PolicyConfig::Exact(stamp_sync::policy::ExactConfig {
            queue_size: c.queue,
        })
    } else {
        PolicyConfig::approximate(c.queue)
    }
}

fn through_stream(c: &Case) -> Vec<(i64, i64)> {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let task = Task::new();
    let mut got = Vec::new();
    macro_rules! run {
        ($s:expr) => {{
            let mut s = $s;
            for &(ch, t) in c.input {
                [&a, &b][ch].send(t);
                let (sets, ended) = task.drain(&mut s);
                assert!(!ended, "{}: ended early", c.name);
                got.extend(ns(&sets));
            }
        }};
    }
    if c.exact {
        run!(
            (a.clone(), b.clone())
                .synchronize(ExactTime::new(c.queue).unwrap())
                .unwrap()
        );
    } else {
        run!(
            (a.clone(), b.clone())
                .synchronize(ApproximateTime::new(c.queue).unwrap())
                .unwrap()
        );
    }
    got
}

fn through_synchronizer(c: &Case) -> Vec<(i64, i64)> {
    let mut got = Vec::new();
    macro_rules! run {
        ($p:expr) => {{
            let mut sync = Synchronizer::<(Stamp, Stamp), _>::new($p).unwrap();
            for &(ch, t) in c.input {
                let t = Stamp::from_nanos(t);
                let sets: Vec<_> = if ch == 0 {
                    sync.push::<0>(t).filter_map(|e| e.into_set()).collect()
                } else {
                    sync.push::<1>(t).filter_map(|e| e.into_set()).collect()
                };
                got.extend(ns(&sets));
            }
        }};
    }
    if c.exact {
        run!(ExactTime::new(c.queue).unwrap());
    } else {
        run!(ApproximateTime::new(c.queue).unwrap());
    }
    got
}

type T2 = (Stamp, Stamp);

fn bare<P: Policy<<T2 as Messages>::Queues>>(mut p: P, c: &Case) -> Vec<(i64, i64)> {
    type T = T2;
    p.bind(2).unwrap();
    let mut store = <T as Messages>::queues(p.capacity());
    let mut out = Output::with_capacity(p.max_events_per_add());
    let mut got = Vec::new();
    for &(channel, t) in c.input {
        let stamp = Stamp::from_nanos(t);
        if channel == 0 {
            <T as Channel<0>>::push(&mut store, stamp);
        } else {
            <T as Channel<1>>::push(&mut store, stamp);
        }
        let arrival = Arrival {
            channel,
            stamp,
            received: stamp,
        };
        p.add(arrival, &mut store, &mut out);
        let sets: Vec<_> = out.drain().filter_map(|e| e.into_set()).collect();
        got.extend(ns(&sets));
    }
    got
}

fn through_bare_policy(c: &Case) -> Vec<(i64, i64)> {
    if c.exact {
        bare(ExactTime::new(c.queue).unwrap(), c)
    } else {
        bare(ApproximateTime::new(c.queue).unwrap(), c)
    }
}

fn through_replay(c: &Case) -> Vec<(i64, i64)> {
    let trace = Trace::from_pairs(c.input.iter().map(|&(ch, t)| (ch, Stamp::from_nanos(t))));
    let r = replay(&trace, 2, &config(c)).unwrap();
    r.sets
        .iter()
        .map(|s| (s[0].stamp.as_nanos(), s[1].stamp.as_nanos()))
        .collect()
}

#[test]
fn scenario_table_same_answers_on_every_front_end() {
    for c in CASES {
        let stream = through_stream(c);
        assert_eq!(stream, c.expected, "{}: stream", c.name);
        assert_eq!(
            through_synchronizer(c),
            c.expected,
            "{}: synchronizer",
            c.name
        );
        assert_eq!(through_replay(c), c.expected, "{}: replay", c.name);
        assert_eq!(
            through_bare_policy(c),
            c.expected,
            "{}: bare policy",
            c.name
        );
    }
}

#[test]
fn pending_registers_every_input_and_no_wakeup_is_lost() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    let task = Task::new();
    assert!(task.poll(&mut s).is_pending());
    // Both inputs were polled (and so hold the waker) before Pending.
    assert_eq!((a.polls(), b.polls()), (1, 1));
    assert_eq!(task.wakes(), 0);

    // A message on either input wakes the task.
    b.send(5);
    assert_eq!(task.wakes(), 1);
    assert!(task.poll(&mut s).is_pending());
    a.send(5);
    assert_eq!(task.wakes(), 2);
    assert_eq!(
        task.poll(&mut s),
        Poll::Ready(Some((Stamp::from_nanos(5), Stamp::from_nanos(5))))
    );
    // After a set, the next poll registers again.
    assert!(task.poll(&mut s).is_pending());
    a.send(6);
    assert_eq!(task.wakes(), 3);
}

#[test]
fn first_polled_input_rotates() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let c = Manual::new(2, &l);
    let mut s = (a.clone(), b.clone(), c.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    let task = Task::new();
    let mut firsts = Vec::new();
    for _ in 0..6 {
        l.borrow_mut().clear();
        assert!(task.poll(&mut s).is_pending());
        firsts.push(l.borrow()[0]);
        assert_eq!(l.borrow().len(), 3, "every input polled once");
    }
    assert_eq!(firsts, [0, 1, 2, 0, 1, 2]);
}

#[test]
fn a_busy_input_does_not_starve_the_others() {
    // Input 0 always has 1000 messages ready; input 1 one message. The set
    // (500, 500) must come out without draining input 0 first.
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    for t in 0..1000 {
        a.send(t);
    }
    b.send(0);
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(2000).unwrap())
        .unwrap();
    let task = Task::new();
    assert_eq!(
        task.poll(&mut s),
        Poll::Ready(Some((Stamp::from_nanos(0), Stamp::from_nanos(0))))
    );
    // a0 goes first (the tie goes to the lower input), then b0 completes
    // the set while input 0 has one more message waiting in its slot.
    assert_eq!((a.taken(), b.taken()), (2, 1), "one message per slot");
    assert_eq!(s.stats().received_total(), 2);
}

#[test]
fn inputs_are_not_polled_while_a_set_waits() {
    // ExactTime emits one set per add; ApproximateTime can emit a set and
    // then the caller must take it before any input is read again.
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    for t in [1, 2, 3] {
        a.send(t);
        b.send(t);
    }
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    let task = Task::new();
    for expect in 1..=3 {
        assert_eq!(
            task.poll(&mut s),
            Poll::Ready(Some((Stamp::from_nanos(expect), Stamp::from_nanos(expect))))
        );
        assert_eq!(
            s.stats().received_total(),
            2 * expect as u64,
            "fed only what the set needed"
        );
        assert!(
            a.taken() + b.taken() <= 2 * expect as usize + 2,
            "read at most one message per input ahead"
        );
    }
}

/// Per channel, every message received is in a set, dropped or queued.
fn accounted<S: stamp_sync::stream::SyncInputs, P: Policy<stamp_sync::stream::QueuesOf<S>>>(
    s: &SyncStream<S, P>,
) {
    for (ch, c) in s.stats().channels.iter().enumerate() {
        assert_eq!(
            c.received,
            c.emitted + c.dropped_total() + s.queued(ch) as u64,
            "channel {ch}: {c:?}"
        );
    }
}

#[test]
fn ends_only_when_every_input_has_ended_and_everything_went_through() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    let task = Task::new();
    a.send(1);
    a.send(2);
    b.send(1);
    b.send(3);
    b.close();
    // b ended; a is live: the stream goes on, everything ready went through.
    let (sets, ended) = task.drain(&mut s);
    assert_eq!(ns(&sets), [(1, 1)]);
    assert!(!ended);
    assert!(!s.is_terminated());
    assert_eq!(s.stats().received_total(), 4);
    accounted(&s);
    // a's later messages still reach the policy and can match b's 3.
    a.send(3);
    a.send(4);
    let (sets, ended) = task.drain(&mut s);
    assert_eq!(ns(&sets), [(3, 3)]);
    assert!(!ended);
    a.close();
    let (sets, ended) = task.drain(&mut s);
    assert!(sets.is_empty());
    assert!(ended);
    assert!(s.is_terminated());
    // 2 is older than the set (3, 3); 4 stays queued.
    assert_eq!(s.queued(0), 1);
    assert_eq!(s.stats().channels[0].received, 4);
    accounted(&s);
    // Fused: never polls its inputs again, keeps saying None.
    let polls = (a.polls(), b.polls());
    assert_eq!(task.poll(&mut s), Poll::Ready(None));
    assert_eq!((a.polls(), b.polls()), polls);
}

#[test]
fn inputs_ending_at_different_times_lose_nothing() {
    use futures::{StreamExt, executor::block_on, stream};
    // Input 0 has 30 messages, input 1 only the first 10: the stream
    // reads all 40, and what does not match stays queued, counted.
    let a = stream::iter((0..30).map(|k| Stamp::from_nanos(k * 10)));
    let b = stream::iter((0..10).map(|k| Stamp::from_nanos(k * 10 + 1)));
    let mut s = (a, b)
        .synchronize(ApproximateTime::new(50).unwrap())
        .unwrap();
    let sets = block_on((&mut s).collect::<Vec<_>>());
    assert_eq!(
        sets.len(),
        10,
        "input 0 goes on past the last pair: it is proven"
    );
    assert_eq!(s.stats().channels[0].received, 30);
    assert_eq!(s.stats().channels[1].received, 10);
    accounted(&s);
    assert!(s.queued(0) > 0);
}

#[test]
fn an_ended_input_does_not_end_it_while_another_is_live() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    let task = Task::new();
    b.send(1);
    assert_eq!(task.drain(&mut s), (vec![], false));
    a.close();
    assert_eq!(task.drain(&mut s), (vec![], false));
    assert!(!s.is_terminated());
    b.close();
    assert_eq!(task.drain(&mut s), (vec![], true));
    assert!(s.is_terminated());
    assert_eq!(s.queued(1), 1);
}

#[test]
fn budget_yields_with_a_self_wake() {
    // 10_000 ready messages on input 0 that never match: the stream must
    // yield (Pending + wake) instead of draining everything in one poll.
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    for t in 0..10_000 {
        a.send(t);
    }
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    let task = Task::new();
    assert!(task.poll(&mut s).is_pending());
    assert_eq!(task.wakes(), 1, "yielded with a self-wake");
    // The budget is POLL_BUDGET_PER_INPUT messages per input.
    assert_eq!(a.taken(), 2 * stamp_sync::stream::POLL_BUDGET_PER_INPUT);
    assert!(task.poll(&mut s).is_pending());
    assert_eq!(a.taken(), 4 * stamp_sync::stream::POLL_BUDGET_PER_INPUT);
}

/// The sets of a `Synchronizer` fed `(channel, stamp)` in stamp order
/// (ties: the lower channel), as a stream over pre-filled inputs feeds them.
fn synchronizer_in_stamp_order<P: Policy<<T2 as Messages>::Queues>>(
    policy: P,
    inputs: [&[i64]; 2],
) -> Vec<(i64, i64)> {
    let mut all: Vec<(i64, usize)> = Vec::new();
    for (ch, v) in inputs.iter().enumerate() {
        all.extend(v.iter().map(|&t| (t, ch)));
    }
    all.sort();
    let mut sync = Synchronizer::<T2, _>::new(policy).unwrap();
    let mut got = Vec::new();
    for (t, ch) in all {
        let t = Stamp::from_nanos(t);
        let sets: Vec<_> = match ch {
            0 => sync.push::<0>(t).filter_map(|e| e.into_set()).collect(),
            _ => sync.push::<1>(t).filter_map(|e| e.into_set()).collect(),
        };
        got.extend(ns(&sets));
    }
    got
}

#[test]
fn over_pre_filled_inputs_it_yields_the_synchronizers_sets() {
    use futures::{StreamExt, executor::block_on, stream};
    // A 30 Hz and a 10 Hz channel, every message ready from the start: fed
    // one per input in turn, the fast one would overflow its queue.
    let fast: Vec<i64> = (0..90).map(|k| k * 33).collect();
    let slow: Vec<i64> = (0..30).map(|k| k * 99 + 2).collect();
    let want = synchronizer_in_stamp_order(ApproximateTime::new(5).unwrap(), [&fast, &slow]);
    assert_eq!(want.len(), 30);
    let st = |v: &[i64]| stream::iter(v.iter().map(|&t| Stamp::from_nanos(t)).collect::<Vec<_>>());
    let mut s = (st(&fast), st(&slow))
        .synchronize(ApproximateTime::new(5).unwrap())
        .unwrap();
    let got = block_on((&mut s).collect::<Vec<_>>());
    assert_eq!(ns(&got), want);
    let overflow: u64 = s
        .stats()
        .channels
        .iter()
        .map(|c| c.dropped_for(DropReason::QueueOverflow))
        .sum();
    assert_eq!(overflow, 0);
    accounted(&s);
}

proptest::proptest! {
    /// Random pre-filled inputs, random queue sizes, both policies: the
    /// stream's sets are the synchronizer's in stamp order, and every
    /// message is accounted for.
    #[test]
    fn pre_filled_inputs_give_the_synchronizers_sets(
        a in proptest::collection::vec(0i64..400, 0..60),
        b in proptest::collection::vec(0i64..400, 0..60),
        queue in 1usize..8,
        exact in proptest::bool::ANY,
    ) {
        use futures::{StreamExt, executor::block_on, stream};
        let (mut a, mut b) = (a, b);
        a.sort();
        b.sort();
        let st = |v: &[i64]| stream::iter(v.iter().map(|&t| Stamp::from_nanos(t)).collect::<Vec<_>>());
        let (got, want) = if exact {
            let mut s = (st(&a), st(&b)).synchronize(ExactTime::new(queue).unwrap()).unwrap();
            let got = ns(&block_on((&mut s).collect::<Vec<_>>()));
            accounted(&s);
            (got, synchronizer_in_stamp_order(ExactTime::new(queue).unwrap(), [&a, &b]))
        } else {
            let mut s = (st(&a), st(&b)).synchronize(ApproximateTime::new(queue).unwrap()).unwrap();
            let got = ns(&block_on((&mut s).collect::<Vec<_>>()));
            accounted(&s);
            (got, synchronizer_in_stamp_order(ApproximateTime::new(queue).unwrap(), [&a, &b]))
        };
        proptest::prop_assert_eq!(got, want);
    }
}

#[test]
fn debug_shows_inputs_and_the_synchronizer() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let s = (a, b).synchronize(ExactTime::new(4).unwrap()).unwrap();
    let text = format!("{s:?}");
    assert!(
        text.starts_with(
            "SyncStream { inputs: 2, waiting: 0, pending_sets: 0, stats: Stats { channels: ["
        ),
        "{text}"
    );
}

#[test]
fn drops_reach_the_callback() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut s = SyncStream::builder((a.clone(), b.clone()), ExactTime::new(1).unwrap())
        .on_drop(move |d| {
            sink.lock()
                .unwrap()
                .push((d.channel, d.stamp.as_nanos(), d.reason))
        })
        .build()
        .unwrap();
    let task = Task::new();
    a.send(1);
    a.send(2);
    b.send(2);
    assert_eq!(task.drain(&mut s).0.len(), 1);
    assert_eq!(*seen.lock().unwrap(), [(0, 1, DropReason::QueueOverflow)]);
    assert_eq!(s.stats().sets, 1);
}

#[test]
fn nine_inputs_end_to_end() {
    use futures::{StreamExt, executor::block_on, stream};
    let st = |off: i64| stream::iter((0..5).map(move |k| Stamp::from_nanos(k * 100 + off)));
    let s = (
        st(0),
        st(1),
        st(2),
        st(3),
        st(4),
        st(5),
        st(6),
        st(7),
        st(8),
    )
        .synchronize(ApproximateTime::new(10).unwrap())
        .unwrap();
    let sets: Vec<_> = block_on(s.collect());
    // 5 rounds; the last is not proven before the inputs end.
    assert_eq!(sets.len(), 4);
    for (k, set) in sets.iter().enumerate() {
        assert_eq!(set.0.as_nanos(), k as i64 * 100);
        assert_eq!(set.8.as_nanos(), k as i64 * 100 + 8);
    }
}

#[test]
fn stream_is_send_when_inputs_and_messages_are() {
    fn assert_send<T: Send>(_: &T) {}
    use futures::stream;
    let s = (
        stream::iter(vec![Stamp::ZERO]),
        stream::iter(vec![Stamp::ZERO]),
    )
        .synchronize(ExactTime::new(1).unwrap())
        .unwrap();
    assert_send(&s);
}

#[test]
fn works_on_a_multithreaded_runtime_style_executor() {
    // futures' ThreadPool-free executor: LocalPool with a channel fed from
    // another thread, checks real wakeups across threads.
    use futures::{StreamExt, channel::mpsc, executor::block_on};
    let (tx0, rx0) = mpsc::unbounded::<Stamp>();
    let (tx1, rx1) = mpsc::unbounded::<Stamp>();
    // The senders close when the thread ends: the stream ends once both
    // inputs have, after every message went through.
    let producer = std::thread::spawn(move || {
        for t in 0..1000 {
            tx0.unbounded_send(Stamp::from_nanos(t)).unwrap();
            tx1.unbounded_send(Stamp::from_nanos(t)).unwrap();
        }
    });
    let s = (rx0, rx1).synchronize(ExactTime::new(10).unwrap()).unwrap();
    let sets: Vec<_> = block_on(s.collect());
    producer.join().unwrap();
    assert_eq!(sets.len(), 1000);
    assert!(
        sets.iter()
            .enumerate()
            .all(|(k, (a, b))| a.as_nanos() == k as i64 && a == b)
    );
}

#[test]
fn size_hint_is_open_while_live_and_exact_once_ended() {
    let l = log();
    let (a, b) = (Manual::new(0, &l), Manual::new(1, &l));
    let mut s = (a.clone(), b.clone())
        .synchronize(ExactTime::new(4).unwrap())
        .unwrap();
    assert_eq!(s.size_hint(), (0, None));
    let task = Task::new();
    a.send(1);
    b.send(1);
    b.close();
    assert_eq!(
        task.drain(&mut s),
        (vec![(Stamp::from_nanos(1), Stamp::from_nanos(1))], false)
    );
    assert_eq!(s.size_hint(), (0, None));
    a.close();
    assert_eq!(task.drain(&mut s), (vec![], true));
    assert_eq!(s.size_hint(), (0, Some(0)));
}
