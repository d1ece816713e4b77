//! Logging that reaches `/rosout`: the `log` crate's records (the nodes'
//! own messages and stamp_sync's warnings: stalls, jumps back,
//! out-of-order stamps) go to the console through rcutils, like
//! `RCLCPP_WARN`, and to `/rosout` as `rcl_interfaces/msg/Log` under the
//! node's logger name.
//!
//! Since Iron, rcl no longer gives a node its rosout publisher in
//! `rcl_node_init` (rclcpp and rclpy make it), and r2r 0.9.7 does not, so
//! this module publishes the records itself, with rcl's rosout QoS
//! (reliable, transient local, the last 1000, 10 s lifespan).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = r2r::Node::create(r2r::Context::create()?, "my_sync", "")?;
//! stamp_sync_r2r::logging::to_rosout(&mut node, log::LevelFilter::Info)?;
//! log::warn!("reaches the console and /rosout as my_sync");
//! # Ok(()) }
//! ```

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ::r2r::rcl_interfaces::msg::Log;
use ::r2r::{LogSeverity, Node, Publisher, QosProfile};

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The `/rosout` publisher could not be made.
    #[error("cannot publish /rosout: {0}")]
    Ros(#[from] ::r2r::Error),
    /// Another logger is already installed in this process.
    #[error("a logger is already installed: {0}")]
    AlreadySet(#[from] log::SetLoggerError),
}

/// rcl's `rcl_qos_profile_rosout_default`.
pub fn rosout_qos() -> QosProfile {
    QosProfile::default()
        .reliable()
        .transient_local()
        .keep_last(1000)
        .lifespan(Duration::from_secs(10))
}

/// The `log` crate's records to rcutils and `/rosout`.
struct Rosout {
    logger: String,
    publisher: Mutex<Publisher<Log>>,
}

/// `rcl_interfaces/msg/Log` levels.
fn level_byte(l: log::Level) -> u8 {
    match l {
        log::Level::Error => 40,
        log::Level::Warn => 30,
        log::Level::Info => 20,
        log::Level::Debug | log::Level::Trace => 10,
    }
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
        let line = record.line().unwrap_or(0);
        ::r2r::log(&msg, &self.logger, &file, line, severity);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let entry = Log {
            stamp: ::r2r::builtin_interfaces::msg::Time {
                sec: i32::try_from(now.as_secs()).unwrap_or(i32::MAX),
                nanosec: now.subsec_nanos(),
            },
            level: level_byte(record.level()),
            name: self.logger.clone(),
            msg,
            file,
            function: record.module_path().unwrap_or("").to_string(),
            line,
        };
        if let Ok(p) = self.publisher.lock() {
            // Logging must not fail the caller.
            let _ = p.publish(&entry);
        }
    }

    fn flush(&self) {}
}

/// Routes the `log` crate to the console and `/rosout` under `node`'s
/// logger name, records up to `level`. Once per process.
pub fn to_rosout(node: &mut Node, level: log::LevelFilter) -> Result<(), LoggingError> {
    let publisher = node.create_publisher::<Log>("/rosout", rosout_qos())?;
    let logger = Box::new(Rosout {
        logger: node.logger().to_string(),
        publisher: Mutex::new(publisher),
    });
    log::set_boxed_logger(logger)?;
    log::set_max_level(level);
    Ok(())
}
