//! What every stamp_sync node does before its own work: a context and a
//! node, the `log` crate routed to the console and `/rosout`, its parameters declared through r2r's
//! parameter services (sim time follows `use_sim_time`), and a spin loop
//! that also runs the node's futures.
//!
//! ```no_run
//! use std::time::Duration;
//! use stamp_sync_r2r::params::{Key, Params};
//! use stamp_sync_r2r::runtime::Runtime;
//! const DEPTH: Key<i64> = Key::int("depth", 10, 1, "history depth");
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (mut rt, _changes) = Runtime::start("my_sync", Params::new().with(&DEPTH))?;
//! log::info!("started at {}", rt.clock.now()); // console and /rosout
//! loop {
//!     rt.spin_once(Duration::from_millis(10));
//! }
//! # }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::r2r::{Context, Node};
use futures::executor::LocalPool;
use futures::task::{LocalSpawnExt, SpawnError};

use super::clock::RosClock;
use super::params::{Changes, ParamError, Params};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// r2r could not create the context or the node.
    #[error("cannot start the node: {0}")]
    Ros(#[from] ::r2r::Error),
    /// A parameter is invalid.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The executor refused a task.
    #[error("cannot spawn: {0}")]
    Spawn(#[from] SpawnError),
}

/// A started node: see the [module docs](self).
pub struct Runtime {
    /// The r2r node.
    pub node: Node,
    /// Runs the node's futures (parameter services, subscriptions).
    pub pool: LocalPool,
    /// The node's ROS clock (sim time under `use_sim_time`).
    pub clock: RosClock,
    /// The node's parameters, as last accepted.
    pub params: Arc<Mutex<Params>>,
    logger: String,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("logger", &self.logger)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates node `name` (in the namespace the command line gives),
    /// routes the `log` crate to `/rosout`, declares `params` and starts
    /// the parameter services. Returns the stream of accepted changes.
    ///
    /// Started with `--list-parameters`, it prints every parameter the node
    /// declares (`name<TAB>description`, one a line) and exits instead:
    /// what `ros2 param describe` would say, without starting ROS.
    pub fn start(name: &str, params: Params) -> Result<(Runtime, Changes), StartError> {
        if std::env::args().any(|a| a == "--list-parameters") {
            let mut out = std::io::stdout().lock();
            for (n, d) in params.describe() {
                let _ = std::io::Write::write_fmt(&mut out, format_args!("{n}\t{d}\n"));
            }
            std::process::exit(0);
        }
        let ctx = Context::create()?;
        let mut node = Node::create(ctx, name, "")?;
        // A second logger (a test harness's) keeps its own: not an error.
        let _ = super::logging::to_rosout(&mut node, log::LevelFilter::Info);
        let (params, handler, changes) = params.declare(&mut node)?;
        let pool = LocalPool::new();
        pool.spawner().spawn_local(handler)?;
        let clock = RosClock::of(&node);
        let logger = node.logger().to_string();
        Ok((
            Runtime {
                node,
                pool,
                clock,
                params,
                logger,
            },
            changes,
        ))
    }

    /// The node's logger name (the `log` crate's records go out under it).
    pub fn logger(&self) -> &str {
        &self.logger
    }

    /// Handles what arrived (up to `timeout`) and runs every ready future.
    pub fn spin_once(&mut self, timeout: Duration) {
        self.node.spin_once(timeout);
        self.pool.run_until_stalled();
    }

    /// A copy of the current parameters.
    pub fn params(&self) -> Params {
        self.params
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}
