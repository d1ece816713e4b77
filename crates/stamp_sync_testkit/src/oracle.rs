//! What the filter differential tests share: the run seed, case counts and
//! preparing the reference runners (`scripts/build-filters-oracle.sh`), or
//! skipping loudly, as `crates/stamp_sync/tests/it/differential.rs` does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub fn root() -> &'static Path {
    crate::repo()
}

/// `STAMP_SYNC_REQUIRE_ORACLE=1`, or `CI` set: a missing runner fails.
pub fn oracle_required() -> bool {
    let set = |k: &str| {
        std::env::var(k)
            .map(|v| !v.is_empty() && v != "0" && v != "false")
            .unwrap_or(false)
    };
    set("CI") || std::env::var("STAMP_SYNC_REQUIRE_ORACLE").is_ok_and(|v| v == "1")
}

/// Runs the build script once per test binary: `build/`, or why it failed.
fn prepare() -> &'static Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = root().join("scripts/build-filters-oracle.sh");
        let dir = root().join("build");
        match Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
        {
            Err(e) => Err(format!("cannot run {}: {e}", script.display())),
            Ok(o) if !o.status.success() => Err(format!(
                "{} failed ({}): {}",
                script.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Ok(_) => Ok(dir),
        }
    })
}

/// The prepared `build/` directory, or `None` after announcing the skip
/// (panics instead when the runner is required).
pub fn oracle_dir_or_skip(test: &str, what: &str) -> Option<&'static Path> {
    match prepare() {
        Ok(p) => Some(p),
        Err(reason) => {
            if oracle_required() {
                panic!(
                    "{test}: {what} is required (CI or STAMP_SYNC_REQUIRE_ORACLE=1) \
                     but could not be prepared: {reason}"
                );
            }
            let bar = "#".repeat(78);
            eprintln!(
                "\n{bar}\n# SKIPPED: {test}: {what} could not be prepared: {reason}\n\
                 # (set STAMP_SYNC_REQUIRE_ORACLE=1 to make this a failure)\n{bar}\n"
            );
            None
        }
    }
}

pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `STAMP_SYNC_SEED`, or a fresh one from the time and process id.
pub fn run_seed() -> u64 {
    if let Ok(s) = std::env::var("STAMP_SYNC_SEED") {
        return parse_u64(&s).unwrap_or_else(|| panic!("STAMP_SYNC_SEED={s:?} is not a u64"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = now ^ (u64::from(std::process::id()) << 32);
    // SplitMix64 finaliser: neighbouring times give unrelated seeds.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The case numbers of this run: `STAMP_SYNC_CASE` alone, else
/// `0..STAMP_SYNC_CASES` (default `default`).
pub fn case_indices(default: usize) -> Vec<usize> {
    if let Ok(s) = std::env::var("STAMP_SYNC_CASE") {
        return vec![parse_u64(&s).expect("STAMP_SYNC_CASE is a case number") as usize];
    }
    let n = std::env::var("STAMP_SYNC_CASES")
        .ok()
        .and_then(|s| parse_u64(&s))
        .map_or(default, |n| n as usize);
    (0..n).collect()
}

/// Writes `text` to `target/NAME` and returns the path.
pub fn write_target(name: &str, text: &str) -> PathBuf {
    let dir = root().join("target");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write failure artifact");
    p
}
