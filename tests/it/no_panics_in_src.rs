//! Library code never unwraps, expects or panics on a path input can reach.
//!
//! Two layers keep it so:
//! - `src/lib.rs` has `#![warn(clippy::unwrap_used, clippy::expect_used)]`
//!   (tests are exempt through `clippy.toml`), and CI runs
//!   `cargo clippy --all-targets --features cli -- -D warnings`, which turns
//!   that warning into an error (checked: an `.unwrap()` added to
//!   `src/policy/exact.rs` fails that command with `clippy::unwrap_used`);
//! - this test, which needs no clippy: it scans `src/` outside
//!   `#[cfg(test)]` modules and comments for `.unwrap()`, `.expect(`,
//!   `panic!`, `unreachable!`, `todo!` and `unimplemented!`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_unwrap_expect_or_panic_in_library_code() {
    let mut files = Vec::new();
    rust_files(&stamp_sync_testkit::repo().join("src"), &mut files);
    assert!(files.len() > 10);
    let banned = [
        ".unwrap()",
        ".expect(",
        "panic!(",
        "unreachable!(",
        "todo!(",
        "unimplemented!(",
    ];
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Test modules sit at the end of a file.
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            let code = code.split(" // ").next().unwrap_or(code);
            for b in banned {
                if code.contains(b) {
                    found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "library code that can panic:\n{}",
        found.join("\n")
    );
}
