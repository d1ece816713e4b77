//! What the differential tests share: the reference runners, built once
//! per test process by their scripts (or skipped loudly), the run seed,
//! case counts and failure artifacts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

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

/// A reference runner: `scripts/<script> <out>` builds it (installing what
/// it needs when run as root) into `out`, relative to the repository.
#[derive(Clone, Copy, Debug)]
pub struct Runner {
    pub script: &'static str,
    pub out: &'static str,
    /// What it is, for the skip or failure message.
    pub what: &'static str,
}

/// C++ message_filters' synchronizers (`oracle/stamp_oracle.cpp`).
pub const MESSAGE_FILTERS: Runner = Runner {
    script: "build-oracle.sh",
    out: "build/stamp_oracle",
    what: "the C++ message_filters oracle",
};
/// C++ tf2's `BufferCore` (`oracle/tf_oracle.cpp`).
pub const TF2: Runner = Runner {
    script: "build-tf-oracle.sh",
    out: "build/tf_oracle",
    what: "the C++ tf2 oracle",
};
/// C++ message_filters' `Cache` and Python's message_filters, into `build/`.
pub const FILTERS: Runner = Runner {
    script: "build-filters-oracle.sh",
    out: "build",
    what: "the C++ Cache runner and Python message_filters",
};

impl Runner {
    /// Builds the runner once per process: its path, or why it failed.
    pub fn built(&self) -> Result<&'static Path, String> {
        static BUILT: Mutex<Vec<(&'static str, Result<&'static Path, String>)>> =
            Mutex::new(Vec::new());
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, r)) = built.iter().find(|(s, _)| *s == self.script) {
            return r.clone();
        }
        let r = self.build().map(|p| &*Box::leak(p.into_boxed_path()));
        built.push((self.script, r.clone()));
        r
    }

    fn build(&self) -> Result<PathBuf, String> {
        let script = root().join("scripts").join(self.script);
        let out = root().join(self.out);
        let o = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !o.status.success() {
            return Err(format!(
                "{} failed ({}): {}",
                script.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        if !out.exists() {
            return Err(format!(
                "{} did not produce {}",
                script.display(),
                out.display()
            ));
        }
        Ok(out)
    }

    /// The built runner, or `None` after announcing that `test` is
    /// skipped (a panic instead when the runner is required).
    pub fn or_skip(&self, test: &str) -> Option<&'static Path> {
        match self.built() {
            Ok(p) => Some(p),
            Err(reason) => {
                let what = self.what;
                if oracle_required() {
                    panic!(
                        "{test}: {what} is required (CI or STAMP_SYNC_REQUIRE_ORACLE=1) \
                         but could not be built: {reason}"
                    );
                }
                let bar = "#".repeat(78);
                eprintln!(
                    "\n{bar}\n# SKIPPED: {test}: {what} could not be built: {reason}\n\
                     # (set STAMP_SYNC_REQUIRE_ORACLE=1 to make this a failure)\n{bar}\n"
                );
                None
            }
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
