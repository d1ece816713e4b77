//! Logging that reaches `/rosout`: the `log` crate's records (stamp_sync's
//! own warnings: stalls, jumps back, out-of-order stamps) are handed to
//! rcutils under the node's logger name, like `RCLCPP_WARN`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = r2r::Node::create(r2r::Context::create()?, "my_sync", "")?;
//! stamp_sync::r2r::logging::to_rosout(&node, log::LevelFilter::Info)?;
//! log::warn!("reaches /rosout as my_sync");
//! # Ok(()) }
//! ```

use ::r2r::{LogSeverity, Node};

/// The `log` crate's records to rcutils (console and `/rosout`).
struct Rosout {
    logger: String,
}

impl log::Log for Rosout {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let severity = match record.level() {
            log::Level::Error => LogSeverity::Error,
            log::Level::Warn => LogSeverity::Warn,
            log::Level::Info => LogSeverity::Info,
            log::Level::Debug | log::Level::Trace => LogSeverity::Debug,
        };
        // rcutils takes C strings: no interior NUL.
        let msg = record.args().to_string().replace('\0', " ");
        let file = record.file().unwrap_or("").replace('\0', " ");
        ::r2r::log(
            &msg,
            &self.logger,
            &file,
            record.line().unwrap_or(0),
            severity,
        );
    }

    fn flush(&self) {}
}

/// Routes the `log` crate to rosout under `node`'s logger name, records up
/// to `level`. Once per process: a second call is an error.
pub fn to_rosout(node: &Node, level: log::LevelFilter) -> Result<(), log::SetLoggerError> {
    let logger = Box::new(Rosout {
        logger: node.logger().to_string(),
    });
    log::set_boxed_logger(logger)?;
    log::set_max_level(level);
    Ok(())
}
