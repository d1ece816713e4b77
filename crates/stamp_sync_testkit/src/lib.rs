//! Test support shared by the integration tests of every crate of the
//! workspace (not published): the bundled data under `tests/data`, random
//! traces and their reference runners (C++ message_filters, tf2, Python
//! message_filters, built by `scripts/build-*oracle.sh`), and real ROS 2
//! processes for the `ros` tests.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

pub mod data;
pub mod frontends;
pub mod net;
pub mod observe;
pub mod oracle;
pub mod ros;
pub mod tracegen;

pub use data::{data, reference};

/// The repository root (the workspace), where `tests/data`, `build/` and
/// the scripts are.
pub fn repo() -> &'static Path {
    static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .nth(2)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| here.to_path_buf())
    })
}
