//! Shared test helpers: run one trace through every front end.

use stamp_sync::driver::AnyMsg;
use stamp_sync::policy::AnyPolicy;
use stamp_sync::trace::{PolicyConfig, Trace, TraceMsg, replay};
use stamp_sync::{DropReason, SharedSynchronizer, Stamp, Synchronizer};
use std::sync::{Arc, Mutex};

/// Sets as stamp rows.
pub type Rows = Vec<Vec<i64>>;

pub fn rows_of(sets: &[Vec<TraceMsg>]) -> Rows {
    sets.iter()
        .map(|s| s.iter().map(|m| m.stamp.as_nanos()).collect())
        .collect()
}

/// The policy `config` describes, built through the registry.
pub fn policy(config: &PolicyConfig) -> AnyPolicy {
    config.build().expect("valid config")
}

macro_rules! typed_run {
    ($trace:expr, $pol:expr, ($($T:ident $i:tt),+)) => {{
        let out: Arc<Mutex<Rows>> = Arc::default();
        let sink = out.clone();
        let mut sync = Synchronizer::<($($T,)+), _>::builder($pol).on_set(move |set| {
            sink.lock().unwrap().push(vec![$(set.$i.stamp.as_nanos()),+]);
        }).build().unwrap();
        for m in &$trace.messages {
            match m.channel {
                $($i => { sync.add::<$i>(*m); })+
                _ => panic!("channel out of range"),
            }
        }
        let rows = out.lock().unwrap().clone();
        rows
    }};
}

macro_rules! shared_run {
    ($trace:expr, $pol:expr, ($($T:ident $i:tt),+)) => {{
        let out: Arc<Mutex<Rows>> = Arc::default();
        let sink = out.clone();
        let sync = SharedSynchronizer::<($($T,)+), _>::builder($pol)
            .on_set(move |set| sink.lock().unwrap().push(vec![$(set.$i.stamp.as_nanos()),+]))
            .build()
            .unwrap();
        for m in &$trace.messages {
            match m.channel {
                $($i => { sync.add::<$i>(*m); })+
                _ => panic!("channel out of range"),
            }
        }
        let rows = out.lock().unwrap().clone();
        rows
    }};
}

/// Sets, the drops handed to a drop callback `(channel, reason, trace
/// index)`, and per channel the drop counters.
pub type Accounting = (
    Rows,
    Vec<(usize, DropReason, usize)>,
    Vec<[u64; DropReason::ALL.len()]>,
);

macro_rules! typed_accounting_run {
    ($trace:expr, $pol:expr, $drop_callback:expr, ($($T:ident $i:tt),+)) => {{
        let out: Arc<Mutex<Rows>> = Arc::default();
        let sink = out.clone();
        let drops: Arc<Mutex<Vec<(usize, DropReason, usize)>>> = Arc::default();
        let drop_sink = drops.clone();
        let mut builder = Synchronizer::<($($T,)+), _>::builder($pol).on_set(move |set| {
            sink.lock().unwrap().push(vec![$(set.$i.stamp.as_nanos()),+]);
        });
        if $drop_callback {
            builder = builder.on_drop(move |d| {
                let index = d.message.index_in_trace();
                drop_sink.lock().unwrap().push((d.channel, d.reason, index));
            });
        }
        let mut sync = builder.build().unwrap();
        for m in &$trace.messages {
            match m.channel {
                $($i => { sync.add::<$i>(*m); })+
                _ => panic!("channel out of range"),
            }
        }
        let counts = sync.stats().channels.iter().map(|c| c.dropped).collect();
        let rows = out.lock().unwrap().clone();
        let drops = drops.lock().unwrap().clone();
        (rows, drops, counts)
    }};
}

/// The trace index of a message of a homogeneous `AnyMsg`.
pub trait IndexInTrace {
    fn index_in_trace(&self) -> usize;
}

impl IndexInTrace for TraceMsg {
    fn index_in_trace(&self) -> usize {
        self.index
    }
}

