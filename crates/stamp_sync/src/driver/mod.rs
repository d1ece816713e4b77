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

mod core;
pub mod dynamic;
mod event;
mod options;
mod shared;
pub mod stats;
pub mod stream;
mod synchronizer;
mod tuple;

pub use dynamic::{DynSet, DynSynchronizer};
pub use event::{Event, Partial, Stale};
pub use options::Options;
pub use shared::{SharedBuilder, SharedSynchronizer};
pub use stats::{ChannelDiagnostics, ChannelStats, Diagnostics, Stats};
pub use synchronizer::Synchronizer;
pub use tuple::{AnyMsg, Channel, Messages, StampAt, StampGetters, TupleQueues};
