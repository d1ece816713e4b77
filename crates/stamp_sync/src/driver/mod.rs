//! Drivers: what runs a policy for you. Each owns the typed queues, the
//! policy, the output buffer and the counters ([`core`](self) shares them),
//! applies the [`Options`] around the policy step, and hands sets, drops,
//! stale reports and partial sets to user code only after the step.
//!
//! | driver | for |
//! |---|---|
//! | [`Synchronizer`] | tuples of 2 to 9 types, `&mut self`, `FnMut` callbacks |
//! | [`SharedSynchronizer`] | the same, thread-safe, callbacks after the lock |
//! | [`DynSynchronizer`] | N channels of one type, N chosen at run time |
//! | [`SyncStream`](stream::SyncStream) | 2 to 9 `Stream`s in, one `Stream` of sets out |
//!
//! Every driver is made the same way, `new(policy)` or
//! `builder(policy)`…`build()` ([`Builder`]), and has the same verbs:
//!
//! | verb | [`Synchronizer`] | [`SharedSynchronizer`] | [`DynSynchronizer`] | [`SyncStream`](stream::SyncStream) |
//! |---|---|---|---|---|
//! | `add(msg)` → sets; stamp by the getter, received now on the clock | `add::<I>` | `add::<I>` (`&self`) | `add(ch, msg)` | the inputs' items |
//! | `add_at(msg, received)` | ✓ | ✓ | ✓ | — (the clock) |
//! | `add_stamped(msg, stamp, received)` | ✓ | ✓ | ✓ | — |
//! | `push`, `push_at`, `push_stamped`: the events instead of callbacks | iterator | `Events` (owned) | iterator | — |
//! | `poll(now)`: stale check from a timer → sets; `poll_events(now)` | ✓ | ✓ | ✓ | `poll` |
//! | `reset()`, `replace_policy(p)` | ✓ | ✓ | ✓ | ✓ |
//! | `with_policy(f)`: run-time setters | ✓ (also `policy_mut`) | ✓ (under the lock) | ✓ (also `policy_mut`) | ✓ (also `policy_mut`) |
//! | `stats()`, `queued(ch)`, `diagnostics()`, `channels()` | ✓ | ✓ (copies) | ✓ | ✓ |
//!
//! Builder methods, the same on each: `options`, `stamp_with`, `clock`,
//! `on_set` (not the stream: sets are its items), `on_drop`, `on_stale`,
//! `on_partial`. Callbacks run after the step; [`SharedSynchronizer`] runs
//! them after its lock is released, so they are `Fn + Sync`.

pub mod builder;
mod core;
mod dropout;
pub mod dynamic;
mod event;
pub(crate) mod fair;
pub mod follow;
mod handlers;
mod options;
mod queues;
mod shared;
pub mod stats;
pub mod stream;
mod synchronizer;
mod tuple;

pub use builder::Builder;
pub use dynamic::{DynSet, DynSynchronizer};
pub use event::{ChannelOut, Event, Member, Partial, Stale};
pub use handlers::Clock;
pub use options::{DropOutClock, Options};
pub use shared::{Events, SharedSynchronizer};
pub use stats::{ChannelDiagnostics, ChannelStats, Diagnostics, Stats};
pub use synchronizer::Synchronizer;
pub use tuple::{AnyMsg, Channel, Messages, StampAt, StampGetters, TupleQueues};