impl IndexInTrace for std::convert::Infallible {
    fn index_in_trace(&self) -> usize {
        match *self {}
    }
}

impl<A, B, C, D, E, F, G, H, I> IndexInTrace for AnyMsg<A, B, C, D, E, F, G, H, I>
where
    A: IndexInTrace,
    B: IndexInTrace,
    C: IndexInTrace,
    D: IndexInTrace,
    E: IndexInTrace,
    F: IndexInTrace,
    G: IndexInTrace,
    H: IndexInTrace,
    I: IndexInTrace,
{
    fn index_in_trace(&self) -> usize {
        match self {
            AnyMsg::Ch0(m) => m.index_in_trace(),
            AnyMsg::Ch1(m) => m.index_in_trace(),
            AnyMsg::Ch2(m) => m.index_in_trace(),
            AnyMsg::Ch3(m) => m.index_in_trace(),
            AnyMsg::Ch4(m) => m.index_in_trace(),
            AnyMsg::Ch5(m) => m.index_in_trace(),
            AnyMsg::Ch6(m) => m.index_in_trace(),
            AnyMsg::Ch7(m) => m.index_in_trace(),
            AnyMsg::Ch8(m) => m.index_in_trace(),
        }
    }
}

type M = TraceMsg;

macro_rules! by_arity {
    ($run:ident, $trace:expr, $n:expr, $pol:expr $(, $extra:expr)*) => {
        match $n {
            2 => $run!($trace, $pol, $($extra,)* (M 0, M 1)),
            3 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2)),
            4 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2, M 3)),
            5 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2, M 3, M 4)),
            6 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2, M 3, M 4, M 5)),
            7 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2, M 3, M 4, M 5, M 6)),
            8 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2, M 3, M 4, M 5, M 6, M 7)),
            9 => $run!($trace, $pol, $($extra,)* (M 0, M 1, M 2, M 3, M 4, M 5, M 6, M 7, M 8)),
            _ => panic!("typed synchronizers have 2..9 channels"),
        }
    };
}

/// Through the typed `Synchronizer`, with or without a drop callback.
pub fn typed_accounting(
    trace: &Trace,
    n: usize,
    config: &PolicyConfig,
    drop_callback: bool,
) -> Accounting {
    let p = policy(config);
    by_arity!(typed_accounting_run, trace, n, p, drop_callback)
}

/// Through the typed `Synchronizer` with callbacks.
pub fn typed(trace: &Trace, n: usize, config: &PolicyConfig) -> Rows {
    let p = policy(config);
    by_arity!(typed_run, trace, n, p)
}

/// Through the thread-safe `SharedSynchronizer`.
pub fn shared(trace: &Trace, n: usize, config: &PolicyConfig) -> Rows {
    let p = policy(config);
    by_arity!(shared_run, trace, n, p)
}

/// Through the bare policy with the dynamic store (`trace::replay`).
pub fn bare(trace: &Trace, n: usize, config: &PolicyConfig) -> Rows {
    rows_of(&replay(trace, n, config).expect("valid config").sets)
}

/// Every front end; asserts they agree and returns the common answer.
pub fn all_front_ends(trace: &Trace, n: usize, config: &PolicyConfig) -> Rows {
    let a = bare(trace, n, config);
    assert_eq!(
        typed(trace, n, config),
        a,
        "typed Synchronizer differs from the bare policy"
    );
    assert_eq!(
        shared(trace, n, config),
        a,
        "SharedSynchronizer differs from the bare policy"
    );
    a
}

/// `(t, ch)` pairs with `t` in units of `unit_ns`, as `scenarios.md` writes them.
pub fn trace_of(unit_ns: f64, input: &[(f64, usize)]) -> Trace {
    Trace::from_pairs(
        input
            .iter()
            .map(|&(t, ch)| (ch, Stamp::from_nanos((t * unit_ns).round() as i64))),
    )
}

pub fn parse_rows(text: &str) -> Rows {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|x| x.trim().parse().unwrap()).collect())
        .collect()
}
